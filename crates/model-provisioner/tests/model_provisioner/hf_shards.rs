//! The shards of a split GGUF fetched at once within one connection
//! budget: transfers in flight together, never more connections than the
//! budget, each shard byte-identical, verified and linked (all read off the
//! stand-in's request log, whose spans lie inside the client's
//! connections).

use crate::hf_support::{Env, data};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener, RequestRecord};
use model_provisioner::actions;
use model_provisioner::hf::{HfFetcher, ParallelPolicy, RetryPolicy};
use model_provisioner::{Digest, Fetched};
use narration_core::CaptureAdapter;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const SHARDS: [&str; 3] = [
    "Q4_K_M/s-Q4_K_M-00001-of-00003.gguf",
    "Q4_K_M/s-Q4_K_M-00002-of-00003.gguf",
    "Q4_K_M/s-Q4_K_M-00003-of-00003.gguf",
];

/// A stand-in Hub with `org/split` holding three shards of `len` bytes.
struct Split {
    env: Env,
    bytes: Vec<Vec<u8>>,
    shards: Vec<FileSpec>,
}

impl Split {
    fn new(len: u64) -> Self {
        let hub = Hub::start().expect("stand-in hub starts");
        let bytes: Vec<Vec<u8>> = (0..3u8).map(|i| data(len as usize, 40 + i)).collect();
        let shards: Vec<FileSpec> = bytes.iter().cloned().map(FileSpec::lfs).collect();
        let files = SHARDS.iter().copied().zip(shards.iter().cloned()).collect();
        let commit = hub.commit("org/split", "main", files);
        let env = Env {
            hub,
            cache: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
            commit,
        };
        Self { env, bytes, shards }
    }

    /// A fetcher with `connections` in all; files of `min_size` and up
    /// are split into 1 MiB pieces.
    fn fetcher(&self, connections: usize, min_size: u64) -> HfFetcher {
        let parallel = ParallelPolicy {
            connections,
            min_size,
            chunk_size: MIB,
            // Pieces from the first byte: each GET is one counted connection.
            stream_first: false,
        };
        let config = self.env.config().with_parallel(parallel);
        HfFetcher::new(config.with_retry(RetryPolicy::quick()))
    }

    /// Every shard byte-identical, linked into the snapshot, the first
    /// returned with its digest, every byte counted once.
    fn assert_stored(&self, got: &Fetched) {
        self.assert_linked(got);
        let first = Digest::from_sha256_hex(&self.shards[0].sha256()).unwrap();
        assert_eq!(got.digest, Some(first), "the first verified in flight");
        let total: u64 = self.bytes.iter().map(|b| b.len() as u64).sum();
        assert_eq!(got.bytes_transferred, total, "every shard moved once");
    }

    /// Every shard byte-identical and linked into the snapshot; the first
    /// is returned.
    fn assert_linked(&self, got: &Fetched) {
        let snapshot = self
            .env
            .cache
            .path()
            .join("models--org--split/snapshots")
            .join(&self.env.commit);
        assert_eq!(got.path, snapshot.join(SHARDS[0]), "the first is returned");
        for ((file, spec), bytes) in SHARDS.iter().zip(&self.shards).zip(&self.bytes) {
            let path = snapshot.join(file);
            assert_eq!(
                std::fs::read_link(&path).unwrap(),
                std::path::Path::new("../../../blobs").join(spec.sha256()),
                "{file} is linked to its blob"
            );
            assert!(
                std::fs::read(&path).unwrap() == *bytes,
                "{file} is byte-identical"
            );
        }
    }

