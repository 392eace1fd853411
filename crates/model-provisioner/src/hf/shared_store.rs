//! The cache-wide shared blob store of the reference client
//! (huggingface_hub 2.x, `utils/_shared_blobs.py`): `{cache}/blobs/` with a
//! `.huggingface-shared-blobs` marker, entries `blobs/{2 hex}/{64 hex}`,
//! each repo's `blobs/{etag}` a relative link into it, and a `{hash}.refs`
//! manifest under a `{hash}.lock` flock listing the repo blobs that link
//! to the entry.
//!
//! This module owns the store's rules so that scanning and deleting read
//! it the way the reference client does: the store folder is not a repo,
//! an entry counts once however many repos link to it, and an entry is
//! deleted only when its manifest is readable and no path it lists still
//! links to it (a missing or unreadable manifest means keep: leak rather
//! than delete what another repo may still use).

use crate::file_lock::{self, LockWait};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// The store folder's name inside the cache (the same as a repo's blobs
/// folder name, one level up).
pub(crate) const DIR_NAME: &str = "blobs";
const MARKER: &str = ".huggingface-shared-blobs";
const LAYOUT: &str = "1\n";

/// True when `dir` is a marked shared blob store (a real folder holding
/// the marker file with layout version 1).
pub(crate) fn is_store_dir(dir: &Path) -> bool {
    let marker = dir.join(MARKER);
    dir.symlink_metadata().is_ok_and(|m| m.is_dir())
        && marker.symlink_metadata().is_ok_and(|m| m.is_file())
        && std::fs::read_to_string(&marker).is_ok_and(|t| t == LAYOUT)
}

