//! `init` for binaries: each scenario runs in a child process (a global
//! subscriber can be installed once per process) and the parent reads what
//! the child wrote to stderr.

use crate::support::{run_ignored_test, test_name};
use narration_core::{
    InitError, InitOptions, LogFormat, NarrationFields, init, init_with, narrate,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
        command.env(SCENARIO, scenario);
        match rust_log {
            Some(v) => command.env("RUST_LOG", v),
            None => command.env_remove("RUST_LOG"),
        };
    });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stdout, stderr)
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
        "human" | "json" => {
            let format = if scenario == "json" {
                LogFormat::Json
            } else {
                LogFormat::Human
            };
            let _guard = init(InitOptions {
                format,
                ..Default::default()
            })
            .unwrap();
            tracing::info!(target: "someone_else", "not a narration");
            tracing::info_span!("ensure_present", correlation_id = "corr-init").in_scope(|| {
                narrate(resolve());
                if scenario == "json" {
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
            let _guard = init_with(InitOptions::default(), counter.clone()).unwrap();
            tracing::debug!(target: "my_cli", "progress");
            narrate(resolve());
            println!("extra layer saw {}", counter.0.load(Ordering::SeqCst));
        }
        #[cfg(not(feature = "otel"))]
        "otel" => match init(InitOptions {
            otel_endpoint: Some("http://127.0.0.1:4318".into()),
            ..Default::default()
        }) {
            Err(e @ InitError::OtelDisabled { .. }) => println!("init: {e}"),
            other => panic!("init: {other:?}"),
        },
        #[cfg(feature = "otel")]
        "otel" => {
            // Nothing listens on the endpoint: init still succeeds and
            // narration lines still reach stderr; export fails quietly.
            let guard = init(InitOptions {
                otel_endpoint: Some("http://127.0.0.1:9".into()),
                ..Default::default()
            })
            .unwrap();
            tracing::info_span!("ensure_present").in_scope(|| narrate(resolve()));
            drop(guard);
            println!("init: otel guard dropped");
        }
        other => panic!("unknown scenario {other}"),
    }
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

#[test]
fn an_otel_endpoint_works_with_the_feature_and_is_refused_without_it() {
    let (stdout, stderr) = child("otel", None);
    if cfg!(feature = "otel") {
        assert!(stdout.contains("init: otel guard dropped"), "{stdout}");
        assert!(stderr.contains("[model-provisioner] resolve:"), "{stderr}");
    } else {
        assert!(stdout.contains("without its `otel` feature"), "{stdout}");
    }
}