    /// The CDN GETs of each shard, once the stand-in has recorded them
    /// all as finished (it may note that just after the client is done).
    fn cdn_gets(&self) -> Vec<Vec<RequestRecord>> {
        let give_up = Instant::now() + Duration::from_secs(10);
        let gets: Vec<RequestRecord> = loop {
            let gets: Vec<RequestRecord> = self
                .env
                .hub
                .requests()
                .into_iter()
                .filter(|r| r.listener == Listener::Cdn && r.method == "GET")
                .collect();
            if gets.iter().all(|r| r.finished.is_some()) || Instant::now() > give_up {
                break gets;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.shards
            .iter()
            .map(|s| {
                let path = Hub::cdn_path(s);
                gets.iter().filter(|r| r.path == path).cloned().collect()
            })
            .collect()
    }
}

/// When the stand-in saw `r` in flight.
fn span(r: &RequestRecord) -> (Instant, Instant) {
    let finished = r.finished.expect("the answer was finished");
    (r.started, finished)
}

/// The most requests in flight at one instant.
fn peak(requests: &[RequestRecord]) -> usize {
    let mut edges: Vec<(Instant, i32)> = requests
        .iter()
        .flat_map(|r| {
            let (start, end) = span(r);
            [(start, 1), (end, -1)]
        })
        .collect();
    // At one instant, an end before a start: touching is not overlapping.
    edges.sort();
    let (mut now, mut most) = (0, 0);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

/// True when some GET of `a` and some GET of `b` were in flight together.
fn overlap(a: &[RequestRecord], b: &[RequestRecord]) -> bool {
    a.iter().any(|x| {
        b.iter().any(|y| {
            let ((xs, xe), (ys, ye)) = (span(x), span(y));
            xs < ye && ys < xe
        })
    })
}

#[test]
fn the_shards_of_a_split_gguf_are_in_flight_together() {
    let split = Split::new(MIB);
    // Each shard's one stream takes about half a second.
    split.env.hub.limit_connection_rate(Some(2 * MIB));
    let capture = CaptureAdapter::install();
    let got = split
        .env
        .fetch_with(&split.fetcher(8, 64 * MIB), "hf:org/split:Q4_K_M", None)
        .unwrap();
    split.assert_stored(&got);
    let gets = split.cdn_gets();
    for (file, g) in SHARDS.iter().zip(&gets) {
        assert_eq!(g.len(), 1, "{file}: one stream: {g:?}");
    }
    assert!(overlap(&gets[0], &gets[1]), "shards 1 and 2 together");
    assert!(overlap(&gets[0], &gets[2]), "shards 1 and 3 together");
    assert!(overlap(&gets[1], &gets[2]), "shards 2 and 3 together");
    for file in SHARDS {
        let narrated = capture
            .captured()
            .into_iter()
            .any(|n| n.action == actions::DOWNLOADED && n.human.contains(file));
        assert!(narrated, "{file}'s download is narrated to the caller");
    }
}

#[test]
fn a_budget_of_two_connections_fetches_two_shards_at_a_time() {
    let split = Split::new(MIB);
    split.env.hub.limit_connection_rate(Some(2 * MIB));
    let got = split
        .env
        .fetch_with(&split.fetcher(2, 64 * MIB), "hf:org/split:Q4_K_M", None)
        .unwrap();
    split.assert_stored(&got);
    let all: Vec<RequestRecord> = split.cdn_gets().concat();
    assert_eq!(all.len(), 3, "one stream per shard: {all:?}");
    let most = peak(&all);
    assert!(
        most <= 2,
        "{most} connections at once, over the budget of 2"
    );
    assert_eq!(most, 2, "two shards at a time");
}

#[test]
fn large_shards_split_the_budget_and_the_first_pins_the_commit_alone() {
    let split = Split::new(3 * MIB);
    // Each 1 MiB piece takes about a quarter of a second.
    split.env.hub.limit_connection_rate(Some(4 * MIB));
    // Named by path: no listing, so the first shard's answer pins the commit.
    let got = split
        .env
        .fetch_with(
            &split.fetcher(4, MIB),
            &format!("hf:org/split/{}", SHARDS[1]),
            None,
        )
        .unwrap();
    split.assert_stored(&got);
    let gets = split.cdn_gets();
    for (file, g) in SHARDS.iter().zip(&gets) {
        assert!(
            g.iter().all(|r| r.status == 206),
            "{file} over ranges: {g:?}"
        );
        assert_eq!(g.len(), 3, "{file}: one GET per piece: {g:?}");
    }
    let first_done = gets[0].iter().map(|r| span(r).1).max().unwrap();
    let rest_started = gets[1..].concat().iter().map(|r| r.started).min().unwrap();
    assert!(
        first_done < rest_started,
        "the first shard was fetched before the others"
    );
    assert!(overlap(&gets[1], &gets[2]), "the others came together");
    let most = peak(&gets.concat());
    assert!(
        most <= 4,
        "{most} connections at once, over the budget of 4"
    );
}

#[test]
fn a_failed_shard_fails_the_set_and_the_others_stay_for_the_next_run() {
    let split = Split::new(MIB);
    split.env.hub.limit_connection_rate(Some(2 * MIB));
    split.env.hub.inject(
        Fault::new(FaultKind::WrongBytes)
            .on(Listener::Cdn)
            .path_contains(&Hub::cdn_path(&split.shards[1])),
    );
    let fetcher = split.fetcher(8, 64 * MIB);
    let err = split
        .env
        .fetch_with(&fetcher, "hf:org/split:Q4_K_M", None)
        .unwrap_err();
    assert_eq!(err.error_kind(), "etag-mismatch", "{err}");

    split.env.hub.clear_requests();
    let got = split
        .env
        .fetch_with(&fetcher, "hf:org/split:Q4_K_M", None)
        .unwrap();
    split.assert_linked(&got);
    let gets = split.cdn_gets();
    assert_eq!(
        (gets[0].len(), gets[1].len(), gets[2].len()),
        (0, 1, 0),
        "only the failed shard is fetched again: {gets:?}"
    );
    assert_eq!(got.bytes_transferred, MIB, "only its bytes move");
}
