//! Steps for the model features: `ensure_present` on real files with a
//! real SQLite catalog, narrations captured per scenario.

use crate::World;
use cucumber::{given, then, when};
use model_provisioner::{
    Digest, ModelProvisioner, ProvisionError, ResolvedModel, Verification, gguf, hash_file,
    sha256_bytes,
};
use narration_core::CaptureAdapter;
use std::path::PathBuf;
use std::time::Duration;

/// Fingerprints of files older than this are trusted in scenarios; the
/// temp dirs live on file systems with nanosecond timestamps.
const RACY_WINDOW: Duration = Duration::from_millis(50);

#[derive(Debug, Default)]
pub struct State {
    capture: CaptureAdapter,
    dir: Option<tempfile::TempDir>,
    provisioner: Option<ModelProvisioner>,
    model: Option<PathBuf>,
    outcome: Option<Result<ResolvedModel, ProvisionError>>,
}

impl State {
    fn dir(&mut self) -> PathBuf {
        self.dir
            .get_or_insert_with(|| tempfile::tempdir().expect("a temp dir for the scenario"))
            .path()
            .to_path_buf()
    }

    fn provisioner(&mut self) -> &ModelProvisioner {
        if self.provisioner.is_none() {
            let cache = self.dir().join("cache");
            let p = ModelProvisioner::builder(cache)
                .racy_window(RACY_WINDOW)
                .build()
                .expect("a provisioner over a fresh cache");
            self.provisioner = Some(p);
        }
        self.provisioner.as_ref().expect("set above")
    }

    fn model(&self) -> PathBuf {
        self.model.clone().expect("a model file was given")
    }

    fn ensure(&mut self, input: String, digest: Option<Digest>) {
        self.provisioner();
        let p = self.provisioner.as_ref().expect("built");
        let outcome = self
            .capture
            .in_scope(|| p.ensure_present_str(&input, digest));
        self.outcome = Some(outcome);
    }

    fn resolved(&self) -> &ResolvedModel {
        match self.outcome.as_ref().expect("an ensure ran") {
            Ok(r) => r,
            Err(e) => panic!("ensure failed: {e}"),
        }
    }

    fn actions(&self) -> Vec<&'static str> {
        self.capture
            .captured()
            .iter()
            .filter(|n| n.actor == "model-provisioner")
            .map(|n| n.action)
            .collect()
    }
}

#[given("a fresh model cache")]
fn fresh_cache(w: &mut World) {
    w.model.provisioner();
}

#[given("a tiny GGUF model file")]
fn tiny_model(w: &mut World) {
    let path = w.model.dir().join("models/tiny.gguf");
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create models dir");
    gguf::write_tiny_llama(&path, gguf::TINY_LLAMA_SEED).expect("write the tiny model");
    w.model.model = Some(path);
}

#[given("the model file has not changed for a while")]
fn settled(_w: &mut World) {
    std::thread::sleep(RACY_WINDOW * 3);
}

#[given(expr = "a file {string} that is not a GGUF model")]
fn not_gguf(w: &mut World, name: String) {
    let path = w.model.dir().join(name);
    std::fs::write(&path, b"plain text, not weights\n").expect("write the file");
    w.model.model = Some(path);
}

#[given("the model was ensured once")]
fn ensured_once(w: &mut World) {
    let input = w.model.model().display().to_string();
    w.model.ensure(input, None);
    w.model.resolved();
    w.model.capture.clear();
}

#[given("one byte of the model is changed in place, keeping its size and mtime")]
fn modify_in_place(w: &mut World) {
    let path = w.model.model();
    let before = std::fs::metadata(&path).expect("model exists");
    let mut bytes = std::fs::read(&path).expect("read model");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    std::fs::write(&path, &bytes).expect("rewrite model");
    let f = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open model");
    f.set_modified(before.modified().expect("mtime"))
        .expect("restore mtime");
}

#[when("I ensure the model is present with its digest")]
fn ensure_with_digest(w: &mut World) {
    let path = w.model.model();
    let (digest, _) = hash_file(&path).expect("hash the model");
    w.model.ensure(path.display().to_string(), Some(digest));
}

