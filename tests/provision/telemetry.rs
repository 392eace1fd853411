//! The CLI's telemetry: the Prometheus metrics file (`--metrics-file`,
//! `PROVISION_METRICS_FILE`) and, with the `otel` feature, spans and
//! metrics over OTLP/HTTP JSON continuing the caller's `TRACEPARENT`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TINY_DIGEST: &str = "sha256:13d1380edc9c49f2eb9c06e13ac4d954ae4edc7fb30fefd08cb57f77667621bd";

/// The tiny model copied into `dir`, so that each test has its own file.
fn model_in(dir: &Path) -> PathBuf {
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-llama.gguf");
    let copy = dir.join("tiny.gguf");
    std::fs::copy(tiny, &copy).expect("copy the tiny model");
    copy
}

/// `provision model <model> --digest …` in an isolated environment.
fn provision_model(dir: &Path, model: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
    cmd.args([
        "model",
        model.to_str().expect("utf-8"),
        "--digest",
        TINY_DIGEST,
    ])
    .env("HOME", dir.join("home"))
    .env("PROVISION_CATALOG", dir.join("catalog.sqlite"))
    .env("HF_HUB_CACHE", dir.join("hub"))
    .env("HF_HUB_OFFLINE", "1")
    .env_remove("RUST_LOG")
    .env_remove("PROVISION_METRICS_FILE")
    .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
    .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    .env_remove("TRACEPARENT")
    .env_remove("TRACESTATE");
    cmd
}

fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "provision failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn the_metrics_file_accumulates_over_runs_and_passes_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_in(dir.path());
    let file = dir.path().join("provision.prom");
    // Once with the flag, once with the environment variable.
    succeeded(
        provision_model(dir.path(), &model)
            .arg("--metrics-file")
            .arg(&file)
            .output()
            .expect("runs"),
    );
    succeeded(
        provision_model(dir.path(), &model)
            .env("PROVISION_METRICS_FILE", &file)
            .output()
            .expect("runs"),
    );
    let text = std::fs::read_to_string(&file).expect("the metrics file was written");
    for step in ["resolve", "fetch", "inspect", "verify", "register"] {
        let line = format!(
            "provision_step_duration_seconds_count{{actor=\"model-provisioner\",step=\"{step}\",outcome=\"ok\"}} 2"
        );
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
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
fn a_failed_run_counts_its_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("provision.prom");
    let missing = dir.path().join("missing.gguf");
    let output = provision_model(dir.path(), &missing)
        .arg("--metrics-file")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let text = std::fs::read_to_string(&file).expect("the metrics file was written");
    assert!(
        text.lines().any(|l| l
            == "provision_failures_total{actor=\"model-provisioner\",error_kind=\"missing-file\"} 1"),
        "{text}"
    );
}

#[cfg(feature = "otel")]
mod otlp {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A loopback OTLP collector answering every POST with 200; hands
    /// back each request's path and JSON body.
    fn collector() -> (String, mpsc::Receiver<(String, serde_json::Value)>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                reader.read_line(&mut request_line).expect("request line");
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("header");
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().expect("length");
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
                let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
                let json = serde_json::from_slice(&body).expect("a JSON body");
                if tx.send((path, json)).is_err() {
                    return;
                }
            }
        });
        (url, rx)
    }

    const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn spans_continue_the_callers_trace_and_metrics_reach_the_collector() {
        let dir = tempfile::tempdir().expect("tempdir");
        let model = model_in(dir.path());
        let (url, received) = collector();
        succeeded(
            provision_model(dir.path(), &model)
                .env("OTEL_EXPORTER_OTLP_ENDPOINT", &url)
                .env("TRACEPARENT", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
                .output()
                .expect("runs"),
        );
        let mut spans = Vec::new();
        let mut metric_names = Vec::new();
        while let Ok((path, json)) = received.recv_timeout(Duration::from_secs(5)) {
            match path.as_str() {
                "/v1/traces" => {
                    for rs in json["resourceSpans"].as_array().expect("resourceSpans") {
                        for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
                            spans.extend(ss["spans"].as_array().expect("spans").clone());
                        }
                    }
                }
                "/v1/metrics" => {
                    for rm in json["resourceMetrics"].as_array().expect("resourceMetrics") {
                        for sm in rm["scopeMetrics"].as_array().expect("scopeMetrics") {
                            for m in sm["metrics"].as_array().expect("metrics") {
                                metric_names.push(m["name"].as_str().unwrap_or("").to_string());
                            }
                        }
                    }
                }
                other => panic!("unexpected POST to {other}"),
            }
        }
        let by_name = |name: &str| {
            spans
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
        };
        for span in &spans {
            assert_eq!(span["traceId"], CALLER_TRACE, "{span}");
        }
        let root = by_name("provision");
        assert_eq!(root["parentSpanId"], CALLER_SPAN);
        let lifecycle = by_name("ensure_present");
        assert_eq!(lifecycle["parentSpanId"], root["spanId"]);
        for step in ["resolve", "fetch", "inspect", "verify", "register"] {
            assert_eq!(by_name(step)["parentSpanId"], lifecycle["spanId"], "{step}");
        }
        let events = |name: &str| -> Vec<String> {
            let span = by_name(name);
            let events = span["events"].as_array().cloned().unwrap_or_default();
            events
                .iter()
                .map(|e| e["name"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(
            events("resolve"),
            ["resolve"],
            "narrations are events of their step"
        );
        assert!(
            events("verify").contains(&"verified".to_string()),
            "{:?}",
            events("verify")
        );
        assert!(
            metric_names.iter().any(|n| n == "provision.step.duration"),
            "{metric_names:?}"
        );
    }
}
