//! `mode = "binary"`: a release archive served by the loopback stand-in
//! (its CDN for `http://` URLs, its Hub for `hf:` files) is downloaded,
//! verified, unpacked safely, checked with `--version` and installed under
//! its sha256. A fake `llama-server` (a shell script that needs its own
//! folder on `LD_LIBRARY_PATH`) stands in for the real one; the e2e test
//! packs the real one.

use crate::release::{self, Entry};
use crate::support::tiny_model;
use engine_provisioner::{
    ArchiveLimits, EngineOptions, EngineProvisioner, ErrorKind, LlamaCppBinary, Mode, PoolConfig,
    PreparedEngine, ProvisionError, provider_for,
};
use hub_standin::{FileSpec, Hub};
use model_provisioner::hf::{HfConfig, HfFetcher};
use model_provisioner::{ModelProvisioner, Progress, ProgressStep};
use narration_core::CaptureAdapter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const REPO: &str = "ggml-org/llama-bin";

/// A stand-in Hub, an install dir, a run log for the fake server and a
/// model provisioner, all in one temp dir.
struct Fixture {
    dir: tempfile::TempDir,
    hub: Hub,
    install: PathBuf,
    runs: PathBuf,
    models: Arc<ModelProvisioner>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        let models = Arc::new(
            ModelProvisioner::builder(&models)
                .catalog_path(models.join("catalog.sqlite"))
                .build()
                .unwrap(),
        );
        Self {
            hub: Hub::start().unwrap(),
            install: dir.path().join("engines/binary"),
            runs: dir.path().join("runs.log"),
            models,
            dir,
        }
    }

    /// The release layout with the fake server.
    fn release(&self) -> Vec<Entry> {
        release::release_entries(release::fake_server(&self.runs))
    }

    /// Serve `bytes` as `name` of the stand-in repo: its CDN URL and sha256.
    fn serve(&self, name: &str, bytes: Vec<u8>) -> (String, String) {
        let spec = FileSpec::lfs(bytes);
        let sha = spec.sha256();
        self.hub.commit(REPO, "main", vec![(name, spec.clone())]);
        (
            format!("{}{}", self.hub.cdn_endpoint(), Hub::cdn_path(&spec)),
            sha,
        )
    }

    fn toml(&self, id: &str, url: &str, sha: Option<&str>, extra: &str) -> String {
        let sha = sha
            .map(|s| format!("sha256 = \"{s}\"\n"))
            .unwrap_or_default();
        format!(
            "id = \"{id}\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"binary\"\n{extra}\n\
             [provisioning.binary]\nurl = \"{url}\"\n{sha}install_dir = \"{install}\"\n\
             [provisioning.model]\nref = \"{model}\"\n",
            install = self.install.display(),
            model = tiny_model().display(),
        )
    }

    fn pool(&self, id: &str, url: &str, sha: Option<&str>) -> PoolConfig {
        PoolConfig::from_toml_str(&self.toml(id, url, sha, "")).unwrap()
    }

    fn provider(&self) -> LlamaCppBinary {
        let hf = HfConfig::from_lookup(|_| None)
            .with_endpoint(&self.hub.endpoint())
            .with_cache_dir(self.dir.path().join("hf"));
        LlamaCppBinary::new(self.models.clone()).with_fetcher(Arc::new(HfFetcher::new(hf)))
    }

    /// Installs and temporary folders in the install dir.
    fn installs(&self) -> Vec<String> {
        let Ok(read) = std::fs::read_dir(&self.install) else {
            return Vec::new();
        };
        let mut names: Vec<String> = read
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp") || n.len() == 64)
            .collect();
        names.sort();
        names
    }

    /// How many times the fake server ran.
    fn runs(&self) -> usize {
        std::fs::read_to_string(&self.runs)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

/// What was narrated, as `engine/…` and `model/…`, without the
/// timing-dependent `download-progress`.
fn sequence(capture: &CaptureAdapter) -> Vec<String> {
    capture
        .captured()
        .iter()
        .filter(|n| !n.fields.action.ends_with("download-progress"))
        .map(|n| {
            let actor = n.fields.actor.split('-').next().unwrap_or("");
            format!("{actor}/{}", n.fields.action)
        })
        .collect()
}

const COLD: &[&str] = &[
    "engine/start",
    "engine/preflight",
    "engine/binary-download",
    "engine/binary-downloaded",
    "engine/verify",
    "engine/unpack",
    "engine/unpack",
    "engine/binary-check",
    "engine/binary-check",
    "engine/installed",
    "model/resolve",
    "model/ensure",
    "model/verify",
    "model/verified",
    "model/register",
    "model/complete",
    "engine/complete",
];

const WARM: &[&str] = &[
    "engine/start",
    "engine/preflight",
    "engine/install-cached",
    "model/resolve",
    "model/ensure",
    "model/verify",
    "model/cache-hit",
    "model/verified",
    "model/complete",
    "engine/complete",
];

fn check_engine(engine: &PreparedEngine, fx: &Fixture, sha: &str) {
    let install = fx.install.join(sha);
    assert_eq!(engine.binary_path, install.join("build/bin/llama-server"));
    assert_eq!(engine.command(), engine.binary_path);
    assert_eq!(engine.provisioning_mode, "binary");
    assert_eq!(engine.engine_version, "llamacpp-binary:b6000");
    assert_eq!(engine.commit, "abc1234");
    let (digest, _) = model_provisioner::hash_file(&engine.binary_path).unwrap();
    assert_eq!(engine.binary_sha256, digest.hex());
    assert_eq!(
        engine.env.get("LD_LIBRARY_PATH").map(PathBuf::from),
        Some(install.join("build/bin"))
    );
    assert_eq!(engine.model_path, tiny_model());
    assert_eq!(engine.host, "127.0.0.1");
    assert_eq!(
        engine.health_url,
        format!("http://127.0.0.1:{}/health", engine.port)
    );
    assert_eq!(
        std::fs::read_link(install.join("build/bin/libggml.so")).unwrap(),
        Path::new("libggml.so.0"),
        "the relative library link is kept"
    );
}

#[test]
fn tar_gz_and_zip_releases_install_once_then_a_warm_ensure_uses_no_network_and_runs_nothing() {
    for (name, pack) in [
        (
            "llama-bin.tar.gz",
            release::tar_gz as fn(&[Entry]) -> Vec<u8>,
        ),
        ("llama-bin.zip", release::zip),
    ] {
        let fx = Fixture::new();
        let (url, sha) = fx.serve(name, pack(&fx.release()));
        let pool = fx.pool("bin", &url, Some(&sha));
        let capture = CaptureAdapter::install();
        let engine = fx.provider().ensure(&pool).unwrap();
        check_engine(&engine, &fx, &sha);
        assert_eq!(sequence(&capture), COLD, "{name}");
        assert_eq!(fx.runs(), 1, "{name}: one --version check");
        assert_eq!(
            fx.installs(),
            std::slice::from_ref(&sha),
            "{name}: no temporary folder left"
        );

        fx.hub.clear_requests();
        capture.clear();
        let warm = fx.provider().ensure(&pool).unwrap();
        assert_eq!(warm.binary_path, engine.binary_path);
        assert_eq!(warm.engine_version, engine.engine_version);
        assert_eq!(warm.env, engine.env);
        assert_eq!(sequence(&capture), WARM, "{name}");
        assert!(
            fx.hub.requests().is_empty(),
            "{name}: {:?}",
            fx.hub.requests()
        );
        assert_eq!(fx.runs(), 1, "{name}: the warm ensure runs no process");
    }
}

#[test]
fn the_mode_table_picks_binary_and_the_plan_writes_nothing() {
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let pool = fx.pool("bin", &url, Some(&sha));
    let plan = provider_for(&pool, fx.models.clone())
        .unwrap()
        .plan(&pool)
        .unwrap();
    assert_eq!(plan.mode, Mode::Binary);
    assert_eq!(plan.engine_version, "llamacpp-binary");
    let kinds: Vec<&str> = plan.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "binary-download",
            "unpack",
            "binary-check",
            "install",
            "model",
            "flags"
        ]
    );
    assert_eq!(plan.binary_path, fx.install.join(&sha).join("llama-server"));
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["mode"], "binary");
    assert_eq!(json["url"], url);
    assert!(!fx.install.exists(), "a plan writes nothing");
    assert!(fx.hub.requests().is_empty(), "a plan fetches nothing");
}

