//! `provision doctor` against fake tools on PATH (a fake `nvidia-smi`
//! included), a corrupt catalog and a pool file: every check's status,
//! the exit code, and that a token's value is never shown.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const TOKEN: &str = "hf_DoctorMustNeverPrintThis0123456789";

struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    /// A PATH holding only fake build tools, a fake `nvidia-smi`, and the
    /// real `df`.
    fn new() -> Self {
        let m = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(m.bin()).expect("bin");
        m.tool("git", "echo 'git version 2.99.1'");
        m.tool(
            "cmake",
            "echo 'cmake version 3.99.2'; echo; echo 'CMake suite'",
        );
        m.tool("make", "echo 'GNU Make 4.9'");
        m.tool("cc", "echo 'cc (Fake) 14.1.0'");
        m.tool("c++", "echo 'c++ (Fake) 14.1.0'");
        m.tool(
            "nvidia-smi",
            "echo 'NVIDIA Fake H1, 999.12, 81559 MiB'; echo 'NVIDIA Fake H1, 999.12, 81559 MiB'",
        );
        let df = ["/bin/df", "/usr/bin/df"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("df on this machine");
        std::os::unix::fs::symlink(df, m.bin().join("df")).expect("link df");
        m
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn catalog(&self) -> PathBuf {
        self.dir.path().join("data/catalog.sqlite")
    }

    fn tool(&self, name: &str, body: &str) {
        let path = self.bin().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write tool");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_against("http://127.0.0.1:9", args)
    }

    fn run_against(&self, endpoint: &str, args: &[&str]) -> Output {
        self.run_with(endpoint, args, &[])
    }

    /// As [`run_against`](Self::run_against), with `envs` set.
    fn run_with(&self, endpoint: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_provision"))
            .args(args)
            .envs(envs.iter().copied())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PATH", self.bin())
            .env("HOME", self.dir.path().join("home"))
            .env("PROVISION_CATALOG", self.catalog())
            .env("HF_HUB_CACHE", self.dir.path().join("hub"))
            .env("HF_ENDPOINT", endpoint)
            .env("HF_TOKEN", TOKEN)
            .env_remove("HF_HUB_OFFLINE")
            .env_remove("RUST_LOG")
            .env_remove("CC")
            .env_remove("CXX")
            .output()
            .expect("the binary runs")
    }

    /// `doctor --json` (plus `args`): exit code, checks by name, stderr.
    fn doctor(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        self.doctor_against("http://127.0.0.1:9", args)
    }

    fn doctor_against(&self, endpoint: &str, args: &[&str]) -> (i32, Vec<Value>, String) {
        let mut all = vec!["--json", "doctor"];
        all.extend_from_slice(args);
        let out = self.run_against(endpoint, &all);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
            "token shown"
        );
        let checks: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\n{stderr}"));
        let checks = checks.as_array().expect("an array").clone();
        for c in &checks {
            for key in ["name", "status", "detail", "hint"] {
                assert!(c.get(key).is_some(), "{key} missing in {c}");
            }
        }
        (out.status.code().expect("exit code"), checks, stderr)
    }
}

fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:#?}"))
}

#[test]
fn doctor_lists_tools_gpu_storage_and_exits_0_when_nothing_fails() {
    let m = Machine::new();
    let (code, checks, stderr) = m.doctor(&["--offline"]);
    assert_eq!(code, 0, "{checks:#?}\n{stderr}");
    let git = check(&checks, "git");
    assert_eq!(git["status"], "OK");
    assert!(
        git["detail"]
            .as_str()
            .unwrap()
            .contains("git version 2.99.1"),
        "{git}"
    );
    assert!(
        check(&checks, "cmake")["detail"]
            .as_str()
            .unwrap()
            .contains("3.99.2")
    );
    assert!(
        check(&checks, "make/ninja")["detail"]
            .as_str()
            .unwrap()
            .contains("make 4.9")
    );
    let gpu = check(&checks, "nvidia-smi");
    assert_eq!(gpu["status"], "OK");
    let detail = gpu["detail"].as_str().unwrap();
    assert!(
        detail.contains("driver 999.12") && detail.contains("2 GPU"),
        "{detail}"
    );
    assert!(detail.contains("NVIDIA Fake H1 (81559 MiB)"), "{detail}");
    let cache = check(&checks, "cache dir");
    assert!(
        cache["detail"].as_str().unwrap().contains("free"),
        "{cache}"
    );
    assert_eq!(check(&checks, "catalog")["status"], "OK");
    assert_eq!(
        check(&checks, "hf endpoint")["detail"],
        "not checked (offline)"
    );
    let token = check(&checks, "hf login");
    assert!(
        token["detail"].as_str().unwrap().starts_with("set"),
        "{token}"
    );
    assert!(!m.catalog().exists(), "the doctor creates no catalog");
    assert!(stderr.contains("[doctor] check: git: "), "{stderr}");
    assert!(stderr.contains("[doctor] complete: "), "{stderr}");
}

