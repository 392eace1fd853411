//! Publishing a verified model as an OCI artifact: the model is ensured
//! (fetched if needed, verified, catalogued) first, then its GGUF and a
//! config are uploaded as blobs (a `HEAD` first, so blobs the registry has
//! are skipped; then a monolithic `POST` + `PUT ?digest=`), then the
//! manifest under the tag. The registry's `Docker-Content-Digest` must be
//! the sha256 of the manifest sent.

use super::fetcher::OciConfig;
use super::manifest::{
    ANNOTATION_FILEPATH, ANNOTATION_TITLE, DOCKER_AI_CONFIG, DOCKER_AI_GGUF, MODELPACK_CONFIG,
    MODELPACK_WEIGHT_RAW, OCI_MANIFEST,
};
use super::registry::Session;
use crate::actions as act;
use crate::digest::{Digest, sha256_bytes};
use crate::download::{ClientSettings, DownloadError, Upload};
use crate::error::{IntoProvision, ProvisionError};
use crate::model_ref::ModelRef;
use crate::oci_error::OciError;
use crate::resolved::{EnsureOptions, ResolvedModel};
use narration_core::{NarrationFields, narrate};
use std::time::Instant;

/// The packaging a push writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushFormat {
    /// CNCF ModelPack: a `…weight.v1.raw` layer named by `org.cncf.model.filepath`.
    ModelPack,
    /// Docker Model Runner: a `…docker.ai.gguf.v3` layer.
    Docker,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    /// `oci://registry/repository:tag@sha256:<manifest>`.
    pub reference: String,
    /// The manifest's sha256.
    pub manifest_digest: Digest,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
}

/// What a push asks of the provisioner: the source model, present and
/// verified. [`ModelProvisioner`](crate::ModelProvisioner) implements it;
/// `push` takes the trait so that `oci`, which the provisioner builds its
/// OCI fetcher from, does not import the provisioner.
pub trait EnsureSource {
    /// Ensures `source` (fetched if needed, verified, catalogued), as
    /// [`ModelProvisioner::ensure_present_str_with`](crate::ModelProvisioner::ensure_present_str_with)
    /// with no expected digest.
    fn ensure_source(
        &self,
        source: &str,
        opts: &EnsureOptions,
    ) -> Result<ResolvedModel, ProvisionError>;
}

/// Ensures `source` (verified) and publishes it to `target`
/// (`oci://registry/repository:tag`) in `format`. Narrates `push`, one
/// `push-blob` per blob, then `pushed`; a failure is narrated once as
/// `push-failed`.
pub fn push(
    models: &impl EnsureSource,
    source: &str,
    target: &str,
    format: PushFormat,
    config: &OciConfig,
    opts: &EnsureOptions,
) -> Result<PushReport, ProvisionError> {
    let resolved = models.ensure_source(source, opts)?;
    let target = ModelRef::parse(target)?;
    let fields = |action, human: String| NarrationFields {
        actor: act::ACTOR,
        action,
        target: target.id(),
        human,
        correlation_id: opts.correlation_id.clone(),
        pool_id: opts.pool_id.clone(),
        model_ref: Some(resolved.id.clone()),
        ..Default::default()
    };
    narrate(fields(
        act::PUSH,
        format!("Pushing {} to {}", resolved.id, target.id()),
    ));
    let started = Instant::now();
    match upload(&resolved, &target, format, config, &fields) {
        Ok(report) => {
            narrate(NarrationFields {
                bytes: Some(report.bytes_uploaded),
                duration_ms: Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)),
                ..fields(
                    act::PUSHED,
                    format!(
                        "Pushed {} as {} ({} blob(s) uploaded, {} already there)",
                        resolved.id, report.reference, report.uploaded, report.skipped
                    ),
                )
            });
            Ok(report)
        }
        Err(err) => {
            narrate(NarrationFields {
                error_kind: Some(err.error_kind().to_string()),
                ..fields(act::PUSH_FAILED, err.to_string())
            });
            Err(err)
        }
    }
}

/// How a blob's body is (re)opened for each attempt.
type Body = Box<dyn Fn() -> Result<Upload, ProvisionError>>;

