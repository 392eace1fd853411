//! `provision catalog list | show | retire | remove | verify`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use model_provisioner::{
    CatalogEntry, CatalogError, CatalogStore, Lifecycle, ModelRef, SqliteCatalog, VerifyOutcome,
};
use serde::Serialize;

use super::args::{CatalogAction, CatalogArgs};
use super::error::CliError;
use super::gguf::human_summary;
use super::output::{Output, human_bytes};

pub fn run(args: CatalogArgs, out: &Output) -> Result<(), CliError> {
    let catalog = SqliteCatalog::open(&args.catalog.catalog)?;
    match args.action {
        CatalogAction::List => list(&catalog, out),
        CatalogAction::Show { id } => show(&catalog, &id, out),
        CatalogAction::Retire { id } => retire(&catalog, &id, out),
        CatalogAction::Remove { id, delete_files } => remove(&catalog, &id, delete_files, out),
        CatalogAction::Verify { id } => verify(&catalog, id.as_deref(), out),
    }
}

fn get(catalog: &SqliteCatalog, id: &str) -> Result<CatalogEntry, CliError> {
    catalog.get(id)?.ok_or_else(|| not_found(catalog, id))
}

fn not_found(catalog: &SqliteCatalog, id: &str) -> CliError {
    CliError::new(format!(
        "catalog {} has no entry {id:?}; run `provision catalog list` to see the ids",
        catalog.path().display()
    ))
}

fn list(catalog: &SqliteCatalog, out: &Output) -> Result<(), CliError> {
    let entries = catalog.list()?;
    out.emit(&entries, |s| {
        if entries.is_empty() {
            let _ = writeln!(s, "catalog {} is empty", catalog.path().display());
            return;
        }
        let width = entries.iter().map(|e| e.id.len()).max().unwrap_or(2).max(2);
        let _ = writeln!(
            s,
            "{:<width$}  {:<8}  {:>10}  {:<23}  PATH",
            "ID", "STATE", "SIZE", "DIGEST"
        );
        for e in &entries {
            let digest = e.digest.to_string();
            let short = digest.get(..23).unwrap_or(&digest);
            let _ = writeln!(
                s,
                "{:<width$}  {:<8}  {:>10}  {short:<23}  {}",
                e.id,
                e.lifecycle.as_str(),
                human_bytes(e.size_bytes),
                e.local_path.display()
            );
        }
    })
}

/// The aligned lines describing one entry.
pub fn human_entry(s: &mut String, e: &CatalogEntry) {
    let rows = [
        ("id", e.id.clone()),
        ("state", e.lifecycle.as_str().to_string()),
        ("path", e.local_path.display().to_string()),
        ("digest", e.digest.to_string()),
        (
            "size",
            format!("{} ({} bytes)", human_bytes(e.size_bytes), e.size_bytes),
        ),
        ("source", e.source_ref.clone()),
        ("created (ms)", e.created_at_ms.to_string()),
        (
            "verified (ms)",
            e.verified_at_ms
                .map_or_else(|| "never".to_string(), |v| v.to_string()),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "{k:<17}{v}");
    }
    if let Some(g) = &e.gguf {
        let mut lines = String::new();
        human_summary(&mut lines, &e.local_path.display().to_string(), g);
        // The summary's own file/size lines repeat the entry's.
        for line in lines
            .lines()
            .filter(|l| !l.starts_with("file ") && !l.starts_with("size "))
        {
            let _ = writeln!(s, "{line}");
        }
    }
}

fn show(catalog: &SqliteCatalog, id: &str, out: &Output) -> Result<(), CliError> {
    let entry = get(catalog, id)?;
    out.emit(&entry, |s| human_entry(s, &entry))
}

fn retire(catalog: &SqliteCatalog, id: &str, out: &Output) -> Result<(), CliError> {
    match catalog.set_state(id, Lifecycle::Retired) {
        Err(CatalogError::NotFound { .. }) => return Err(not_found(catalog, id)),
        other => other?,
    }
    let entry = get(catalog, id)?;
    out.emit(&entry, |s| {
        let _ = writeln!(s, "retired {}", entry.id);
    })
}