#[test]
fn an_hf_file_without_a_sha256_uses_the_hubs_when_binary_downloads_are_allowed() {
    let fx = Fixture::new();
    let (_, sha) = fx.serve("llama-b6000-bin.tar.gz", release::tar_gz(&fx.release()));
    let url = format!("hf:{REPO}/llama-b6000-bin.tar.gz");
    let refused = PoolConfig::from_toml_str(&fx.toml("bin", &url, None, "")).unwrap_err();
    assert!(
        refused.to_string().contains("provisioning.binary.sha256")
            && refused.to_string().contains("allow_binary_downloads"),
        "{refused}"
    );
    let pool =
        PoolConfig::from_toml_str(&fx.toml("bin", &url, None, "allow_binary_downloads = true"))
            .unwrap();
    let engine = fx.provider().ensure(&pool).unwrap();
    check_engine(&engine, &fx, &sha);
    assert_eq!(fx.installs(), [sha]);
}

#[test]
fn two_pools_naming_one_archive_share_one_install_and_one_download() {
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let a = fx
        .provider()
        .ensure(&fx.pool("a", &url, Some(&sha)))
        .unwrap();
    let b = fx
        .provider()
        .ensure(&fx.pool("b", &url, Some(&sha)))
        .unwrap();
    assert_eq!(a.binary_path, b.binary_path);
    assert_eq!(fx.installs(), std::slice::from_ref(&sha));
    assert_eq!(fx.hub.count("GET", &sha), 1, "{:?}", fx.hub.requests());
    assert_eq!(fx.runs(), 1, "checked once");
}

