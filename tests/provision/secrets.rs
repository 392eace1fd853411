//! No secret leaks, tested by value. The canaries are made fresh for each
//! run and look like nothing the redaction rules know (`c4n4ry-<hex>` as
//! `HF_TOKEN`, `wombat<digits>` as a URL password), so redaction by shape
//! cannot hide them: the only way to pass is never to write them anywhere.
//!
//! Every CLI verb runs with `-vv`, in both log formats, with OTLP export to
//! a loopback collector; stdout, stderr, every exported body and every file
//! the runs wrote must be free of the canaries. The libraries run the same
//! way under the capture adapter. (Redaction of known token shapes is
//! tested in narration-core.)

use crate::collector::Collector;
use crate::engine_support::FakeTools;
use crate::support::{Dirs, big_gguf, files_under};
use hub_standin::{FileSpec, Hub};
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::https::{HttpsConfig, HttpsFetcher};
use model_provisioner::{ModelProvisioner, write_handoff};
use narration_core::CaptureAdapter;
use std::ffi::OsStr;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, LazyLock};

/// This run's secrets.
struct Canaries {
    /// The Hub token (`HF_TOKEN`).
    token: String,
    /// A URL password.
    password: String,
    /// A second token, wrong for the gated repo.
    other_token: String,
}

static CANARIES: LazyLock<Canaries> = LazyLock::new(|| Canaries {
    token: format!("c4n4ry-{:016x}", random_u64()),
    password: format!("wombat{:09}", random_u64() % 1_000_000_000),
    other_token: format!("c4n4ry-{:016x}", random_u64()),
});

/// The length of a canary piece [`Canaries::assert_absent`] looks for.
const PIECE: usize = 6;

/// A fresh random number from the standard library's per-process keys,
/// mixed with the clock and the pid.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.write_u32(std::process::id());
    h.finish()
}

impl Canaries {
    fn all(&self) -> [&str; 3] {
        [&self.token, &self.password, &self.other_token]
    }

