//! Shared set-up for the oci_* tests: a real CNCF distribution registry
//! (`docker-registry serve`) on loopback with a temporary store, artifacts
//! pushed by the third-party `oras` Python client, and a provisioner with
//! the OCI fetcher. A missing component skips the test with a message,
//! except under `CI=true`, where it fails.
#![allow(dead_code)]

use model_provisioner::oci::{OciConfig, OciFetcher, RegistryAuth};
use model_provisioner::{ModelProvisioner, RetryPolicy};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PUSH_PY: &str = include_str!("push.py");

/// True when `docker-registry`, `skopeo` and python3 with `oras` are
/// installed; otherwise prints why and returns false (panics under CI).
pub fn components_available() -> bool {
    let runs = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing: Vec<&str> = [
        (
            "docker-registry (apt-get install docker-registry)",
            runs("docker-registry", &["--version"]),
        ),
        (
            "skopeo (apt-get install skopeo)",
            runs("skopeo", &["--version"]),
        ),
        (
            "python3 oras (pip install oras==0.2.43)",
            runs("python3", &["-c", "import oras.client"]),
        ),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but OCI test components are missing: {missing:?}"
    );
    eprintln!("SKIPPED: OCI test components missing: {missing:?}");
    false
}

/// A running registry; stopped on drop.
pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// Basic credentials the registry requires, when it does.
    pub basic: Option<(String, String)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Registry {
    /// An open registry.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A registry that wants Basic credentials (htpasswd, bcrypt).
    pub fn with_basic_auth(user: &str, password: &str) -> Self {
        Self::launch(Some((user.to_string(), password.to_string())))
    }

    fn launch(basic: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut auth = String::new();
        if let Some((user, password)) = &basic {
            let htpasswd = dir.path().join("htpasswd");
            let line = Command::new("python3")
                .args(["-c", "import bcrypt,sys; print(sys.argv[1]+':'+bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(5)).decode())", user, password])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .or_else(|| {
                    Command::new("htpasswd")
                        .args(["-nbB", user, password])
                        .output()
                        .ok()
                        .filter(|o| o.status.success())
                })
                .expect("python3 bcrypt or htpasswd makes a bcrypt line");
            std::fs::write(&htpasswd, line.stdout).unwrap();
            auth = format!(
                "auth: {{htpasswd: {{realm: test, path: {}}}}}\n",
                htpasswd.display()
            );
        }
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: {host}}}\n{auth}",
                dir.path().join("store").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let registry = Self {
            child,
            dir,
            host,
            basic,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(&self.host) {
                let _ = write!(s, "GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.host);
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("registry at {} did not start", self.host);
    }

    /// Pushes `files` as `repo:tag` in `format` with oras.
    pub fn push(&self, target: &str, format: &str, files: &[&Path]) {
        let script = self.dir.path().join("push.py");
        std::fs::write(&script, PUSH_PY).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(&self.host).arg(target).arg(format);
        if let Some((user, password)) = &self.basic {
            cmd.args(["--user", user, "--password", password]);
        }
        let out = cmd.args(files).output().expect("python3 runs");
        assert!(
            out.status.success(),
            "oras push {target} {format} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The registry's stored file of a blob (`…/blobs/sha256/xx/HEX/data`).
    pub fn stored_blob(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("store/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// `oci://HOST/REPO:TAG`.
    pub fn model_ref(&self, target: &str) -> String {
        format!("oci://{}/{target}", self.host)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny llama GGUF at `dir/name`, and its bytes.
pub fn tiny_gguf(dir: &Path, name: &str, seed: u64) -> (PathBuf, Vec<u8>) {
    let path = dir.join(name);
    model_provisioner::gguf::write_tiny_llama(&path, seed).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// A provisioner with only the OCI fetcher, caching under `cache`.
pub fn provisioner(cache: &Path, auth: RegistryAuth) -> ModelProvisioner {
    provisioner_with(
        cache,
        OciConfig {
            auth,
            retry: RetryPolicy::quick(),
            ..OciConfig::default()
        },
    )
}

/// A provisioner with an OCI fetcher set as `config` says.
pub fn provisioner_with(cache: &Path, config: OciConfig) -> ModelProvisioner {
    ModelProvisioner::builder(cache)
        .fetcher(Arc::new(OciFetcher::new(config)))
        .build()
        .unwrap()
}
