//! The files of a ref (one, or the shards of a split GGUF) made present
//! at one commit, several at once within one connection budget.

use crate::digest::Digest;
use crate::download::ParallelPolicy;
use crate::fetch::Vouched;
use crate::hf::HfFetcher;
use crate::hf::cache::{RepoCache, is_commit_hash};
use crate::hf::fetcher::FetchFailure;
use crate::hf::file::{FileRequest, Present};
use crate::transfer_events::Narrator;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What every file of a set shares.
pub(super) struct SetRequest<'a> {
    pub cache: &'a RepoCache,
    /// `org/repo`.
    pub repo: &'a str,
    /// The revision the ref asked for (a branch, tag or commit).
    pub revision: &'a str,
    /// The file the catalog vouches for, if any.
    pub vouched: Option<&'a Vouched>,
    pub n: Narrator<'a>,
}

impl<'a> SetRequest<'a> {
    fn file(
        &self,
        at: &'a str,
        file: &'a str,
        expected: Option<&'a Digest>,
        parallel: &'a ParallelPolicy,
    ) -> FileRequest<'a> {
        FileRequest {
            cache: self.cache,
            repo: self.repo,
            revision: self.revision,
            at,
            file,
            expected,
            vouched: self.vouched,
            parallel,
            n: self.n,
        }
    }
}

/// The policies of the files that run at once: up to `budget.connections`
/// of `files` files, sharing its connections (at least one each), so
/// together they never open more than the budget.
pub(super) fn shares(budget: &ParallelPolicy, files: usize) -> Vec<ParallelPolicy> {
    let total = budget.connections.max(1);
    let at_once = files.clamp(1, total);
    (0..at_once)
        .map(|i| ParallelPolicy {
            connections: total / at_once + usize::from(i < total % at_once),
            ..budget.clone()
        })
        .collect()
}

/// The files of one concurrent run and what the runners share.
struct Pool<'a> {
    set: &'a SetRequest<'a>,
    at: &'a str,
    files: &'a [String],
    /// The first file's digest, from the caller.
    expected: Option<&'a Digest>,
    /// The index of the next file to start.
    next: AtomicUsize,
    /// The first failure; once set, no file starts.
    failed: Mutex<Option<FetchFailure>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HfFetcher {
    /// Makes `files` present, in their order, at one commit: where `at` is
    /// not a commit yet, the first file goes alone and pins it; the rest go
    /// at that commit, several at once (see [`shares`]). `expected` is the
    /// first file's digest. The first failure is returned; files already
    /// running finish and stay in the cache.
    pub(super) fn ensure_shards(
        &self,
        set: &SetRequest<'_>,
        mut at: String,
        files: &[String],
        expected: Option<&Digest>,
    ) -> Result<Vec<Present>, FetchFailure> {
        let mut present = Vec::with_capacity(files.len());
        if !is_commit_hash(&at)
            && let Some(first) = files.first()
        {
            let alone = self.ensure_set(set, &at, std::slice::from_ref(first), expected)?;
            present.extend(alone);
            if let Some(p) = present.first() {
                at.clone_from(&p.commit);
            }
        }
        let expected = expected.filter(|_| present.is_empty());
        present.extend(self.ensure_set(set, &at, &files[present.len()..], expected)?);
        Ok(present)
    }

    /// Makes `files` present at `at`, as many at once as [`shares`] allows.
    fn ensure_set(
        &self,
        set: &SetRequest<'_>,
        at: &str,
        files: &[String],
        expected: Option<&Digest>,
    ) -> Result<Vec<Present>, FetchFailure> {
        let shares = shares(&self.config.parallel, files.len());
        let pool = Pool {
            set,
            at,
            files,
            expected,
            next: AtomicUsize::new(0),
            failed: Mutex::new(None),
        };
        let mut got: Vec<(usize, Present)> = match shares.as_slice() {
            [one] => self.run(&pool, one),
            _ => self.run_at_once(&pool, &shares),
        };
        if let Some(failure) = pool
            .failed
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
        {
            return Err(failure);
        }
        // Every file was started and none failed: each one is here.
        got.sort_by_key(|(i, _)| *i);
        Ok(got.into_iter().map(|(_, p)| p).collect())
    }

    /// One runner per share on scoped threads, each narrating into the
    /// caller's subscriber and span (a test's capture is thread-local).
    fn run_at_once(&self, pool: &Pool<'_>, shares: &[ParallelPolicy]) -> Vec<(usize, Present)> {
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let span = tracing::Span::current();
        // Each runner waits under the fetch's cancel token.
        let cancel = crate::download::interrupt::current();
        std::thread::scope(|s| {
            let runners: Vec<_> = shares
                .iter()
                .map(|parallel| {
                    let (dispatch, span, cancel) = (&dispatch, &span, &cancel);
                    s.spawn(move || {
                        let _cancel = crate::download::interrupt::enter(cancel);
                        tracing::dispatcher::with_default(dispatch, || {
                            span.in_scope(|| self.run(pool, parallel))
                        })
                    })
                })
                .collect();
            runners
                .into_iter()
                .flat_map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// Takes files from the pool one after another until none is left or
    /// one has failed.
    fn run(&self, pool: &Pool<'_>, parallel: &ParallelPolicy) -> Vec<(usize, Present)> {
        let mut got = Vec::new();
        while lock(&pool.failed).is_none() {
            let i = pool.next.fetch_add(1, Ordering::Relaxed);
            let Some(file) = pool.files.get(i) else {
                break;
            };
            let expected = pool.expected.filter(|_| i == 0);
            match self.ensure_file(&pool.set.file(pool.at, file, expected, parallel)) {
                Ok(present) => got.push((i, present)),
                Err(failure) => {
                    lock(&pool.failed).get_or_insert(failure);
                    break;
                }
            }
        }
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(budget: usize, files: usize) -> Vec<usize> {
        let budget = ParallelPolicy {
            connections: budget,
            ..ParallelPolicy::default()
        };
        shares(&budget, files)
            .iter()
            .map(|p| p.connections)
            .collect()
    }

    #[test]
    fn the_budget_is_shared_and_never_exceeded() {
        assert_eq!(connections(8, 1), vec![8]);
        assert_eq!(connections(8, 2), vec![4, 4]);
        assert_eq!(connections(8, 3), vec![3, 3, 2]);
        assert_eq!(connections(2, 3), vec![1, 1]);
        assert_eq!(connections(1, 5), vec![1]);
        assert_eq!(connections(0, 3), vec![1], "a zero budget is one stream");
        assert_eq!(connections(4, 0), vec![4], "no file: one idle runner");
    }

    #[test]
    fn the_other_settings_are_kept() {
        let budget = ParallelPolicy {
            connections: 6,
            min_size: 5,
            chunk_size: 7,
            stream_first: false,
        };
        for p in shares(&budget, 4) {
            assert_eq!((p.min_size, p.chunk_size, p.stream_first), (5, 7, false));
        }
    }
}
