//! What one OCI image layout holds, read as the image-spec defines it: the
//! manifests `index.json` names (with their tags), the manifests our
//! pulls keep a `models/sha256-<hex>/` folder for (a pull by digest has
//! no tag), every blob under `blobs/sha256/`, and which blobs each
//! manifest needs (through an index, its children too). `cache scan`,
//! removal and pruning all read a layout through this, so they agree on
//! what is in use.

use super::manifest::ANNOTATION_REF_NAME;
use crate::oci_error::OciError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One layout's contents. Digests are 64 lower-case hex (sha256 only:
/// this store writes nothing else, and other algorithms are left alone).
#[derive(Debug, Clone, Default)]
pub(crate) struct Inventory {
    /// The layout folder.
    pub root: PathBuf,
    /// Each manifest in use, with the tags `index.json` gives it (none for
    /// one kept only by its model folder).
    pub manifests: BTreeMap<String, BTreeSet<String>>,
    /// Every blob present, with its size.
    pub blobs: BTreeMap<String, u64>,
    /// The blobs each manifest needs, itself included; `None` when its
    /// manifest is missing or unreadable, so nothing is known to be free.
    pub needs: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Inventory {
    /// True when `dir` is an OCI image layout (it holds `oci-layout`).
    pub fn is_layout(dir: &Path) -> bool {
        dir.join("oci-layout").is_file()
    }

    /// Reads the layout at `root`. An `index.json` that does not parse is
    /// an error: nothing can be said to be unused then.
    pub fn read(root: &Path) -> Result<Self, OciError> {
        let mut out = Self {
            root: root.to_path_buf(),
            ..Self::default()
        };
        for (hex, tag) in index_entries(root)? {
            let tags = out.manifests.entry(hex).or_default();
            tags.extend(tag);
        }
        for hex in model_folders(root) {
            out.manifests.entry(hex).or_default();
        }
        let blobs = root.join("blobs").join("sha256");
        if let Ok(items) = std::fs::read_dir(&blobs) {
            for item in items.flatten() {
                let name = item.file_name().to_string_lossy().into_owned();
                if is_hex64(&name)
                    && let Ok(meta) = item.metadata()
                    && meta.is_file()
                {
                    out.blobs.insert(name, meta.len());
                }
            }
        }
        let needs = out
            .manifests
            .keys()
            .map(|m| (m.clone(), needed_by(root, m)))
            .collect();
        out.needs = needs;
        Ok(out)
    }

    /// Every blob some manifest in use needs; `None` when one of them
    /// cannot be read (then every blob is kept).
    pub fn live(&self) -> Option<BTreeSet<String>> {
        let mut live = BTreeSet::new();
        for needs in self.needs.values() {
            live.extend(needs.as_ref()?.iter().cloned());
        }
        Some(live)
    }

    /// Bytes of the blobs present that `manifest` needs.
    pub fn size_of(&self, manifest: &str) -> u64 {
        self.needs
            .get(manifest)
            .and_then(Option::as_ref)
            .map_or(0, |needs| {
                needs.iter().filter_map(|b| self.blobs.get(b)).sum::<u64>()
            })
    }

    /// Bytes of the blobs present that `manifest` needs and no other
    /// manifest in use does: what removing it frees.
    pub fn own_size(&self, manifest: &str) -> u64 {
        let Some(Some(mine)) = self.needs.get(manifest) else {
            return 0;
        };
        let mut others = BTreeSet::new();
        for (m, needs) in &self.needs {
            match needs {
                Some(n) if m != manifest => others.extend(n.iter()),
                None => return 0,
                _ => {}
            }
        }
        mine.iter()
            .filter(|b| !others.contains(b))
            .filter_map(|b| self.blobs.get(b))
            .sum()
    }

    /// The folder of `manifest`'s model files.
    pub fn model_dir(&self, manifest: &str) -> PathBuf {
        self.root.join("models").join(format!("sha256-{manifest}"))
    }

    /// The path of a blob.
    pub fn blob(&self, hex: &str) -> PathBuf {
        self.root.join("blobs").join("sha256").join(hex)
    }
}

/// The (manifest hex, tag) pairs of `index.json`; none when it is absent.
pub(crate) fn index_entries(root: &Path) -> Result<Vec<(String, Option<String>)>, OciError> {
    let path = root.join("index.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OciError::layout("read", &path, e)),
    };
    let index: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| OciError::layout("parse", &path, std::io::Error::other(e)))?;
    let Some(entries) = index.get("manifests").and_then(|m| m.as_array()) else {
        return Ok(Vec::new());
    };
    Ok(entries
        .iter()
        .filter_map(|d| {
            let hex = sha256_hex(d.get("digest")?.as_str()?)?;
            let tag = d
                .get("annotations")
                .and_then(|a| a.get(ANNOTATION_REF_NAME))
                .and_then(|t| t.as_str())
                .map(str::to_string);
            Some((hex, tag))
        })
        .collect())
}

