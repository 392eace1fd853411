//! Large files over parallel ranged connections: a stream split when the
//! network is slower than the hash, byte-identical and verified, one stream when the server ignores Range, lying or corrupt
//! answers refused, dropped connections and stragglers recovered, and a
//! resume that fetches only the missing pieces (all read off the stand-in's
//! request log).

use crate::hf_support::{Env, data};
use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener, RequestRecord};
use model_provisioner::actions;
use model_provisioner::hf::{HfFetcher, ParallelPolicy, RetryPolicy};
use model_provisioner::{Fetched, ProvisionError};
use narration_core::CaptureAdapter;

const MIB: u64 = 1 << 20;
const REF: &str = "hf:org/big/big.gguf";

/// A stand-in Hub with `org/big` holding `big.gguf` (`len` bytes, LFS).
struct Big {
    env: Env,
    bytes: Vec<u8>,
}

impl Big {
    fn new(len: u64) -> Self {
        let hub = Hub::start().expect("stand-in hub starts");
        let bytes = data(len as usize, 7);
        let commit = hub.commit(
            "org/big",
            "main",
            vec![("big.gguf", FileSpec::lfs(bytes.clone()))],
        );
        let env = Env {
            hub,
            cache: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
            commit,
        };
        Self { env, bytes }
    }

    fn sha(&self) -> String {
        FileSpec::lfs(self.bytes.clone()).sha256()
    }

    /// Splits files of 1 MiB and up into `chunk` pieces over `connections`
    /// from the first byte.
    fn fetcher(&self, connections: usize, chunk: u64, retry: RetryPolicy) -> HfFetcher {
        let parallel = policy(connections, chunk, false);
        HfFetcher::new(self.env.config().with_parallel(parallel).with_retry(retry))
    }

    /// As [`fetcher`](Self::fetcher), starting with one stream that is
    /// split only when it runs slower than the hash (the default).
    fn stream_first_fetcher(&self, connections: usize, chunk: u64) -> HfFetcher {
        let parallel = policy(connections, chunk, true);
        HfFetcher::new(self.env.config().with_parallel(parallel))
    }

    fn fetch(&self, f: &HfFetcher) -> Result<Fetched, ProvisionError> {
        self.env.fetch_with(f, REF, None)
    }

    /// The GETs that reached the CDN.
    fn cdn_gets(&self) -> Vec<RequestRecord> {
        let path = format!("/lfs/{}", self.sha());
        self.env
            .hub
            .requests()
            .into_iter()
            .filter(|r| r.listener == Listener::Cdn && r.method == "GET" && r.path == path)
            .collect()
    }

