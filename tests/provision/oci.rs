//! `provision model oci://…` against a real registry (the CNCF
//! distribution registry, Basic auth, artifacts pushed by oras): the
//! credentials come from the file `REGISTRY_AUTH_FILE` names and never
//! reach the output.

use crate::oci_support::{Registry, components_available, tiny_gguf};
use crate::support::{Dirs, provision_model};
use base64::Engine;

#[test]
fn provision_model_pulls_an_oci_ref_with_credentials_from_the_registry_auth_file() {
    if !components_available() {
        return;
    }
    let password = "cli-Pa55-SECRET";
    let reg = Registry::with_basic_auth("puller", password);
    let dirs = Dirs::new();
    let (gguf, bytes) = tiny_gguf(dirs.root.path(), "tiny.gguf", 11);
    reg.push("ai/tiny:q", "docker", &[&gguf]);
    let reference = reg.model_ref("ai/tiny:q");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("puller:{password}"));

    let refused = provision_model(&dirs, "http://127.0.0.1:9", &reference)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("\"error_kind\":\"unauthorized\""),
        "{stderr}"
    );

    let file = dirs.root.path().join("auth.json");
    std::fs::write(
        &file,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let out = provision_model(&dirs, "http://127.0.0.1:9", &reference)
        .arg("--json")
        .env("REGISTRY_AUTH_FILE", &file)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let resolved: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let path = resolved["local_path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    assert!(
        resolved["source"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{reference}@sha256:"))
    );
    assert!(stderr.contains("\"action\":\"manifest\""), "{stderr}");
    for text in [&stdout, &stderr] {
        assert!(!text.contains(password) && !text.contains(&auth), "{text}");
    }
}

#[test]
fn provision_push_publishes_a_local_model_that_provision_model_pulls_back() {
    if !components_available() {
        return;
    }
    let reg = Registry::start();
    let dirs = Dirs::new();
    let (gguf, bytes) = tiny_gguf(dirs.root.path(), "tiny.gguf", 13);
    let target = reg.model_ref("pub/tiny:v1");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
            .args(args)
            .arg("--cache-dir")
            .arg(dirs.cache())
            .arg("--catalog")
            .arg(dirs.catalog())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dirs.home())
            .output()
            .unwrap()
    };
    let pushed = run(&[
        "--json",
        "push",
        gguf.to_str().unwrap(),
        &target,
        "--format",
        "docker",
    ]);
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&pushed.stdout).unwrap();
    assert_eq!(report["uploaded"], 2, "{report}");
    assert!(
        report["reference"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{target}@sha256:"))
    );

    let other = Dirs::new();
    let out = provision_model(&other, "http://127.0.0.1:9", &target)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resolved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        std::fs::read(resolved["local_path"].as_str().unwrap()).unwrap(),
        bytes
    );

    // The catalog says which artifact the node holds, in JSON and for humans.
    let manifest = resolved["source"]
        .as_str()
        .unwrap()
        .rsplit_once('@')
        .unwrap()
        .1;
    let layer = format!("sha256:{}", model_provisioner::sha256_bytes(&bytes).hex());
    let show = |json: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_provision"));
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .args(["catalog", "show", &target, "--catalog"])
            .arg(other.catalog())
            .env_clear()
            .env("HOME", other.home())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let row: serde_json::Value = serde_json::from_str(&show(true)).unwrap();
    assert_eq!(
        row["oci"],
        serde_json::json!({
            "registry": reg.host,
            "repository": "pub/tiny",
            "tag": "v1",
            "manifest_digest": manifest,
            "layers": [layer],
        })
    );
    let human = show(false);
    for line in [
        format!("registry         {}", reg.host),
        "repository       pub/tiny".to_string(),
        "tag              v1".to_string(),
        format!("manifest         {manifest}"),
        format!("layers           {layer}"),
    ] {
        assert!(human.contains(&line), "{line:?} in {human}");
    }

    // `cache scan` lists the layout's model, not a corrupted Hub repo.
    let scan = std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
        .args(["cache", "scan", "--cache-dir"])
        .arg(other.cache())
        .arg("--catalog")
        .arg(other.catalog())
        .env_clear()
        .env("HOME", other.home())
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&scan.stdout);
    assert!(scan.status.success(), "{listing}");
    assert!(!listing.contains("CORRUPTED"), "{listing}");
    assert!(
        listing.contains(&format!("oci {}/pub/tiny  ", reg.host)),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("  v1  {manifest}  ")),
        "{listing}"
    );
    assert!(listing.contains(&target), "the catalog id: {listing}");
}

