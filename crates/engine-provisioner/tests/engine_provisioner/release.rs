//! Release archives for `binary` mode tests, in llama.cpp's release
//! layout (`build/bin/llama-server` with its shared libraries beside it
//! and a relative library symlink), as `.tar.gz` or `.zip`, and hostile
//! ones built entry by entry (raw tar headers where the writer would
//! refuse a name).
//!
//! Shared by the crate's tests and the workspace narration scenarios.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// One archive entry.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A file with its bytes and mode.
    File(String, Vec<u8>, u32),
    /// A folder.
    Dir(String),
    /// A symlink and its target.
    Symlink(String, String),
    /// A tar hardlink and its target.
    Hardlink(String, String),
    /// A tar fifo.
    Fifo(String),
}

/// A fake `llama-server`: appends a line to `runs` each time it runs;
/// `--version` prints a llama.cpp-style version line, but only when its
/// own folder is on `LD_LIBRARY_PATH` and `libllama.so` is there (as the
/// real dynamic loader needs).
pub fn fake_server(runs: &Path) -> Vec<u8> {
    format!(
        r#"#!/bin/sh
echo "llama-server $*" >> '{runs}'
here=$(dirname "$0")
case ":$LD_LIBRARY_PATH:" in
  *":$here:"*) ;;
  *) echo "error while loading shared libraries: libllama.so: cannot open shared object file" >&2; exit 127 ;;
esac
[ -f "$here/libllama.so" ] || {{ echo "libllama.so missing" >&2; exit 127; }}
echo "load_backend: loaded CPU backend from $here/libggml-cpu.so" >&2
echo "version: 6000 (abc1234)" >&2
echo "built with cc (GCC) 12.2.0 for x86_64-linux-gnu" >&2
"#,
        runs = runs.display()
    )
    .into_bytes()
}

/// The release layout around `server` (the `llama-server` bytes).
pub fn release_entries(server: Vec<u8>) -> Vec<Entry> {
    vec![
        Entry::Dir("build/".into()),
        Entry::Dir("build/bin/".into()),
        Entry::File("build/bin/llama-server".into(), server, 0o755),
        Entry::File(
            "build/bin/libllama.so".into(),
            b"\x7fELF libllama".to_vec(),
            0o644,
        ),
        Entry::File(
            "build/bin/libggml.so.0".into(),
            b"\x7fELF libggml".to_vec(),
            0o644,
        ),
        Entry::Symlink("build/bin/libggml.so".into(), "libggml.so.0".into()),
        Entry::File("LICENSE".into(), b"MIT".to_vec(), 0o644),
    ]
}

/// A `.tar.gz` of `entries`. Names and link targets go into the header as
/// raw bytes (at most 100), so hostile ones are kept as written.
pub fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for e in entries {
        let (name, kind, data, link, mode): (&str, tar::EntryType, &[u8], Option<&str>, u32) =
            match e {
                Entry::File(n, d, m) => (n, tar::EntryType::Regular, d, None, *m),
                Entry::Dir(n) => (n, tar::EntryType::Directory, &[], None, 0o755),
                Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, &[], Some(t), 0o777),
                Entry::Hardlink(n, t) => (n, tar::EntryType::Link, &[], Some(t), 0o644),
                Entry::Fifo(n) => (n, tar::EntryType::Fifo, &[], None, 0o644),
            };
        let mut h = tar::Header::new_gnu();
        {
            let old = h.as_old_mut();
            old.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(l) = link {
                old.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        tar.append(&h, data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// A `.zip` of `entries` (deflated files, stored symlinks). Hardlinks and
/// fifos have no zip form and are skipped.
pub fn zip(entries: &[Entry]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for e in entries {
        match e {
            Entry::File(n, d, m) => {
                z.start_file(n.as_str(), opts.unix_permissions(*m)).unwrap();
                z.write_all(d).unwrap();
            }
            Entry::Dir(n) => z.add_directory(n.as_str(), opts).unwrap(),
            Entry::Symlink(n, t) => z.add_symlink(n.as_str(), t.as_str(), opts).unwrap(),
            Entry::Hardlink(..) | Entry::Fifo(_) => {}
        }
    }
    z.finish().unwrap().into_inner()
}

/// Bytes that do not compress (a simple generator; no randomness needed).
pub fn incompressible(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    model_provisioner::sha256_bytes(bytes).hex()
}
