//! The `oci://` fetcher: pin the manifest (by the reference's digest, the
//! registry's answer checked against `Docker-Content-Digest`, or offline
//! the local layout's tag), pick the model's GGUF layers, fetch the blobs
//! missing from the layout through the shared download layer (verified
//! against each layer digest), then record the manifest under its tag.

use super::auth::RegistryAuth;
use super::layout::Layout;
use super::manifest::{self, Descriptor, Manifest, OCI_MANIFEST};
use super::registry::Session;
use crate::actions;
use crate::catalog::OciRecord;
use crate::digest::{Digest, sha256_bytes};
use crate::download::{self, ClientSettings, DownloadError, ParallelPolicy, Request, RetryPolicy};
use crate::error::{IntoProvision, ProvisionError};
use crate::fetch::{FetchContext, Fetched, Fetcher};
use crate::file_lock::LockWait;
use crate::model_ref::ModelRef;
use crate::oci_error::OciError;
use crate::transfer_events::Narrator;
use narration_core::narrate;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the OCI fetcher.
#[derive(Debug, Clone)]
pub struct OciConfig {
    /// Where layouts go (`<dir>/oci/…`); `None`: the provisioner's cache
    /// directory.
    pub cache_dir: Option<PathBuf>,
    /// A Hugging Face cache to take a GGUF from when it holds a blob of
    /// the same sha256 (its LFS etag): linked, not downloaded again.
    pub hf_cache: Option<PathBuf>,
    /// Registry credentials.
    pub auth: RegistryAuth,
    /// No network: serve from the layout or fail.
    pub offline: bool,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for headers or body bytes.
    pub read_timeout: Duration,
    /// How long to wait for another process pulling the same repository.
    pub lock_wait: LockWait,
    /// When large blobs go over several connections.
    pub parallel: ParallelPolicy,
    /// The proxies requests go through (none by default).
    pub proxy: crate::download::ProxySettings,
    /// CAs trusted instead of the built-in roots (none by default).
    pub ca_bundle: Option<crate::download::CaBundle>,
}

impl Default for OciConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            hf_cache: None,
            auth: RegistryAuth::anonymous(),
            offline: false,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            lock_wait: LockWait::default(),
            parallel: ParallelPolicy::default(),
            proxy: crate::download::ProxySettings::none(),
            ca_bundle: None,
        }
    }
}

impl OciConfig {
    /// Defaults, with credentials ([`RegistryAuth::from_env`]) and
    /// connections (`PROVISION_DOWNLOAD_CONNECTIONS`) from the environment.
    pub fn from_env() -> Self {
        Self {
            auth: RegistryAuth::from_env(),
            parallel: ParallelPolicy::from_env(),
            ..Self::default()
        }
    }
}

/// Fetches `oci://` model refs.
///
/// ```
/// use model_provisioner::oci::{OciConfig, OciFetcher};
/// use model_provisioner::{FetchContext, Fetcher, ModelRef};
/// let fetcher = OciFetcher::new(OciConfig { offline: true, ..OciConfig::default() });
/// let model = ModelRef::parse("oci://registry.example.com/ai/tiny:q4").unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// // Offline, and nothing in the local layout.
/// let err = fetcher.fetch(&model, None, &FetchContext::new(dir.path())).unwrap_err();
/// assert_eq!(err.error_kind(), "offline-miss");
/// ```
#[derive(Debug, Default)]
pub struct OciFetcher {
    config: OciConfig,
}

/// The pinned manifest of one pull.
struct Pinned {
    digest: Digest,
    bytes: Vec<u8>,
    manifest: Manifest,
    media_type: String,
}

impl OciFetcher {
    /// A fetcher with these settings.
    pub fn new(config: OciConfig) -> Self {
        Self { config }
    }

    fn settings(&self) -> ClientSettings {
        ClientSettings {
            token: None,
            auth_origin: None,
            retry: self.config.retry.clone(),
            connect_timeout: self.config.connect_timeout,
            read_timeout: self.config.read_timeout,
            max_redirects: 10,
            stall: crate::download::StallPolicy::default(),
            user_agent: None,
            proxy: self.config.proxy.clone(),
            ca_bundle: self.config.ca_bundle.clone(),
        }
    }

