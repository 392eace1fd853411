//! Benchmark for model provisioning; prints ratios against references.
//!
//! ```text
//! cargo run --release -p model-provisioner --example bench_model -- [--size-mib 1024] [--dir DIR]
//! ```
//!
//! 1. sha256 of a file (page cache warm): ours / `openssl dgst -sha256`.
//! 2. warm `ensure_present` with a digest / our cold hash of the same file.
//! 3. catalog mean put+get with 10,000 rows / with 100 rows.
//!
//! `scripts/bench-model.sh` runs it. Goals: ≤ 1.05, ≤ 0.01, ≤ 2.

use model_provisioner::{
    CatalogEntry, CatalogStore, Digest, Fingerprint, Lifecycle, ModelProvisioner, SqliteCatalog,
    Verification, gguf, hash_file, sha256_bytes,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BoxResult<()> {
    let mut size_mib: u64 = 1024;
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size-mib" => size_mib = args.next().ok_or("--size-mib needs a value")?.parse()?,
            "--dir" => dir = Some(args.next().ok_or("--dir needs a value")?.into()),
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let tmp = match &dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::tempdir_in(d)?
        }
        None => tempfile::tempdir()?,
    };
    println!(
        "bench-model: {size_mib} MiB file in {}",
        tmp.path().display()
    );

    let model = tmp.path().join("big.gguf");
    let written = Instant::now();
    write_big_gguf(&model, size_mib << 20)?;
    println!(
        "  wrote test file in {:.2} s",
        written.elapsed().as_secs_f64()
    );

    // 1. sha256: ours vs openssl, page cache warm, best of N.
    let runs = 5;
    hash_file(&model)?; // warm the page cache
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut digest = None;
    let openssl = which_openssl();
    for _ in 0..runs {
        let t = Instant::now();
        let (d, _) = hash_file(&model)?;
        ours.push(t.elapsed());
        digest = Some(d);
        if let Some(bin) = &openssl {
            let t = Instant::now();
            let out = Command::new(bin)
                .args(["dgst", "-sha256"])
                .arg(&model)
                .output()?;
            theirs.push(t.elapsed());
            let text = String::from_utf8_lossy(&out.stdout);
            let hex = text.rsplit(' ').next().unwrap_or("").trim();
            if Some(hex) != digest.map(|d| d.hex()).as_deref() {
                return Err(format!("openssl disagrees: {text}").into());
            }
        }
    }
    let digest = digest.ok_or("no hash run")?;
    let our_hash = best(&ours);
    let gib_s = (size_mib as f64 / 1024.0) / our_hash.as_secs_f64();
    println!(
        "  sha256 ours:     best {:>9.3} ms  median {:>9.3} ms  ({gib_s:.2} GiB/s)",
        ms(our_hash),
        ms(median(&mut ours))
    );
    if openssl.is_some() {
        let ssl = best(&theirs);
        println!(
            "  sha256 openssl:  best {:>9.3} ms  median {:>9.3} ms",
            ms(ssl),
            ms(median(&mut theirs))
        );
        println!(
            "RATIO sha256 ours/openssl = {:.3} (goal <= 1.05; best-of-{runs}, median ratio {:.3})",
            our_hash.as_secs_f64() / ssl.as_secs_f64(),
            median(&mut ours).as_secs_f64() / median(&mut theirs).as_secs_f64()
        );
    } else {
        println!("RATIO sha256 ours/openssl = n/a (openssl not found on PATH)");
    }

    // 2. warm ensure vs cold hash. The fingerprint is trusted only once the
    // file's last change is older than the racy window (2 s by default).
    let cache = tmp.path().join("cache");
    let provisioner = ModelProvisioner::builder(&cache).build()?;
    wait_past_racy_window(&model)?;
    let input = model.to_str().ok_or("non-UTF-8 temp path")?.to_string();
    let t = Instant::now();
    let cold = provisioner.ensure_present_str(&input, Some(digest))?;
    let cold_ensure = t.elapsed();
    assert_eq!(cold.verification, Verification::Hashed);
    let warm_runs = 200;
    let mut warm = Vec::with_capacity(warm_runs);
    let mut quiet = || -> BoxResult<()> {
        let t = Instant::now();
        let r = provisioner.ensure_present_str(&input, Some(digest))?;
        warm.push(t.elapsed());
        if r.verification != Verification::Fingerprint {
            return Err("warm ensure did not hit the fingerprint".into());
        }
        Ok(())
    };
    for _ in 0..warm_runs {
        quiet()?;
    }
    let warm_median = median(&mut warm);
    println!(
        "  ensure cold:     {:>9.3} ms   warm median {:>9.3} ms  mean {:>9.3} ms  ({warm_runs} runs)",
        ms(cold_ensure),
        ms(warm_median),
        ms(mean(&warm))
    );
    println!(
        "RATIO warm ensure/cold hash = {:.5} (goal <= 0.01)",
        warm_median.as_secs_f64() / our_hash.as_secs_f64()
    );

    // 3. catalog put+get at 100 and 10,000 rows.
    let small = catalog_put_get(tmp.path(), 100, 2000)?;
    let large = catalog_put_get(tmp.path(), 10_000, 2000)?;
    println!(
        "  catalog put+get: {:>9.1} us at 100 rows, {:>9.1} us at 10,000 rows",
        small.as_secs_f64() * 1e6,
        large.as_secs_f64() * 1e6
    );
    println!(
        "RATIO catalog put+get 10k/100 = {:.3} (goal <= 2)",
        large.as_secs_f64() / small.as_secs_f64()
    );
    std::io::stdout().flush()?;
    Ok(())
}

