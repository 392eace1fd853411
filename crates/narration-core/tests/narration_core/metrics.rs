//! Metrics derived from step spans and narrations, and the Prometheus
//! textfile they are merged into.

use narration_core::{
    Metrics, NarrationFields, fail_step, narrate, outcome, source_kind, step_span,
};
use std::process::Command;
use tracing_subscriber::layer::SubscriberExt;

fn model(action: &'static str) -> NarrationFields {
    NarrationFields {
        actor: "model-provisioner",
        action,
        target: "hf:org/repo/f.gguf".into(),
        model_ref: Some("hf:org/repo/f.gguf".into()),
        ..Default::default()
    }
}

/// One cold model ensure (download, hash) and one failed engine build.
fn provision_once(metrics: &Metrics) {
    let subscriber = tracing_subscriber::registry().with(metrics.layer());
    tracing::subscriber::with_default(subscriber, || {
        let _lifecycle = tracing::info_span!("ensure_present").entered();
        step_span!("model-provisioner", "fetch").in_scope(|| {
            narrate(NarrationFields {
                bytes: Some(1000),
                duration_ms: Some(5),
                outcome: Some(outcome::TRANSFERRED.into()),
                source_kind: Some(source_kind::HF.into()),
                ..model("downloaded")
            });
        });
        step_span!("model-provisioner", "verify").in_scope(|| {
            narrate(NarrationFields {
                bytes: Some(1000),
                outcome: Some(outcome::MISS.into()),
                ..model("verify")
            });
            narrate(model("verified"));
        });
        let build = step_span!("engine-provisioner", "build");
        build.in_scope(|| {
            narrate(NarrationFields {
                actor: "engine-provisioner",
                action: "cmake-configure",
                outcome: Some(outcome::MISS.into()),
                ..Default::default()
            });
            narrate(NarrationFields {
                actor: "engine-provisioner",
                action: "cmake-failed",
                error_kind: Some("cmake-failed".into()),
                ..Default::default()
            });
        });
        fail_step(&build, "cmake-failed");
        // Not a narration: counts for nothing.
        tracing::error!(error_kind = "other", "an error that is not a narration");
    });
}

#[test]
fn steps_transfers_cache_and_failures_are_counted_from_spans_and_narrations() {
    let metrics = Metrics::new();
    provision_once(&metrics);
    let text = metrics.render();
    for line in [
        "provision_step_duration_seconds_count{actor=\"model-provisioner\",step=\"fetch\",outcome=\"ok\"} 1",
        "provision_step_duration_seconds_count{actor=\"model-provisioner\",step=\"verify\",outcome=\"ok\"} 1",
        "provision_step_duration_seconds_count{actor=\"engine-provisioner\",step=\"build\",outcome=\"cmake-failed\"} 1",
        "provision_transfer_bytes_total{actor=\"model-provisioner\",source=\"hf\"} 1000",
        "provision_cache_misses_total{actor=\"model-provisioner\"} 1",
        "provision_cache_misses_total{actor=\"engine-provisioner\"} 1",
        "provision_failures_total{actor=\"engine-provisioner\",error_kind=\"cmake-failed\"} 1",
        "# TYPE provision_step_duration_seconds histogram",
        "# TYPE provision_failures_total counter",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(!text.contains("provision_cache_hits_total"), "{text}");
    assert!(!text.contains("other"), "only narrations count: {text}");
}

#[test]
fn what_counts_is_the_outcome_the_crate_says_not_the_action_name() {
    let metrics = Metrics::new();
    let subscriber = tracing_subscriber::registry().with(metrics.layer());
    tracing::subscriber::with_default(subscriber, || {
        // Named like a transfer and a hit, but saying nothing: no count.
        narrate(NarrationFields {
            bytes: Some(7),
            ..model("downloaded")
        });
        narrate(model("cache-hit"));
        // Any action of any actor counts for what its outcome says.
        narrate(NarrationFields {
            actor: "engine-provisioner",
            action: "binary-downloaded",
            target: "pool-a".into(),
            bytes: Some(500),
            outcome: Some(outcome::TRANSFERRED.into()),
            source_kind: Some(source_kind::HTTPS.into()),
            ..Default::default()
        });
        narrate(NarrationFields {
            actor: "engine-provisioner",
            action: "install-cached",
            target: "pool-a".into(),
            outcome: Some(outcome::HIT.into()),
            ..Default::default()
        });
        // An oci: ref's bytes are `oci`, told by the field, not the ref.
        narrate(NarrationFields {
            bytes: Some(30),
            outcome: Some(outcome::TRANSFERRED.into()),
            source_kind: Some(source_kind::OCI.into()),
            model_ref: Some("oci://registry.local/models/m:q4".into()),
            ..model("downloaded")
        });
    });
    let text = metrics.render();
    for line in [
        "provision_transfer_bytes_total{actor=\"engine-provisioner\",source=\"https\"} 500",
        "provision_transfer_bytes_total{actor=\"model-provisioner\",source=\"oci\"} 30",
        "provision_cache_hits_total{actor=\"engine-provisioner\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("provision_cache_hits_total{actor=\"model-provisioner\"}"),
        "{text}"
    );
    assert!(!text.contains("source=\"hf\""), "{text}");
    assert!(!text.contains("source=\"file\""), "{text}");
}

#[test]
fn a_metrics_file_accumulates_across_runs_and_passes_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let path = dir.join("provision.prom");
    for _ in 0..2 {
        let metrics = Metrics::new();
        provision_once(&metrics);
        metrics.merge_into_file(&path).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().any(|l| l
            == "provision_transfer_bytes_total{actor=\"model-provisioner\",source=\"hf\"} 2000"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l
            == "provision_step_duration_seconds_count{actor=\"engine-provisioner\",step=\"build\",outcome=\"cmake-failed\"} 2"),
        "{text}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new(), "no temporary file left");

    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .expect("promtool (package prometheus) is installed; .ci/run installs it");
    assert!(
        promtool.status.success(),
        "promtool rejected the file:\n{}{}\n{text}",
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );
}

#[test]
fn concurrent_writers_lose_no_counts() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let path = dir.join("provision.prom");
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let metrics = Metrics::new();
                provision_once(&metrics);
                metrics.merge_into_file(&path).unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "provision_cache_misses_total{actor=\"engine-provisioner\"} 8"),
        "{text}"
    );
}
