//! Fresh downloads, cache hits, the cache layout, revisions and errors,
//! against the stand-in Hub over loopback.

use crate::hf_support::{Env, SIZE};
use hub_standin::{Fault, FaultKind, FileSpec, Listener};
use model_provisioner::ProvisionError;
use model_provisioner::actions;
use model_provisioner::hf::HfError;
use narration_core::CaptureAdapter;

const A: &str = actions::ACTOR;

#[test]
fn fresh_download_lands_in_the_hf_cache_layout_verified() {
    let env = Env::new();
    let capture = CaptureAdapter::install();
    let got = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), env.weights());
    assert_eq!(got.digest, Some(env.digest()));
    assert_eq!(got.bytes_transferred, SIZE as u64);
    let sha = env.weights_spec().sha256();
    let commit = std::fs::read_to_string(env.repo_dir().join("refs/main")).unwrap();
    assert_eq!(
        commit.len(),
        40,
        "refs/main holds the commit with no newline: {commit:?}"
    );
    assert_eq!(
        got.path,
        env.repo_dir()
            .join("snapshots")
            .join(&commit)
            .join("model-Q4_K_M.gguf")
    );
    assert_eq!(
        std::fs::read_link(&got.path).unwrap(),
        std::path::Path::new("../../blobs").join(&sha)
    );
    assert_eq!(env.blobs(), vec![sha.clone()]);
    assert!(env.cache.path().join("CACHEDIR.TAG").is_file());
    assert!(
        env.cache
            .path()
            .join(".locks/models--org--model")
            .join(format!("{sha}.lock"))
            .is_file()
    );
    assert_eq!(
        got.source,
        format!("hf:org/model@{commit}/model-Q4_K_M.gguf")
    );
    capture.assert_sequence(&[(A, actions::DOWNLOAD), (A, actions::DOWNLOADED)]);
    let done = capture
        .captured()
        .into_iter()
        .find(|n| n.action == actions::DOWNLOADED)
        .unwrap();
    assert_eq!(done.bytes, Some(SIZE as u64));
    assert!(done.duration_ms.is_some());
    assert!(done.human.contains("MB/s"), "{}", done.human);
}

#[test]
fn second_fetch_is_a_cache_hit_with_no_get() {
    let env = Env::new();
    env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let capture = CaptureAdapter::install();
    let again = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    assert_eq!(
        again.digest,
        Some(env.digest()),
        "nothing transferred; with no catalog to vouch for it, the blob is hashed against its etag"
    );
    assert_eq!(again.bytes_transferred, 0);
    assert_eq!(env.cdn_gets(), 1, "the weights left the server once");
    assert!(
        capture
            .captured()
            .iter()
            .all(|n| n.action != actions::DOWNLOAD)
    );
}

#[test]
fn a_commit_revision_already_cached_needs_no_request_at_all() {
    let env = Env::new();
    let first = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap();
    let commit = std::fs::read_to_string(env.repo_dir().join("refs/main")).unwrap();
    env.hub.clear_requests();
    let pinned = env
        .fetch(&format!("hf:org/model@{commit}/model-Q4_K_M.gguf"))
        .unwrap();
    assert_eq!(
        std::fs::read(pinned.path).unwrap(),
        std::fs::read(first.path).unwrap()
    );
    assert!(env.hub.requests().is_empty(), "{:?}", env.hub.requests());
    assert!(
        !env.repo_dir().join("refs").join(&commit).exists(),
        "no ref is written for a commit"
    );
}

#[test]
fn tags_and_branches_resolve_and_are_recorded_in_refs() {
    let env = Env::new();
    let old = std::fs::read_to_string({
        env.fetch("hf:org/model/config.json").unwrap();
        env.repo_dir().join("refs/main")
    })
    .unwrap();
    env.hub.tag("org/model", "v1", &old);
    let new = env.hub.commit(
        "org/model",
        "main",
        vec![("config.json", FileSpec::plain(b"{\"v\":2}".to_vec()))],
    );
    let v1 = env.fetch("hf:org/model@v1/config.json").unwrap();
    let main = env.fetch("hf:org/model/config.json").unwrap();
    assert_eq!(std::fs::read(v1.path).unwrap(), b"{\"arch\":\"llama\"}");
    assert_eq!(std::fs::read(main.path).unwrap(), b"{\"v\":2}");
    assert_eq!(
        std::fs::read_to_string(env.repo_dir().join("refs/v1")).unwrap(),
        old
    );
    assert_eq!(
        std::fs::read_to_string(env.repo_dir().join("refs/main")).unwrap(),
        new
    );
}

#[test]
fn plain_files_are_named_by_their_git_sha1_etag_and_served_by_the_hub() {
    let env = Env::new();
    let got = env.fetch("hf:org/model/config.json").unwrap();
    let link = std::fs::read_link(&got.path).unwrap();
    let etag = link.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(etag.len(), 40, "sha1 etag: {etag}");
    assert_eq!(
        env.hub.count("GET", "/org/model/resolve/main/config.json"),
        1
    );
}

#[test]
fn missing_repo_revision_and_file_are_typed_errors_that_say_what_to_do() {
    let env = Env::new();
    let repo = env.fetch("hf:org/nothing/m.gguf").unwrap_err();
    assert_eq!(repo.error_kind(), "repo-not-found");
    assert!(repo.to_string().contains("HF_TOKEN"), "{repo}");
    let rev = env
        .fetch("hf:org/model@nope/model-Q4_K_M.gguf")
        .unwrap_err();
    assert_eq!(rev.error_kind(), "revision-not-found");
    let entry = env.fetch("hf:org/model/absent.gguf").unwrap_err();
    assert_eq!(entry.error_kind(), "entry-not-found");
    assert!(entry.to_string().contains("absent.gguf"));
    let no_exist = env
        .repo_dir()
        .join(".no_exist")
        .join(&env.commit)
        .join("absent.gguf");
    assert!(no_exist.is_file(), "absence remembered at {no_exist:?}");
    assert!(
        matches!(
            entry,
            ProvisionError::Hub {
                source: HfError::EntryNotFound { .. },
                ..
            }
        ),
        "{entry:?}"
    );
}

#[test]
fn a_renamed_repo_is_followed_through_its_same_origin_redirect() {
    let env = Env::new();
    env.hub.rename("org/old-name", "org/model");
    let got = env.fetch("hf:org/old-name/model-Q4_K_M.gguf").unwrap();
    assert_eq!(std::fs::read(got.path).unwrap(), env.weights());
}

#[test]
fn a_server_without_x_repo_commit_is_not_a_hub() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::NoRepoCommit)
            .on(Listener::Hub)
            .method("HEAD"),
    );
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "not-a-hub");
    assert!(err.to_string().contains("HF_ENDPOINT"));
}

#[test]
fn a_redirect_loop_ends_in_a_clear_error() {
    let env = Env::new();
    env.hub.inject(
        Fault::new(FaultKind::RedirectLoop)
            .on(Listener::Cdn)
            .times(u32::MAX),
    );
    let err = env.fetch("hf:org/model/model-Q4_K_M.gguf").unwrap_err();
    assert_eq!(err.error_kind(), "too-many-redirects");
    assert!(env.blobs().iter().all(|b| b.ends_with(".incomplete")));
}

#[test]
fn the_only_gguf_of_a_repo_is_taken_when_no_file_is_named() {
    let env = Env::new();
    let got = env.fetch("hf:org/model").unwrap();
    assert!(got.path.ends_with("model-Q4_K_M.gguf"));
}
