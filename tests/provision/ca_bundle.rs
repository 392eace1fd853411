//! A private CA trusted through `SSL_CERT_FILE`, against real parts: a CA
//! and a server certificate for `127.0.0.1` made by `openssl`, a GGUF
//! served over TLS by `openssl s_server -WWW` (a real TLS server process;
//! it ignores `Range`, so the file is small and comes in one stream), and
//! a real `tinyproxy` tunnelling to it with `CONNECT`. Checked through the
//! CLI and through the library (`ModelProvisioner::with_settings`).
//! Skipped with a message where `openssl` or `tinyproxy` is missing,
//! unless `CI=true`.

use crate::support::{Dirs, big_gguf, provision_model};
use model_provisioner::{ErrorKind, ModelProvisioner, Settings, sha256_bytes};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True where `tool` runs; otherwise prints SKIPPED (or fails under
/// `CI=true`, where every tool is installed).
fn installed(tool: &str, version_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {tool} is missing: apt-get install -y {tool}"
        );
        eprintln!("SKIPPED: {tool} is not installed (apt-get install -y {tool})");
    }
    ok
}

/// Runs `openssl args…` in `dir`, failing the test when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl s_server -WWW` serving `tiny.gguf` with a certificate for
/// `127.0.0.1` signed by a CA of its own; killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    content: Vec<u8>,
}

