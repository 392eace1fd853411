//! `init` for binaries: each scenario runs in a child process (a global
//! subscriber can be installed once per process) and the parent reads what
//! the child wrote to stderr.

use crate::support::{run_ignored_test, test_name};
use narration_core::{
    BoxMakeWriter, InitError, InitOptions, LogFormat, NarrationFields, Verbosity, init, narrate,
};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

const SCENARIO: &str = "NARRATION_INIT_CHILD";

fn resolve() -> NarrationFields {
    NarrationFields {
        actor: "model-provisioner",
        action: "resolve",
        target: "file:/m.gguf".into(),
        human: "Resolving model reference: file:/m.gguf".into(),
        ..Default::default()
    }
}

/// Runs `init_child` with `scenario`; returns (stdout, stderr).
fn child(scenario: &str, rust_log: Option<&str>) -> (String, String) {
    let name = test_name(module_path!(), "init_child");
    let out = run_ignored_test(&name, |command| {
        // One span per OTLP batch, so that an export fails once per span.
        command
            .env(SCENARIO, scenario)
            .env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1");
        match rust_log {
            Some(v) => command.env("RUST_LOG", v),
            None => command.env_remove("RUST_LOG"),
        };
    });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stdout, stderr)
}

/// An in-memory writer shared with the test.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for Counter {
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
#[ignore = "run as a child process by the other tests in this file"]
fn init_child() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "human" => narrate_in_and_out_of_a_span(LogFormat::Human),
        "json" => narrate_in_and_out_of_a_span(LogFormat::Json),
        "twice" => {
            let _guard = init(InitOptions::default()).unwrap();
            match init(InitOptions::default()) {
                Err(e @ InitError::AlreadyInstalled(_)) => println!("second init: {e}"),
                other => panic!("second init: {other:?}"),
            }
        }
        "bad-filter" => match init(InitOptions::default()) {
            Err(e @ InitError::Filter { .. }) => println!("init: {e}"),
            other => panic!("init: {other:?}"),
        },
        "extra" => {
            let counter = Counter::default();
            let _guard = init(InitOptions {
                layers: vec![Box::new(counter.clone())],
                ..Default::default()
            })
            .unwrap();
            tracing::debug!(target: "my_cli", "progress");
            narrate(resolve());
            println!("extra layer saw {}", counter.0.load(Ordering::SeqCst));
        }
        "writer" => {
            let buffer = Buffer::default();
            let _guard = init(InitOptions {
                writer: Some(BoxMakeWriter::new(buffer.clone())),
                ..Default::default()
            })
            .unwrap();
            narrate(resolve());
            print!("writer got: {}", buffer.text());
        }
        "quiet" | "normal" | "debug" => every_kind_of_event(&scenario),
        "otel" => otel_scenario(),
        "wire" => wire_dumps_and_hostile_text(),
        other => panic!("unknown scenario {other}"),
    }
}

fn narrate_in_and_out_of_a_span(format: LogFormat) {
    let _guard = init(InitOptions {
        format,
        ..Default::default()
    })
    .unwrap();
    tracing::info!(target: "someone_else", "not a narration");
    tracing::info_span!("ensure_present", correlation_id = "corr-init").in_scope(|| {
        narrate(resolve());
        if format == LogFormat::Json {
            narrate(NarrationFields {
                action: "verify-retry",
                ..resolve()
            });
        }
    });
    narrate(NarrationFields {
        action: "download-retry",
        ..resolve()
    });
}

/// A narration, a retry, a debug event of another crate (with a secret in
/// it), a `log` record, under the verbosity the scenario names.
fn every_kind_of_event(verbosity: &str) {
    let verbosity = match verbosity {
        "quiet" => Verbosity::Quiet,
        "debug" => Verbosity::Debug,
        _ => Verbosity::Normal,
    };
    let _guard = init(InitOptions {
        verbosity,
        ..Default::default()
    })
    .unwrap();
    narrate(resolve());
    narrate(NarrationFields {
        action: "download-retry",
        ..resolve()
    });
    tracing::debug!(
        target: "some_crate",
        "GET https://example.com/m.gguf?token=s3cret-debug-value"
    );
    tracing_log::log::debug!(target: "a_log_crate", "a log record");
}

