//! `provision cache scan | prune`: what the model cache holds, and freeing
//! space in it. The scanning and the pruning rules live in
//! model-provisioner; this module prints.

use std::fmt::Write as _;

use model_provisioner::cache_scan::{CacheScan, CachedRepo};
use model_provisioner::units::human_bytes;
use model_provisioner::{Locations, ModelProvisioner, PrunePolicy, PruneReport};

use super::args::{CacheAction, CacheArgs, PruneArgs};
use super::error::CliError;
use super::output::Output;

pub fn run(args: CacheArgs, out: &Output) -> Result<(), CliError> {
    let store = match &args.action {
        CacheAction::Scan { store } | CacheAction::Prune(PruneArgs { store, .. }) => store,
    };
    let locations = Locations::from_env()
        .with_cache_dir(&store.cache_dir)
        .with_catalog(&store.catalog.catalog);
    let models = ModelProvisioner::at(locations).build()?;
    match args.action {
        CacheAction::Scan { .. } => scan(&models, out),
        CacheAction::Prune(prune) => self::prune(&models, &prune, out),
    }
}

fn scan(models: &ModelProvisioner, out: &Output) -> Result<(), CliError> {
    let scan = models.scan_cache()?;
    let now = now_ms();
    out.emit(&scan, |s| human_scan(s, &scan, now))
}

fn human_scan(s: &mut String, scan: &CacheScan, now: u64) {
    let _ = writeln!(
        s,
        "cache {}: {} repos, {} on disk",
        scan.cache_dir.display(),
        scan.repo_count,
        human_bytes(scan.size_on_disk)
    );
    if !scan.repos.is_empty() {
        let width = scan
            .repos
            .iter()
            .map(|r| r.repo_id.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            s,
            "{:<width$}  {:>4}  {:>5}  {:>10}  {:<10}  CATALOG",
            "REPO", "REVS", "FILES", "SIZE", "LAST USED"
        );
        for r in &scan.repos {
            repo_line(s, r, width, now);
        }
    }
    for d in &scan.downloads {
        let _ = writeln!(
            s,
            "download {}  {}  last used {}  {}",
            d.path.display(),
            human_bytes(d.size_bytes),
            ago(now, d.last_used_at_ms),
            listed(&d.catalog_ids)
        );
    }
    for l in &scan.oci {
        let _ = writeln!(
            s,
            "oci {}/{}  {}  {}",
            l.registry,
            l.repository,
            human_bytes(l.size_on_disk),
            l.path.display()
        );
        for m in &l.models {
            let tags = if m.tags.is_empty() {
                "(by digest)".to_string()
            } else {
                m.tags.join(",")
            };
            let _ = writeln!(
                s,
                "  {tags}  {}  {}  last used {}  {}",
                m.manifest_digest,
                human_bytes(m.size_bytes),
                ago(now, m.last_used_at_ms),
                listed(&m.catalog_ids)
            );
        }
    }
    for d in &scan.in_progress {
        let _ = writeln!(
            s,
            "downloading {}: {}  {}  {}",
            d.repo_id,
            d.path.display(),
            human_bytes(d.size_bytes),
            if d.resumable {
                "resumes on the next ensure"
            } else {
                "starts over"
            }
        );
    }
    for p in &scan.problems {
        let size = p
            .size_bytes
            .map_or_else(String::new, |b| format!(" ({})", human_bytes(b)));
        let _ = writeln!(
            s,
            "{}: {}{size}: {}",
            p.kind.as_str(),
            p.path.display(),
            p.detail
        );
    }
}

fn repo_line(s: &mut String, r: &CachedRepo, width: usize, now: u64) {
    let files: usize = r.revisions.iter().map(|rev| rev.files.len()).sum();
    let catalog = match &r.corrupted {
        Some(why) => format!("CORRUPTED: {why}"),
        None => listed(&r.catalog_ids),
    };
    let _ = writeln!(
        s,
        "{:<width$}  {:>4}  {:>5}  {:>10}  {:<10}  {catalog}",
        r.repo_id,
        r.revisions.len(),
        files,
        human_bytes(r.size_on_disk),
        ago(now, r.last_used_at_ms),
    );
}

fn prune(models: &ModelProvisioner, args: &PruneArgs, out: &Output) -> Result<(), CliError> {
    if args.max_size.is_none() && args.older_than.is_none() {
        return Err(CliError::new(
            "cache prune needs --max-size SIZE and/or --older-than AGE (e.g. --max-size 50G, --older-than 30d)",
        ));
    }
    let policy = PrunePolicy {
        max_size: args.max_size,
        older_than: args.older_than,
        dry_run: args.dry_run,
    };
    let report = models.prune(&policy)?;
    let now = now_ms();
    out.emit(&report, |s| human_prune(s, &report, now))
}

fn human_prune(s: &mut String, r: &PruneReport, now: u64) {
    let verb = if r.dry_run { "would remove" } else { "removed" };
    for item in &r.removed {
        let _ = writeln!(
            s,
            "{verb} {}  ({}, last used {}, frees {})  {}",
            item.path.display(),
            item.reason,
            ago(now, item.last_used_ms),
            human_bytes(item.freed_bytes),
            listed(&item.catalog_ids)
        );
        for kept in &item.kept_files {
            let _ = writeln!(s, "  kept {} ({})", kept.path.display(), kept.reason);
        }
    }
    for id in &r.pinned {
        let _ = writeln!(s, "pinned, kept {id}");
    }
    let _ = writeln!(
        s,
        "{}: {} -> {} ({} files{})",
        if r.dry_run { "plan" } else { "pruned" },
        human_bytes(r.size_before),
        human_bytes(r.size_after),
        r.removed.len(),
        if r.dry_run { "; nothing removed" } else { "" }
    );
}

/// `hf:a, hf:b`, or `-` for none.
fn listed(ids: &[String]) -> String {
    if ids.is_empty() {
        "-".to_string()
    } else {
        ids.join(", ")
    }
}

/// `5m ago`, `3h ago`, `12d ago`, or `never`.
fn ago(now: u64, at: Option<u64>) -> String {
    let Some(at) = at else {
        return "never".to_string();
    };
    let secs = now.saturating_sub(at) / 1000;
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3_600 => format!("{}m ago", secs / 60),
        3_600..86_400 => format!("{}h ago", secs / 3_600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
