//! The Prometheus textfile: merged with what the file holds, written to a
//! temporary file and renamed into place, under an exclusive lock on a
//! sibling lock file, so that concurrent runs add up instead of losing
//! counts and node_exporter never reads half a file.

use super::samples::Samples;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why the metrics file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MetricsFileError {
    /// Reading, locking or writing one of its files failed.
    #[error(
        "cannot {what} {path}: {source}; check that the directory exists and is writable, \
         or leave --metrics-file / PROVISION_METRICS_FILE unset"
    )]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file it was done to.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> MetricsFileError {
    let path = path.to_path_buf();
    move |source| MetricsFileError::Io { what, path, source }
}

/// `<file>.lock`, beside the metrics file.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// `.<file>.<pid>.tmp`: hidden, and without the `.prom` ending that
/// node_exporter's textfile collector reads.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Add `samples` to what `path` holds and write the sum back atomically.
pub(crate) fn merge_into(path: &Path, samples: &Samples) -> Result<(), MetricsFileError> {
    let lock_file = lock_path(path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(io_error("open the lock file", &lock_file))?;
    lock.lock().map_err(io_error("lock", &lock_file))?;
    let mut merged = match fs::read_to_string(path) {
        Ok(text) => Samples::parse(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Samples::default(),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    merged.merge(samples);
    let temp = temp_path(path);
    let written =
        write_synced(&temp, merged.render().as_bytes()).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    // The lock is released when `lock` is dropped, after the rename.
    written.map_err(io_error("write", path))
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
