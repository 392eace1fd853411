//! Steps for the HF features: `ensure_present` of `hf:` refs against the
//! stand-in Hub over loopback, with a real HF cache and SQLite catalog.

use crate::World;
use cucumber::{given, then, when};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use model_provisioner::actions as act;
use model_provisioner::hf::{HfConfig, HfFetcher, RetryPolicy};
use model_provisioner::{Digest, ModelProvisioner, ProvisionError, ResolvedModel, gguf};
use narration_core::CaptureAdapter;
use std::path::PathBuf;
use std::sync::Arc;

const TOKEN: &str = "hf_bdd_token";

#[derive(Debug, Default)]
pub struct State {
    capture: CaptureAdapter,
    hub: Option<Hub>,
    dir: Option<tempfile::TempDir>,
    /// Served files by name.
    files: Vec<(String, Vec<u8>)>,
    offline: bool,
    outcome: Option<Result<ResolvedModel, ProvisionError>>,
    /// Requests the Hub had answered when the scenario went offline.
    requests_before: usize,
    /// Bytes left in the partial after an interruption.
    interrupted_at: u64,
}

impl State {
    fn hub(&self) -> &Hub {
        self.hub.as_ref().expect("a stand-in Hub was started")
    }

    fn dir(&mut self) -> PathBuf {
        self.dir
            .get_or_insert_with(|| tempfile::tempdir().expect("a temp dir for the scenario"))
            .path()
            .to_path_buf()
    }

    fn bytes_of(&self, name: &str) -> Vec<u8> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .expect("a served file of that name")
    }

    fn cdn_path(&self, name: &str) -> String {
        Hub::cdn_path(&FileSpec::lfs(self.bytes_of(name)))
    }

    fn fetcher(&mut self, retry: RetryPolicy) -> HfFetcher {
        let cache = self.dir().join("hf");
        HfFetcher::new(
            HfConfig::from_lookup(|_| None)
                .with_endpoint(&self.hub().endpoint())
                .with_cache_dir(cache)
                .with_offline(self.offline)
                .with_retry(retry),
        )
    }

    fn ensure(&mut self, input: &str, digest: Option<Digest>) {
        let fetcher = self.fetcher(RetryPolicy::quick());
        let provisioner = ModelProvisioner::builder(self.dir().join("provisioner"))
            .fetcher(Arc::new(fetcher))
            .offline(self.offline)
            .build()
            .expect("a provisioner over the scenario cache");
        self.capture.clear();
        let outcome = self
            .capture
            .in_scope(|| provisioner.ensure_present_str(input, digest));
        self.outcome = Some(outcome);
    }

    fn resolved(&self) -> &ResolvedModel {
        match self.outcome.as_ref().expect("an ensure ran") {
            Ok(r) => r,
            Err(e) => panic!("ensure failed: {e}"),
        }
    }

    fn error(&self) -> &ProvisionError {
        match self.outcome.as_ref().expect("an ensure ran") {
            Ok(r) => panic!("ensure succeeded: {}", r.local_path.display()),
            Err(e) => e,
        }
    }

    /// Model-provisioner actions, progress left out (its count depends on speed).
    fn actions(&self) -> Vec<&'static str> {
        self.capture
            .captured()
            .iter()
            .filter(|n| n.actor == act::ACTOR && n.action != act::DOWNLOAD_PROGRESS)
            .map(|n| n.action)
            .collect()
    }

    fn blobs(&mut self) -> Vec<String> {
        let dir = self.dir().join("hf/models--org--tiny/blobs");
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn tiny_gguf(seed: u64) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("m.gguf");
    gguf::write_tiny_llama(&path, seed).expect("the tiny GGUF writer works");
    std::fs::read(path).expect("read back")
}

#[given(expr = "a stand-in Hub serving {string} with GGUF files {string} and {string}")]
fn hub_serving(w: &mut World, repo: String, a: String, b: String) {
    let hub = Hub::start().expect("stand-in hub starts");
    let files = vec![
        (a, tiny_gguf(gguf::TINY_LLAMA_SEED)),
        (b, tiny_gguf(gguf::TINY_LLAMA_SEED + 1)),
    ];
    let specs = files
        .iter()
        .map(|(n, b)| (n.as_str(), FileSpec::lfs(b.clone())))
        .collect();
    hub.commit(&repo, "main", specs);
    w.hf.files = files;
    w.hf.hub = Some(hub);
}

#[given(expr = "{string} was downloaded from the stand-in Hub before")]
fn downloaded_before(w: &mut World, input: String) {
    w.hf.ensure(&input, None);
    w.hf.resolved();
}