    fn pull(
        &self,
        model: &ModelRef,
        parts: Parts<'_>,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        let id = model.id();
        let oci = |source| ProvisionError::Oci {
            model: id.clone(),
            source,
        };
        let offline = self.config.offline || ctx.offline;
        let root = self.config.cache_dir.as_ref().unwrap_or(&ctx.cache_dir);
        let layout = Layout::at(root, parts.registry, parts.repository);
        let session = Session::new(
            parts.registry,
            parts.repository,
            id.clone(),
            self.settings(),
            &self.config.auth,
        )?;
        let t =
            Narrator::new(ctx, model).transfer(format!("{}/{}", parts.registry, parts.repository));
        let on_event = |e: download::Event<'_>| t.on(e);
        let events: download::Events<'_> = &on_event;

        let cancelled = |step| ProvisionError::Cancelled {
            model: id.clone(),
            step,
        };
        ctx.cancel.check().map_err(|_| cancelled("resolve"))?;
        let pinned = self.pin(&session, &layout, &parts, offline, events, &id)?;
        narrate_manifest(ctx, model, &pinned);
        let chosen = manifest::select(&id, &pinned.manifest).map_err(oci)?;
        let first = &chosen.files[0];
        if let Some(expected) = expected
            && *expected != first.digest
        {
            return Err(ProvisionError::DigestMismatch {
                model: id.clone(),
                path: layout.blob(&first.digest),
                expected: *expected,
                actual: first.digest,
            });
        }

        layout.init().map_err(oci)?;
        let _lock = download::lock(&layout.lock_path(), self.config.lock_wait, events)
            .map_err(|e| e.into_provision(id.clone()))?;
        let mut transferred = 0;
        let mut first_digest = None;
        let count = chosen.files.len();
        for (i, file) in chosen.files.iter().enumerate() {
            let blob = layout.blob(&file.digest);
            if blob.is_file() || self.adopt_from_hf(&layout, &file.digest).map_err(oci)? {
                continue;
            }
            if offline {
                return Err(ProvisionError::Offline { model: id.clone() });
            }
            // Between blobs: a cancel stops before the next transfer (the
            // download layer watches it within one).
            ctx.cancel.check().map_err(|_| cancelled("download"))?;
            let label = if count > 1 {
                format!(
                    "{} ({} layer {} of {count}, {})",
                    file.name,
                    chosen.format.name(),
                    i + 1,
                    file.digest.short()
                )
            } else {
                format!(
                    "{} ({} layer, {})",
                    file.name,
                    chosen.format.name(),
                    file.digest.short()
                )
            };
            let lt = Narrator::new(ctx, model).transfer(label.clone());
            let client = session.client();
            let done = download::download(
                &client,
                &Request {
                    url: session.blob_url(&file.layer.digest)?,
                    label,
                    partial: layout
                        .ingest_dir()
                        .join(format!("{}.incomplete", file.digest.hex())),
                    dest: blob,
                    expected_size: Some(file.layer.size),
                    advertised: None,
                    expected: Some(&file.digest),
                    parallel: self.config.parallel.clone(),
                },
                &|e| lt.on(e),
            )
            .map_err(|e: DownloadError| e.into_provision(id.clone()))?;
            transferred += done.transferred;
            if i == 0 {
                first_digest = Some(done.digest);
            }
        }
        self.store_config(
            &session,
            &layout,
            &pinned.manifest.config,
            offline,
            events,
            &id,
        )?;
        layout.put_blob(&pinned.bytes).map_err(oci)?;
        if let Some(tag) = parts.tag {
            let descriptor = Descriptor {
                media_type: pinned.media_type.clone(),
                digest: format!("sha256:{}", pinned.digest.hex()),
                size: pinned.bytes.len() as u64,
                annotations: None,
                platform: None,
            };
            layout.set_tag(tag, descriptor).map_err(oci)?;
        }
        let mut path = None;
        for file in &chosen.files {
            let named = layout
                .name_file(&pinned.digest, &file.name, &file.digest)
                .map_err(oci)?;
            path.get_or_insert(named);
        }
        let path = path.ok_or_else(|| {
            oci(OciError::BadManifest {
                reference: id.clone(),
                reason: "no model layer".to_string(),
            })
        })?;
        Ok(Fetched {
            path,
            digest: first_digest,
            bytes_transferred: transferred,
            source: source(&parts, &pinned.digest),
            oci: Some(record(&parts, &pinned)),
        })
    }