    /// Panics when any canary, or a piece of one, occurs in `bytes`.
    ///
    /// A piece is any 6 characters of a canary with one that is not a hex
    /// digit among them: a dump that cuts a canary across lines (a hex dump
    /// of 16 bytes a row) always leaves such a piece whole on some line,
    /// and nothing else in the output looks like one.
    fn assert_absent(&self, what: &dyn std::fmt::Display, bytes: &[u8]) {
        for canary in self.all() {
            for piece in canary.as_bytes().windows(PIECE) {
                if piece.iter().all(u8::is_ascii_hexdigit) {
                    continue;
                }
                assert!(
                    !bytes.windows(PIECE).any(|w| w == piece),
                    "a piece {:?} of the canary {canary:?} leaked into {what}:\n{}",
                    String::from_utf8_lossy(piece),
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }

    /// Panics when any canary occurs in a file under `dir`.
    fn assert_tree_clean(&self, dir: &Path) -> usize {
        let files = files_under(dir);
        for path in &files {
            if let Ok(bytes) = std::fs::read(path) {
                self.assert_absent(&path.display(), &bytes);
            }
        }
        files.len()
    }
}

#[test]
fn the_canaries_match_no_redaction_rule() {
    for canary in CANARIES.all() {
        assert_eq!(narration_core::redact(canary), canary);
        let line = format!("the value is {canary} here");
        assert_eq!(narration_core::redact(&line), line);
    }
}

/// A stand-in Hub with a gated repo and a CDN URL carrying the password.
struct Scene {
    hub: Hub,
    /// `http://mirror:PASSWORD@127.0.0.1:P/lfs/<sha>?token=PASSWORD`
    secret_url: String,
    digest: String,
}

fn scene() -> Scene {
    let c = &*CANARIES;
    let spec = FileSpec::lfs(big_gguf(64 << 10, 9));
    let cdn_path = Hub::cdn_path(&spec);
    let digest = format!("sha256:{}", spec.sha256());
    let hub = Hub::start().expect("hub starts");
    hub.commit("org/gated", "main", vec![("m.gguf", spec)]);
    hub.gate("org/gated", &c.token);
    let host = hub.cdn_endpoint().trim_start_matches("http://").to_string();
    let pw = &c.password;
    Scene {
        secret_url: format!("http://mirror:{pw}@{host}{cdn_path}?token={pw}"),
        digest,
        hub,
    }
}

/// `provision` runs of one log format against one set of directories.
struct Session<'a> {
    scene: &'a Scene,
    collector: &'a Collector,
    dirs: Dirs,
    format: &'static str,
    /// `RUST_LOG` for every run (none: the `-vv` default).
    rust_log: Option<&'static str>,
    /// The PATH the engine finds its (fake) build tools on.
    tools: PathBuf,
    runs: usize,
}

impl Session<'_> {
    /// Runs `provision -vv --log-format FORMAT [--json] ARGS` with the
    /// token in the environment; checks the exit status and that stdout
    /// and stderr hold no canary. Returns stdout.
    fn run(&mut self, label: &str, args: &[&dyn AsRef<OsStr>], success: bool) -> String {
        let json = self.format == "json";
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
        cmd.args(["-vv", "--log-format", self.format]);
        if json {
            cmd.arg("--json");
        }
        for arg in args {
            cmd.arg(AsRef::<OsStr>::as_ref(*arg));
        }
        cmd.env_clear()
            .env("PATH", &self.tools)
            .env("HOME", self.dirs.home())
            .env("HF_HOME", self.dirs.root.path().join("hf-home"))
            .env("HF_HUB_CACHE", self.dirs.cache())
            .env("PROVISION_CATALOG", self.dirs.catalog())
            .env("HF_ENDPOINT", self.scene.hub.endpoint())
            .env("HF_TOKEN", &CANARIES.token)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", self.collector.url())
            .stdin(Stdio::null());
        if let Some(filter) = self.rust_log {
            cmd.env("RUST_LOG", filter);
        }
        let out: Output = cmd.output().expect("provision runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.success(),
            success,
            "{label} ({}): unexpected exit {:?}\n{stderr}",
            self.format,
            out.status
        );
        let what = |stream: &str| format!("{stream} of {label} ({} logs)", self.format);
        CANARIES.assert_absent(&what("stdout"), &out.stdout);
        CANARIES.assert_absent(&what("stderr"), &out.stderr);
        self.runs += 1;
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Pool files (they hold the password on purpose, so they live outside
/// the scanned tree): a good pool, one with a typo on the credential line.
struct Pools {
    _dir: tempfile::TempDir,
    good: PathBuf,
    next_ref: PathBuf,
    fresh_cache: PathBuf,
    bad_type: PathBuf,
}

fn pools(scene: &Scene, engine_cache: &Path) -> Pools {
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = &CANARIES.password;
    let repo = format!("https://builder:{pw}@git.example.invalid/llama.cpp.git");
    let pool = |git_ref: &str, cache: &Path, repo_line: String| {
        format!(
            "id = \"secret-pool\"\nengine = \"llamacpp\"\n[provisioning]\nflags = [\"--ctx-size\", \"128\"]\n\
             [provisioning.source]\n{repo_line}\nref = \"{git_ref}\"\n\
             [provisioning.source.build]\ngenerator = \"ninja\"\njobs = 2\ncache_dir = \"{}\"\n\
             [provisioning.model]\nref = \"{}\"\ndigest = \"{}\"\n",
            cache.display(),
            scene.secret_url,
            scene.digest
        )
    };
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write pool");
        path
    };
    let line = format!("repo = \"{repo}\"");
    Pools {
        good: write("good.toml", pool("v0", engine_cache, line.clone())),
        next_ref: write("next.toml", pool("v1", engine_cache, line.clone())),
        fresh_cache: write("fresh.toml", pool("v0", &engine_cache.join("fresh"), line)),
        bad_type: write(
            "bad.toml",
            pool("v0", engine_cache, format!("repo = [\"{repo}\"]")),
        ),
        _dir: dir,
    }
}

/// A fake git that fails every clone the way git does when the host is
/// unreachable: quoting the URL it was given, credentials and all.
fn git_quoting_the_url(tools: &FakeTools) {
    tools.script(
        "git",
        r#"for a; do case "$a" in *://*) echo "fatal: unable to access '$a': Could not resolve host" >&2 ;; esac; done; exit 128"#,
    );
}

/// `catalog list --json`: each entry's id and local path.
fn entries(listing: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(listing).expect("catalog list --json");
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().expect("a string").to_string();
            (text("id"), text("local_path"))
        })
        .collect()
}

impl Session<'_> {
    /// `model`: Hub downloads with the token, cache hits, misses, a token
    /// pasted as a digest, and a URL with a password, good and bad.
    fn model_verbs(&mut self) {
        let scene = self.scene;
        let (url, digest) = (&scene.secret_url, &scene.digest);
        let token_as_digest = format!("sha256:{}", CANARIES.token);
        let wrong_path = url.replace("/lfs/", "/lfs/0");
        let hf = "hf:org/gated/m.gguf";
        self.run("hf download with the token", &[&"model", &hf], true);
        self.run("hf cache hit", &[&"model", &hf], true);
        let missing = "hf:org/gated/missing.gguf";
        self.run("hf missing file", &[&"model", &missing], false);
        let offline = [
            &"model" as &dyn AsRef<OsStr>,
            &"hf:org/other/m.gguf",
            &"--offline",
        ];
        self.run("hf offline miss", &offline, false);
        let pasted = [
            &"model" as &dyn AsRef<OsStr>,
            &hf,
            &"--digest",
            &token_as_digest,
        ];
        self.run("a token pasted as a digest", &pasted, false);
        self.run(
            "url with a password",
            &[&"model", url, &"--digest", digest],
            true,
        );
        self.run("url without a digest", &[&"model", &wrong_path], false);
        let not_found = [
            &"model" as &dyn AsRef<OsStr>,
            &wrong_path,
            &"--digest",
            digest,
        ];
        self.run("url answering 404", &not_found, false);
    }