#[test]
fn two_concurrent_ensures_of_one_archive_both_succeed_with_one_install() {
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.zip", release::zip(&fx.release()));
    let provider = fx.provider();
    let pools = [
        fx.pool("a", &url, Some(&sha)),
        fx.pool("b", &url, Some(&sha)),
    ];
    let engines: Vec<PreparedEngine> = std::thread::scope(|s| {
        let handles: Vec<_> = pools
            .iter()
            .map(|pool| s.spawn(|| provider.ensure(pool)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(engines[0].binary_path, engines[1].binary_path);
    check_engine(&engines[0], &fx, &sha);
    assert_eq!(
        fx.installs(),
        [sha],
        "one install, no temporary folder left"
    );
}

/// The error of an ensure that must fail, after checking that nothing was
/// installed and that its narrations end in `action` with `kind`.
fn refused(
    case: &str,
    fx: &Fixture,
    bytes: Vec<u8>,
    limits: ArchiveLimits,
) -> (ProvisionError, Vec<String>) {
    let (url, sha) = fx.serve("bad.tar.gz", bytes);
    let capture = CaptureAdapter::install();
    let err = fx
        .provider()
        .with_limits(limits)
        .ensure(&fx.pool("bad", &url, Some(&sha)))
        .map(|e| panic!("{case}: installed {}", e.binary_path.display()))
        .unwrap_err();
    let seq = sequence(&capture);
    assert_eq!(
        seq.last().map(String::as_str),
        Some(format!("engine/{}", err.action()).as_str()),
        "{seq:?}"
    );
    let failed: Vec<_> = seq.iter().filter(|a| a.ends_with("-failed")).collect();
    assert_eq!(failed.len(), 1, "one failure narration: {seq:?}");
    capture.assert_field("error_kind", err.error_kind());
    assert!(
        fx.installs().is_empty(),
        "nothing installed: {:?}",
        fx.installs()
    );
    (err, seq)
}

#[test]
fn hostile_archives_are_refused_naming_the_entry_and_nothing_is_installed() {
    let small = ArchiveLimits {
        max_total_bytes: 1 << 20,
        max_entries: 20,
        max_ratio: 50,
    };
    let with = |mut extra: Vec<Entry>| {
        let fx = Fixture::new();
        let mut entries = fx.release();
        entries.append(&mut extra);
        (fx, entries)
    };
    let file = |n: &str| Entry::File(n.into(), b"x".to_vec(), 0o644);
    let cases: Vec<(&str, Vec<Entry>, bool, &str, &str)> = vec![
        // (case, extra entries, as zip, error_kind, text)
        (
            "path traversal",
            vec![file("../x")],
            false,
            "unsafe-archive",
            "\"../x\"",
        ),
        (
            "deep traversal",
            vec![file("build/../../x")],
            false,
            "unsafe-archive",
            "climbs out",
        ),
        (
            "absolute path",
            vec![file("/tmp/provision-binary-escape")],
            false,
            "unsafe-archive",
            "absolute path",
        ),
        (
            "windows drive",
            vec![file("C:/x")],
            true,
            "unsafe-archive",
            "Windows drive",
        ),
        (
            "backslash",
            vec![file("..\\x")],
            true,
            "unsafe-archive",
            "backslash",
        ),
        (
            "symlink to /etc/passwd",
            vec![Entry::Symlink("passwd".into(), "/etc/passwd".into())],
            false,
            "unsafe-archive",
            "/etc/passwd",
        ),
        (
            "symlink climbing out",
            vec![Entry::Symlink("build/bin/x".into(), "../../../x".into())],
            false,
            "unsafe-archive",
            "points outside",
        ),
        (
            "zip symlink to /etc/passwd",
            vec![Entry::Symlink("passwd".into(), "/etc/passwd".into())],
            true,
            "unsafe-archive",
            "/etc/passwd",
        ),
        (
            "symlink escaping through another link",
            vec![
                Entry::Symlink("here".into(), ".".into()),
                // Lexically `here/..` is the root; really it is its parent.
                Entry::Symlink("out".into(), "here/..".into()),
            ],
            false,
            "unsafe-archive",
            "resolves outside",
        ),
        (
            "hardlink to /etc/passwd",
            vec![Entry::Hardlink("passwd".into(), "/etc/passwd".into())],
            false,
            "unsafe-archive",
            "hardlink",
        ),
        (
            "hardlink climbing out",
            vec![Entry::Hardlink("passwd".into(), "../../etc/passwd".into())],
            false,
            "unsafe-archive",
            "hardlink",
        ),
        (
            "hardlink to a folder",
            vec![Entry::Hardlink("h".into(), "build".into())],
            false,
            "unsafe-archive",
            "hardlink",
        ),
        (
            "fifo",
            vec![Entry::Fifo("pipe".into())],
            false,
            "unsafe-archive",
            "fifo",
        ),
        (
            "zip bomb (ratio)",
            vec![Entry::File("zeros".into(), vec![0; 512 << 10], 0o644)],
            true,
            "archive-too-large",
            "compression ratio",
        ),
        (
            "gzip bomb (ratio)",
            vec![Entry::File("zeros".into(), vec![0; 900 << 10], 0o644)],
            false,
            "archive-too-large",
            "compression ratio",
        ),
        (
            "too large",
            vec![Entry::File(
                "blob".into(),
                release::incompressible(2 << 20),
                0o644,
            )],
            false,
            "archive-too-large",
            "unpacked size",
        ),
        (
            "too many files",
            (0..30).map(|i| file(&format!("f{i}"))).collect(),
            false,
            "archive-too-large",
            "number of entries",
        ),
        (
            "two llama-server",
            vec![Entry::File(
                "other/llama-server".into(),
                b"x".to_vec(),
                0o755,
            )],
            false,
            "no-binary",
            "several files named llama-server",
        ),
    ];
    for (case, extra, as_zip, kind, text) in cases {
        let (fx, entries) = with(extra);
        let bytes = if as_zip {
            release::zip(&entries)
        } else {
            release::tar_gz(&entries)
        };
        let (err, seq) = refused(case, &fx, bytes, small);
        assert_eq!(err.error_kind(), kind, "{case}: {err}");
        assert_eq!(err.action(), "unpack-failed", "{case}");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{case}");
        let message = err.to_string();
        assert!(message.contains(text), "{case}: {message}");
        assert!(
            message.contains("nothing was installed"),
            "{case}: {message}"
        );
        for outside in [
            fx.install.join("x"),
            fx.install.parent().unwrap().join("x"),
            fx.dir.path().join("x"),
            PathBuf::from("/tmp/provision-binary-escape"),
        ] {
            assert!(!outside.exists(), "{case}: wrote {}", outside.display());
        }
        assert_eq!(fx.runs(), 0, "{case}: nothing ran");
        assert_eq!(
            &seq[seq.len() - 3..],
            ["engine/verify", "engine/unpack", "engine/unpack-failed"],
            "{case}"
        );
    }
}

#[test]
fn an_archive_without_llama_server_or_not_an_archive_is_refused() {
    let fx = Fixture::new();
    let entries = vec![Entry::File("README".into(), b"hi".to_vec(), 0o644)];
    let (err, _) = refused(
        "no binary",
        &fx,
        release::tar_gz(&entries),
        ArchiveLimits::default(),
    );
    assert_eq!(err.error_kind(), "no-binary");
    assert!(
        err.to_string().contains("provisioning.binary.binary"),
        "{err}"
    );

    let fx = Fixture::new();
    let (err, _) = refused(
        "not an archive",
        &fx,
        b"<html>not found</html>".to_vec(),
        ArchiveLimits::default(),
    );
    assert_eq!(err.error_kind(), "not-an-archive");
}

#[test]
fn a_wrong_sha256_is_verify_failed_and_nothing_is_unpacked() {
    let fx = Fixture::new();
    let (url, _) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let capture = CaptureAdapter::install();
    let err = fx
        .provider()
        .ensure(&fx.pool("bin", &url, Some(&"ab".repeat(32))))
        .unwrap_err();
    assert_eq!(err.action(), "verify-failed", "{err}");
    assert_eq!(err.error_kind(), "digest-mismatch");
    assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    assert!(err.to_string().contains("provisioning.binary.url"), "{err}");
    assert_eq!(
        sequence(&capture).last().map(String::as_str),
        Some("engine/verify-failed")
    );
    assert!(fx.installs().is_empty());
    assert_eq!(fx.runs(), 0);
}

#[test]
fn a_binary_failing_its_version_check_is_binary_check_failed_and_not_installed() {
    let fx = Fixture::new();
    let mut entries = fx.release();
    // Without its libraries the fake fails as the real loader does.
    entries.retain(|e| !matches!(e, Entry::File(n, ..) if n.ends_with("libllama.so")));
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&entries));
    let capture = CaptureAdapter::install();
    let err = fx
        .provider()
        .ensure(&fx.pool("bin", &url, Some(&sha)))
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::ArchiveBinary { .. }),
        "{err:?}"
    );
    assert_eq!(err.action(), "binary-check-failed");
    assert_eq!(err.error_kind(), "binary-check");
    assert!(err.to_string().contains("libllama.so"), "{err}");
    let seq = sequence(&capture);
    assert_eq!(
        &seq[seq.len() - 4..],
        [
            "engine/unpack",
            "engine/unpack",
            "engine/binary-check",
            "engine/binary-check-failed"
        ]
    );
    assert!(fx.installs().is_empty(), "{:?}", fx.installs());
}

