//! The Hub's etag is the expected digest: a cached blob that is not what
//! its etag (its file name) promises is never served nor recorded. Online
//! it is moved aside as `.corrupt` and downloaded again; offline the
//! ensure fails. Each attack changes the cache behind the provisioner's
//! back, the way a person or another tool could.

use crate::hf_support::Env;
use hub_standin::FileSpec;
use model_provisioner::actions as act;
use model_provisioner::{Digest, ErrorKind, ModelProvisioner, gguf};
use narration_core::CaptureAdapter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const REF: &str = "hf:org/tiny/tiny.gguf";

struct Tiny {
    env: Env,
    bytes: Vec<u8>,
    digest: Digest,
    etag: String,
}

/// A stand-in Hub with `org/tiny` holding `tiny.gguf`, as LFS (etag =
/// sha256) or as a plain git file (etag = git blob id).
fn tiny(lfs: bool) -> Tiny {
    let env = Env::new();
    let file = env.work.path().join("tiny.gguf");
    gguf::write_tiny_llama(&file, gguf::TINY_LLAMA_SEED).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let spec = if lfs {
        FileSpec::lfs(bytes.clone())
    } else {
        FileSpec::plain(bytes.clone())
    };
    let digest = model_provisioner::sha256_bytes(&bytes);
    env.hub
        .commit("org/tiny", "main", vec![("tiny.gguf", spec)]);
    let etag = if lfs {
        digest.hex()
    } else {
        git_blob_id(&bytes)
    };
    Tiny {
        env,
        bytes,
        digest,
        etag,
    }
}

/// `git hash-object`, computed here by git itself.
fn git_blob_id(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, bytes).unwrap();
    let out = std::process::Command::new("git")
        .arg("hash-object")
        .arg(&f)
        .output()
        .expect("git runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Tiny {
    fn provisioner(&self, dir: &str, offline: bool) -> ModelProvisioner {
        ModelProvisioner::builder(self.env.work.path().join(dir))
            .fetcher(Arc::new(self.env.fetcher()))
            .racy_window(std::time::Duration::ZERO)
            .offline(offline)
            .build()
            .unwrap()
    }

    fn blob(&self) -> PathBuf {
        self.env
            .cache
            .path()
            .join("models--org--tiny/blobs")
            .join(&self.etag)
    }

    fn corrupt(&self) -> PathBuf {
        self.blob().with_file_name(format!("{}.corrupt", self.etag))
    }
}

/// Flips one byte in the middle of `path` (following links), in place.
fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

fn actions(capture: &CaptureAdapter) -> Vec<&'static str> {
    capture.captured().iter().map(|n| n.action).collect()
}

/// Online: the flipped blob is moved aside, downloaded again, and the run
/// succeeds with the Hub's digest; the catalog keeps it.
fn tampered_blob_is_replaced_online(lfs: bool) {
    let t = tiny(lfs);
    let p = t.provisioner("prov", false);
    assert_eq!(p.ensure_present_str(REF, None).unwrap().digest, t.digest);
    flip_a_byte(&t.blob());
    let capture = CaptureAdapter::install();
    let again = p.ensure_present_str(REF, None).unwrap();
    assert_eq!(again.digest, t.digest, "the Hub's digest, not the bytes'");
    assert_eq!(std::fs::read(&again.local_path).unwrap(), t.bytes);
    assert!(t.corrupt().is_file(), "the bad blob is kept as evidence");
    let seen = actions(&capture);
    assert!(seen.contains(&act::VERIFY_WARNING), "{seen:?}");
    assert!(seen.contains(&act::DOWNLOADED), "{seen:?}");
    assert!(!seen.contains(&act::VERIFY_FAILED), "{seen:?}");
    let row = p.catalog().get(REF).unwrap().unwrap();
    assert_eq!(row.digest, t.digest);
    // And from now on it is a plain cache hit.
    capture.clear();
    p.ensure_present_str(REF, None).unwrap();
    assert!(!actions(&capture).contains(&act::DOWNLOAD));
}

#[test]
fn a_flipped_lfs_blob_is_moved_aside_and_downloaded_again() {
    tampered_blob_is_replaced_online(true);
}

#[test]
fn a_flipped_plain_blob_fails_its_git_blob_id_and_is_downloaded_again() {
    tampered_blob_is_replaced_online(false);
}

