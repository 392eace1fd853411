//! The verify step: establish the file's sha256 (from the fetcher, from a
//! verified catalog fingerprint, or by hashing now), compare it with the
//! caller's digest, and say how it was established.

use super::ModelProvisioner;
use super::lifecycle::{Ensure, elapsed_ms, unreadable};
use crate::actions as act;
use crate::catalog::CatalogEntry;
use crate::digest::{Digest, HashError, hash_file_until};
use crate::error::ProvisionError;
use crate::fetch::Fetched;
use crate::fingerprint::{Fingerprint, now_ns};
use crate::progress::ProgressStep;
use crate::resolved::Verification;
use narration_core::NarrationFields;
use narration_core::{narrate, outcome};
use std::path::Path;
use std::time::Instant;

/// What the verify step established.
pub(super) struct Verified {
    pub digest: Digest,
    pub size: u64,
    /// A fingerprint that vouches for `digest` on later ensures.
    pub fingerprint: Option<Fingerprint>,
    pub verification: Verification,
    pub bytes_hashed: u64,
    /// The catalog row, when it already says everything (warm hit).
    pub entry: Option<CatalogEntry>,
}

impl ModelProvisioner {
    /// Establish the file's digest and compare it with `expected`.
    pub(super) fn verify(
        &self,
        e: &Ensure<'_>,
        fetched: &Fetched,
        fingerprint: Fingerprint,
        recorded: Option<CatalogEntry>,
        expected: Option<&Digest>,
    ) -> Result<Verified, ProvisionError> {
        // A commit pins the bytes: the digest the catalog recorded for
        // the same commit and file is the one they have, and a different
        // one is a mismatch, never an update.
        let pinned = recorded
            .as_ref()
            .filter(|row| same_pinned_source(row, fetched))
            .map(|row| row.digest);
        let verified = self.establish(
            e,
            fetched,
            fingerprint,
            recorded,
            expected.or(pinned.as_ref()),
        )?;
        match pinned {
            Some(recorded) if recorded != verified.digest => Err(ProvisionError::DigestMismatch {
                model: e.target.clone(),
                path: fetched.path.clone(),
                expected: recorded,
                actual: verified.digest,
            }),
            _ => Ok(verified),
        }
    }

    /// Establish the digest (see the module documentation) and compare it
    /// with `expected`.
    fn establish(
        &self,
        e: &Ensure<'_>,
        fetched: &Fetched,
        fingerprint: Fingerprint,
        recorded: Option<CatalogEntry>,
        expected: Option<&Digest>,
    ) -> Result<Verified, ProvisionError> {
        if let Some(digest) = fetched.digest {
            if fetched.bytes_transferred == 0 {
                // The fetcher hashed a cached file now (against the Hub's
                // etag); the fingerprint vouches when it was already old.
                return verified_by_fetcher(e, &fetched.path, digest, fingerprint, self, expected);
            }
            let settled = fingerprint.settled_at(now_ns(), self.racy_window_ns);
            return verified_in_flight(e, &fetched.path, digest, fingerprint, settled, expected);
        }
        let vouched = recorded
            .filter(|row| row.local_path == fetched.path && row.fingerprint == Some(fingerprint));
        match vouched {
            Some(row) if expected.is_none_or(|want| *want == row.digest) => {
                Ok(verified_by_fingerprint(e, row, fingerprint))
            }
            Some(_) => self.verify_by_hashing(
                e,
                &fetched.path,
                fingerprint,
                expected,
                Why::ExpectedDiffers,
            ),
            None => self.verify_by_hashing(e, &fetched.path, fingerprint, expected, Why::FirstLook),
        }
    }

    /// Hash the file now; a fingerprint taken before is kept only when
    /// the file was already old enough for it to be trusted.
    fn verify_by_hashing(
        &self,
        e: &Ensure<'_>,
        path: &Path,
        fingerprint: Fingerprint,
        expected: Option<&Digest>,
        why: Why,
    ) -> Result<Verified, ProvisionError> {
        narrate(NarrationFields {
            bytes: Some(fingerprint.size),
            outcome: Some(outcome::MISS.to_string()),
            ..e.fields(
                act::VERIFY,
                format!("Hashing {}{}", path.display(), why.text()),
            )
        });
        let started = Instant::now();
        let started_ns = now_ns();
        let (digest, bytes) = hash_reporting(e, path, fingerprint.size)?;
        let after = Fingerprint::of(path).map_err(|err| unreadable(path, err))?;
        if after != fingerprint || after.size != bytes {
            return Err(ProvisionError::ChangedWhileHashing {
                path: path.to_path_buf(),
            });
        }
        check_expected(e, path, digest, expected)?;
        narrate(NarrationFields {
            bytes: Some(bytes),
            duration_ms: Some(elapsed_ms(started)),
            ..e.fields(act::VERIFIED, format!("Digest verified: {digest}"))
        });
        Ok(Verified {
            digest,
            size: bytes,
            fingerprint: after
                .trustworthy_within(started_ns, self.racy_window_ns)
                .then_some(after),
            verification: Verification::Hashed,
            bytes_hashed: bytes,
            entry: None,
        })
    }
}