    /// What `blobs/` holds.
    fn blobs(&self) -> Vec<String> {
        let dir = self.env.cache.path().join("models--org--big").join("blobs");
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn assert_stored(&self, got: &Fetched) {
        assert!(
            std::fs::read(&got.path).unwrap() == self.bytes,
            "the stored file is byte-identical"
        );
        let want = model_provisioner::Digest::from_sha256_hex(&self.sha()).unwrap();
        assert_eq!(got.digest, Some(want), "verified while transferring");
        assert_eq!(self.blobs(), vec![self.sha()], "no partial or state left");
    }

    fn assert_nothing_stored(&self) {
        assert_eq!(self.blobs(), Vec::<String>::new(), "nothing kept");
        assert!(
            !self
                .env
                .cache
                .path()
                .join("models--org--big/snapshots")
                .exists()
                || std::fs::read_dir(self.env.cache.path().join("models--org--big/snapshots"))
                    .unwrap()
                    .next()
                    .is_none()
        );
    }
}

/// Files of 1 MiB and up split into `chunk` pieces over `connections`.
fn policy(connections: usize, chunk: u64, stream_first: bool) -> ParallelPolicy {
    ParallelPolicy {
        connections,
        min_size: MIB,
        chunk_size: chunk,
        stream_first,
    }
}

/// `bytes=S-E` → `[S, E + 1)`.
fn range_of(r: &RequestRecord) -> (u64, u64) {
    let spec = r.range.as_deref().and_then(|v| v.strip_prefix("bytes="));
    let (s, e) = spec
        .and_then(|s| s.split_once('-'))
        .expect("a bytes=S-E range");
    (s.parse().unwrap(), e.parse::<u64>().unwrap() + 1)
}

#[test]
fn a_large_file_comes_over_parallel_ranges_byte_identical_and_verified() {
    let big = Big::new(8 * MIB + 123);
    let got = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap();
    big.assert_stored(&got);
    let gets = big.cdn_gets();
    assert!(gets.iter().all(|r| r.status == 206), "{gets:?}");
    let mut ranges: Vec<_> = gets.iter().map(range_of).collect();
    ranges.sort();
    let want: Vec<_> = (0..9)
        .map(|i| (i * MIB, ((i + 1) * MIB).min(8 * MIB + 123)))
        .collect();
    assert_eq!(
        ranges, want,
        "one ranged GET per 1 MiB piece, none repeated"
    );
}

#[test]
fn a_server_that_ignores_range_gets_one_stream() {
    let big = Big::new(3 * MIB);
    big.env.hub.inject(
        Fault::new(FaultKind::IgnoreRange)
            .on(Listener::Cdn)
            .times(u32::MAX),
    );
    let got = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap();
    big.assert_stored(&got);
    let gets = big.cdn_gets();
    assert_eq!(gets.len(), 1, "one stream: {gets:?}");
    assert_eq!((gets[0].status, gets[0].body_bytes), (200, 3 * MIB));
}

#[test]
fn a_206_whose_content_range_lies_is_refused() {
    let big = Big::new(3 * MIB);
    big.env.hub.inject(
        Fault::new(FaultKind::WrongContentRange)
            .on(Listener::Cdn)
            .times(u32::MAX),
    );
    let err = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap_err();
    assert_eq!(err.error_kind(), "retries-exhausted", "{err}");
    assert!(err.to_string().contains("Content-Range"), "{err}");
    assert!(
        !big.blobs().contains(&big.sha()),
        "no blob from a lying server: {:?}",
        big.blobs()
    );
}

#[test]
fn a_chunk_answered_with_wrong_bytes_fails_the_digest_and_stores_nothing() {
    let big = Big::new(4 * MIB);
    big.env.hub.inject(
        Fault::new(FaultKind::WrongBytes)
            .on(Listener::Cdn)
            .method("GET")
            .after(2),
    );
    let err = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap_err();
    assert_eq!(err.error_kind(), "etag-mismatch", "{err}");
    big.assert_nothing_stored();
}

#[test]
fn connections_closed_mid_chunk_are_retried_and_the_download_completes() {
    let big = Big::new(6 * MIB);
    big.env.hub.inject(
        Fault::new(FaultKind::DropAfter(100_000))
            .on(Listener::Cdn)
            .method("GET")
            .times(3),
    );
    let got = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap();
    big.assert_stored(&got);
    let gets = big.cdn_gets();
    let cut = gets.iter().filter(|r| r.body_bytes == 100_000).count();
    assert_eq!(cut, 3, "three connections were cut: {gets:?}");
    assert_eq!(
        gets.len(),
        6 + 3,
        "each cut piece asked again, from where it got to"
    );
    // A retry starts where its cut connection stopped: never at a piece
    // boundary (which cut piece the fault hits, and how often, varies).
    let resumed = gets
        .iter()
        .map(|r| range_of(r).0 % MIB)
        .filter(|&at| at != 0)
        .count();
    assert_eq!(resumed, 3, "the retries resume mid-piece: {gets:?}");
}

#[test]
fn resume_after_an_interrupted_parallel_transfer_requests_no_finished_chunk() {
    let big = Big::new(8 * MIB);
    // The first three pieces are served; every later request fails.
    big.env.hub.inject(
        Fault::new(FaultKind::Status {
            status: 503,
            retry_after: None,
        })
        .on(Listener::Cdn)
        .method("GET")
        .after(3)
        .times(u32::MAX),
    );
    let give_up = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::quick()
    };
    let err = big.fetch(&big.fetcher(4, MIB, give_up)).unwrap_err();
    assert_eq!(err.error_kind(), "retries-exhausted", "{err}");
    let first: Vec<(u64, u64)> = big
        .cdn_gets()
        .iter()
        .filter(|r| r.status == 206)
        .map(range_of)
        .collect();
    assert_eq!(first.len(), 3, "three pieces were served");
    let sha = big.sha();
    assert_eq!(
        big.blobs(),
        vec![
            format!("{sha}.incomplete"),
            format!("{sha}.incomplete.parts")
        ],
        "the partial and its state are kept"
    );

    big.env.hub.clear_faults();
    big.env.hub.clear_requests();
    let got = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap();
    big.assert_stored(&got);
    let second: Vec<(u64, u64)> = big.cdn_gets().iter().map(range_of).collect();
    for (s, e) in &second {
        assert!(
            first.iter().all(|(fs, fe)| e <= fs || s >= fe),
            "{s}..{e} was finished before: {first:?}"
        );
    }
    let sent: u64 = big.cdn_gets().iter().map(|r| r.body_bytes).sum();
    assert_eq!(sent, 8 * MIB - 3 * MIB, "only the missing pieces were sent");
}

#[test]
fn a_straggling_connection_has_its_rest_re_requested_on_a_fresh_one() {
    let big = Big::new(24 * MIB);
    // The first GET (the first piece) crawls at 1 MiB/s; the rest are fast.
    big.env.hub.inject(
        Fault::new(FaultKind::Throttle(MIB))
            .on(Listener::Cdn)
            .method("GET"),
    );
    let capture = CaptureAdapter::install();
    let got = big
        .fetch(&big.fetcher(4, 4 * MIB, RetryPolicy::quick()))
        .unwrap();
    big.assert_stored(&got);
    let gets = big.cdn_gets();
    let rest = gets
        .iter()
        .map(range_of)
        .find(|&(s, e)| s > 0 && s < 4 * MIB && e == 4 * MIB);
    assert!(
        rest.is_some(),
        "the slow first piece's rest was asked for again: {gets:?}"
    );
    let narrated = capture
        .captured()
        .into_iter()
        .any(|n| n.action == actions::DOWNLOAD_RETRY && n.human.contains("fresh connection"));
    assert!(narrated, "the re-request is narrated as download-retry");
}

