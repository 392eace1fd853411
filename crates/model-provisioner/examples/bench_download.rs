//! Downloads one `hf:` ref through [`HfFetcher`] and prints the time and
//! this process's peak RSS; used by `scripts/bench-download.sh`.
//!
//! `bench_download <endpoint> <cache-dir> <hf-ref> [sha256]`

use model_provisioner::hf::{HfConfig, HfFetcher};
use model_provisioner::{Digest, FetchContext, Fetcher, ModelRef};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, cache, reference, rest @ ..] = args.as_slice() else {
        return Err("usage: bench_download <endpoint> <cache-dir> <hf-ref> [sha256]".into());
    };
    let expected = rest
        .first()
        .map(|h| Digest::from_sha256_hex(h))
        .transpose()?;
    let fetcher = HfFetcher::new(
        // Only the connection count comes from the environment
        // (`PROVISION_DOWNLOAD_CONNECTIONS`), so runs compare like with like.
        HfConfig::from_lookup(|k| {
            (k == model_provisioner::CONNECTIONS_ENV)
                .then(|| std::env::var(k).ok())
                .flatten()
        })
        .with_endpoint(endpoint)
        .with_cache_dir(cache),
    );
    let model = ModelRef::parse(reference)?;
    let started = Instant::now();
    let got = fetcher.fetch(&model, expected.as_ref(), &FetchContext::new(cache))?;
    let secs = started.elapsed().as_secs_f64();
    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    println!("seconds={secs:.3}");
    println!("bytes={}", got.bytes_transferred);
    println!("peak_rss_kib={peak_kib}");
    println!("verified={}", got.digest.is_some());
    Ok(())
}