fn upload(
    resolved: &ResolvedModel,
    target: &ModelRef,
    format: PushFormat,
    config: &OciConfig,
    fields: &dyn Fn(&'static str, String) -> NarrationFields,
) -> Result<PushReport, ProvisionError> {
    let id = target.id();
    let oci = |source| ProvisionError::Oci {
        model: id.clone(),
        source,
    };
    let ModelRef::Oci {
        registry,
        repository,
        tag: Some(tag),
        digest: None,
    } = target
    else {
        return Err(oci(OciError::BadManifest {
            reference: id.clone(),
            reason: "push to oci://registry/repository:tag (a tag, no digest)".to_string(),
        }));
    };
    let settings = ClientSettings {
        token: None,
        auth_origin: None,
        retry: config.retry.clone(),
        connect_timeout: config.connect_timeout,
        read_timeout: config.read_timeout,
        max_redirects: 10,
        stall: crate::download::StallPolicy::default(),
        user_agent: None,
        proxy: config.proxy.clone(),
        ca_bundle: config.ca_bundle.clone(),
    };
    let session = Session::new(registry, repository, id.clone(), settings, &config.auth)?;
    let events = &|_: crate::download::Event<'_>| {};
    let name = resolved.local_path.file_name().map_or_else(
        || "model.gguf".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (layer_type, config_type, annotations, config_body) = match format {
        PushFormat::ModelPack => (
            MODELPACK_WEIGHT_RAW,
            MODELPACK_CONFIG,
            serde_json::json!({ ANNOTATION_FILEPATH: name, ANNOTATION_TITLE: name }),
            serde_json::json!({"descriptor": {}, "config": {"format": "gguf"}, "modelfs": {"type": "layers", "diffIds": [format!("sha256:{}", resolved.digest.hex())]}}),
        ),
        PushFormat::Docker => (
            DOCKER_AI_GGUF,
            DOCKER_AI_CONFIG,
            serde_json::json!({ ANNOTATION_TITLE: name }),
            serde_json::json!({"config": {"format": "gguf", "size": resolved.size_bytes.to_string()}, "descriptor": {}}),
        ),
    };
    let config_bytes = serde_json::to_vec(&config_body).map_err(|e| {
        oci(OciError::BadManifest {
            reference: id.clone(),
            reason: e.to_string(),
        })
    })?;
    let config_digest = sha256_bytes(&config_bytes);
    let mut report = PushReport {
        reference: String::new(),
        manifest_digest: config_digest,
        uploaded: 0,
        skipped: 0,
        bytes_uploaded: 0,
    };
    let path = resolved.local_path.clone();
    let model_body: Body = Box::new(move || {
        std::fs::File::open(&path)
            .map(Upload::File)
            .map_err(|source| ProvisionError::UnreadableFile {
                path: path.clone(),
                source,
            })
    });
    let config_body: Body = {
        let bytes = config_bytes.clone();
        Box::new(move || Ok(Upload::Bytes(bytes.clone())))
    };
    let blobs = [
        (
            resolved.digest,
            resolved.size_bytes,
            model_body,
            name.as_str(),
        ),
        (
            config_digest,
            config_bytes.len() as u64,
            config_body,
            "config",
        ),
    ];
    for (digest, size, body, label) in &blobs {
        let digest_text = format!("sha256:{}", digest.hex());
        if session.has_blob(&digest_text, events)? {
            report.skipped += 1;
            narrate(NarrationFields {
                bytes: Some(0),
                ..fields(
                    act::PUSH_BLOB,
                    format!("{label} ({}): the registry has it; skipped", digest.short()),
                )
            });
            continue;
        }
        let started = session.upload(
            "POST",
            &session.uploads_url()?,
            "application/octet-stream",
            &|| Ok(Upload::Bytes(Vec::new())),
            &[202],
            "blob upload start",
        )?;
        let location = started.header("location").ok_or_else(|| {
            oci(OciError::Status {
                registry: registry.clone(),
                status: 202,
                what: "blob upload start (no Location)",
            })
        })?;
        let mut put = started
            .url
            .join(location)
            .map_err(|_| DownloadError::BadUrl {
                url: narration_core::public_url(location),
                reason: "the upload Location is not a URL",
            })
            .map_err(|e| e.into_provision(id.clone()))?;
        put.query_pairs_mut().append_pair("digest", &digest_text);
        session.upload(
            "PUT",
            &put,
            "application/octet-stream",
            body.as_ref(),
            &[201, 204],
            "blob upload",
        )?;
        report.uploaded += 1;
        report.bytes_uploaded += size;
        narrate(NarrationFields {
            bytes: Some(*size),
            ..fields(
                act::PUSH_BLOB,
                format!("{label} ({}): uploaded", digest.short()),
            )
        });
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": format!("sha256:{}", config_digest.hex()), "size": config_bytes.len()},
        "layers": [{
            "mediaType": layer_type,
            "digest": format!("sha256:{}", resolved.digest.hex()),
            "size": resolved.size_bytes,
            "annotations": annotations,
        }],
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| {
        oci(OciError::BadManifest {
            reference: id.clone(),
            reason: e.to_string(),
        })
    })?;
    let manifest_digest = sha256_bytes(&manifest_bytes);
    let answer = session.upload(
        "PUT",
        &session.manifest_url(tag)?,
        OCI_MANIFEST,
        &|| Ok(Upload::Bytes(manifest_bytes.clone())),
        &[201, 200],
        "manifest upload",
    )?;
    let expected = format!("sha256:{}", manifest_digest.hex());
    if let Some(claimed) = answer.header("docker-content-digest")
        && claimed != expected
    {
        return Err(oci(OciError::ManifestDigestMismatch {
            reference: id.clone(),
            expected,
            actual: claimed.to_string(),
        }));
    }
    report.manifest_digest = manifest_digest;
    report.reference = format!("{id}@sha256:{}", manifest_digest.hex());
    Ok(report)
}