/// What an HTTP client logs at TRACE (a row of its wire dump, with a
/// token cut at the row's end, and a plain trace line), and a debug event
/// and a narration quoting text that would drive a terminal.
fn wire_dumps_and_hostile_text() {
    let _guard = init(InitOptions::default()).unwrap();
    tracing_log::log::trace!(
        target: "ureq_proto::util",
        "6f6e 3a20 4265 6172 6572 2063 346e 3472  on:.Bearer.c4n4r"
    );
    tracing_log::log::trace!(target: "ureq::unversioned::transport", "Try connect");
    tracing::debug!(target: "some_crate", "server said \u{1b}]0;title\u{7} \u{202e}");
    narrate(NarrationFields {
        human: "Resolving model reference: \u{1b}[2J\u{9b}31m".into(),
        ..resolve()
    });
}

#[cfg(not(feature = "otel"))]
fn otel_scenario() {
    match init(InitOptions {
        otel_endpoint: Some("http://user:s3cret@127.0.0.1:4318".into()),
        ..Default::default()
    }) {
        Err(e @ InitError::OtelDisabled { .. }) => println!("init: {e}"),
        other => panic!("init: {other:?}"),
    }
}

/// A collector that takes each connection and closes it unanswered, so
/// that every export fails at once; several batches are exported.
#[cfg(feature = "otel")]
fn otel_scenario() {
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let guard = init(InitOptions {
        otel_endpoint: Some(format!("http://user:s3cret@127.0.0.1:{port}")),
        ..Default::default()
    })
    .unwrap();
    for _ in 0..3 {
        tracing::info_span!("ensure_present").in_scope(|| narrate(resolve()));
    }
    drop(guard);
    println!("export attempts: {}", attempts.load(Ordering::SeqCst));
}

#[test]
fn human_lines_on_stderr_and_nothing_else() {
    let (_, stderr) = child("human", None);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        lines,
        [
            "[model-provisioner] resolve: Resolving model reference: file:/m.gguf",
            "[model-provisioner] download-retry: Resolving model reference: file:/m.gguf"
        ]
    );
    assert!(!stderr.contains("not a narration"), "{stderr}");
}

#[test]
fn json_lines_on_stderr_with_inherited_correlation() {
    let (_, stderr) = child("json", None);
    let objects: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 3, "{stderr}");
    assert_eq!(objects[0]["correlation_id"], "corr-init");
    assert_eq!(objects[1]["correlation_id"], "corr-init");
    assert_eq!(objects[2]["level"], "WARN");
    assert!(
        objects[2].get("correlation_id").is_none(),
        "outside the span"
    );
}

#[test]
fn a_warn_only_filter_keeps_info_spans_for_correlation() {
    let (_, stderr) = child("json", Some("narration=warn"));
    let objects: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = objects
        .iter()
        .map(|o| o["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["verify-retry", "download-retry"], "{stderr}");
    assert_eq!(objects[0]["correlation_id"], "corr-init");
}

#[test]
fn rust_log_chooses_which_narrations_are_written() {
    let (_, stderr) = child("human", Some("narration=warn"));
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        lines,
        ["[model-provisioner] download-retry: Resolving model reference: file:/m.gguf"]
    );
}

#[test]
fn spans_pass_the_filter_so_correlation_survives_a_narrow_rust_log() {
    let (_, stderr) = child("json", Some("narration=info"));
    assert!(
        stderr.contains("\"correlation_id\":\"corr-init\""),
        "{stderr}"
    );
}

#[test]
fn an_invalid_rust_log_is_a_typed_error_naming_it() {
    let (stdout, _) = child("bad-filter", Some("narration=loudest"));
    assert!(
        stdout.contains("init: the log filter \"narration=loudest\" (from RUST_LOG) is not valid"),
        "{stdout}"
    );
}

#[test]
fn a_second_init_says_a_subscriber_is_installed() {
    let (stdout, _) = child("twice", None);
    assert!(
        stdout.contains("second init: a global tracing subscriber is already installed"),
        "{stdout}"
    );
}

#[test]
fn the_extra_layer_sees_every_event_unfiltered() {
    let (stdout, stderr) = child("extra", None);
    assert!(stdout.contains("extra layer saw 2"), "{stdout}");
    assert!(stderr.contains("[model-provisioner] resolve:"), "{stderr}");
}

/// Narration lines and other lines of a child's stderr.
fn narration_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with('[')).collect()
}

#[test]
fn the_writer_option_receives_the_narration_lines() {
    let (stdout, stderr) = child("writer", None);
    assert!(
        stdout.contains("writer got: [model-provisioner] resolve: Resolving model reference"),
        "{stdout}"
    );
    assert!(narration_lines(&stderr).is_empty(), "{stderr}");
}

