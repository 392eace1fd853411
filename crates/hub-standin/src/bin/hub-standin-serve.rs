//! Serves one generated LFS file from a stand-in Hub until killed, for
//! benchmarks: `hub-standin-serve <size-MiB>` prints `endpoint=…`,
//! `url=…` (the CDN URL of the file), `sha256=…` and `ref=…`, one per line.
//! `hub-standin-serve <size-MiB> <MiB/s>` caps each connection at that rate;
//! `hub-standin-serve <size-MiB> <MiB/s> <N>` also makes the Nth GET of the
//! file crawl at 1 MiB/s (a straggling connection).
//! A path in place of the size serves that file's bytes (so a benchmark
//! compares two sources of the very same file).

use hub_standin::{Fault, FaultKind, FileSpec, Hub, Listener};
use std::io::Write;

fn main() {
    let Some(first) = std::env::args().nth(1) else {
        usage()
    };
    let data = match first.parse::<usize>() {
        Ok(mib) => generated(mib),
        Err(_) if std::path::Path::new(&first).is_file() => match std::fs::read(&first) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("cannot read {first}: {e}");
                std::process::exit(1);
            }
        },
        Err(_) => usage(),
    };
    let rate: Option<u64> = std::env::args()
        .nth(2)
        .and_then(|a| a.parse::<u64>().ok())
        .map(|mib_s| mib_s << 20);
    let straggler: Option<u32> = std::env::args()
        .nth(3)
        .and_then(|a| a.parse::<u32>().ok())
        .filter(|&n| n > 0);
    let spec = FileSpec::lfs(data);
    let sha = spec.sha256();
    let hub = match Hub::start() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cannot start the stand-in hub: {e}");
            std::process::exit(1);
        }
    };
    hub.commit("bench/model", "main", vec![("big.gguf", spec)]);
    hub.limit_connection_rate(rate);
    if let Some(n) = straggler {
        hub.inject(
            Fault::new(FaultKind::Throttle(1 << 20))
                .on(Listener::Cdn)
                .method("GET")
                .after(n - 1),
        );
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "endpoint={}", hub.endpoint());
    let _ = writeln!(out, "url={}/lfs/{sha}", hub.cdn_endpoint());
    let _ = writeln!(out, "sha256={sha}");
    let _ = writeln!(out, "ref=hf:bench/model/big.gguf");
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}

fn usage() -> ! {
    eprintln!("usage: hub-standin-serve <size-MiB | FILE> [per-connection MiB/s [straggling GET]]");
    std::process::exit(2);
}

/// Cheap, incompressible-looking content (xorshift) of `mib` MiB.
fn generated(mib: usize) -> Vec<u8> {
    let mut data = vec![0u8; mib << 20];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    data
}