#[test]
fn a_stream_slower_than_the_hash_is_split_and_its_prefix_never_fetched_again() {
    let big = Big::new(8 * MIB);
    // 2 MiB/s per connection: far below any sha256, so the stream splits
    // after its first look (about 100 ms).
    big.env.hub.limit_connection_rate(Some(2 * MIB));
    let capture = CaptureAdapter::install();
    let got = big.fetch(&big.stream_first_fetcher(4, MIB)).unwrap();
    big.assert_stored(&got);
    let downloaded = capture
        .captured()
        .into_iter()
        .find(|n| n.action == actions::DOWNLOADED)
        .expect("downloaded is narrated");
    assert!(
        downloaded.human.contains("over 4 connections"),
        "{}",
        downloaded.human
    );
    let gets = big.cdn_gets();
    let (stream, pieces) = gets.split_first().expect("GETs reached the CDN");
    assert_eq!(
        stream.range.as_deref(),
        Some("bytes=0-"),
        "one ranged stream first: {gets:?}"
    );
    assert!(!pieces.is_empty(), "the stream was split: {gets:?}");
    let mut ranges: Vec<(u64, u64)> = pieces.iter().map(range_of).collect();
    ranges.sort();
    let prefix = ranges[0].0;
    assert!(
        prefix > 0 && prefix <= stream.body_bytes,
        "the pieces start where the stream stopped ({} sent): {ranges:?}",
        stream.body_bytes
    );
    let tiles = ranges.windows(2).all(|w| w[0].1 == w[1].0);
    assert!(
        tiles && ranges.last().unwrap().1 == 8 * MIB,
        "the pieces cover the rest once, nothing before it: {ranges:?}"
    );
}

#[test]
fn a_rest_under_two_chunks_stays_with_the_stream() {
    // Splitting needs two chunks to go; a 3 MiB file with 2 MiB chunks
    // never has them, however slow the stream.
    let big = Big::new(3 * MIB);
    big.env.hub.limit_connection_rate(Some(4 * MIB));
    let capture = CaptureAdapter::install();
    let got = big.fetch(&big.stream_first_fetcher(4, 2 * MIB)).unwrap();
    big.assert_stored(&got);
    let one_stream = capture
        .captured()
        .into_iter()
        .any(|n| n.action == actions::DOWNLOADED && !n.human.contains("connections"));
    assert!(one_stream, "downloaded names no connections for one stream");
    let gets = big.cdn_gets();
    assert_eq!(gets.len(), 1, "one stream: {gets:?}");
    assert_eq!(
        (gets[0].range.as_deref(), gets[0].status, gets[0].body_bytes),
        (Some("bytes=0-"), 206, 3 * MIB)
    );
}

#[test]
fn a_resume_keeps_what_pieces_cut_short_had_written() {
    let big = Big::new(4 * MIB);
    // Every GET is cut after 300,000 bytes and not retried: no piece
    // finishes; those that started got that far.
    big.env.hub.inject(
        Fault::new(FaultKind::DropAfter(300_000))
            .on(Listener::Cdn)
            .method("GET")
            .times(u32::MAX),
    );
    let give_up = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::quick()
    };
    let err = big.fetch(&big.fetcher(4, MIB, give_up)).unwrap_err();
    assert_eq!(err.error_kind(), "retries-exhausted", "{err}");
    // What the first run received: the start of each piece it began.
    let first: Vec<(u64, u64)> = big
        .cdn_gets()
        .iter()
        .map(|r| (range_of(r).0, range_of(r).0 + r.body_bytes))
        .collect();
    assert!(
        first.iter().any(|&(s, e)| e - s == 300_000),
        "a piece was cut mid-way: {first:?}"
    );

    big.env.hub.clear_faults();
    big.env.hub.clear_requests();
    let got = big
        .fetch(&big.fetcher(4, MIB, RetryPolicy::quick()))
        .unwrap();
    big.assert_stored(&got);
    let gets = big.cdn_gets();
    for r in &gets {
        let (s, e) = range_of(r);
        assert!(
            first.iter().all(|&(fs, fe)| e <= fs || s >= fe),
            "{s}..{e} was received before: {first:?}"
        );
    }
    let received: u64 = first.iter().map(|(s, e)| e - s).sum();
    let sent: u64 = gets.iter().map(|r| r.body_bytes).sum();
    assert_eq!(sent, 4 * MIB - received, "only the missing bytes: {gets:?}");
}
