//! Hostile or malformed values are refused when the pool is loaded, with
//! an error naming the key, so neither `plan` nor `ensure` can be reached
//! with them and no process runs.

use crate::support::FakeTools;
use engine_provisioner::actions as ev;
use engine_provisioner::{ConfigError, EngineProvisioner, GitRef, ProvisionError, RepoUrl};
use narration_core::CaptureAdapter;

/// The key a loading error names.
fn refused_key(toml: &str) -> String {
    match engine_provisioner::PoolConfig::from_toml_str(toml) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected a refusal naming a key, got {other:?}"),
    }
}

/// `value` as a TOML string literal (control characters escaped).
fn toml_str(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

#[test]
fn hostile_refs_and_repos_are_refused_at_load() {
    let fake = FakeTools::new();
    let good = fake.pool_toml("v0", &[], "");
    for r in [
        "--upload-pack=touch /tmp/pwned",
        "-b",
        "../../etc/passwd",
        "v0\nrm -rf /",
        "a..b",
    ] {
        let toml = good.replace("ref = \"v0\"", &format!("ref = {}", toml_str(r)));
        assert_eq!(refused_key(&toml), "provisioning.source.ref", "{r:?}");
        assert!(GitRef::parse(r).is_err(), "{r:?}");
    }
    for repo in [
        "--upload-pack=x",
        "ext::sh -c touch% /tmp/pwned",
        "http://example.org/llama.cpp",
        "file://relative",
    ] {
        let toml = good.replace(
            "repo = \"file:///srv/git/llama.cpp\"",
            &format!("repo = {}", toml_str(repo)),
        );
        assert_eq!(refused_key(&toml), "provisioning.source.repo", "{repo:?}");
        assert!(RepoUrl::parse(repo).is_err(), "{repo:?}");
    }
    assert_eq!(fake.lines(), Vec::<String>::new(), "no process may run");
    assert!(!fake.cache.exists(), "nothing may be written");
}

#[test]
fn bad_digest_and_hostile_model_refs_are_refused_at_load() {
    let fake = FakeTools::new();
    let good = fake.pool_toml("v0", &[], "");
    let with_digest = |digest: &str| {
        good.replace(
            "[provisioning.model]\n",
            &format!("[provisioning.model]\ndigest = {}\n", toml_str(digest)),
        )
    };
    for digest in ["md5:x", "sha256:abc", &format!("sha256:{}", "A".repeat(64))] {
        assert_eq!(
            refused_key(&with_digest(digest)),
            "provisioning.model.digest",
            "{digest}"
        );
    }
    let model_line = good
        .lines()
        .find(|l| l.starts_with("ref = \"/"))
        .expect("the model ref line")
        .to_string();
    for model in [
        "hf:org/repo/../../etc/passwd",
        "ftp://example.org/m.gguf",
        "hf:org",
        "",
    ] {
        let toml = good.replace(&model_line, &format!("ref = {}", toml_str(model)));
        assert_eq!(refused_key(&toml), "provisioning.model.ref", "{model:?}");
    }
    assert_eq!(fake.lines(), Vec::<String>::new(), "no process may run");
}

#[test]
fn a_model_cache_dir_is_refused_with_what_to_do_instead() {
    let fake = FakeTools::new();
    let toml = fake.pool_toml("v0", &[], "").replace(
        "[provisioning.model]\n",
        "[provisioning.model]\ncache_dir = \"/var/cache/models\"\n",
    );
    let err = engine_provisioner::PoolConfig::from_toml_str(&toml).unwrap_err();
    let ConfigError::Invalid { key, problem } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(key, "provisioning.model.cache_dir");
    assert!(problem.contains("HF_HUB_CACHE"), "{problem}");
    assert!(problem.contains("ModelProvisioner"), "{problem}");
}

#[test]
fn a_pool_changed_after_loading_is_refused_before_any_process() {
    let fake = FakeTools::new();
    let mut pool = fake.pool("v0", &[]);
    pool.provisioning.flags = vec!["--threads\n--evil".into()];
    let capture = CaptureAdapter::install();
    let err = fake.provider().ensure(&pool).unwrap_err();
    assert!(
        matches!(err, ProvisionError::Config(ConfigError::Invalid { ref key, .. }) if key == "provisioning.flags[0]"),
        "{err}"
    );
    assert_eq!(fake.lines(), Vec::<String>::new(), "no process may run");
    assert!(!fake.cache.exists(), "nothing may be written");
    let failed: Vec<_> = capture
        .captured()
        .into_iter()
        .filter(|n| n.actor == ev::ACTOR)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].action, ev::CONFIG_FAILED);
    assert_eq!(failed[0].error_kind.as_deref(), Some("invalid-config"));
}

#[test]
fn repo_credentials_reach_git_but_no_narration_or_plan() {
    let fake = FakeTools::new();
    let toml = fake.pool_toml("v0", &[], "").replace(
        "file:///srv/git/llama.cpp",
        "https://user:s3cr3t-tok@example.org/llama.cpp",
    );
    let pool = engine_provisioner::PoolConfig::from_toml_str(&toml).unwrap();
    let capture = CaptureAdapter::install();
    let plan = fake.provider().plan(&pool).unwrap();
    let shown = serde_json::to_string(&plan).unwrap() + &format!("{plan:?}");
    assert!(!shown.contains("s3cr3t-tok"), "{shown}");
    fake.provider().ensure(&pool).unwrap();
    let clone = &fake.calls_of("git")[0];
    assert!(
        clone.contains("-- https://user:s3cr3t-tok@example.org/llama.cpp"),
        "git gets the URL as written: {clone}"
    );
    for n in capture.captured() {
        assert!(!n.human.contains("s3cr3t-tok"), "{}", n.human);
        assert!(!n.target.contains("s3cr3t-tok"), "{}", n.target);
    }
}

#[test]
fn an_endless_or_huge_pool_file_is_refused_naming_the_file_and_the_limit() {
    let err =
        engine_provisioner::PoolConfig::from_path(std::path::Path::new("/dev/zero")).unwrap_err();
    match &err {
        ConfigError::TooLarge { path, limit } => {
            assert_eq!(path, std::path::Path::new("/dev/zero"));
            assert_eq!(*limit, engine_provisioner::MAX_POOL_FILE_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("/dev/zero") && msg.contains("1048576"),
        "{msg}"
    );

    // A real file one byte over the limit, even if it were valid TOML.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("pool.toml");
    let mut text = FakeTools::new().pool_toml("v0", &[], "");
    let pad = engine_provisioner::MAX_POOL_FILE_BYTES as usize + 1 - text.len();
    text.push_str(&format!("#{}", "x".repeat(pad - 1)));
    std::fs::write(&big, &text).unwrap();
    assert!(matches!(
        engine_provisioner::PoolConfig::from_path(&big),
        Err(ConfigError::TooLarge { .. })
    ));
    text.truncate(text.len() - 1);
    assert!(engine_provisioner::PoolConfig::from_path(&big).is_err());
    std::fs::write(&big, &text).unwrap();
    engine_provisioner::PoolConfig::from_path(&big).expect("at the limit it is read");
}