#[test]
fn quiet_writes_retries_and_failures_only() {
    let (_, stderr) = child("quiet", None);
    assert_eq!(
        narration_lines(&stderr),
        ["[model-provisioner] download-retry: Resolving model reference: file:/m.gguf"]
    );
    assert!(!stderr.contains("some_crate"), "{stderr}");
}

#[test]
fn normal_writes_narrations_and_no_debug_events() {
    let (_, stderr) = child("normal", None);
    assert_eq!(narration_lines(&stderr).len(), 2, "{stderr}");
    assert!(!stderr.contains("some_crate"), "{stderr}");
    assert!(!stderr.contains("a log record"), "{stderr}");
}

#[test]
fn debug_verbosity_writes_debug_events_of_every_crate_and_log_records_redacted() {
    let (_, stderr) = child("debug", None);
    assert_eq!(
        narration_lines(&stderr).len(),
        2,
        "each narration once: {stderr}"
    );
    let debug = stderr
        .lines()
        .find(|l| l.contains("some_crate"))
        .unwrap_or_else(|| panic!("no debug event of some_crate: {stderr}"));
    assert!(debug.contains("DEBUG"), "{debug}");
    assert!(
        debug.contains("token=[REDACTED]") && !stderr.contains("s3cret-debug-value"),
        "{stderr}"
    );
    let record = stderr
        .lines()
        .find(|l| l.contains("a log record"))
        .unwrap_or_else(|| panic!("no log record: {stderr}"));
    assert!(record.contains("a_log_crate"), "its own target: {record}");
}

#[test]
fn wire_dumps_never_reach_the_log_and_human_lines_are_inert_even_at_trace() {
    let (_, stderr) = child("wire", Some("trace"));
    assert!(
        stderr.contains("Try connect"),
        "other trace events stay: {stderr}"
    );
    assert!(!stderr.contains("Bearer"), "no wire dump: {stderr}");
    assert!(
        !stderr
            .chars()
            .any(|c| c != '\n' && narration_core::is_live(c)),
        "inert: {stderr:?}"
    );
    // tracing-subscriber escapes ESC and BEL in messages itself; the bidi
    // override is left to `inert`.
    assert!(
        stderr.contains("server said \\x1b]0;title\\x07 \\u{202e}"),
        "{stderr}"
    );
    assert!(
        stderr.contains("reference: \\u{1b}[2J\\u{9b}31m"),
        "{stderr}"
    );
}

#[test]
fn rust_log_wins_over_the_debug_verbosity() {
    let (_, stderr) = child("debug", Some("narration=warn"));
    assert_eq!(
        narration_lines(&stderr),
        ["[model-provisioner] download-retry: Resolving model reference: file:/m.gguf"]
    );
    assert!(!stderr.contains("some_crate"), "{stderr}");
    assert!(!stderr.contains("a log record"), "{stderr}");
}

#[test]
fn rust_log_can_ask_for_debug_events_at_normal_verbosity() {
    let (_, stderr) = child(
        "normal",
        Some("narration=info,some_crate=debug,a_log_crate=debug"),
    );
    assert_eq!(narration_lines(&stderr).len(), 2, "{stderr}");
    assert!(stderr.contains("some_crate"), "{stderr}");
    assert!(stderr.contains("a log record"), "{stderr}");
}

#[test]
#[cfg(not(feature = "otel"))]
fn an_otel_endpoint_without_the_feature_is_refused_without_its_credentials() {
    let (stdout, _) = child("otel", None);
    assert!(stdout.contains("without its `otel` feature"), "{stdout}");
    assert!(stdout.contains("http://127.0.0.1:4318"), "{stdout}");
    assert!(!stdout.contains("s3cret"), "{stdout}");
}

#[test]
#[cfg(feature = "otel")]
fn failing_otel_exports_are_told_once_without_credentials() {
    let (stdout, stderr) = child("otel", None);
    let attempts: usize = stdout
        .lines()
        .find_map(|l| l.split_once("export attempts: ").map(|(_, n)| n))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(attempts >= 2, "several batches failed: {attempts}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("OpenTelemetry export"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("OpenTelemetry export to http://127.0.0.1:"),
        "{}",
        warnings[0]
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(stderr.contains("[model-provisioner] resolve:"), "{stderr}");
}