/// Ensure with a progress observer that cancels at the first report of
/// `step`.
fn cancelled_at(fx: &Fixture, url: &str, sha: &str, step: ProgressStep) -> ProvisionError {
    let options = EngineOptions::default();
    let cancel = options.cancel.clone();
    let options = EngineOptions {
        progress: Some(Arc::new(move |p: &Progress| {
            if p.step == step {
                cancel.cancel();
            }
        })),
        ..options
    };
    fx.provider()
        .ensure_with(&fx.pool("bin", url, Some(sha)), &options)
        .unwrap_err()
}

#[test]
fn a_cancel_during_the_download_or_the_unpack_stops_it_and_installs_nothing() {
    let fx = Fixture::new();
    let mut entries = fx.release();
    entries.push(Entry::File(
        "build/bin/libggml-big.so".into(),
        release::incompressible(4 << 20),
        0o644,
    ));
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&entries));
    fx.hub.limit_connection_rate(Some(256 << 10));
    let err = cancelled_at(&fx, &url, &sha, ProgressStep::Download);
    assert!(
        matches!(
            err,
            ProvisionError::Cancelled {
                step: "binary-download",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(fx.installs().is_empty());

    fx.hub.limit_connection_rate(None);
    let err = cancelled_at(&fx, &url, &sha, ProgressStep::Install);
    assert!(
        matches!(err, ProvisionError::Cancelled { step: "unpack", .. }),
        "{err:?}"
    );
    assert!(fx.installs().is_empty(), "{:?}", fx.installs());
    assert_eq!(fx.runs(), 0);
    // Nothing was lost: the next ensure installs.
    let engine = fx
        .provider()
        .ensure(&fx.pool("bin", &url, Some(&sha)))
        .unwrap();
    check_engine(&engine, &fx, &sha);
}

#[test]
fn a_changed_binary_in_an_install_is_replaced_by_a_fresh_install() {
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let pool = fx.pool("bin", &url, Some(&sha));
    let engine = fx.provider().ensure(&pool).unwrap();
    std::fs::write(&engine.binary_path, "#!/bin/sh\necho version: 1 (evil)\n").unwrap();
    let again = fx.provider().ensure(&pool).unwrap();
    let (on_disk, _) = model_provisioner::hash_file(&again.binary_path).unwrap();
    assert_eq!(on_disk.hex(), engine.binary_sha256, "the original is back");
    assert_eq!(again.binary_sha256, engine.binary_sha256);
    assert_eq!(fx.installs(), [sha]);
}

#[test]
fn binary_config_errors_name_their_key() {
    let fx = Fixture::new();
    let key_of = |url: &str, sha: Option<&str>, extra_bin: &str| {
        let text = fx.toml("p", url, sha, "").replace(
            "[provisioning.model]",
            &format!("{extra_bin}\n[provisioning.model]"),
        );
        match PoolConfig::from_toml_str(&text) {
            Err(engine_provisioner::ConfigError::Invalid { key, problem }) => {
                assert!(!problem.is_empty());
                key
            }
            other => panic!("{url}: expected Invalid, got {other:?}"),
        }
    };
    let sha = "ab".repeat(32);
    assert_eq!(
        key_of("https://x.org/a.tar.gz", None, ""),
        "provisioning.binary.sha256"
    );
    assert_eq!(
        key_of("http://mirror.example.org/a.tar.gz", Some(&sha), ""),
        "provisioning.binary.url"
    );
    assert_eq!(
        key_of("hf:org/repo:Q4_K_M", Some(&sha), ""),
        "provisioning.binary.url"
    );
    assert_eq!(
        key_of("/local/a.tar.gz", Some(&sha), ""),
        "provisioning.binary.url"
    );
    assert_eq!(
        key_of("https://x.org/a.tar.gz", Some("md5:x"), ""),
        "provisioning.binary.sha256"
    );
    assert_eq!(
        key_of(
            "https://x.org/a.tar.gz",
            Some(&sha),
            "binary = \"../llama-server\""
        ),
        "provisioning.binary.binary"
    );
    assert_eq!(
        key_of("https://x.org/a.tar.gz", Some(&sha), "binary = \"/bin/sh\""),
        "provisioning.binary.binary"
    );
    // A bare hex digest (what sha256sum prints) is accepted.
    PoolConfig::from_toml_str(&fx.toml("p", "http://127.0.0.1:9/a.tar.gz", Some(&sha), ""))
        .unwrap();
    let missing = PoolConfig::from_toml_str(
        "id = \"p\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"binary\"\n[provisioning.model]\nref = \"/m.gguf\"",
    )
    .unwrap();
    let err = LlamaCppBinary::new(fx.models.clone())
        .plan(&missing)
        .unwrap_err();
    assert_eq!(err.error_kind(), "missing-config");
    assert!(err.to_string().contains("provisioning.binary"), "{err}");
}

#[test]
fn url_credentials_reach_no_narration_plan_or_prepared_engine() {
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let secret = url.replace("http://", "http://builder:s3cr3t-t0ken@");
    let pool = fx.pool("bin", &secret, Some(&sha));
    let capture = CaptureAdapter::install();
    let plan = fx.provider().plan(&pool).unwrap();
    let engine = fx.provider().ensure(&pool).unwrap();
    let shown = [
        serde_json::to_string(&plan).unwrap(),
        serde_json::to_string(&engine).unwrap(),
        serde_json::to_string(&pool).unwrap(),
        format!("{:?}", capture.captured()),
    ];
    for text in shown {
        assert!(!text.contains("s3cr3t-t0ken"), "{text}");
    }
    // A failure names the URL without them too.
    let bad = fx.pool("bin", &secret, Some(&"cd".repeat(32)));
    let err = fx.provider().ensure(&bad).unwrap_err().to_string();
    assert!(!err.contains("s3cr3t-t0ken"), "{err}");
}

#[test]
fn a_pool_naming_a_binary_the_archive_lacks_leaves_the_shared_install_alone() {
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let good = fx
        .provider()
        .ensure(&fx.pool("a", &url, Some(&sha)))
        .unwrap();
    let toml = fx.toml("b", &url, Some(&sha), "").replace(
        "[provisioning.model]",
        "binary = \"bin/llama-server\"\n[provisioning.model]",
    );
    let err = fx
        .provider()
        .ensure(&PoolConfig::from_toml_str(&toml).unwrap())
        .unwrap_err();
    assert_eq!(err.error_kind(), "no-binary", "{err}");
    assert!(
        good.binary_path.is_file(),
        "the other pool's install is kept"
    );
    assert_eq!(fx.installs(), [sha]);
}

#[test]
fn a_connection_dropped_mid_archive_is_resumed_and_the_install_succeeds() {
    let fx = Fixture::new();
    let mut entries = fx.release();
    entries.push(Entry::File(
        "build/bin/libggml-big.so".into(),
        release::incompressible(1 << 20),
        0o644,
    ));
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&entries));
    fx.hub.inject(
        hub_standin::Fault::new(hub_standin::FaultKind::DropAfter(300 << 10))
            .on(hub_standin::Listener::Cdn)
            .method("GET")
            .times(1),
    );
    let capture = CaptureAdapter::install();
    let engine = fx
        .provider()
        .ensure(&fx.pool("bin", &url, Some(&sha)))
        .unwrap();
    check_engine(&engine, &fx, &sha);
    assert!(
        sequence(&capture).contains(&"engine/binary-download-retry".to_string()),
        "{:?}",
        sequence(&capture)
    );
    let progress: Vec<Option<u64>> = capture
        .captured()
        .iter()
        .filter(|n| n.fields.action == "binary-download-progress")
        .map(|n| n.fields.bytes)
        .collect();
    assert!(
        !progress.is_empty() && progress.iter().all(Option::is_some),
        "the transfer is narrated with its bytes: {progress:?}"
    );
    let ranges: Vec<Option<String>> = fx
        .hub
        .requests()
        .iter()
        .filter(|r| r.path.contains(&sha) && r.method == "GET")
        .map(|r| r.range.clone())
        .collect();
    assert!(
        ranges
            .last()
            .and_then(|r| r.as_deref())
            .is_some_and(|r| r.starts_with("bytes=") && !r.starts_with("bytes=0-")),
        "the last GET resumes where the dropped one stopped: {ranges:?}"
    );
}

