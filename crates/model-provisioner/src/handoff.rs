//! What the model provisioner leaves for others: the engine handoff file
//! (one JSON document, replaced atomically) and the provenance log (one
//! JSON line appended per registration).

use crate::digest::Digest;
use crate::error::ProvisionError;
use crate::gguf::GgufSummary;
use crate::resolved::{ResolvedModel, Verification};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the handoff document layout.
pub const HANDOFF_VERSION: u32 = 1;

/// The handoff document an engine reads to find its model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// [`HANDOFF_VERSION`] of the writer.
    pub version: u32,
    /// The model's catalog id.
    pub model_id: String,
    /// The verified file.
    pub path: PathBuf,
    /// Its sha256.
    pub digest: Digest,
    /// Its size.
    pub size_bytes: u64,
    /// What its GGUF header says.
    pub gguf: GgufSummary,
    /// The trace the handoff was written in (32 hex digits), when spans
    /// are exported (feature `otel`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The W3C `traceparent` of the span the handoff was written in: the
    /// engine's starter passes it on as `TRACEPARENT` to continue the
    /// trace. Absent when spans are not exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Handoff {
    /// The handoff for a resolved model, with the current span's trace
    /// context when spans are exported.
    pub fn from_resolved(r: &ResolvedModel) -> Self {
        let trace = narration_core::current_trace();
        Self {
            version: HANDOFF_VERSION,
            model_id: r.id.clone(),
            path: r.local_path.clone(),
            digest: r.digest,
            size_bytes: r.size_bytes,
            gguf: r.gguf.clone(),
            trace_id: trace.as_ref().map(|t| t.trace_id.clone()),
            traceparent: trace.map(|t| t.traceparent),
        }
    }
}

/// Write the handoff for `resolved` to `path`: a temporary file in the same
/// directory, flushed to disk, then renamed over `path`, so a reader sees
/// the old document or the new one, never half of one.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use model_provisioner::{gguf, ModelProvisioner, read_handoff, write_handoff};
/// # let dir = tempfile::tempdir()?;
/// # let model = dir.path().join("m.gguf");
/// # gguf::write_tiny_llama(&model, 1)?;
/// # let p = ModelProvisioner::builder(dir.path()).build()?;
/// let resolved = p.ensure_present_str(model.to_str().unwrap(), None)?;
/// let handoff_path = dir.path().join("handoff/model.json");
/// write_handoff(&handoff_path, &resolved)?;
/// assert_eq!(read_handoff(&handoff_path)?.digest, resolved.digest);
/// # Ok(()) }
/// ```
pub fn write_handoff(path: &Path, resolved: &ResolvedModel) -> Result<(), ProvisionError> {
    let err = |source| ProvisionError::Write {
        what: "handoff file",
        path: path.to_path_buf(),
        source,
    };
    let json =
        serde_json::to_vec_pretty(&Handoff::from_resolved(resolved)).map_err(|e| err(e.into()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(&json).map_err(err)?;
    tmp.write_all(b"\n").map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Read a handoff file written by [`write_handoff`].
pub fn read_handoff(path: &Path) -> Result<Handoff, ProvisionError> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ProvisionError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => ProvisionError::UnreadableFile {
            path: path.to_path_buf(),
            source,
        },
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ProvisionError::UnreadableFile {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// One line of the provenance log: which bytes were registered for which
/// ref, from where, and how they were verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceRecord {
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
    /// The ensure's correlation id.
    pub correlation_id: Option<String>,
    /// The catalog id.
    pub model_id: String,
    /// The verified file.
    pub local_path: PathBuf,
    /// Its sha256.
    pub digest: Digest,
    /// Its size.
    pub size_bytes: u64,
    /// Where the bytes came from.
    pub source: String,
    /// How the digest was established.
    pub verification: Verification,
    /// Bytes hashed by this ensure.
    pub bytes_hashed: u64,
    /// Bytes received over the network by this ensure.
    pub bytes_transferred: u64,
}

/// Append `record` as one JSON line to `path` (created if needed). The line
/// goes out in a single `write` on an `O_APPEND` file, so lines from
/// concurrent processes do not interleave.
pub fn append_provenance(path: &Path, record: &ProvenanceRecord) -> Result<(), ProvisionError> {
    let err = |source| ProvisionError::Write {
        what: "provenance log",
        path: path.to_path_buf(),
        source,
    };
    let mut line = serde_json::to_vec(record).map_err(|e| err(e.into()))?;
    line.push(b'\n');
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(&line).map_err(err)
}

/// Every record in a provenance log, oldest first.
pub fn read_provenance(path: &Path) -> Result<Vec<ProvenanceRecord>, ProvisionError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProvisionError::UnreadableFile {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| ProvisionError::UnreadableFile {
                path: path.to_path_buf(),
                source: e.into(),
            })
        })
        .collect()
}