impl TlsServer {
    fn start(seed: u64) -> Option<Self> {
        if !installed("openssl", "version") {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Provision Test CA",
            ],
        );
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\n",
        )
        .expect("extensions written");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        );
        let content = big_gguf(4096, seed);
        std::fs::write(d.join("tiny.gguf"), &content).expect("model written");
        let mut child = Command::new("openssl")
            .args(["s_server", "-WWW", "-accept", "0"])
            .args(["-cert", "server.pem", "-key", "server.key"])
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        // It prints `ACCEPT [::]:PORT` once it listens.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("ACCEPT").map(str::to_string))
            .and_then(|l| l.rsplit(':').next()?.trim().parse().ok())
            .expect("s_server prints the port it accepts on");
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Some(Self {
            child,
            port,
            dir,
            content,
        })
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/tiny.gguf", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn digest(&self) -> String {
        format!("sha256:{}", sha256_bytes(&self.content).hex())
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tinyproxy` allowing `CONNECT` to `port` only; killed on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tinyproxy {
    fn start(connect_port: u16) -> Option<Self> {
        if !installed("tinyproxy", "-v") {
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
                "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 60\nMaxClients 16\n\
                 LogFile \"{}\"\nLogLevel Info\nConnectPort {connect_port}\n",
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

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `provision model URL --digest …` with nothing of the Hub in play.
fn provision(dirs: &Dirs, server: &TlsServer) -> Command {
    let mut cmd = provision_model(dirs, "http://127.0.0.1:9", &server.url());
    cmd.arg("--digest").arg(server.digest());
    cmd
}

#[test]
fn an_https_model_from_a_private_ca_downloads_with_ssl_cert_file() {
    let Some(server) = TlsServer::start(31) else {
        return;
    };
    let dirs = Dirs::new();
    let out = provision(&dirs, &server)
        .env("SSL_CERT_FILE", server.ca())
        .output()
        .expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "provision failed:\n{stderr}");
    assert!(stderr.contains("\"action\":\"complete\""), "{stderr}");
}

#[test]
fn an_untrusted_certificate_says_to_set_ssl_cert_file() {
    let Some(server) = TlsServer::start(32) else {
        return;
    };
    let dirs = Dirs::new();
    let out = provision(&dirs, &server).output().expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("TLS certificate is not trusted"),
        "a certificate error, not a generic one:\n{stderr}"
    );
    assert!(
        stderr.contains("SSL_CERT_FILE"),
        "says what to do:\n{stderr}"
    );
}

#[test]
fn an_https_model_through_a_connect_proxy_trusts_the_bundle() {
    let Some(server) = TlsServer::start(33) else {
        return;
    };
    let Some(proxy) = Tinyproxy::start(server.port) else {
        return;
    };
    let dirs = Dirs::new();
    let out = provision(&dirs, &server)
        .env("SSL_CERT_FILE", server.ca())
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .output()
        .expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "provision failed:\n{stderr}");
    let log = proxy.log();
    assert!(
        log.contains(&format!("CONNECT 127.0.0.1:{}", server.port)),
        "the download went through the proxy's tunnel:\n{log}"
    );
}

#[test]
fn a_bundle_without_certificates_is_an_error_naming_it() {
    let dirs = Dirs::new();
    let bundle = dirs.root.path().join("corp-ca.pem");
    std::fs::write(&bundle, "this is not PEM\n").expect("bundle written");
    let out = provision_model(&dirs, "http://127.0.0.1:9", "https://127.0.0.1:9/tiny.gguf")
        .env("SSL_CERT_FILE", &bundle)
        .output()
        .expect("provision runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&bundle.display().to_string()), "{stderr}");
    assert!(stderr.contains("holds no PEM certificate"), "{stderr}");
}

/// The library, as a program embedding it builds it.
fn settings(dirs: &Dirs, ca_bundle: Option<PathBuf>) -> Settings {
    let mut settings = Settings::from_lookup(|k| match k {
        "HOME" => Some(dirs.home().display().to_string()),
        _ => None,
    });
    settings.locations = settings
        .locations
        .with_cache_dir(dirs.cache())
        .with_catalog(dirs.catalog());
    settings.ca_bundle = ca_bundle;
    settings
}

#[test]
fn the_library_trusts_the_bundle_its_settings_name() {
    let Some(server) = TlsServer::start(34) else {
        return;
    };
    let dirs = Dirs::new();
    let from_env = Settings::from_lookup(|k| {
        (k == "SSL_CERT_FILE").then(|| server.ca().display().to_string())
    });
    assert_eq!(from_env.ca_bundle, Some(server.ca()));
    let models = ModelProvisioner::with_settings(settings(&dirs, Some(server.ca())))
        .build()
        .expect("builds");
    let digest = sha256_bytes(&server.content);
    let resolved = models
        .ensure_present_str(&server.url(), Some(digest))
        .expect("downloads and verifies");
    assert_eq!(resolved.digest, digest);
    assert_eq!(
        std::fs::read(&resolved.local_path).expect("model file"),
        server.content
    );

    let bad = dirs.root.path().join("empty.pem");
    std::fs::write(&bad, "").expect("bundle written");
    let capture = narration_core::CaptureAdapter::install();
    let err = ModelProvisioner::with_settings(settings(&dirs, Some(bad.clone())))
        .build()
        .expect_err("an unusable bundle fails the build");
    let failed: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.action == "ensure-failed")
        .map(|n| (n.fields.target, n.fields.error_kind))
        .collect();
    assert_eq!(
        failed,
        [(bad.display().to_string(), Some("ca-bundle".to_string()))],
        "the refused bundle is narrated once"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.error_kind(), "ca-bundle");
    assert!(
        err.to_string().contains(&bad.display().to_string()),
        "{err}"
    );
}

/// `provision --json doctor --offline` with `SSL_CERT_FILE` set to `bundle`:
/// its `ca bundle` row.
fn doctor_row(dirs: &Dirs, bundle: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["--json", "doctor", "--offline"])
        .env_clear()
        .env("HF_HUB_CACHE", dirs.cache())
        .env("PROVISION_CATALOG", dirs.catalog())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dirs.home())
        .env("SSL_CERT_FILE", bundle)
        .output()
        .expect("provision runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let checks: Vec<serde_json::Value> = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"));
    checks
        .into_iter()
        .find(|c| c["name"] == "ca bundle")
        .unwrap_or_else(|| panic!("no ca bundle row: {stdout}"))
}

#[test]
fn the_doctor_shows_the_ca_bundle_in_use() {
    let Some(server) = TlsServer::start(35) else {
        return;
    };
    let dirs = Dirs::new();
    let row = doctor_row(&dirs, &server.ca());
    assert_eq!(row["status"], "OK", "{row}");
    let detail = row["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&server.ca().display().to_string()), "{row}");

    let bad = dirs.root.path().join("corp-ca.pem");
    std::fs::write(&bad, "not PEM\n").expect("bundle written");
    let row = doctor_row(&dirs, &bad);
    assert_eq!(row["status"], "FAIL", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("corp-ca.pem"),
        "{row}"
    );
}
