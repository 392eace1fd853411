//! `provision catalog list | show | retire | activate | pin | unpin |
//! remove | verify`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use model_provisioner::{
    CatalogEntry, CatalogError, CatalogStore, Lifecycle, Locations, ModelProvisioner,
    SqliteCatalog, VerifyOutcome,
};
use serde::Serialize;

use super::args::{CatalogAction, CatalogArgs};
use super::error::CliError;
use super::gguf::human_summary;
use super::output::Output;
use model_provisioner::units::human_bytes;

pub fn run(args: CatalogArgs, out: &Output) -> Result<(), CliError> {
    let catalog = SqliteCatalog::open(&args.catalog.catalog)?;
    match args.action {
        CatalogAction::List => list(&catalog, out),
        CatalogAction::Show { id } => show(&catalog, &id, out),
        CatalogAction::Retire { id } => set_state(&catalog, &id, Lifecycle::Retired, out),
        CatalogAction::Activate { id } => set_state(&catalog, &id, Lifecycle::Active, out),
        CatalogAction::Pin { id } => set_pinned(&catalog, &id, true, out),
        CatalogAction::Unpin { id } => set_pinned(&catalog, &id, false, out),
        CatalogAction::Remove { id, delete_files } => {
            remove(&args.catalog.catalog, &catalog, &id, delete_files, out)
        }
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
            "{:<width$}  {:<8}  {:<3}  {:>10}  {:<23}  PATH",
            "ID", "STATE", "PIN", "SIZE", "DIGEST"
        );
        for e in &entries {
            let digest = e.digest.to_string();
            let short = digest.get(..23).unwrap_or(&digest);
            let _ = writeln!(
                s,
                "{:<width$}  {:<8}  {:<3}  {:>10}  {short:<23}  {}",
                e.id,
                e.lifecycle.as_str(),
                if e.pinned { "yes" } else { "-" },
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
        ("pinned", if e.pinned { "yes" } else { "no" }.to_string()),
        ("path", e.local_path.display().to_string()),
        ("digest", e.digest.to_string()),
        (
            "size",
            format!("{} ({} bytes)", human_bytes(e.size_bytes), e.size_bytes),
        ),
        ("origin", e.origin.as_str().to_string()),
        ("source", e.source.clone()),
        ("created (ms)", e.created_at_ms.to_string()),
        (
            "verified (ms)",
            e.verified_at_ms
                .map_or_else(|| "never".to_string(), |v| v.to_string()),
        ),
        (
            "last used (ms)",
            e.last_used_at_ms
                .map_or_else(|| "never".to_string(), |v| v.to_string()),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "{k:<17}{v}");
    }
    if let Some(o) = &e.oci {
        let _ = writeln!(s, "{:<17}{}", "registry", o.registry);
        let _ = writeln!(s, "{:<17}{}", "repository", o.repository);
        let _ = writeln!(s, "{:<17}{}", "tag", o.tag.as_deref().unwrap_or("-"));
        let _ = writeln!(s, "{:<17}{}", "manifest", o.manifest_digest);
        for (i, layer) in o.layers.iter().enumerate() {
            let key = if i == 0 { "layers" } else { "" };
            let _ = writeln!(s, "{key:<17}{layer}");
        }
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

fn set_state(
    catalog: &SqliteCatalog,
    id: &str,
    state: Lifecycle,
    out: &Output,
) -> Result<(), CliError> {
    match catalog.set_state(id, state) {
        Err(CatalogError::NotFound { .. }) => return Err(not_found(catalog, id)),
        other => other?,
    }
    let entry = get(catalog, id)?;
    let done = match state {
        Lifecycle::Retired => "retired",
        Lifecycle::Active => "activated",
    };
    out.emit(&entry, |s| {
        let _ = writeln!(s, "{done} {}", entry.id);
    })
}

fn set_pinned(
    catalog: &SqliteCatalog,
    id: &str,
    pinned: bool,
    out: &Output,
) -> Result<(), CliError> {
    match catalog.set_pinned(id, pinned) {
        Err(CatalogError::NotFound { .. }) => return Err(not_found(catalog, id)),
        other => other?,
    }
    let entry = get(catalog, id)?;
    let done = if pinned { "pinned" } else { "unpinned" };
    out.emit(&entry, |s| {
        let _ = writeln!(s, "{done} {}", entry.id);
    })
}

/// Drop the entry; with `--delete-files`, the files only it uses (the
/// rules live in [`ModelProvisioner::remove`]).
fn remove(
    path: &Path,
    catalog: &SqliteCatalog,
    id: &str,
    delete_files: bool,
    out: &Output,
) -> Result<(), CliError> {
    get(catalog, id)?;
    let models = ModelProvisioner::at(Locations::from_env().with_catalog(path)).build()?;
    let removal = models.remove(id, delete_files)?;
    out.emit(&removal, |s| {
        let _ = writeln!(s, "removed {}", removal.id);
        for f in &removal.deleted_files {
            let _ = writeln!(s, "deleted {}", f.display());
        }
        for kept in &removal.kept_files {
            let _ = writeln!(s, "kept {} ({})", kept.path.display(), kept.reason);
        }
    })
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
