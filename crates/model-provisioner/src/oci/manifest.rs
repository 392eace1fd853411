//! Manifests, indexes and the three model formats: which layers of an
//! artifact are the GGUF model, in order, and under what file names.

use crate::digest::Digest;
use crate::oci_error::OciError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest v2 schema 2 (Ollama serves these).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The `Accept` of a manifest request: every form above.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// Docker Model Runner GGUF layer (one per shard).
pub const DOCKER_AI_GGUF: &str = "application/vnd.docker.ai.gguf.v3";
/// Docker Model Runner config.
pub const DOCKER_AI_CONFIG: &str = "application/vnd.docker.ai.model.config.v0.1+json";
/// CNCF ModelPack raw weight layer.
pub const MODELPACK_WEIGHT_RAW: &str = "application/vnd.cncf.model.weight.v1.raw";
/// CNCF ModelPack config.
pub const MODELPACK_CONFIG: &str = "application/vnd.cncf.model.config.v1+json";
/// Ollama model layer.
pub const OLLAMA_MODEL: &str = "application/vnd.ollama.image.model";

/// ModelPack's file-name annotation.
pub const ANNOTATION_FILEPATH: &str = "org.cncf.model.filepath";
/// The OCI title annotation (what `oras push` writes).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// The OCI layout's tag annotation in `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The most a manifest or index may weigh.
pub(crate) const MAX_MANIFEST: u64 = 4 << 20;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// `sha256:…` of the content.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// Free-form annotations (file names, tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The platform of an index child (kept as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
}

impl Descriptor {
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// The digest as a [`Digest`], when it is a well-formed sha256.
    pub(crate) fn sha256(&self) -> Option<Digest> {
        let hex = self.digest.strip_prefix("sha256:")?;
        let lower = hex.bytes().all(|b| !b.is_ascii_uppercase());
        Digest::from_sha256_hex(hex).ok().filter(|_| lower)
    }
}

/// An image manifest (OCI or Docker v2).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

/// What a manifest request returned.
#[derive(Debug)]
pub(crate) enum Fetched {
    Manifest(Manifest),
    /// The child manifest an index or list points to.
    Index(Descriptor),
}

/// Reads a manifest or an index, by its `mediaType` field, else the
/// `Content-Type`, else its shape.
pub(crate) fn parse(
    reference: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Fetched, OciError> {
    let bad = |reason: String| OciError::BadManifest {
        reference: reference.to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let declared = value
        .get("mediaType")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()));
    let is_index = match declared.as_deref() {
        Some(OCI_INDEX | DOCKER_LIST) => true,
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
        _ => value.get("manifests").is_some(),
    };
    if is_index {
        let index: Index =
            serde_json::from_value(value).map_err(|e| bad(format!("bad index: {e}")))?;
        let child = index
            .manifests
            .into_iter()
            .find(|d| matches!(d.media_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST))
            .ok_or_else(|| bad("the index lists no image manifest".to_string()))?;
        checked(reference, &child)?;
        return Ok(Fetched::Index(child));
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| bad(format!("bad manifest: {e}")))?;
    checked(reference, &manifest.config)?;
    for layer in &manifest.layers {
        checked(reference, layer)?;
    }
    Ok(Fetched::Manifest(manifest))
}

fn checked(reference: &str, d: &Descriptor) -> Result<(), OciError> {
    if d.sha256().is_none() {
        return Err(OciError::BadManifest {
            reference: reference.to_string(),
            reason: format!("descriptor digest {:?} is not sha256:<64 hex>", d.digest),
        });
    }
    Ok(())
}

/// Which packaging the artifact follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Docker Model Runner (`application/vnd.docker.ai.gguf.v3`).
    Docker,
    /// CNCF ModelPack (`application/vnd.cncf.model.weight.v1.raw`).
    ModelPack,
    /// Ollama (`application/vnd.ollama.image.model`).
    Ollama,
}

impl Format {
    /// A short name for narrations.
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker-model-runner",
            Self::ModelPack => "modelpack",
            Self::Ollama => "ollama",
        }
    }
}

/// One GGUF file of the model.
#[derive(Debug, Clone)]
pub(crate) struct ModelFile {
    pub layer: Descriptor,
    pub digest: Digest,
    /// A safe file name (no directory part).
    pub name: String,
}

/// The model's GGUF layers, in manifest order (the first is the model
/// path; later ones are its shards).
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub format: Format,
    pub files: Vec<ModelFile>,
}

