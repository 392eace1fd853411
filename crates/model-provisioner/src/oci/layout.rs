//! The local store: an OCI image layout per repository
//! (`<cache>/oci/<registry>/<repository>/`: `oci-layout`, `index.json`
//! with one `org.opencontainers.image.ref.name` per tag, `blobs/sha256/…`),
//! so standard tools read it (`skopeo inspect oci:DIR:TAG`). Every write
//! goes to a temporary name and is renamed into place; blobs are
//! content-addressed, so a blob present is a blob verified.

use super::manifest::{ANNOTATION_REF_NAME, Descriptor};
use crate::digest::{Digest, hash_file};
use crate::oci_error::OciError;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One repository's layout.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexJson {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl Layout {
    /// The layout of `registry/repository` under `cache`. A port's `:`
    /// becomes `_`: tools split `oci:DIR:TAG` at the first colon.
    pub fn at(cache: &Path, registry: &str, repository: &str) -> Self {
        let mut root = cache.join("oci").join(registry.replace(':', "_"));
        for segment in repository.split('/') {
            root.push(segment);
        }
        Self { root }
    }

    /// Creates the directories and the `oci-layout` marker.
    pub fn init(&self) -> Result<(), OciError> {
        let blobs = self.root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| OciError::layout("create", &blobs, e))?;
        std::fs::create_dir_all(self.ingest_dir())
            .map_err(|e| OciError::layout("create", self.ingest_dir(), e))?;
        let marker = self.root.join("oci-layout");
        if !marker.is_file() {
            self.write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        Ok(())
    }

    /// Where the blob with this sha256 lives.
    pub fn blob(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// Where partial blobs are written before their rename.
    pub fn ingest_dir(&self) -> PathBuf {
        self.root.join("ingest")
    }

    /// The lock file of this layout.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(".lock")
    }

    /// The directory of a manifest's model files, under their names.
    pub fn model_dir(&self, manifest: &Digest) -> PathBuf {
        self.root
            .join("models")
            .join(format!("sha256-{}", manifest.hex()))
    }

    /// Stores `bytes` as a blob (they hash to their name by construction).
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, OciError> {
        let digest = crate::digest::sha256_bytes(bytes);
        let path = self.blob(&digest);
        if !path.is_file() {
            self.write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// Reads a small blob back, checking it still hashes to its name.
    pub fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, OciError> {
        let path = self.blob(digest);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OciError::layout("read", &path, e)),
        };
        Ok((crate::digest::sha256_bytes(&bytes) == *digest).then_some(bytes))
    }

    /// Brings in a file found elsewhere (the Hugging Face cache's blob of
    /// the same sha256): linked when it can be, else copied, hashed before
    /// it takes the blob's name.
    pub fn adopt(&self, from: &Path, digest: &Digest) -> Result<bool, OciError> {
        let staged = self.ingest_dir().join(format!("adopt-{}", digest.hex()));
        let _ = std::fs::remove_file(&staged);
        if std::fs::hard_link(from, &staged).is_err() {
            std::fs::copy(from, &staged).map_err(|e| OciError::layout("copy", &staged, e))?;
        }
        let same = hash_file(&staged).is_ok_and(|(d, _)| d == *digest);
        if !same {
            let _ = std::fs::remove_file(&staged);
            return Ok(false);
        }
        let dest = self.blob(digest);
        std::fs::rename(&staged, &dest)
            .map_err(|e| OciError::layout("move into place", &dest, e))?;
        Ok(true)
    }

    /// The manifest descriptor `tag` points to, from `index.json`.
    pub fn tagged(&self, tag: &str) -> Result<Option<Descriptor>, OciError> {
        Ok(self.index()?.manifests.into_iter().find(|d| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_REF_NAME))
                .is_some_and(|t| t == tag)
        }))
    }

    /// Points `tag` (and only it) at `manifest` in `index.json`.
    pub fn set_tag(&self, tag: &str, mut manifest: Descriptor) -> Result<(), OciError> {
        let mut index = self.index()?;
        index.manifests.retain(|d| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_REF_NAME))
                .is_none_or(|t| t != tag)
        });
        manifest.annotations = Some(BTreeMap::from([(
            ANNOTATION_REF_NAME.to_string(),
            tag.to_string(),
        )]));
        index.manifests.push(manifest);
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| {
            OciError::layout(
                "encode",
                self.root.join("index.json"),
                std::io::Error::other(e),
            )
        })?;
        self.write_atomic(&self.root.join("index.json"), &bytes)
    }

    fn index(&self) -> Result<IndexJson, OciError> {
        let path = self.root.join("index.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| OciError::layout("parse", &path, std::io::Error::other(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IndexJson {
                schema_version: 2,
                media_type: Some(super::manifest::OCI_INDEX.to_string()),
                manifests: Vec::new(),
            }),
            Err(e) => Err(OciError::layout("read", &path, e)),
        }
    }

    /// The model file `name` of `manifest`: a hard link to its blob (a
    /// copy where links are refused), so shards keep the names an engine
    /// looks for.
    pub fn name_file(
        &self,
        manifest: &Digest,
        name: &str,
        blob: &Digest,
    ) -> Result<PathBuf, OciError> {
        let dir = self.model_dir(manifest);
        std::fs::create_dir_all(&dir).map_err(|e| OciError::layout("create", &dir, e))?;
        let path = dir.join(name);
        let source = self.blob(blob);
        if same_file(&path, &source) {
            return Ok(path);
        }
        let staged = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&staged);
        if std::fs::hard_link(&source, &staged).is_err() {
            std::fs::copy(&source, &staged).map_err(|e| OciError::layout("copy", &staged, e))?;
        }
        std::fs::rename(&staged, &path)
            .map_err(|e| OciError::layout("move into place", &path, e))?;
        Ok(path)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), OciError> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| OciError::layout("create a temporary file in", dir, e))?;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| OciError::layout("write", path, e))?;
        tmp.persist(path)
            .map_err(|e| OciError::layout("move into place", path, e.error))?;
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
