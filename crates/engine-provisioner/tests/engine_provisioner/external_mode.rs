//! `mode = "external"`: an installed `llama-server` is checked
//! (`--version`, through a cancellable child with a timeout), hashed and
//! handed out; nothing is built. Fake binaries stand in for it; the real
//! one is used when the e2e build left it behind.

use crate::support::{FakeTools, tiny_model};
use engine_provisioner::actions as ev;
use engine_provisioner::{
    EngineOptions, EngineProvisioner, ErrorKind, LlamaCppExternal, Mode, PoolConfig,
    ProvisionError, provider_for,
};
use model_provisioner::actions as mv;
use narration_core::CaptureAdapter;
use std::path::{Path, PathBuf};
use std::time::Duration;

const VERSION_OK: &str = r#"echo "load_backend: loaded CPU backend" >&2
echo "version: 6000 (abcdef0)" >&2
echo "built with cc (GCC) 12.2.0 for x86_64-linux-gnu" >&2
exit 0"#;

fn pool_toml(fake: &FakeTools, binary: &str) -> String {
    format!(
        r#"
id = "ext-pool"
engine = "llamacpp"
[provisioning]
mode = "external"
flags = ["--ctx-size", "128", "--ngl", "99"]
[provisioning.external]
binary = "{binary}"
cache_dir = "{cache}"
[provisioning.model]
ref = "{model}"
"#,
        cache = fake.cache.display(),
        model = tiny_model().display(),
    )
}

fn pool(fake: &FakeTools, binary: &str) -> PoolConfig {
    PoolConfig::from_toml_str(&pool_toml(fake, binary)).unwrap()
}

fn provider(fake: &FakeTools) -> LlamaCppExternal {
    LlamaCppExternal::new(fake.models.clone()).with_path(fake.bin.as_os_str())
}

fn binary_error(err: &ProvisionError) -> String {
    assert!(
        matches!(err, ProvisionError::ExternalBinary { .. }),
        "expected ExternalBinary, got {err:?}"
    );
    assert_eq!(err.action(), ev::BINARY_CHECK_FAILED);
    assert_eq!(err.error_kind(), "binary-check");
    let text = err.to_string();
    assert!(text.contains("provisioning.external.binary"), "{text}");
    text
}

#[test]
fn a_working_binary_is_checked_hashed_and_handed_out_without_building() {
    let fake = FakeTools::new();
    fake.script("llama-server", VERSION_OK);
    let capture = CaptureAdapter::install();
    let binary = fake.bin.join("llama-server");
    let pool = pool(&fake, &binary.display().to_string());
    let engine = provider_for(&pool, fake.models.clone())
        .unwrap()
        .ensure(&pool)
        .unwrap_err_or_engine(&fake);
    assert_eq!(engine.binary_path, binary);
    assert_eq!(engine.provisioning_mode, "external");
    assert_eq!(engine.engine_version, "llamacpp-external:b6000");
    assert_eq!(engine.commit, "abcdef0");
    let (digest, _) = model_provisioner::hash_file(&binary).unwrap();
    assert_eq!(engine.binary_sha256, digest.hex());
    assert_eq!(engine.model_path, tiny_model());
    assert!(
        engine
            .flags
            .windows(2)
            .any(|w| w == ["--n-gpu-layers", "99"]),
        "the build is unknown: GPU layers pass through: {:?}",
        engine.flags
    );
    assert_eq!(
        fake.calls(),
        ["llama-server --version"],
        "nothing but the binary's --version runs"
    );
    assert!(!fake.cache.join("src").exists() && !fake.cache.join("build").exists());
    capture.assert_sequence(&[
        (ev::ACTOR, ev::START),
        (ev::ACTOR, ev::PREFLIGHT),
        (ev::ACTOR, ev::BINARY_CHECK),
        (ev::ACTOR, ev::BINARY_CHECK),
        (mv::ACTOR, mv::RESOLVE),
        (ev::ACTOR, ev::COMPLETE),
    ]);
}

/// `ensure` returning the engine, or a panic naming the calls made.
trait EngineOrPanic {
    fn unwrap_err_or_engine(self, fake: &FakeTools) -> engine_provisioner::PreparedEngine;
}

impl EngineOrPanic for engine_provisioner::Result<engine_provisioner::PreparedEngine> {
    fn unwrap_err_or_engine(self, fake: &FakeTools) -> engine_provisioner::PreparedEngine {
        self.unwrap_or_else(|e| panic!("ensure failed: {e}; calls: {:?}", fake.calls()))
    }
}

#[test]
fn the_plan_is_neutral_and_builds_nothing() {
    let fake = FakeTools::new();
    fake.script("llama-server", VERSION_OK);
    let plan = provider(&fake).plan(&pool(&fake, "llama-server")).unwrap();
    assert_eq!(plan.mode, Mode::External);
    assert_eq!(plan.binary_path, fake.bin.join("llama-server"));
    assert!(plan.tools.is_empty());
    let kinds: Vec<&str> = plan.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["binary-check", "model", "flags"]);
    assert!(fake.calls().is_empty(), "a plan runs nothing");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["mode"], "external");
    assert_eq!(json["configured"], "llama-server");
}