#[test]
fn doctor_fails_on_a_corrupt_catalog_and_warns_on_a_broken_driver() {
    let m = Machine::new();
    std::fs::create_dir_all(m.catalog().parent().unwrap()).unwrap();
    std::fs::write(m.catalog(), vec![0x5a; 8192]).unwrap();
    m.tool(
        "nvidia-smi",
        "echo 'NVIDIA-SMI has failed: driver mismatch' >&2; exit 9",
    );
    std::fs::remove_file(m.bin().join("make")).unwrap();
    let (code, checks, stderr) = m.doctor(&["--offline"]);
    assert_eq!(code, 1, "{checks:#?}");
    let catalog = check(&checks, "catalog");
    assert_eq!(catalog["status"], "FAIL");
    assert!(
        catalog["hint"]
            .as_str()
            .unwrap()
            .contains("move the file aside"),
        "{catalog}"
    );
    let gpu = check(&checks, "nvidia-smi");
    assert_eq!(gpu["status"], "WARN");
    assert!(
        gpu["detail"].as_str().unwrap().contains("driver mismatch"),
        "{gpu}"
    );
    assert_eq!(check(&checks, "make/ninja")["status"], "WARN");
    assert!(
        stderr.contains("WARN") || stderr.contains("check-warning"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[doctor] check-failed: catalog: "),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("provision: error: 1 of "), "{stderr}");
}

#[test]
fn doctor_checks_a_pool_plan_tools_build_cache_and_model() {
    let m = Machine::new();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-llama.gguf");
    let pool = m.dir.path().join("pool.toml");
    std::fs::write(
        &pool,
        format!(
            "id = \"doc\"\nengine = \"llamacpp\"\n[provisioning.source]\nrepo = \"https://example.invalid/llama.cpp\"\nref = \"v0\"\n\
             [provisioning.source.build]\ncache_dir = \"{}\"\ngenerator = \"make\"\n[provisioning.model]\nref = \"{}\"\n",
            m.dir.path().join("engine").display(),
            model.display()
        ),
    )
    .unwrap();
    let pool = pool.to_str().unwrap();

    let (code, checks, _) = m.doctor(&[pool, "--offline"]);
    assert_eq!(code, 0, "{checks:#?}");
    assert!(
        !m.dir.path().join("hub").exists(),
        "the doctor writes nothing in the cache"
    );
    assert!(!m.catalog().exists(), "nor a catalog");
    assert_eq!(check(&checks, "pool doc: plan")["status"], "OK");
    assert_eq!(check(&checks, "pool doc: tools")["status"], "OK");
    assert_eq!(
        check(&checks, "pool doc: build cache")["detail"],
        "not built yet"
    );
    let not_yet = check(&checks, "pool doc: model");
    assert_eq!(not_yet["status"], "WARN");
    assert!(
        not_yet["detail"]
            .as_str()
            .unwrap()
            .contains("not provisioned yet")
    );

    let out = m.run(&["model", model.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, checks, _) = m.doctor(&[pool, "--offline"]);
    let model_check = check(&checks, "pool doc: model");
    assert_eq!(model_check["status"], "OK", "{model_check}");
    assert!(
        model_check["detail"]
            .as_str()
            .unwrap()
            .contains("present and verified")
    );

    std::fs::remove_file(m.bin().join("cmake")).unwrap();
    let (code, checks, _) = m.doctor(&[pool, "--offline"]);
    assert_eq!(code, 1);
    let tools = check(&checks, "pool doc: tools");
    assert_eq!(tools["status"], "FAIL");
    assert_eq!(tools["detail"], "missing: cmake");
}

#[test]
fn doctor_heads_the_hub_endpoint_unless_offline() {
    let m = Machine::new();
    let hub = hub_standin::Hub::start().expect("stand-in hub");
    let (code, checks, _) = m.doctor_against(&hub.endpoint(), &[]);
    assert_eq!(code, 0, "{checks:#?}");
    let up = check(&checks, "hf endpoint");
    assert_eq!(up["status"], "OK");
    assert!(
        up["detail"].as_str().unwrap().contains("answered HTTP"),
        "{up}"
    );

    // Nothing listens on the discard port: a warning, not a failure.
    let (code, checks, _) = m.doctor(&[]);
    assert_eq!(code, 0);
    let down = check(&checks, "hf endpoint");
    assert_eq!(down["status"], "WARN", "{down}");
    assert!(
        down["detail"].as_str().unwrap().contains("unreachable"),
        "{down}"
    );
    assert!(
        down["hint"].as_str().unwrap().contains("--offline"),
        "{down}"
    );
}

#[test]
fn doctor_reads_an_external_pool_through_the_neutral_plan() {
    let m = Machine::new();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-llama.gguf");
    let server = m.dir.path().join("llama-server");
    std::fs::write(&server, "#!/bin/sh\necho 'version: 6000 (abcdef0)'\n").unwrap();
    let pool = m.dir.path().join("pool.toml");
    std::fs::write(
        &pool,
        format!(
            "id = \"ext\"\nengine = \"llamacpp\"\n[provisioning]\nmode = \"external\"\n\
             [provisioning.external]\nbinary = \"{}\"\ncache_dir = \"{}\"\n[provisioning.model]\nref = \"{}\"\n",
            server.display(),
            m.dir.path().join("engine").display(),
            model.display()
        ),
    )
    .unwrap();
    let (_, checks, _) = m.doctor(&[pool.to_str().unwrap(), "--offline"]);
    let plan = check(&checks, "pool ext: plan");
    assert_eq!(plan["status"], "OK", "{checks:#?}");
    assert!(
        plan["detail"]
            .as_str()
            .unwrap()
            .contains("llamacpp-external")
    );
    assert_eq!(
        check(&checks, "pool ext: tools")["detail"],
        "none needed in mode external"
    );
    let cache = check(&checks, "pool ext: build cache");
    assert_eq!(cache["status"], "OK");
    assert!(
        cache["detail"]
            .as_str()
            .unwrap()
            .starts_with("nothing to build in mode external"),
        "{cache}"
    );
    let ccache = check(&checks, "ccache");
    assert_eq!(ccache["status"], "OK", "{ccache}");
}

#[test]
fn doctor_shows_the_proxy_in_use_without_its_credentials() {
    let m = Machine::new();
    let proxy_vars = [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ];
    let mut envs: Vec<(&str, &str)> = proxy_vars.iter().map(|v| (*v, "")).collect();
    envs.push(("HTTPS_PROXY", "http://fleet:numbat4417@proxy.lan:3128"));
    envs.push(("NO_PROXY", "127.0.0.0/8,.corp"));
    let out = m.run_with(
        "http://127.0.0.1:9",
        &["--json", "doctor", "--offline"],
        &envs,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("numbat4417") && !stderr.contains("numbat4417"),
        "proxy password shown:\n{stdout}\n{stderr}"
    );
    let checks: Vec<Value> = serde_json::from_str(&stdout).expect("JSON checks");
    let row = check(&checks, "proxy");
    assert_eq!(row["status"], "OK", "{row}");
    assert_eq!(
        row["detail"], "https: http://proxy.lan:3128 (NO_PROXY: 127.0.0.0/8,.corp)",
        "{row}"
    );

    envs.push(("https_proxy", "http://proxy.lan:notaport"));
    let out = m.run_with(
        "http://127.0.0.1:9",
        &["--json", "doctor", "--offline"],
        &envs,
    );
    let checks: Vec<Value> =
        serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).expect("JSON checks");
    let row = check(&checks, "proxy");
    assert_eq!(row["status"], "FAIL", "{row}");
    assert!(
        row["detail"].as_str().unwrap().contains("https_proxy"),
        "{row}"
    );
}
