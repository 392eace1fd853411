//! The model cache and the catalog: where they are, the free space there,
//! and the catalog's health.

use std::path::{Path, PathBuf};

use model_provisioner::units::human_bytes;
use model_provisioner::{CatalogStore, SqliteCatalog};

use super::Check;
use super::probe::{output, which};

/// Below this much free space a model download may not fit.
const LOW_SPACE: u64 = 10 << 30;

pub fn checks(cache_dir: &Path, catalog: &Path) -> Vec<Check> {
    let catalog_dir = catalog
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out = vec![
        space("cache dir", cache_dir),
        space("catalog dir", catalog_dir),
    ];
    out.extend(catalog_health(catalog));
    out
}

/// The path, and the free space on its file system.
fn space(name: &str, path: &Path) -> Check {
    let shown = path.display();
    match free_bytes(path) {
        Ok(free) if free < LOW_SPACE => Check::warn(
            name,
            format!("{shown}: only {} free", human_bytes(free)),
        )
        .hint("free space (`provision cache prune --max-size …`) or move the cache (HF_HUB_CACHE)"),
        Ok(free) => Check::ok(name, format!("{shown}: {} free", human_bytes(free))),
        Err(why) => Check::warn(name, format!("{shown}: free space unknown ({why})")),
    }
}

/// Free bytes where `path` is (or would be created), from `df -Pk`.
fn free_bytes(path: &Path) -> Result<u64, String> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let df = which("df").ok_or("df is not on PATH")?;
    let arg = existing.to_string_lossy().into_owned();
    let text = output(&df, &["-Pk", &arg])?;
    parse_df(&text).ok_or_else(|| format!("unexpected df output: {text:?}"))
}

/// The `Available` column (KiB) of `df -Pk`'s second line, in bytes.
fn parse_df(text: &str) -> Option<u64> {
    let line = text.lines().nth(1)?;
    let available: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    available.checked_mul(1024)
}

/// Opens, checks integrity, and finds entries whose file is gone. A
/// catalog that does not exist yet is fine (the first provision creates
/// it), and is not created here.
fn catalog_health(path: &Path) -> Vec<Check> {
    if !path.exists() {
        return vec![Check::ok(
            "catalog",
            format!("{}: not created yet", path.display()),
        )];
    }
    let aside =
        "move the file aside (provisioning again re-registers models), or restore it from a backup";
    let catalog = match SqliteCatalog::open(path) {
        Ok(c) => c,
        Err(e) => return vec![Check::fail("catalog", e.to_string()).hint(aside)],
    };
    match catalog.integrity_check() {
        Ok(problems) if problems.is_empty() => {}
        Ok(problems) => {
            return vec![
                Check::fail(
                    "catalog",
                    format!(
                        "{}: integrity check failed: {}",
                        path.display(),
                        problems.join("; ")
                    ),
                )
                .hint(aside),
            ];
        }
        Err(e) => return vec![Check::fail("catalog", e.to_string()).hint(aside)],
    }
    let entries = match catalog.list() {
        Ok(entries) => entries,
        Err(e) => return vec![Check::fail("catalog", e.to_string()).hint(aside)],
    };
    let missing: Vec<&str> = entries
        .iter()
        .filter(|e| !e.local_path.exists())
        .map(|e| e.id.as_str())
        .collect();
    let health = Check::ok(
        "catalog",
        format!(
            "{}: integrity ok, {} entries",
            path.display(),
            entries.len()
        ),
    );
    if missing.is_empty() {
        return vec![health];
    }
    vec![
        health,
        Check::warn(
            "catalog files",
            format!(
                "{} entries whose file is gone: {}",
                missing.len(),
                missing.join(", ")
            ),
        )
        .hint("provision them again, or `provision catalog remove ID`"),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn df_available_column_is_read_in_bytes() {
        let text = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                    /dev/vda         263174212  39538048 210196428      16% /\n";
        assert_eq!(super::parse_df(text), Some(210_196_428 * 1024));
        assert_eq!(super::parse_df("garbage"), None);
    }
}