/// Hash `path` (`size` bytes), stopping at the ensure's cancel and
/// reporting [`ProgressStep::Hash`] as the chunks go by.
fn hash_reporting(e: &Ensure<'_>, path: &Path, size: u64) -> Result<(Digest, u64), ProvisionError> {
    let progress = &e.ctx.progress;
    progress.begin(ProgressStep::Hash, Some(size));
    let hashed = hash_file_until(path, &e.ctx.cancel, &mut |done| {
        progress.report(ProgressStep::Hash, done, Some(size), 0, false);
    });
    match hashed {
        Ok((digest, bytes)) => {
            progress.report(ProgressStep::Hash, bytes, Some(size), 0, true);
            Ok((digest, bytes))
        }
        Err(HashError::Io(err)) => Err(unreadable(path, err)),
        Err(_) => Err(ProvisionError::Cancelled {
            model: e.target.clone(),
            step: super::Step::Verify.word(),
        }),
    }
}

/// Why a file is hashed now, for the `verify` narration.
#[derive(Clone, Copy)]
enum Why {
    /// No verified fingerprint of this file: first sight or changed.
    FirstLook,
    /// The file is unchanged, but the caller expects another digest.
    ExpectedDiffers,
}

impl Why {
    fn text(self) -> &'static str {
        match self {
            Why::FirstLook => "",
            Why::ExpectedDiffers => {
                " (unchanged since it was verified, but the expected digest differs from the recorded one)"
            }
        }
    }
}

/// Whether `row` was recorded from the same Hub commit and file as
/// `fetched` came from: `hf:org/repo@<commit>/file`, a commit pinning the
/// bytes.
fn same_pinned_source(row: &CatalogEntry, fetched: &Fetched) -> bool {
    row.source == fetched.source
        && fetched.source.starts_with("hf:")
        && fetched
            .source
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('/'))
            .is_some_and(|(commit, _)| crate::hf::is_commit_hash(commit))
}

/// The fetcher hashed a cached file now, against what its source
/// promises: compare, and keep the fingerprint only when the file was
/// already old enough for it to be trusted.
fn verified_by_fetcher(
    e: &Ensure<'_>,
    path: &Path,
    digest: Digest,
    fingerprint: Fingerprint,
    p: &ModelProvisioner,
    expected: Option<&Digest>,
) -> Result<Verified, ProvisionError> {
    narrate(NarrationFields {
        bytes: Some(fingerprint.size),
        outcome: Some(outcome::MISS.to_string()),
        ..e.fields(
            act::VERIFY,
            format!(
                "Verifying {}: hashed now against the digest its source promises",
                path.display()
            ),
        )
    });
    check_expected(e, path, digest, expected)?;
    e.say(act::VERIFIED, format!("Digest verified: {digest}"));
    Ok(Verified {
        digest,
        size: fingerprint.size,
        fingerprint: fingerprint
            .trustworthy_within(now_ns(), p.racy_window_ns)
            .then_some(fingerprint),
        verification: Verification::Hashed,
        bytes_hashed: fingerprint.size,
        entry: None,
    })
}

/// The fetcher hashed the bytes as it wrote them: compare. A fetcher that
/// settled the file before moving it into place
/// ([`settle`](crate::settle)) lets its fingerprint vouch for the bytes
/// at once; otherwise the next ensure hashes them.
fn verified_in_flight(
    e: &Ensure<'_>,
    path: &Path,
    digest: Digest,
    fingerprint: Fingerprint,
    settled: bool,
    expected: Option<&Digest>,
) -> Result<Verified, ProvisionError> {
    e.say(
        act::VERIFY,
        format!(
            "Verifying {}: sha256 computed while downloading",
            path.display()
        ),
    );
    check_expected(e, path, digest, expected)?;
    e.say(
        act::VERIFIED,
        format!("Digest verified while downloading: {digest}"),
    );
    Ok(Verified {
        digest,
        size: fingerprint.size,
        fingerprint: settled.then_some(fingerprint),
        verification: Verification::InFlight,
        bytes_hashed: 0,
        entry: None,
    })
}

fn verified_by_fingerprint(
    e: &Ensure<'_>,
    row: CatalogEntry,
    fingerprint: Fingerprint,
) -> Verified {
    e.say(
        act::VERIFY,
        format!(
            "Verifying {} against the catalog fingerprint",
            row.local_path.display()
        ),
    );
    narrate(NarrationFields {
        outcome: Some(outcome::HIT.to_string()),
        ..e.fields(
            act::CACHE_HIT,
            format!(
                "File unchanged since it was verified ({} bytes, inode {}): not re-hashing",
                fingerprint.size, fingerprint.inode
            ),
        )
    });
    e.say(act::VERIFIED, format!("Digest verified: {}", row.digest));
    Verified {
        digest: row.digest,
        size: row.size_bytes,
        fingerprint: Some(fingerprint),
        verification: Verification::Fingerprint,
        bytes_hashed: 0,
        entry: Some(row),
    }
}

/// The caller's digest, when given, must be the one established.
fn check_expected(
    e: &Ensure<'_>,
    path: &Path,
    actual: Digest,
    expected: Option<&Digest>,
) -> Result<(), ProvisionError> {
    match expected {
        Some(want) if *want != actual => Err(ProvisionError::DigestMismatch {
            model: e.target.clone(),
            path: path.to_path_buf(),
            expected: *want,
            actual,
        }),
        _ => Ok(()),
    }
}