    /// `engine`: plan, a build with fake tools, a cached run, a build
    /// failure, a clone failure whose git quotes the URL, a refused pool.
    fn engine_verbs(&mut self, p: &Pools, tools: &FakeTools, failing: &FakeTools) {
        self.run("engine plan", &[&"engine", &p.good, &"--plan"], true);
        self.run("engine ensure (build)", &[&"engine", &p.good], true);
        self.run("engine ensure (cached)", &[&"engine", &p.good], true);
        tools.fail("cmake.fail-build");
        self.run("engine build failure", &[&"engine", &p.next_ref], false);
        tools.heal("cmake.fail-build");
        self.tools = failing.bin.clone();
        self.run("engine clone failure", &[&"engine", &p.fresh_cache], false);
        self.tools = tools.bin.clone();
        let label = "engine pool with a type error on the credential line";
        self.run(label, &[&"engine", &p.bad_type], false);
    }

    /// `catalog list|show|verify|remove` and `gguf` on what the model and
    /// engine runs left in the catalog.
    fn catalog_and_gguf_verbs(&mut self, p: &Pools) {
        let saved = std::mem::replace(&mut self.format, "json");
        let listing = self.run("catalog list --json", &[&"catalog", &"list"], true);
        self.format = saved;
        self.run("catalog list", &[&"catalog", &"list"], true);
        let entries = entries(&listing);
        assert_eq!(entries.len(), 2, "the hf and the url models: {listing}");
        for (id, path) in &entries {
            self.run("catalog show", &[&"catalog", &"show", id], true);
            self.run("gguf", &[&"gguf", &"--metadata", path], true);
        }
        self.run("catalog verify", &[&"catalog", &"verify"], true);
        let (url_id, _) = entries
            .iter()
            .find(|(id, _)| !id.starts_with("hf:"))
            .expect("the url model's entry");
        let remove = [
            &"catalog" as &dyn AsRef<OsStr>,
            &"remove",
            url_id,
            &"--delete-files",
        ];
        self.run("catalog remove", &remove, true);
        let show = [&"catalog" as &dyn AsRef<OsStr>, &"show", url_id];
        self.run("catalog show of a removed entry", &show, false);
        let label = "gguf of a pool file holding the password";
        self.run(label, &[&"gguf", &p.good], false);
    }
}

/// The names of the spans in OTLP/JSON export bodies.
fn span_names(bodies: &[Vec<u8>]) -> Vec<String> {
    let mut names = Vec::new();
    for body in bodies {
        let json: serde_json::Value = serde_json::from_slice(body).expect("an OTLP/JSON body");
        let list = |v: &serde_json::Value, k: &str| v[k].as_array().cloned().unwrap_or_default();
        for resource in list(&json, "resourceSpans") {
            for scope in list(&resource, "scopeSpans") {
                for span in list(&scope, "spans") {
                    names.extend(span["name"].as_str().map(str::to_string));
                }
            }
        }
    }
    names
}

#[test]
fn every_cli_verb_keeps_the_canaries_out_of_output_exports_and_files() {
    let s = scene();
    let collector = Collector::start();
    let tools = FakeTools::new();
    let failing = FakeTools::new();
    git_quoting_the_url(&failing);
    let (mut runs, mut files) = (0, 0);
    for format in ["human", "json"] {
        let mut x = Session {
            scene: &s,
            collector: &collector,
            dirs: Dirs::new(),
            format,
            rust_log: None,
            tools: tools.bin.clone(),
            runs: 0,
        };
        let p = pools(&s, &x.dirs.root.path().join("engine-cache"));
        x.model_verbs();
        x.engine_verbs(&p, &tools, &failing);
        x.catalog_and_gguf_verbs(&p);
        files += CANARIES.assert_tree_clean(x.dirs.root.path());
        runs += x.runs;
    }

    let bodies = collector.bodies();
    for (i, body) in bodies.iter().enumerate() {
        CANARIES.assert_absent(&format!("OTLP export #{i}"), body);
    }
    let names = span_names(&bodies);
    assert!(
        names.iter().any(|n| n == "ensure_present") && names.iter().any(|n| n == "engine_ensure"),
        "both lifecycles reached the collector ({} bodies): {names:?}",
        bodies.len()
    );
    println!(
        "secrets (CLI): {runs} runs, {} OTLP bodies, {files} files, 0 leaks",
        bodies.len()
    );
}