/// Manifests with a `models/sha256-<hex>/` folder.
fn model_folders(root: &Path) -> Vec<String> {
    let Ok(items) = std::fs::read_dir(root.join("models")) else {
        return Vec::new();
    };
    items
        .flatten()
        .filter_map(|item| {
            let name = item.file_name().to_string_lossy().into_owned();
            let hex = name.strip_prefix("sha256-")?;
            (is_hex64(hex) && item.path().is_dir()).then(|| hex.to_string())
        })
        .collect()
}

/// The blobs `manifest` needs: itself, its config and layers, and for an
/// index its children (recursively, as far as they are present).
fn needed_by(root: &Path, manifest: &str) -> Option<BTreeSet<String>> {
    let mut needs = BTreeSet::new();
    let mut pending = vec![manifest.to_string()];
    while let Some(hex) = pending.pop() {
        if !needs.insert(hex.clone()) {
            continue;
        }
        let path = root.join("blobs").join("sha256").join(&hex);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // An index's child that was never copied: nothing more to mark.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && hex != manifest => continue,
            Err(_) => return None,
        };
        let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let digest = |d: &serde_json::Value| d.get("digest")?.as_str().and_then(sha256_hex);
        if let Some(config) = doc.get("config").and_then(digest) {
            needs.insert(config);
        }
        for layer in doc
            .get("layers")
            .and_then(|l| l.as_array())
            .into_iter()
            .flatten()
        {
            needs.extend(digest(layer));
        }
        for child in doc
            .get("manifests")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            pending.extend(digest(child));
        }
    }
    Some(needs)
}

/// `sha256:<64 hex>` → the hex.
pub(crate) fn sha256_hex(digest: &str) -> Option<String> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| is_hex64(h))
        .map(str::to_string)
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, bytes: &[u8]) -> String {
        let hex = crate::digest::sha256_bytes(bytes).hex();
        let dir = root.join("blobs/sha256");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&hex), bytes).unwrap();
        hex
    }

    #[test]
    fn shared_layers_are_not_owned_and_an_unreadable_manifest_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("oci-layout"), "{}").unwrap();
        let layer = put(root, b"gguf bytes");
        let config = put(root, b"{}");
        let manifest = |extra: &str| {
            format!(
                r#"{{"schemaVersion":2,"config":{{"digest":"sha256:{config}"}},"layers":[{{"digest":"sha256:{layer}"}}{extra}]}}"#
            )
        };
        let other_layer = put(root, b"more");
        let a = put(root, manifest("").as_bytes());
        let b = put(
            root,
            manifest(&format!(r#",{{"digest":"sha256:{other_layer}"}}"#)).as_bytes(),
        );
        let orphan = put(root, b"nobody");
        std::fs::write(
            root.join("index.json"),
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"digest":"sha256:{a}","annotations":{{"{ANNOTATION_REF_NAME}":"v1"}}}}]}}"#
            ),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("models").join(format!("sha256-{b}"))).unwrap();
        let inv = Inventory::read(root).unwrap();
        assert!(Inventory::is_layout(root));
        assert_eq!(inv.manifests[&a], BTreeSet::from(["v1".to_string()]));
        assert!(inv.manifests[&b].is_empty(), "kept by its model folder");
        let live = inv.live().unwrap();
        assert!(!live.contains(&orphan));
        assert_eq!(live.len(), 5);
        assert_eq!(inv.own_size(&a), manifest("").len() as u64);
        assert_eq!(inv.own_size(&b), inv.blobs[&b] + 4);

        std::fs::write(inv.blob(&a), b"not json").unwrap();
        let broken = Inventory::read(root).unwrap();
        assert_eq!(broken.live(), None, "unknown means keep");
    }
}