    /// The manifest this pull uses, its bytes checked against the digest
    /// that pins them.
    fn pin(
        &self,
        session: &Session<'_>,
        layout: &Layout,
        parts: &Parts<'_>,
        offline: bool,
        events: crate::download::Events<'_>,
        id: &str,
    ) -> Result<Pinned, ProvisionError> {
        let oci = |source| ProvisionError::Oci {
            model: id.to_string(),
            source,
        };
        // Pinned by digest, or offline by the layout's tag: no request.
        let local = match (parts.digest, parts.tag) {
            (Some(d), _) => Some(parse_digest(d, id)?),
            (None, Some(tag)) if offline => match layout.tagged(tag).map_err(oci)? {
                Some(desc) => Some(parse_digest(&desc.digest, id)?),
                None => None,
            },
            _ => None,
        };
        if let Some(digest) = &local
            && let Some(bytes) = layout.read_blob(digest).map_err(oci)?
        {
            return decode(digest, bytes, None, id);
        }
        if offline {
            return Err(ProvisionError::Offline {
                model: id.to_string(),
            });
        }
        let reference = parts.digest.or(parts.tag).unwrap_or(super::DEFAULT_TAG);
        let got = session.manifest(reference, events)?;
        let digest = checked(&got, parts.digest, id)?;
        let parsed = manifest::parse(id, got.content_type.as_deref(), &got.bytes).map_err(oci)?;
        let child = match parsed {
            manifest::Fetched::Manifest(m) => {
                return Ok(pinned(digest, got.bytes, m, got.content_type.as_deref()));
            }
            manifest::Fetched::Index(child) => child,
        };
        // An index (or a Docker list): its child, pinned by the index.
        let got = session.manifest(&child.digest, events)?;
        let digest = checked(&got, Some(&child.digest), id)?;
        decode(&digest, got.bytes, got.content_type.as_deref(), id)
    }

    /// Stores the config blob (small; verified against its digest).
    fn store_config(
        &self,
        session: &Session<'_>,
        layout: &Layout,
        config: &Descriptor,
        offline: bool,
        events: crate::download::Events<'_>,
        id: &str,
    ) -> Result<(), ProvisionError> {
        let digest = parse_digest(&config.digest, id)?;
        if layout.blob(&digest).is_file() || offline {
            return Ok(());
        }
        let bytes = session.small_blob(&config.digest, events)?;
        let actual = sha256_bytes(&bytes);
        if actual != digest {
            return Err(ProvisionError::Download {
                model: id.to_string(),
                source: DownloadError::DigestMismatch {
                    path: layout.blob(&digest),
                    expected: digest,
                    actual,
                },
            });
        }
        layout
            .put_blob(&bytes)
            .map(|_| ())
            .map_err(|source| ProvisionError::Oci {
                model: id.to_string(),
                source,
            })
    }

