//! Proxies as curl uses them, against a real `tinyproxy` that allows
//! `CONNECT` only to port 443 (squid's default) and wants credentials:
//! `http:` targets go to it in absolute form, `NO_PROXY` CIDR ranges
//! bypass it, its credentials are never printed, and a `CONNECT` it
//! refuses is reported as the proxy's error.

use crate::support::{Dirs, hub_with, provision_model};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "fleet";
/// Looks like nothing the redaction rules know: only never writing it
/// anywhere keeps it out of the output.
const PASSWORD: &str = "numbat4417";

/// A running `tinyproxy`, killed on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// Starts one, or `None` (with a SKIPPED line) where tinyproxy is not
    /// installed; under `CI=true` a missing tinyproxy fails.
    fn start() -> Option<Self> {
        let installed = Command::new("tinyproxy")
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but tinyproxy is missing: apt-get install -y tinyproxy"
            );
            eprintln!("SKIPPED: tinyproxy is not installed (apt-get install -y tinyproxy)");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = dir.path().join("tinyproxy.log");
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 60\nMaxClients 64\n\
                 LogFile \"{}\"\nLogLevel Info\nConnectPort 443\nBasicAuth {USER} {PASSWORD}\n",
                log.display()
            ),
        )
        .expect("config written");
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy starts");
        let proxy = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tinyproxy did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(proxy)
    }

    /// `http://fleet:PASSWORD@127.0.0.1:PORT`.
    fn url(&self) -> String {
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// The request lines tinyproxy logged (`GET http://… HTTP/1.1`,
    /// `CONNECT host:port HTTP/1.1`).
    fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter_map(|l| l.split_once("): ").map(|(_, r)| r.to_string()))
            .filter(|r| r.ends_with("HTTP/1.1") || r.ends_with("HTTP/1.0"))
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_no_password(out: &Output) {
    for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(PASSWORD),
            "the proxy password leaked into {what}:\n{text}"
        );
    }
}

#[test]
fn an_http_hub_is_reached_through_the_proxy_in_absolute_form() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let (hub, _) = hub_with("org/repo", "file.gguf", crate::support::big_gguf(4096, 7));
    let dirs = Dirs::new();
    let out = provision_model(&dirs, &hub.endpoint(), "hf:org/repo/file.gguf")
        .arg("-vv")
        .env("http_proxy", proxy.url())
        .output()
        .expect("provision runs");
    assert_no_password(&out);
    assert!(
        out.status.success(),
        "provision failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = proxy.requests();
    let served = hub.requests();
    assert!(!served.is_empty());
    assert!(
        seen.iter().all(|r| r.contains(" http://127.0.0.1:")),
        "every request in absolute form, no CONNECT: {seen:?}"
    );
    assert_eq!(
        seen.len(),
        served.len(),
        "every request the Hub and CDN answered went through the proxy: {seen:?}"
    );
    for r in &served {
        let base = match r.listener {
            hub_standin::Listener::Cdn => hub.cdn_endpoint(),
            _ => hub.endpoint(),
        };
        let line = format!("{} {}{}", r.method, base.trim_end_matches('/'), r.path);
        assert!(
            seen.iter().any(|s| s.starts_with(&line)),
            "{line} not in the proxy's log: {seen:?}"
        );
    }
}

#[test]
fn no_proxy_cidr_reaches_loopback_directly() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let (hub, _) = hub_with("org/repo", "file.gguf", crate::support::big_gguf(4096, 8));
    let dirs = Dirs::new();
    let out = provision_model(&dirs, &hub.endpoint(), "hf:org/repo/file.gguf")
        .env("http_proxy", proxy.url())
        .env("NO_PROXY", "example.com,127.0.0.0/8")
        .output()
        .expect("provision runs");
    assert!(
        out.status.success(),
        "provision failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "the proxy saw nothing"
    );
    assert!(!hub.requests().is_empty());
}

#[test]
fn a_proxy_wanting_credentials_is_the_proxy_error_for_an_http_target() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let (hub, _) = hub_with("org/repo", "file.gguf", crate::support::big_gguf(4096, 9));
    let dirs = Dirs::new();
    let out = provision_model(&dirs, &hub.endpoint(), "hf:org/repo/file.gguf")
        .env("http_proxy", format!("http://127.0.0.1:{}", proxy.port))
        .output()
        .expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("\"error_kind\":\"proxy\""), "{stderr}");
    assert!(stderr.contains("HTTP 407"), "{stderr}");
    assert!(
        stderr.contains(&format!("the proxy http://127.0.0.1:{}", proxy.port)),
        "{stderr}"
    );
    assert!(hub.requests().is_empty(), "nothing passed the proxy");
}