/// `RUST_LOG=trace` turns on every crate's most verbose events, the HTTP
/// client's dumps of the bytes on the wire among them.
#[test]
fn model_verbs_at_trace_level_keep_the_canaries_out_of_output_and_files() {
    let s = scene();
    let collector = Collector::start();
    let tools = FakeTools::new();
    let mut x = Session {
        scene: &s,
        collector: &collector,
        dirs: Dirs::new(),
        format: "human",
        rust_log: Some("trace"),
        tools: tools.bin.clone(),
        runs: 0,
    };
    x.model_verbs();
    let files = CANARIES.assert_tree_clean(x.dirs.root.path());
    for (i, body) in collector.bodies().iter().enumerate() {
        CANARIES.assert_absent(&format!("OTLP export #{i}"), body);
    }
    println!(
        "secrets (RUST_LOG=trace): {} runs, {files} files, 0 leaks",
        x.runs
    );
}

#[test]
fn library_paths_never_narrate_or_store_the_canaries() {
    let c = &*CANARIES;
    let s = scene();
    let dirs = Dirs::new();
    let capture = CaptureAdapter::install();
    let hf = HfConfig::from_lookup(|_| None)
        .with_endpoint(&s.hub.endpoint())
        .with_cache_dir(dirs.cache())
        .with_token(Some(c.token.as_str()))
        .with_retry(RetryPolicy::quick());
    let provisioner = ModelProvisioner::builder(dirs.cache())
        .fetcher(Arc::new(HfFetcher::new(hf.clone())))
        .fetcher(Arc::new(HttpsFetcher::new(HttpsConfig::default())))
        .catalog_path(dirs.catalog())
        .provenance_path(dirs.root.path().join("provenance.jsonl"))
        .build()
        .expect("provisioner builds");

    let mut errors = Vec::new();
    let ok = provisioner
        .ensure_present_str("hf:org/gated/m.gguf", None)
        .expect("gated download with the token");
    write_handoff(&dirs.root.path().join("handoff.json"), &ok).expect("handoff written");
    let json = serde_json::to_vec(&ok).expect("json");
    c.assert_absent(&"a resolved model", &json);
    let by_url = provisioner
        .ensure_present_str(&s.secret_url, Some(s.digest.parse().expect("digest")))
        .expect("download through a URL with a password");
    write_handoff(&dirs.root.path().join("handoff-url.json"), &by_url).expect("handoff");
    let json = serde_json::to_vec(&by_url).expect("json");
    c.assert_absent(&"a resolved model", &json);
    let pw = &c.password;
    for bad in [
        "hf:org/gated/missing.gguf".to_string(),
        s.secret_url.replace("/lfs/", "/lfs/x"),
        format!("https://user:{pw}@127.0.0.1:1/m.gguf?access_token={pw}"),
    ] {
        errors.push(
            provisioner
                .ensure_present_str(&bad, None)
                .expect_err("must fail")
                .to_string(),
        );
    }
    // A wrong token and a missing repo, each in a fresh cache so that
    // nothing is served from disk.
    for (token, model) in [
        (&c.other_token, "hf:org/gated/m.gguf"),
        (&c.token, "hf:org/nope/m.gguf"),
    ] {
        let fresh = Dirs::new();
        let provisioner = ModelProvisioner::builder(fresh.cache())
            .fetcher(Arc::new(HfFetcher::new(
                hf.clone()
                    .with_cache_dir(fresh.cache())
                    .with_token(Some(token.as_str())),
            )))
            .catalog_path(fresh.catalog())
            .build()
            .expect("provisioner builds");
        errors.push(
            provisioner
                .ensure_present_str(model, None)
                .expect_err("must fail")
                .to_string(),
        );
        c.assert_tree_clean(fresh.root.path());
    }

    for e in &errors {
        c.assert_absent(&"an error message", e.as_bytes());
    }
    for n in capture.captured() {
        let json = serde_json::to_vec(&n).expect("json");
        c.assert_absent(&"a narration", &json);
    }
    c.assert_tree_clean(dirs.root.path());
    println!(
        "secrets (libraries): {} narrations, {} errors, 2 handoff files, 0 leaks",
        capture.captured().len(),
        errors.len()
    );
}