    /// Looks for the blob in the Hugging Face cache (`models--*/blobs/<sha256>`).
    fn adopt_from_hf(&self, layout: &Layout, digest: &Digest) -> Result<bool, OciError> {
        let Some(hf) = &self.config.hf_cache else {
            return Ok(false);
        };
        let Ok(repos) = std::fs::read_dir(hf) else {
            return Ok(false);
        };
        for repo in repos.flatten() {
            if !repo.file_name().to_string_lossy().starts_with("models--") {
                continue;
            }
            let candidate = repo.path().join("blobs").join(digest.hex());
            if candidate.is_file() && layout.adopt(&candidate, digest)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The parts of an `oci://` ref.
struct Parts<'a> {
    registry: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Checks the manifest bytes against every digest that pins them (the
/// reference's or the index's, and the registry's `Docker-Content-Digest`).
fn checked(
    got: &super::registry::ManifestBytes,
    pinned_by: Option<&str>,
    id: &str,
) -> Result<Digest, ProvisionError> {
    let digest = sha256_bytes(&got.bytes);
    let actual = format!("sha256:{}", digest.hex());
    for claim in [pinned_by, got.pinned.as_deref()].into_iter().flatten() {
        if claim != actual {
            return Err(ProvisionError::Oci {
                model: id.to_string(),
                source: OciError::ManifestDigestMismatch {
                    reference: id.to_string(),
                    expected: claim.to_string(),
                    actual,
                },
            });
        }
    }
    Ok(digest)
}

fn pinned(
    digest: Digest,
    bytes: Vec<u8>,
    manifest: Manifest,
    content_type: Option<&str>,
) -> Pinned {
    let media_type = manifest
        .media_type
        .clone()
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()))
        .unwrap_or_else(|| OCI_MANIFEST.to_string());
    Pinned {
        digest,
        bytes,
        manifest,
        media_type,
    }
}

/// A manifest whose bytes are already checked against `digest`.
fn decode(
    digest: &Digest,
    bytes: Vec<u8>,
    content_type: Option<&str>,
    id: &str,
) -> Result<Pinned, ProvisionError> {
    let oci = |source| ProvisionError::Oci {
        model: id.to_string(),
        source,
    };
    match manifest::parse(id, content_type, &bytes).map_err(oci)? {
        manifest::Fetched::Manifest(m) => Ok(pinned(*digest, bytes, m, content_type)),
        manifest::Fetched::Index(_) => Err(oci(OciError::BadManifest {
            reference: id.to_string(),
            reason: "an index points to another index".to_string(),
        })),
    }
}

fn parse_digest(text: &str, id: &str) -> Result<Digest, ProvisionError> {
    text.strip_prefix("sha256:")
        .and_then(|hex| Digest::from_sha256_hex(hex).ok())
        .ok_or_else(|| ProvisionError::Oci {
            model: id.to_string(),
            source: OciError::BadManifest {
                reference: id.to_string(),
                reason: format!("digest {text:?} is not sha256:<64 hex>"),
            },
        })
}

/// What the catalog and the provenance log record: the ref pinned to its
/// manifest, `oci://registry/repository[:tag]@sha256:…`.
fn source(parts: &Parts<'_>, manifest: &Digest) -> String {
    let tag = parts.tag.map(|t| format!(":{t}")).unwrap_or_default();
    format!(
        "oci://{}/{}{tag}@sha256:{}",
        parts.registry,
        parts.repository,
        manifest.hex()
    )
}

/// What the catalog keeps of this pull: where from, and the manifest and
/// layers it was pinned to.
fn record(parts: &Parts<'_>, pinned: &Pinned) -> OciRecord {
    OciRecord {
        registry: parts.registry.to_string(),
        repository: parts.repository.to_string(),
        tag: parts.tag.map(str::to_string),
        manifest_digest: format!("sha256:{}", pinned.digest.hex()),
        layers: pinned
            .manifest
            .layers
            .iter()
            .map(|l| l.digest.clone())
            .collect(),
    }
}

/// `manifest`: the digest this pull is pinned to and what it holds.
fn narrate_manifest(ctx: &FetchContext, model: &ModelRef, pinned: &Pinned) {
    let layers = pinned
        .manifest
        .layers
        .iter()
        .map(|l| format!("{} {}", l.media_type, l.digest))
        .collect::<Vec<_>>()
        .join(", ");
    narrate(ctx.fields(
        actions::MANIFEST,
        model,
        format!(
            "Pinned {} to manifest sha256:{} (config {}; layers: {layers})",
            model.id(),
            pinned.digest.hex(),
            pinned.manifest.config.media_type
        ),
    ));
}

impl Fetcher for OciFetcher {
    fn schemes(&self) -> &'static [&'static str] {
        &["oci"]
    }

    fn fetch(
        &self,
        model: &ModelRef,
        expected: Option<&Digest>,
        ctx: &FetchContext,
    ) -> Result<Fetched, ProvisionError> {
        let ModelRef::Oci {
            registry,
            repository,
            tag,
            digest,
        } = model
        else {
            return Err(ProvisionError::NoFetcher {
                model: model.id(),
                scheme: model.scheme().to_string(),
            });
        };
        let parts = Parts {
            registry,
            repository,
            tag: tag.as_deref(),
            digest: digest.as_deref(),
        };
        // Every request, read, back-off and lock wait below runs under the
        // ensure's cancel token.
        let _cancel = crate::download::interrupt::enter(&ctx.cancel);
        self.pull(model, parts, expected, ctx)
    }
}