#[given(expr = "a download of {string} was interrupted after {int} bytes")]
fn interrupted(w: &mut World, file: String, after: u64) {
    w.hf.hub()
        .inject(Fault::new(FaultKind::DropAfter(after)).on(Listener::Cdn));
    let one_shot = w.hf.fetcher(RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::quick()
    });
    let model =
        model_provisioner::ModelRef::parse(&format!("hf:org/tiny/{file}")).expect("valid ref");
    let ctx = model_provisioner::FetchContext::new(w.hf.dir().join("provisioner"));
    let err = w.hf.capture.in_scope(|| {
        use model_provisioner::Fetcher;
        one_shot.fetch(&model, None, &ctx)
    });
    assert!(err.is_err(), "the transfer was cut");
    let partial =
        w.hf.blobs()
            .into_iter()
            .find(|b| b.ends_with(".incomplete"))
            .expect("a partial is left");
    let path = w.hf.dir().join("hf/models--org--tiny/blobs").join(partial);
    w.hf.interrupted_at = std::fs::metadata(path).expect("partial").len();
    assert!(w.hf.interrupted_at > 0);
    w.hf.hub().clear_requests();
}

#[given(expr = "the stand-in CDN answers {int} once")]
fn cdn_fault(w: &mut World, status: u16) {
    w.hf.hub().inject(
        Fault::new(FaultKind::Status {
            status,
            retry_after: None,
        })
        .on(Listener::Cdn),
    );
}

#[given(expr = "the repo {string} is gated on the stand-in Hub")]
fn gated(w: &mut World, repo: String) {
    w.hf.hub().gate(&repo, TOKEN);
}

#[given("HF offline mode is on")]
fn offline(w: &mut World) {
    w.hf.offline = true;
    w.hf.requests_before = w.hf.hub().requests().len();
}

#[when(expr = "I ensure {string} from the stand-in Hub")]
fn ensure(w: &mut World, input: String) {
    w.hf.ensure(&input, None);
}

#[when(expr = "I ensure {string} from the stand-in Hub with a wrong digest")]
fn ensure_wrong(w: &mut World, input: String) {
    let wrong = Digest::from_sha256_hex(&"ab".repeat(32)).expect("a well-formed digest");
    w.hf.ensure(&input, Some(wrong));
}

#[then(expr = "the HF model is ready with the bytes of {string}")]
fn ready(w: &mut World, name: String) {
    let r = w.hf.resolved();
    let got = std::fs::read(&r.local_path).expect("the resolved file reads");
    assert_eq!(got, w.hf.bytes_of(&name));
    assert!(
        r.local_path.to_string_lossy().contains("/snapshots/"),
        "{}",
        r.local_path.display()
    );
}

#[then(expr = "the HF narrations are {string}")]
fn narrations(w: &mut World, expected: String) {
    let want: Vec<&str> = expected.split(',').map(str::trim).collect();
    assert_eq!(w.hf.actions(), want);
}

#[then(expr = "an HF narration says {string}")]
fn says(w: &mut World, text: String) {
    w.hf.capture.assert_includes(&text);
}

#[then(expr = "the weights of {string} left the stand-in Hub {int} time(s)")]
fn sent_times(w: &mut World, name: String, times: usize) {
    let path = w.hf.cdn_path(&name);
    assert_eq!(w.hf.hub().count("GET", &path), times);
}

#[then(expr = "only the missing tail of {string} was sent again")]
fn only_tail(w: &mut World, name: String) {
    let path = w.hf.cdn_path(&name);
    let size = w.hf.bytes_of(&name).len() as u64;
    assert_eq!(w.hf.hub().body_bytes(&path), size - w.hf.interrupted_at);
}

#[then(expr = "the HF ensure fails with error kind {string}")]
fn fails(w: &mut World, kind: String) {
    assert_eq!(w.hf.error().error_kind(), kind, "{}", w.hf.error());
    w.hf.capture.assert_field("error_kind", &kind);
}

#[then(expr = "the HF error message names {string}")]
fn message_names(w: &mut World, text: String) {
    let msg = w.hf.error().to_string();
    assert!(msg.contains(&text), "{msg}");
    assert!(!msg.contains(TOKEN));
}

#[then("no blob is in the HF cache")]
fn no_blob(w: &mut World) {
    assert!(w.hf.blobs().is_empty(), "{:?}", w.hf.blobs());
}

#[then("the stand-in Hub saw no request while offline")]
fn no_request(w: &mut World) {
    let seen = w.hf.hub().requests().len();
    assert_eq!(seen, w.hf.requests_before, "requests were made offline");
}

#[then(expr = "a retry narration carries backoff_ms")]
fn retry_backoff(w: &mut World) {
    let retries: Vec<_> =
        w.hf.capture
            .captured()
            .into_iter()
            .filter(|n| n.action == act::DOWNLOAD_RETRY)
            .collect();
    assert!(!retries.is_empty() && retries.iter().all(|n| n.backoff_ms.is_some()));
}