/// Offline: the flipped blob fails the ensure (verify-failed, exit code
/// kind digest-mismatch) and the catalog keeps the good digest.
#[test]
fn offline_a_flipped_blob_fails_and_the_catalog_keeps_its_digest() {
    let t = tiny(true);
    t.provisioner("prov", false)
        .ensure_present_str(REF, None)
        .unwrap();
    flip_a_byte(&t.blob());
    let offline = t.provisioner("prov", true);
    let capture = CaptureAdapter::install();
    let err = offline.ensure_present_str(REF, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(actions(&capture).contains(&act::VERIFY_FAILED));
    let row = offline.catalog().get(REF).unwrap().unwrap();
    assert_eq!(row.digest, t.digest, "a mismatch is never an update");
    // Still failing the second time: nothing was recorded as good.
    assert!(offline.ensure_present_str(REF, None).is_err());
}

/// A blob another client wrote, with no catalog row for it: hashed on
/// first look, against its etag.
#[test]
fn a_flipped_blob_with_no_catalog_row_is_checked_on_first_look() {
    let t = tiny(true);
    t.env.fetch(REF).unwrap();
    flip_a_byte(&t.blob());
    let err = t
        .provisioner("offline", true)
        .ensure_present_str(REF, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let online = t
        .provisioner("online", false)
        .ensure_present_str(REF, None)
        .unwrap();
    assert_eq!(online.digest, t.digest);
    assert_eq!(std::fs::read(&online.local_path).unwrap(), t.bytes);
}

/// A blob that is a link to some other file: the link is moved aside (the
/// file it points to is untouched) and the blob downloaded again.
#[test]
fn a_blob_linked_to_another_file_is_not_served() {
    let t = tiny(true);
    let p = t.provisioner("prov", false);
    p.ensure_present_str(REF, None).unwrap();
    let elsewhere = t.env.work.path().join("elsewhere.gguf");
    let mut other = t.bytes.clone();
    other[100] ^= 1;
    std::fs::write(&elsewhere, &other).unwrap();
    std::fs::remove_file(t.blob()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t.blob()).unwrap();
    let err = t
        .provisioner("prov", true)
        .ensure_present_str(REF, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    let again = p.ensure_present_str(REF, None).unwrap();
    assert_eq!(again.digest, t.digest);
    assert_eq!(std::fs::read(&again.local_path).unwrap(), t.bytes);
    assert_eq!(std::fs::read(&elsewhere).unwrap(), other, "untouched");
    assert!(
        t.corrupt()
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A catalog that recorded another digest for the same commit and file
/// is a mismatch, never an update.
#[test]
fn a_recorded_digest_for_the_same_commit_is_never_rewritten() {
    let t = tiny(true);
    let p = t.provisioner("prov", false);
    p.ensure_present_str(REF, None).unwrap();
    let mut row = p.catalog().get(REF).unwrap().unwrap();
    let other = model_provisioner::sha256_bytes(b"other bytes");
    row.digest = other;
    row.fingerprint = None;
    p.catalog().put(&row).unwrap();
    let err = p.ensure_present_str(REF, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert_eq!(p.catalog().get(REF).unwrap().unwrap().digest, other);
}

/// A plain file's download is checked against its git blob id too (the
/// sha256 the transfer computes promises nothing for it): wrong bytes of
/// the right size are refused, moved aside, and the next run gets them
/// right.
#[test]
fn a_plain_file_downloaded_with_wrong_bytes_is_refused_by_its_git_blob_id() {
    use hub_standin::{Fault, FaultKind, Listener};
    let t = tiny(false);
    t.env.hub.inject(
        Fault::new(FaultKind::WrongBytes)
            .on(Listener::Hub)
            .method("GET"),
    );
    let p = t.provisioner("prov", false);
    let capture = CaptureAdapter::install();
    let err = p.ensure_present_str(REF, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestMismatch, "{err}");
    assert!(actions(&capture).contains(&act::VERIFY_FAILED));
    assert!(!t.blob().exists(), "never left at the blob's name");
    assert!(p.catalog().get(REF).unwrap().is_none(), "nothing recorded");
    let again = p.ensure_present_str(REF, None).unwrap();
    assert_eq!(std::fs::read(&again.local_path).unwrap(), t.bytes);
}
