//! What narration costs beside a raw `tracing::info!` with the same fields,
//! both going into the same JSON layer writing to `io::sink`; and what
//! redaction costs on text with and without secrets.
//!
//! Criterion measures each case; then an interleaved run (the two sides
//! alternate in short batches, so machine noise hits both alike) prints
//! ns per call and the narrate()/raw ratios. Goal: ratio ≤ 1.25.
//!
//! A third comparison: narrate() into the JSON layer with and without
//! the metrics layer beside it (goal: ratio ≤ 1.1).
//!
//! Run: `cargo bench -p narration-core --bench narrate`.

use criterion::{Criterion, criterion_group};
use narration_core::{LogFormat, LogLayer, Metrics, NarrationFields, narrate, redact};
use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

const TARGET: &str = "file:/models/tiny.gguf";
const HUMAN: &str = "Resolving model reference: file:/models/tiny.gguf";
const POOL: &str = "pool-a";
const EMITTED_BY: &str = "narration-core@0.1.0";

/// The narration under test, built from owned strings as callers do.
fn narrate_once() {
    narrate(NarrationFields {
        actor: "model-provisioner",
        action: "resolve",
        target: black_box(TARGET).to_string(),
        human: black_box(HUMAN).to_string(),
        pool_id: Some(black_box(POOL).to_string()),
        ..Default::default()
    });
}

/// The same fields (provenance included, so both lines carry the same
/// data) through a bare `tracing::info!`, from the same owned strings.
fn raw_owned_once() {
    let target = black_box(TARGET).to_string();
    let human = black_box(HUMAN).to_string();
    let pool_id = Some(black_box(POOL).to_string());
    tracing::info!(
        target: "narration",
        actor = "model-provisioner",
        action = "resolve",
        narration_target = target.as_str(),
        human = human.as_str(),
        pool_id = pool_id.as_deref(),
        emitted_by = EMITTED_BY,
        emitted_at_ms = now_ms(),
    );
}

/// The raw event from borrowed strings: no allocation at all on the
/// caller's side. The strictest baseline.
fn raw_borrowed_once() {
    tracing::info!(
        target: "narration",
        actor = "model-provisioner",
        action = "resolve",
        narration_target = black_box(TARGET),
        human = black_box(HUMAN),
        pool_id = black_box(POOL),
        emitted_by = EMITTED_BY,
        emitted_at_ms = now_ms(),
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// narration-core's JSON log layer, writing to `io::sink`.
fn narration_json() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry().with(LogLayer::new(LogFormat::Json).with_writer(io::sink)),
    )
}

/// The same JSON layer with the metrics layer beside it, as `init` sets
/// them up with a metrics file.
fn narration_json_with_metrics() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry()
            .with(LogLayer::new(LogFormat::Json).with_writer(io::sink))
            .with(Metrics::new().layer()),
    )
}

/// tracing-subscriber's own JSON formatter, writing to `io::sink`.
fn fmt_json() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .without_time()
                .with_writer(io::sink),
        ),
    )
}

const CLEAN: &str = "Resolving model reference: hf:org/repo/model-Q4_K_M.gguf";
const CLEAN_URL: &str = "https://huggingface.co/org/repo/resolve/main/model-Q4_K_M.gguf";
const SECRET: &str = "GET https://u:p@cdn.example/f?X-Amz-Signature=abc&token=def with Authorization: Bearer hf_abcdefghijkl";

fn layers(c: &mut Criterion) {
    for (layer, dispatch) in [
        ("narration-json", narration_json()),
        ("narration-json + metrics", narration_json_with_metrics()),
        ("fmt-json", fmt_json()),
    ] {
        let mut group = c.benchmark_group(format!("into {layer}"));
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function("narrate", |b| b.iter(narrate_once));
            group.bench_function("raw info! (owned)", |b| b.iter(raw_owned_once));
            group.bench_function("raw info! (borrowed)", |b| b.iter(raw_borrowed_once));
        });
        group.finish();
    }
}