#[when("I ensure the model is present with the digest it was registered with")]
fn ensure_with_registered_digest(w: &mut World) {
    let digest = w.model.resolved().digest;
    let path = w.model.model();
    w.model.ensure(path.display().to_string(), Some(digest));
}

#[when("I ensure the model is present")]
fn ensure_plain(w: &mut World) {
    let path = w.model.model();
    w.model.ensure(path.display().to_string(), None);
}

#[when("I ensure the model is present with a wrong digest")]
fn ensure_wrong_digest(w: &mut World) {
    let path = w.model.model();
    w.model.ensure(
        path.display().to_string(),
        Some(sha256_bytes(b"not this model")),
    );
}

#[when(expr = "I ensure {string} in the scenario directory")]
fn ensure_named(w: &mut World, name: String) {
    let path = w.model.dir().join(name);
    w.model.ensure(path.display().to_string(), None);
}

#[when(expr = "I ensure the reference {string}")]
fn ensure_ref(w: &mut World, input: String) {
    w.model.ensure(input, None);
}

#[then(expr = "the model is ready with architecture {string}")]
fn ready(w: &mut World, arch: String) {
    let r = w.model.resolved();
    assert_eq!(r.gguf.architecture.as_deref(), Some(arch.as_str()));
    assert_eq!(r.local_path, w.model.model());
}

#[then(expr = "the model was verified by {word}")]
fn verified_by(w: &mut World, how: String) {
    let want = match how.as_str() {
        "hashing" => Verification::Hashed,
        "fingerprint" => Verification::Fingerprint,
        other => panic!("unknown verification {other}"),
    };
    assert_eq!(w.model.resolved().verification, want);
}

#[then(expr = "the model narrations are {string}")]
fn narrations_are(w: &mut World, list: String) {
    let want: Vec<&str> = list.split(',').map(str::trim).collect();
    assert_eq!(w.model.actions(), want);
}

#[then(expr = "the {string} narration carries duration_ms and bytes")]
fn carries_timing(w: &mut World, action: String) {
    let captured = w.model.capture.captured();
    let n = captured
        .iter()
        .find(|n| n.action == action)
        .unwrap_or_else(|| panic!("no {action} narration"));
    assert!(n.duration_ms.is_some(), "{action} has no duration_ms");
    assert!(n.bytes.is_some_and(|b| b > 0), "{action} has no bytes");
}

#[then(expr = "the ensure fails with error kind {string}")]
fn fails_with(w: &mut World, kind: String) {
    match w.model.outcome.as_ref().expect("an ensure ran") {
        Ok(r) => panic!("ensure succeeded: {r:?}"),
        Err(e) => assert_eq!(e.error_kind(), kind, "{e}"),
    }
    let captured = w.model.capture.captured();
    let failure = captured
        .iter()
        .find(|n| n.action.ends_with("-failed"))
        .expect("a failure narration");
    assert_eq!(failure.error_kind.as_deref(), Some(kind.as_str()));
    assert_eq!(failure.level, narration_core::NarrationLevel::Error);
}

#[then(expr = "the error message names {string}")]
fn error_names(w: &mut World, needle: String) {
    let err = match w.model.outcome.as_ref().expect("an ensure ran") {
        Ok(_) => panic!("ensure succeeded"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&needle), "{err:?} does not name {needle:?}");
}

#[then("the catalog has no entries")]
fn catalog_empty(w: &mut World) {
    let rows = w
        .model
        .provisioner()
        .catalog()
        .list()
        .expect("list the catalog");
    assert!(rows.is_empty(), "catalog has {rows:?}");
}

#[then("the catalog records the model with its digest")]
fn catalog_records(w: &mut World) {
    let r = w.model.resolved().clone();
    let row = w
        .model
        .provisioner()
        .catalog()
        .get(&r.id)
        .expect("read the catalog")
        .expect("a row for the model");
    assert_eq!(row.digest, r.digest);
    assert_eq!(row.local_path, r.local_path);
}