#[test]
fn a_pool_names_an_oci_model_and_a_hostile_one_is_refused_before_any_step() {
    let dirs = Dirs::new();
    let pool = |model: &str| {
        let path = dirs.root.path().join("pool.toml");
        std::fs::write(
            &path,
            format!(
                "id = \"oci-pool\"\nengine = \"llamacpp\"\n[provisioning.source]\nrepo = \"file:///nowhere\"\nref = \"v0\"\n[provisioning.source.build]\ncache_dir = \"{}\"\n[provisioning.model]\nref = \"{model}\"\n",
                dirs.root.path().join("engine").display()
            ),
        )
        .unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_provision"))
            .args(["--json", "engine"])
            .arg(&path)
            .arg("--plan")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dirs.home())
            .output()
            .unwrap()
    };
    let out = pool("oci://registry.example.com/ai/tiny:v1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["model_ref"], "oci://registry.example.com/ai/tiny:v1",
        "{plan}"
    );

    let refused = pool("oci://registry.example.com/ai/../../etc:v1");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("would leave the repository"), "{stderr}");
    assert!(!dirs.root.path().join("engine").exists());
}

/// A `docker-credential-<name>` script in `dir` answering `get` with
/// `user`/`secret` (and recording what it was asked on stdin).
fn fake_helper(dir: &std::path::Path, name: &str, user: &str, secret: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(format!("docker-credential-{name}"));
    let asked = dir.join(format!("{name}.asked"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat > '{}'\n\
             printf '{{\"ServerURL\":\"x\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}'\n",
            asked.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_docker_credential_helper_answers_for_the_registry_and_a_missing_one_is_named() {
    if !components_available() {
        return;
    }
    let password = "helper-Pa55-SECRET";
    let reg = Registry::with_basic_auth("fleet", password);
    let dirs = Dirs::new();
    let (gguf, bytes) = tiny_gguf(dirs.root.path(), "tiny.gguf", 17);
    reg.push("ai/tiny:h", "docker", &[&gguf]);
    let reference = reg.model_ref("ai/tiny:h");
    let bin = dirs.root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    fake_helper(&bin, "fleetstore", "fleet", password);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let config = dirs.root.path().join("config.json");
    let pull = |config_json: String| {
        std::fs::write(&config, config_json).unwrap();
        provision_model(&dirs, "http://127.0.0.1:9", &reference)
            .arg("--json")
            .env("PATH", &path)
            .env("REGISTRY_AUTH_FILE", &config)
            .output()
            .unwrap()
    };

    // credsStore: every registry asks the store's helper.
    let out = pull(r#"{"auths":{},"credsStore":"fleetstore"}"#.to_string());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let resolved: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        std::fs::read(resolved["local_path"].as_str().unwrap()).unwrap(),
        bytes
    );
    assert_eq!(
        std::fs::read_to_string(bin.join("fleetstore.asked")).unwrap(),
        reg.host,
        "the helper is asked about the registry host, on stdin"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(password), "{text}");
    }

    // credHelpers for this registry wins over credsStore; a helper that
    // is not installed stops the pull, named.
    let out = pull(format!(
        r#"{{"credsStore":"fleetstore","credHelpers":{{"{}":"not-installed"}}}}"#,
        reg.host
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("docker-credential-not-installed")
            && stderr.contains("\"error_kind\":\"credential-helper\""),
        "{stderr}"
    );
}