/// Picks the GGUF layers of `manifest`; anything else is refused naming
/// the media types found.
pub(crate) fn select(reference: &str, manifest: &Manifest) -> Result<Model, OciError> {
    let of = |media: &str| -> Vec<&Descriptor> {
        manifest
            .layers
            .iter()
            .filter(|l| l.media_type == media)
            .collect()
    };
    let modelpack: Vec<&Descriptor> = of(MODELPACK_WEIGHT_RAW)
        .into_iter()
        .filter(|l| {
            l.annotation(ANNOTATION_FILEPATH)
                .or_else(|| l.annotation(ANNOTATION_TITLE))
                .is_none_or(|p| p.to_ascii_lowercase().ends_with(".gguf"))
        })
        .collect();
    let (format, layers) = [
        (Format::Docker, of(DOCKER_AI_GGUF)),
        (Format::ModelPack, modelpack),
        (Format::Ollama, of(OLLAMA_MODEL)),
    ]
    .into_iter()
    .find(|(_, layers)| !layers.is_empty())
    .ok_or_else(|| OciError::UnsupportedArtifact {
        reference: reference.to_string(),
        config: manifest.config.media_type.clone(),
        layers: manifest
            .layers
            .iter()
            .map(|l| l.media_type.clone())
            .collect(),
    })?;
    let count = layers.len();
    let mut files: Vec<ModelFile> = Vec::with_capacity(count);
    for (i, layer) in layers.into_iter().enumerate() {
        let fallback = if count == 1 {
            "model.gguf".to_string()
        } else {
            format!("model-{:05}-of-{count:05}.gguf", i + 1)
        };
        let name = layer
            .annotation(ANNOTATION_FILEPATH)
            .or_else(|| layer.annotation(ANNOTATION_TITLE))
            .and_then(safe_name)
            .filter(|n| files.iter().all(|f| &f.name != n))
            .unwrap_or(fallback);
        let digest = layer.sha256().ok_or_else(|| OciError::BadManifest {
            reference: reference.to_string(),
            reason: format!("layer digest {:?} is not sha256:<64 hex>", layer.digest),
        })?;
        files.push(ModelFile {
            layer: layer.clone(),
            digest,
            name,
        });
    }
    Ok(Model { format, files })
}

/// The last path segment of an annotation, when it is a plain file name
/// (it names a file we create: no directory, no dot file, no odd bytes).
fn safe_name(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next()?;
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "sha256:13d1380e1f0c6a7a3a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef";

    fn layer(media: &str, name: Option<(&str, &str)>) -> String {
        let ann = name.map_or(String::new(), |(k, v)| {
            format!(r#","annotations":{{"{k}":"{v}"}}"#)
        });
        format!(r#"{{"mediaType":"{media}","digest":"{H}","size":3{ann}}}"#)
    }

    fn manifest(config: &str, layers: &[String]) -> Manifest {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{config}","digest":"{H}","size":2}},"layers":[{}]}}"#,
            layers.join(",")
        );
        match parse("r", None, body.as_bytes()).unwrap() {
            Fetched::Manifest(m) => m,
            Fetched::Index(_) => panic!("index"),
        }
    }

    #[test]
    fn picks_each_format_and_refuses_the_rest_naming_media_types() {
        let d = manifest(
            DOCKER_AI_CONFIG,
            &[
                layer("application/vnd.docker.ai.license", None),
                layer(
                    DOCKER_AI_GGUF,
                    Some((ANNOTATION_TITLE, "tiny-00001-of-00002.gguf")),
                ),
                layer(
                    DOCKER_AI_GGUF,
                    Some((ANNOTATION_TITLE, "tiny-00002-of-00002.gguf")),
                ),
            ],
        );
        let m = select("r", &d).unwrap();
        assert_eq!(m.format, Format::Docker);
        let names: Vec<_> = m.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["tiny-00001-of-00002.gguf", "tiny-00002-of-00002.gguf"]
        );

        let p = manifest(
            MODELPACK_CONFIG,
            &[layer(
                MODELPACK_WEIGHT_RAW,
                Some((ANNOTATION_FILEPATH, "../../etc/m.gguf")),
            )],
        );
        let m = select("r", &p).unwrap();
        assert_eq!(
            (m.format, m.files[0].name.as_str()),
            (Format::ModelPack, "m.gguf")
        );

        let o = manifest(
            "application/vnd.docker.container.image.v1+json",
            &[layer(OLLAMA_MODEL, None)],
        );
        let m = select("r", &o).unwrap();
        assert_eq!(
            (m.format, m.files[0].name.as_str()),
            (Format::Ollama, "model.gguf")
        );

        let x = manifest(
            "application/vnd.oci.image.config.v1+json",
            &[layer("application/x-tar", None)],
        );
        let err = select("r", &x).unwrap_err();
        assert_eq!(err.kind(), "unsupported-artifact");
        assert!(err.to_string().contains("application/x-tar"), "{err}");
    }

    #[test]
    fn an_index_resolves_to_its_manifest_and_bad_digests_are_refused() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{H}","size":9}}]}}"#
        );
        assert!(
            matches!(parse("r", None, body.as_bytes()), Ok(Fetched::Index(d)) if d.digest == H)
        );
        let bad = body.replace(H, "sha256:../../x");
        assert_eq!(
            parse("r", None, bad.as_bytes()).unwrap_err().kind(),
            "bad-manifest"
        );
        assert_eq!(
            parse("r", None, b"<html>").unwrap_err().kind(),
            "bad-manifest"
        );
    }
}