#[test]
fn a_failing_binary_is_binary_check_failed_naming_the_key() {
    let fake = FakeTools::new();
    fake.script(
        "llama-server",
        "echo 'error while loading shared libraries: libggml.so' >&2; exit 127",
    );
    let capture = CaptureAdapter::install();
    let err = provider(&fake)
        .ensure(&pool(&fake, "llama-server"))
        .unwrap_err();
    let text = binary_error(&err);
    assert!(text.contains("libggml.so"), "quotes the output: {text}");
    assert_eq!(err.kind(), ErrorKind::Toolchain);
    capture.assert_sequence(&[
        (ev::ACTOR, ev::START),
        (ev::ACTOR, ev::PREFLIGHT),
        (ev::ACTOR, ev::BINARY_CHECK),
        (ev::ACTOR, ev::BINARY_CHECK_FAILED),
    ]);
}

#[test]
fn a_binary_without_a_version_line_is_refused() {
    let fake = FakeTools::new();
    fake.script("llama-server", "echo 'usage: something else'");
    let err = provider(&fake)
        .ensure(&pool(&fake, "llama-server"))
        .unwrap_err();
    assert!(binary_error(&err).contains("version: N (commit)"));
}

#[test]
fn missing_and_non_executable_binaries_are_refused_before_running() {
    let fake = FakeTools::new();
    let err = provider(&fake)
        .ensure(&pool(&fake, "llama-server"))
        .unwrap_err();
    assert!(binary_error(&err).contains("not found on PATH"));

    let plain = fake.dir.path().join("llama-server.txt");
    std::fs::write(&plain, "#!/bin/sh\necho version: 1 (a)\n").unwrap();
    let err = provider(&fake)
        .ensure(&pool(&fake, &plain.display().to_string()))
        .unwrap_err();
    assert!(binary_error(&err).contains("is not executable"));

    let absent = fake.dir.path().join("nowhere/llama-server");
    let err = provider(&fake)
        .ensure(&pool(&fake, &absent.display().to_string()))
        .unwrap_err();
    assert!(binary_error(&err).contains("cannot be read"));
    assert!(fake.calls().is_empty(), "nothing ran");
}

#[test]
fn a_hanging_binary_is_stopped_at_the_timeout() {
    let fake = FakeTools::new();
    fake.script("llama-server", "sleep 60");
    let err = provider(&fake)
        .with_version_timeout(Duration::from_millis(300))
        .ensure(&pool(&fake, "llama-server"))
        .unwrap_err();
    assert!(binary_error(&err).contains("did not finish within"));
}

#[test]
fn a_cancel_stops_the_version_check() {
    let fake = FakeTools::new();
    fake.script("llama-server", "sleep 60");
    let options = EngineOptions::default();
    let cancel = options.cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let err = provider(&fake)
        .ensure_with(&pool(&fake, "llama-server"), &options)
        .unwrap_err();
    canceller.join().unwrap();
    assert!(
        matches!(err, ProvisionError::Cancelled { step, .. } if step == ev::BINARY_CHECK),
        "{err:?}"
    );
}

#[test]
fn relative_binary_paths_are_refused_at_load() {
    let fake = FakeTools::new();
    let err = PoolConfig::from_toml_str(&pool_toml(&fake, "bin/llama-server")).unwrap_err();
    assert!(
        err.to_string().contains("provisioning.external.binary"),
        "{err}"
    );
}

#[test]
fn unimplemented_modes_parse_and_are_refused_naming_the_mode() {
    let fake = FakeTools::new();
    for mode in ["container", "package"] {
        let toml = pool_toml(&fake, "llama-server").replace("\"external\"", &format!("\"{mode}\""));
        let pool = PoolConfig::from_toml_str(&toml).unwrap();
        let err = match provider_for(&pool, fake.models.clone()) {
            Err(e) => e,
            Ok(_) => panic!("{mode} accepted"),
        };
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(err.error_kind(), "unsupported-mode");
        assert!(err.to_string().contains(mode), "{err}");
    }
}

/// The llama-server the e2e test builds, when a previous run left it.
fn built_server() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".cache/provision-test/engine-cpu/build/bin/llama-server");
    path.is_file().then_some(path)
}

#[test]
fn the_real_server_provisioned_externally_answers_health() {
    let Some(server) = built_server() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the e2e build's llama-server must be there"
        );
        eprintln!("skipped: no llama-server under ~/.cache/provision-test (run the e2e test once)");
        return;
    };
    let fake = FakeTools::new();
    let pool = pool(&fake, &server.display().to_string());
    let engine = provider_for(&pool, fake.models.clone())
        .unwrap()
        .ensure(&pool)
        .unwrap();
    assert!(
        engine.engine_version.starts_with("llamacpp-external:b"),
        "{}",
        engine.engine_version
    );
    let mut child = std::process::Command::new(engine.command())
        .args(engine.args())
        .envs(&engine.env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ok = wait_healthy(&engine.health_url);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "{} never answered 200", engine.health_url);
}

/// GET the health URL until it answers 200 (a generous deadline only
/// guards against a hang).
fn wait_healthy(url: &str) -> bool {
    use std::io::{Read, Write};
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = write!(s, "GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