/// The archive takes the shared model provisioner's road: with an
/// `http_proxy` in its settings, the request reaches the proxy (a listener
/// that answers 502) in absolute form, and nothing is installed.
#[test]
fn the_archive_goes_through_the_model_provisioners_proxy() {
    use std::io::{BufRead, BufReader, Write};
    let fx = Fixture::new();
    let (url, sha) = fx.serve("llama-bin.tar.gz", release::tar_gz(&fx.release()));
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        let (stream, _) = proxy.accept().unwrap();
        let mut line = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut out = stream;
        out.write_all(
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        line
    });
    let settings = model_provisioner::ProxySettings::from_lookup(|var| {
        (var == "http_proxy").then(|| proxy_url.clone())
    })
    .unwrap();
    let at = fx.dir.path().join("proxied-models");
    let models = ModelProvisioner::builder(&at)
        .catalog_path(at.join("catalog.sqlite"))
        .proxy(settings)
        .build()
        .unwrap();
    let err = LlamaCppBinary::new(Arc::new(models))
        .ensure(&fx.pool("bin", &url, Some(&sha)))
        .unwrap_err();
    let line = seen.join().unwrap();
    assert!(
        line.starts_with(&format!("GET {url} HTTP/1.1")),
        "the proxy saw {line:?}"
    );
    assert_eq!(err.action(), "binary-download-failed", "{err}");
    assert!(fx.installs().is_empty());
    assert_eq!(fx.runs(), 0);
}