fn redaction(c: &mut Criterion) {
    let mut group = c.benchmark_group("redact");
    for (name, text) in [
        ("clean text", CLEAN),
        ("clean url", CLEAN_URL),
        ("with secrets", SECRET),
    ] {
        group.bench_function(name, |b| b.iter(|| redact(black_box(text)).len()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = layers, redaction
}

/// ns per call of `f`, over a batch.
fn batch_ns(f: fn(), n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Alternate batches of each case so drift and neighbours' load hit every
/// case alike; report the median batch of each.
fn interleaved(cases: &[(&str, fn())], rounds: usize, batch: u32) -> Vec<f64> {
    for (_, f) in cases {
        batch_ns(*f, batch);
    }
    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in cases.iter().enumerate() {
            samples[i].push(batch_ns(*f, batch));
        }
    }
    samples.into_iter().map(median).collect()
}

/// Like [`interleaved`], for one function under several dispatchers: each
/// batch runs under its dispatcher as the thread's default.
fn interleaved_dispatches(
    dispatches: &[(&str, Dispatch)],
    f: fn(),
    rounds: usize,
    batch: u32,
) -> Vec<f64> {
    let run = |d: &Dispatch| tracing::dispatcher::with_default(d, || batch_ns(f, batch));
    for (_, d) in dispatches {
        run(d);
    }
    let mut samples = vec![Vec::with_capacity(rounds); dispatches.len()];
    for _ in 0..rounds {
        for (i, (_, d)) in dispatches.iter().enumerate() {
            samples[i].push(run(d));
        }
    }
    samples.into_iter().map(median).collect()
}

fn ratios() {
    println!("\n== narrate() vs raw tracing::info!, same fields, same layer, io::sink ==");
    println!("(interleaved: 60 rounds x 2000 calls per case, median batch)");
    let cases: [(&str, fn()); 3] = [
        ("narrate", narrate_once),
        ("raw info! (owned)", raw_owned_once),
        ("raw info! (borrowed)", raw_borrowed_once),
    ];
    for (layer, dispatch) in [
        ("narration-json", narration_json()),
        ("fmt-json", fmt_json()),
    ] {
        let ns = tracing::dispatcher::with_default(&dispatch, || interleaved(&cases, 60, 2000));
        println!("into {layer}:");
        for ((name, _), ns) in cases.iter().zip(&ns) {
            println!("  {name:<22} {ns:>8.0} ns/call");
        }
        println!(
            "  ratio narrate/raw(owned) = {:.3}   narrate/raw(borrowed) = {:.3}   (goal <= 1.25)",
            ns[0] / ns[1],
            ns[0] / ns[2]
        );
    }
    // With nobody listening nothing is redacted or formatted: what is left
    // is building and dropping the fields (strings on both sides).
    let none = interleaved(&cases[..2], 60, 2000);
    println!(
        "no subscriber: narrate {:.0} ns/call, raw info! (owned) {:.0} ns/call: difference {:.0} ns",
        none[0],
        none[1],
        none[0] - none[1]
    );

    println!("\n== narrate() into narration-json, with and without the metrics layer ==");
    let dispatches = [
        ("without metrics", narration_json()),
        ("with metrics", narration_json_with_metrics()),
    ];
    let ns = interleaved_dispatches(&dispatches, narrate_once, 60, 2000);
    for ((name, _), ns) in dispatches.iter().zip(&ns) {
        println!("  {name:<22} {ns:>8.0} ns/call");
    }
    println!(
        "  ratio with/without metrics = {:.3}   (goal <= 1.1)",
        ns[1] / ns[0]
    );

    println!("\n== redact() ==");
    let texts: [(&str, fn()); 6] = [
        ("the target", || {
            black_box(redact(black_box(TARGET)).len());
        }),
        ("the human", || {
            black_box(redact(black_box(HUMAN)).len());
        }),
        ("the pool id", || {
            black_box(redact(black_box(POOL)).len());
        }),
        ("clean text", || {
            black_box(redact(black_box(CLEAN)).len());
        }),
        ("clean url", || {
            black_box(redact(black_box(CLEAN_URL)).len());
        }),
        ("with secrets", || {
            black_box(redact(black_box(SECRET)).len());
        }),
    ];
    let ns = interleaved(&texts, 30, 5000);
    for ((name, _), ns) in texts.iter().zip(&ns) {
        println!("  {name:<14} {ns:>8.1} ns/call");
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --benches` runs this binary without `--bench` to check
    // that it works; the interleaved run is for real measurements only.
    if std::env::args().any(|a| a == "--bench") {
        ratios();
    }
}