fn is_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Every entry of the store of `cache`, with its size; empty when the
/// cache has no marked store.
pub(crate) fn entries(cache: &Path) -> Vec<(PathBuf, u64)> {
    let store = cache.join(DIR_NAME);
    let mut out = Vec::new();
    if !is_store_dir(&store) {
        return out;
    }
    let Ok(prefixes) = std::fs::read_dir(&store) else {
        return out;
    };
    for prefix in prefixes.flatten() {
        let name = prefix.file_name().to_string_lossy().into_owned();
        let prefix_ok =
            name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !prefix_ok || !prefix.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(items) = std::fs::read_dir(prefix.path()) else {
            continue;
        };
        for item in items.flatten() {
            let entry = item.file_name().to_string_lossy().into_owned();
            if !is_hash(&entry) || !entry.starts_with(&name) {
                continue;
            }
            if let Ok(meta) = std::fs::symlink_metadata(item.path())
                && meta.is_file()
            {
                out.push((item.path(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

/// The cache holding the repo blob `repo_blob` (`{cache}/{repo}/blobs/{etag}`).
fn cache_of(repo_blob: &Path) -> Option<&Path> {
    let blobs = repo_blob.parent()?;
    (blobs.file_name()? == "blobs").then_some(())?;
    blobs.parent()?.parent()
}

/// The store entry the repo blob `repo_blob` links to, one hop, resolved
/// by hand: `Some` only for a link whose target is exactly
/// `{cache}/blobs/{2 hex}/{64 hex}` (the two hex its first two) in a
/// marked store, and a regular file there. Anything else is not the
/// store's, and nothing here follows it.
pub(crate) fn store_target(repo_blob: &Path) -> Option<PathBuf> {
    let meta = repo_blob.symlink_metadata().ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let cache = cache_of(repo_blob)?;
    let link = std::fs::read_link(repo_blob).ok()?;
    let target = normalize(&repo_blob.parent()?.join(link));
    let store = normalize(&cache.join(DIR_NAME));
    let rel = target.strip_prefix(&store).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let [prefix, hash] = parts.as_slice() else {
        return None;
    };
    if !is_hash(hash) || !hash.starts_with(prefix.as_str()) || prefix.len() != 2 {
        return None;
    }
    let prefix_dir = cache.join(DIR_NAME).join(prefix);
    let entry = prefix_dir.join(hash);
    // Every step a real folder or file, never a link: a planted link in
    // the store never leads a deletion out of it.
    (is_store_dir(&cache.join(DIR_NAME))
        && prefix_dir.symlink_metadata().is_ok_and(|m| m.is_dir())
        && entry.symlink_metadata().is_ok_and(|m| m.is_file()))
    .then_some(entry)
}

/// The reference client holds an entry's lock only while it publishes or
/// sweeps one file (no download runs under it): a minute is plenty, and
/// giving up keeps the entry, which is safe.
const LOCK_WAIT: LockWait = LockWait {
    notice_after: Duration::from_secs(1),
    timeout: Duration::from_secs(60),
};

/// What [`sweep`] did with a store entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// Deleted: no valid reference remained.
    Deleted,
    /// Kept: these repo blobs still link to it (the manifest now lists
    /// only them).
    Referenced(Vec<PathBuf>),
    /// Kept: the manifest is missing or unreadable, or the lock could not
    /// be taken, so nothing proves the entry unused.
    Unknown(String),
}

/// After a repo blob linking to `entry` was deleted: under the entry's
/// lock, keep in its manifest only the paths that still link to it, and
/// delete the entry (and its manifest) when none does.
pub(crate) fn sweep(entry: &Path) -> Result<Sweep, std::io::Error> {
    let (Some(prefix_dir), Some(hash)) = (entry.parent(), entry.file_name()) else {
        return Ok(Sweep::Unknown("not a store entry".into()));
    };
    let Some(cache) = prefix_dir.parent().and_then(Path::parent) else {
        return Ok(Sweep::Unknown("not a store entry".into()));
    };
    let hash = hash.to_string_lossy().into_owned();
    let lock_path = prefix_dir.join(format!("{hash}.lock"));
    if lock_path
        .symlink_metadata()
        .is_ok_and(|m| !m.file_type().is_file())
    {
        return Ok(Sweep::Unknown(format!(
            "{} is not a regular file",
            lock_path.display()
        )));
    }
    let lock = match file_lock::acquire(&lock_path, LOCK_WAIT, &mut |_| {}) {
        Ok(lock) => lock,
        Err(e) => return Ok(Sweep::Unknown(format!("lock not taken: {e}"))),
    };
    let manifest = prefix_dir.join(format!("{hash}.refs"));
    let result = match references(&manifest, cache, entry) {
        None => Ok(Sweep::Unknown(format!(
            "manifest {} is missing or unreadable",
            manifest.display()
        ))),
        Some(refs) if refs.is_empty() => {
            std::fs::remove_file(entry)?;
            match std::fs::remove_file(&manifest) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            Ok(Sweep::Deleted)
        }
        Some(refs) => {
            rewrite(&manifest, cache, &refs)?;
            Ok(Sweep::Referenced(refs.into_iter().collect()))
        }
    };
    lock.release();
    result
}

/// The paths the manifest lists that still link to `entry`; `None` when
/// the manifest is missing, not a regular file, unreadable, or a listed
/// path cannot be read (the reference client's rule).
fn references(manifest: &Path, cache: &Path, entry: &Path) -> Option<BTreeSet<PathBuf>> {
    if !manifest.symlink_metadata().ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(manifest).ok()?;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let rel = Path::new(line);
        if line.is_empty()
            || rel.is_absolute()
            || rel.components().any(|c| !matches!(c, Component::Normal(_)))
            || rel.components().count() != 3
        {
            continue;
        }
        let candidate = cache.join(rel);
        let is_repo_blob = rel
            .components()
            .nth(1)
            .is_some_and(|c| c.as_os_str() == "blobs")
            && rel.components().next().is_some_and(|c| {
                let repo = c.as_os_str().to_string_lossy();
                ["models--", "datasets--", "spaces--"]
                    .iter()
                    .any(|p| repo.len() > p.len() && repo.starts_with(p))
            });
        if !is_repo_blob {
            continue;
        }
        match candidate.symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return None,
            Ok(_) => {}
        }
        if store_target(&candidate).as_deref() == Some(entry) {
            out.insert(candidate);
        }
    }
    Some(out)
}

/// Replace the manifest with `refs` (relative to `cache`), atomically.
fn rewrite(manifest: &Path, cache: &Path, refs: &BTreeSet<PathBuf>) -> std::io::Result<()> {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    for path in refs {
        let rel = path.strip_prefix(cache).unwrap_or(path);
        let line: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        writeln!(tmp, "{}", line.join("/"))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Others sharing the cache rewrite it too, as the reference does.
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o666))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(manifest).map_err(|e| e.error)?;
    Ok(())
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const HASH: &str = "ab00000000000000000000000000000000000000000000000000000000000000";

    /// A cache with a marked store holding one entry, and a repo blobs folder.
    fn cache() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("blobs");
        std::fs::create_dir_all(store.join("ab")).unwrap();
        std::fs::write(store.join(MARKER), LAYOUT).unwrap();
        let entry = store.join("ab").join(HASH);
        std::fs::write(&entry, b"x").unwrap();
        let blobs = dir.path().join("models--org--m").join("blobs");
        std::fs::create_dir_all(&blobs).unwrap();
        (dir, entry, blobs)
    }

    #[test]
    fn only_a_link_to_a_store_entry_is_a_store_link() {
        let (dir, entry, blobs) = cache();
        let good = blobs.join("etag1");
        symlink(format!("../../blobs/ab/{HASH}"), &good).unwrap();
        assert_eq!(store_target(&good), Some(entry.clone()));

        let plain = blobs.join("etag2");
        std::fs::write(&plain, b"x").unwrap();
        assert_eq!(store_target(&plain), None);

        std::fs::write(dir.path().join("elsewhere"), b"x").unwrap();
        let out = blobs.join("etag3");
        symlink("../../elsewhere", &out).unwrap();
        assert_eq!(store_target(&out), None, "outside the store");

        let wrong_prefix = dir.path().join("blobs").join("cd");
        std::fs::create_dir_all(&wrong_prefix).unwrap();
        std::fs::write(wrong_prefix.join(HASH), b"x").unwrap();
        let mismatched = blobs.join("etag4");
        symlink(format!("../../blobs/cd/{HASH}"), &mismatched).unwrap();
        assert_eq!(store_target(&mismatched), None, "prefix is not the hash's");

        let outside = tempfile::tempdir().unwrap();
        let ef = format!("ef{}", &HASH[2..]);
        std::fs::write(outside.path().join(&ef), b"x").unwrap();
        symlink(outside.path(), dir.path().join("blobs").join("ef")).unwrap();
        let through = blobs.join("etag5");
        symlink(format!("../../blobs/ef/{ef}"), &through).unwrap();
        assert_eq!(store_target(&through), None, "a linked prefix folder");

        std::fs::remove_file(dir.path().join("blobs").join(MARKER)).unwrap();
        assert_eq!(store_target(&good), None, "an unmarked folder is no store");
    }

    #[test]
    fn a_missing_manifest_keeps_the_entry() {
        let (_dir, entry, _blobs) = cache();
        assert!(matches!(sweep(&entry).unwrap(), Sweep::Unknown(_)));
        assert!(entry.is_file());
    }

    #[test]
    fn listed_paths_are_checked_on_disk() {
        let (_dir, entry, blobs) = cache();
        let live = blobs.join("etag1");
        symlink(format!("../../blobs/ab/{HASH}"), &live).unwrap();
        let manifest = entry.with_file_name(format!("{HASH}.refs"));
        std::fs::write(
            &manifest,
            "models--org--m/blobs/etag1\nmodels--org--m/blobs/gone\n../escape\n",
        )
        .unwrap();
        assert_eq!(
            sweep(&entry).unwrap(),
            Sweep::Referenced(vec![live.clone()])
        );
        assert_eq!(
            std::fs::read_to_string(&manifest).unwrap(),
            "models--org--m/blobs/etag1\n"
        );
        std::fs::remove_file(&live).unwrap();
        assert_eq!(sweep(&entry).unwrap(), Sweep::Deleted);
        assert!(!entry.exists() && !manifest.exists());
    }
}