#[derive(Serialize)]
struct Removed {
    id: String,
    removed: bool,
    deleted_files: Vec<PathBuf>,
    kept_files: Vec<PathBuf>,
}

fn remove(
    catalog: &SqliteCatalog,
    id: &str,
    delete_files: bool,
    out: &Output,
) -> Result<(), CliError> {
    let entry = get(catalog, id)?;
    let mut report = Removed {
        id: entry.id.clone(),
        removed: false,
        deleted_files: Vec::new(),
        kept_files: Vec::new(),
    };
    if delete_files {
        if names_the_file_directly(&entry.source_ref) {
            // The ref pointed at the user's own file: never delete that.
            report.kept_files.push(entry.local_path.clone());
        } else {
            report.deleted_files = delete_model_files(&entry.local_path)?;
        }
    }
    report.removed = catalog.remove(id)?;
    out.emit(&report, |s| {
        let _ = writeln!(s, "removed {}", report.id);
        for f in &report.deleted_files {
            let _ = writeln!(s, "deleted {}", f.display());
        }
        for f in &report.kept_files {
            let _ = writeln!(s, "kept {} (the ref names this file directly)", f.display());
        }
    })
}

/// True for refs that name a local file (a path or `file:`), as opposed
/// to a cached download.
fn names_the_file_directly(source_ref: &str) -> bool {
    ModelRef::parse(source_ref).map_or(true, |r| r.scheme() == "file")
}

/// Delete a cached model: the link and, for an HF snapshot link, its blob.
fn delete_model_files(path: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut deleted = Vec::new();
    let is_link = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    if is_link && let Ok(target) = path.canonicalize() {
        remove_file(&target, &mut deleted)?;
    }
    remove_file(path, &mut deleted)?;
    Ok(deleted)
}

fn remove_file(path: &Path, deleted: &mut Vec<PathBuf>) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            deleted.push(path.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::new(format!(
            "cannot delete {}: {e}; the catalog entry was kept",
            path.display()
        ))),
    }
}

#[derive(Serialize)]
struct Verified {
    id: String,
    path: PathBuf,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    expected: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual: Option<String>,
}

fn verify(catalog: &SqliteCatalog, id: Option<&str>, out: &Output) -> Result<(), CliError> {
    let entries = match id {
        Some(id) => vec![get(catalog, id)?],
        None => catalog.list()?,
    };
    let mut results = Vec::with_capacity(entries.len());
    for e in entries {
        let (outcome, bytes, actual) = match catalog.verify(&e.id)? {
            VerifyOutcome::Verified { bytes } => ("verified", Some(bytes), None),
            VerifyOutcome::Mismatch { actual } => ("mismatch", None, Some(actual.to_string())),
            VerifyOutcome::Missing => ("missing", None, None),
        };
        results.push(Verified {
            id: e.id,
            path: e.local_path,
            outcome,
            bytes,
            expected: e.digest.to_string(),
            actual,
        });
    }
    out.emit(&results, |s| {
        for r in &results {
            let _ = match r.outcome {
                "verified" => writeln!(
                    s,
                    "verified {} ({})",
                    r.id,
                    human_bytes(r.bytes.unwrap_or(0))
                ),
                "mismatch" => writeln!(
                    s,
                    "MISMATCH {}: {} hashes to {}, expected {}",
                    r.id,
                    r.path.display(),
                    r.actual.as_deref().unwrap_or("?"),
                    r.expected
                ),
                _ => writeln!(
                    s,
                    "MISSING  {}: {} is gone or unreadable",
                    r.id,
                    r.path.display()
                ),
            };
        }
    })?;
    let bad = results.iter().filter(|r| r.outcome != "verified").count();
    if bad > 0 {
        return Err(CliError::new(format!(
            "{bad} of {} catalog entries failed verification; provision the model again or `provision catalog remove` it",
            results.len()
        )));
    }
    Ok(())
}