/// A valid GGUF (the tiny llama) padded with pseudo-random tensor-sized
/// bytes up to `size`: the provisioner inspects the header, hashes it all.
fn write_big_gguf(path: &Path, size: u64) -> BoxResult<()> {
    let tiny = path.with_extension("tiny");
    gguf::write_tiny_llama(&tiny, gguf::TINY_LLAMA_SEED)?;
    let mut head = std::fs::read(&tiny)?;
    std::fs::remove_file(&tiny)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(path)?);
    let mut written = head.len() as u64;
    out.write_all(&head)?;
    head.clear();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    while written < size {
        for chunk in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        let n = (size - written).min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        written += n as u64;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn wait_past_racy_window(path: &Path) -> BoxResult<()> {
    let fp = Fingerprint::of(path)?;
    let last = fp.mtime_ns.max(fp.ctime_ns);
    let ready_at = last + model_provisioner::RACY_WINDOW_NS + 100_000_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as i64;
    if ready_at > now {
        std::thread::sleep(Duration::from_nanos((ready_at - now) as u64));
    }
    Ok(())
}

fn entry(id: &str, i: u64) -> CatalogEntry {
    CatalogEntry {
        id: id.to_string(),
        local_path: PathBuf::from(format!("/models/{id}.gguf")),
        digest: sha256_bytes(id.as_bytes()),
        size_bytes: 1 << 30,
        fingerprint: Some(Fingerprint {
            size: 1 << 30,
            mtime_ns: i as i64,
            ctime_ns: i as i64,
            inode: i,
            device: 1,
        }),
        lifecycle: Lifecycle::Active,
        origin: model_provisioner::Origin::HubCache,
        source: format!("hf:org/repo/{id}.gguf"),
        gguf: None,
        created_at_ms: i,
        verified_at_ms: Some(i),
        pinned: false,
        last_used_at_ms: None,
        oci: None,
    }
}

/// Mean time of one put (upsert of an existing row) plus one get, on a
/// catalog holding `rows` rows.
fn catalog_put_get(dir: &Path, rows: u64, ops: u64) -> BoxResult<Duration> {
    let path = dir.join(format!("catalog-{rows}.sqlite"));
    let cat = SqliteCatalog::open(&path)?;
    let ids: Vec<String> = (0..rows).map(|i| format!("file:/models/m{i:06}")).collect();
    for (i, id) in ids.iter().enumerate() {
        cat.put(&entry(id, i as u64))?;
    }
    let mut state: u64 = 12345;
    let mut pick = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % rows
    };
    // Warm up statement caches and pages.
    for _ in 0..100 {
        let id = &ids[pick() as usize];
        cat.put(&entry(id, 1))?;
        cat.get(id)?;
    }
    let t = Instant::now();
    for n in 0..ops {
        let id = &ids[pick() as usize];
        cat.put(&entry(id, n))?;
        let got = cat.get(id)?.ok_or("row vanished")?;
        let _: Digest = got.digest;
    }
    Ok(t.elapsed() / ops as u32)
}

fn which_openssl() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("openssl"))
            .find(|p| p.is_file())
    })
}

fn best(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn mean(v: &[Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.iter().sum::<Duration>() / v.len() as u32
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