#[test]
fn a_connect_the_proxy_refuses_is_the_proxy_error_naming_its_host() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let dirs = Dirs::new();
    // CONNECT to a port other than 443: refused by `ConnectPort 443`.
    let out = provision_model(&dirs, "http://127.0.0.1:9", "https://127.0.0.1:8443/m.gguf")
        .args(["--digest", &format!("sha256:{}", "ab".repeat(32))])
        .env("https_proxy", proxy.url())
        .output()
        .expect("provision runs");
    assert_no_password(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let host = format!("127.0.0.1:{}", proxy.port);
    assert!(
        stderr.contains(&format!("the proxy http://{USER}@{host}"))
            || stderr.contains(&format!("the proxy http://{host}")),
        "the error names the proxy: {stderr}"
    );
    assert!(stderr.contains("\"error_kind\":\"proxy\""), "{stderr}");
    assert!(!stderr.contains("TLS or protocol failure"), "{stderr}");
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("CONNECT 127.0.0.1:8443")),
        "{:?}",
        proxy.requests()
    );
}

#[test]
fn an_unparsable_proxy_variable_is_an_error_naming_it() {
    let dirs = Dirs::new();
    let out = provision_model(&dirs, "http://127.0.0.1:9", "hf:org/repo/file.gguf")
        .env(
            "https_proxy",
            format!("http://{USER}:{PASSWORD}@[proxy:3128"),
        )
        .output()
        .expect("provision runs");
    assert_no_password(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("https_proxy"), "{stderr}");
}

/// `provision --json doctor` with `env`, against the Hub at `endpoint`:
/// the `hf endpoint` row, after checking no password was printed.
fn doctor_hub_row(endpoint: &str, env: &[(&str, String)]) -> serde_json::Value {
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
    cmd.args(["--json", "doctor", "--cache-dir"])
        .arg(home.path().join("cache"))
        .arg("--catalog")
        .arg(home.path().join("catalog.sqlite"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("HF_ENDPOINT", endpoint);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("provision runs");
    assert_no_password(&out);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    checks
        .as_array()
        .expect("an array")
        .iter()
        .find(|c| c["name"] == "hf endpoint")
        .cloned()
        .expect("an hf endpoint row")
}

#[test]
fn the_doctor_reaches_the_hub_through_the_proxy_downloads_use_and_names_it() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let via = format!("through proxy http://127.0.0.1:{}", proxy.port);

    let row = doctor_hub_row(&hub.endpoint(), &[("http_proxy", proxy.url())]);
    let detail = row["detail"].as_str().unwrap();
    assert_eq!(row["status"], "OK", "{row}");
    assert!(
        detail.contains("answered HTTP") && detail.contains(&via),
        "{detail}"
    );
    let seen = proxy.requests();
    let head = format!("HEAD {}", hub.endpoint().trim_end_matches('/'));
    assert!(
        seen.iter().any(|r| r.starts_with(&head)),
        "the HEAD went through the proxy in absolute form: {seen:?}"
    );

    // NO_PROXY covers loopback: straight to the Hub, the proxy sees nothing.
    let before = proxy.requests().len();
    let row = doctor_hub_row(
        &hub.endpoint(),
        &[
            ("http_proxy", proxy.url()),
            ("no_proxy", "127.0.0.0/8".to_string()),
        ],
    );
    assert_eq!(row["status"], "OK", "{row}");
    assert!(
        row["detail"].as_str().unwrap().contains("(directly)"),
        "{row}"
    );
    assert_eq!(proxy.requests().len(), before);

    // Without its credentials the proxy refuses: the row says so, naming
    // the proxy the downloads would use.
    let anonymous = format!("http://127.0.0.1:{}", proxy.port);
    let row = doctor_hub_row(&hub.endpoint(), &[("http_proxy", anonymous)]);
    let detail = row["detail"].as_str().unwrap();
    assert_eq!(row["status"], "WARN", "{row}");
    assert!(
        detail.contains("unreachable") && detail.contains(&via) && detail.contains("proxy"),
        "{detail}"
    );
}
