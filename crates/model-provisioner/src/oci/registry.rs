//! The distribution API over the project's HTTP client: manifest GETs with
//! the right `Accept`, the 401 challenge answered once (Basic, or a token
//! from the realm), and a client for blob transfers carrying the same
//! authorization, to the registry's origin only.

use super::auth::{Challenge, Credentials, RegistryAuth, parse_challenge};
use super::manifest::{ACCEPT, MAX_MANIFEST};
use crate::download::{
    Answer, Client, ClientSettings, DownloadError, Events, Follow, Upload, is_loopback, parse_url,
    retrying,
};
use crate::error::{IntoProvision, ProvisionError};
use crate::oci_error::OciError;
use std::cell::RefCell;
use std::io::Read;
use url::Url;

/// One pull's conversation with a registry.
pub(crate) struct Session<'a> {
    /// `http(s)://registry`.
    base: Url,
    registry: &'a str,
    repository: &'a str,
    model: String,
    settings: ClientSettings,
    auth: &'a RegistryAuth,
    /// The `Authorization` value in force (never narrated, never in an
    /// error).
    authorization: RefCell<Option<String>>,
}

/// A manifest as received.
pub(crate) struct ManifestBytes {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    /// `Docker-Content-Digest`, when the registry sent one.
    pub pinned: Option<String>,
}

impl<'a> Session<'a> {
    /// A session with `registry`: plain `http` for loopback registries
    /// only, `https` for every other.
    pub fn new(
        registry: &'a str,
        repository: &'a str,
        model: String,
        settings: ClientSettings,
        auth: &'a RegistryAuth,
    ) -> Result<Self, ProvisionError> {
        let fail = |e: DownloadError| e.into_provision(model.clone());
        let probe = parse_url(&format!("http://{registry}/")).map_err(fail)?;
        let scheme = if is_loopback(&probe) { "http" } else { "https" };
        let base = parse_url(&format!("{scheme}://{registry}/")).map_err(fail)?;
        Ok(Self {
            base,
            registry,
            repository,
            model,
            settings,
            auth,
            authorization: RefCell::new(None),
        })
    }

    fn oci(&self, source: OciError) -> ProvisionError {
        ProvisionError::Oci {
            model: self.model.clone(),
            source,
        }
    }

    fn url(&self, kind: &str, reference: &str) -> Result<Url, ProvisionError> {
        let text = format!("{}v2/{}/{kind}/{reference}", self.base, self.repository);
        parse_url(&text).map_err(|e| e.into_provision(self.model.clone()))
    }

    /// A client sending this session's authorization to the registry only.
    pub fn client(&self) -> Client {
        let settings = ClientSettings {
            auth_origin: Some(self.base.origin()),
            token: None,
            ..self.settings.clone()
        };
        Client::new(settings).with_authorization(self.authorization.borrow().clone())
    }

    /// The blob URL of `digest`.
    pub fn blob_url(&self, digest: &str) -> Result<Url, ProvisionError> {
        self.url("blobs", digest)
    }

    /// GET the manifest `reference` (a tag or a digest).
    pub fn manifest(
        &self,
        reference: &str,
        events: Events<'_>,
    ) -> Result<ManifestBytes, ProvisionError> {
        let url = self.url("manifests", reference)?;
        let answer = self.get(&url, Some(ACCEPT), events, "manifest")?;
        let content_type = answer.header("content-type").map(str::to_string);
        let pinned = answer.header("docker-content-digest").map(str::to_string);
        let bytes =
            read_bounded(answer, MAX_MANIFEST).map_err(|e| e.into_provision(self.model.clone()))?;
        Ok(ManifestBytes {
            bytes,
            content_type,
            pinned,
        })
    }

    /// GET a small blob (a config) whole.
    pub fn small_blob(&self, digest: &str, events: Events<'_>) -> Result<Vec<u8>, ProvisionError> {
        let url = self.blob_url(digest)?;
        let answer = self.get(&url, None, events, "blob")?;
        read_bounded(answer, MAX_MANIFEST).map_err(|e| e.into_provision(self.model.clone()))
    }

    /// The upload-session URL of this repository.
    pub fn uploads_url(&self) -> Result<Url, ProvisionError> {
        self.url("blobs", "uploads/")
    }

    /// The manifest URL of `reference`.
    pub fn manifest_url(&self, reference: &str) -> Result<Url, ProvisionError> {
        self.url("manifests", reference)
    }

    /// True when the registry already has the blob (`HEAD` answered 2xx).
    pub fn has_blob(&self, digest: &str, events: Events<'_>) -> Result<bool, ProvisionError> {
        let url = self.blob_url(digest)?;
        for round in 0..2 {
            let client = self.client();
            let answer = retrying(client.retry(), &url, events, || {
                client.request("HEAD", &url, None, Follow::All)
            })
            .map_err(|e| e.into_provision(self.model.clone()))?;
            match answer.status() {
                200..=299 => return Ok(true),
                401 if round == 0 => {
                    let challenge = answer.header("www-authenticate").and_then(parse_challenge);
                    self.authenticate(challenge, events)?;
                }
                401 | 403 => return Err(self.oci(self.unauthorized())),
                _ => return Ok(false),
            }
        }
        Err(self.oci(self.unauthorized()))
    }

    /// Sends `body()` with `method` to `url`; the answer must have one of
    /// `want`'s statuses, after one round of authentication when asked.
    pub fn upload(
        &self,
        method: &str,
        url: &Url,
        content_type: &str,
        body: &dyn Fn() -> Result<Upload, ProvisionError>,
        want: &[u16],
        what: &'static str,
    ) -> Result<Answer, ProvisionError> {
        let events: Events<'_> = &|_| {};
        for round in 0..2 {
            let client = self.client();
            let answer = retrying(client.retry(), url, events, || {
                let upload = body().map_err(|_| {
                    crate::download::Failure::Fatal(DownloadError::Network {
                        url: narration_core::public_url(url.as_str()),
                        reason: "the file to upload cannot be read",
                    })
                })?;
                client.upload(method, url, content_type, upload)
            })
            .map_err(|e| e.into_provision(self.model.clone()))?;
            match answer.status() {
                s if want.contains(&s) => return Ok(answer),
                401 if round == 0 => {
                    let challenge = answer.header("www-authenticate").and_then(parse_challenge);
                    self.authenticate(challenge, events)?;
                }
                401 | 403 => return Err(self.oci(self.unauthorized())),
                status => {
                    return Err(self.oci(OciError::Status {
                        registry: self.registry.to_string(),
                        status,
                        what,
                    }));
                }
            }
        }
        Err(self.oci(self.unauthorized()))
    }

    /// A GET answered 2xx, after one round of authentication when the
    /// registry asks for it.
    fn get(
        &self,
        url: &Url,
        accept: Option<&'static str>,
        events: Events<'_>,
        what: &'static str,
    ) -> Result<Answer, ProvisionError> {
        for round in 0..2 {
            let mut client = self.client();
            if let Some(accept) = accept {
                client = client.with_accept(accept);
            }
            let answer = retrying(client.retry(), url, events, || {
                client.request("GET", url, None, Follow::All)
            })
            .map_err(|e| e.into_provision(self.model.clone()))?;
            match answer.status() {
                200..=299 => return Ok(answer),
                401 if round == 0 => {
                    let challenge = answer.header("www-authenticate").and_then(parse_challenge);
                    self.authenticate(challenge, events)?;
                }
                401 | 403 => return Err(self.oci(self.unauthorized())),
                404 => {
                    return Err(self.oci(OciError::NotFound {
                        reference: self.model.clone(),
                    }));
                }
                status => {
                    return Err(self.oci(OciError::Status {
                        registry: self.registry.to_string(),
                        status,
                        what,
                    }));
                }
            }
        }
        Err(self.oci(self.unauthorized()))
    }

    fn unauthorized(&self) -> OciError {
        OciError::Unauthorized {
            registry: self.registry.to_string(),
            repository: self.repository.to_string(),
        }
    }

    /// Answers a challenge: Basic credentials, or a bearer token from the
    /// realm (asked with Basic credentials when there are some).
    fn authenticate(
        &self,
        challenge: Option<Challenge>,
        events: Events<'_>,
    ) -> Result<(), ProvisionError> {
        let credentials = self
            .auth
            .credentials(self.registry)
            .map_err(|e| self.oci(e))?;
        let value = match (challenge, credentials) {
            (Some(Challenge::Basic), Some(c)) => {
                c.basic().ok_or_else(|| self.oci(self.unauthorized()))?
            }
            (
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope,
                }),
                c,
            ) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repository));
                format!(
                    "Bearer {}",
                    self.token(&realm, service.as_deref(), &scope, c.as_ref(), events)?
                )
            }
            _ => return Err(self.oci(self.unauthorized())),
        };
        *self.authorization.borrow_mut() = Some(value);
        Ok(())
    }

    /// `GET realm?service=…&scope=…` → `token` (or `access_token`); with
    /// an identity token, the OAuth2 form instead: `POST realm` with
    /// `grant_type=refresh_token` → `access_token`. The realm is refused
    /// over plain http off loopback: it would see the credentials.
    fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credentials: Option<&Credentials>,
        events: Events<'_>,
    ) -> Result<String, ProvisionError> {
        let fail = |e: DownloadError| e.into_provision(self.model.clone());
        let mut url = parse_url(realm).map_err(fail)?;
        if url.scheme() == "http" && !is_loopback(&url) {
            return Err(fail(DownloadError::InsecureUrl {
                url: narration_core::public_url(realm),
            }));
        }
        let identity = credentials.and_then(Credentials::identity_token);
        if identity.is_none() {
            let mut q = url.query_pairs_mut();
            if let Some(service) = service {
                q.append_pair("service", service);
            }
            q.append_pair("scope", scope);
        }
        let client = Client::new(ClientSettings {
            auth_origin: Some(url.origin()),
            token: None,
            ..self.settings.clone()
        })
        .with_authorization(credentials.and_then(Credentials::basic));
        let answer = match identity {
            None => retrying(client.retry(), &url, events, || {
                client.request("GET", &url, None, Follow::All)
            }),
            Some(refresh) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("client_id", "provision")
                    .append_pair("scope", scope)
                    .append_pair("refresh_token", refresh);
                if let Some(service) = service {
                    form.append_pair("service", service);
                }
                let body = form.finish().into_bytes();
                retrying(client.retry(), &url, events, || {
                    client.upload(
                        "POST",
                        &url,
                        "application/x-www-form-urlencoded",
                        Upload::Bytes(body.clone()),
                    )
                })
            }
        }
        .map_err(fail)?;
        match answer.status() {
            200..=299 => {}
            401 | 403 => return Err(self.oci(self.unauthorized())),
            status => {
                return Err(self.oci(OciError::Status {
                    registry: self.registry.to_string(),
                    status,
                    what: "token",
                }));
            }
        }
        let body = read_bounded(answer, 1 << 20).map_err(fail)?;
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            self.oci(OciError::Status {
                registry: self.registry.to_string(),
                status: 200,
                what: "token (not JSON)",
            })
        })?;
        json.get("token")
            .or_else(|| json.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| self.oci(self.unauthorized()))
    }
}

/// Reads a body of at most `max` bytes; a longer one is an error.
fn read_bounded(answer: Answer, max: u64) -> Result<Vec<u8>, DownloadError> {
    let url = narration_core::public_url(answer.url.as_str());
    let mut bytes = Vec::new();
    answer
        .response
        .into_body()
        .into_reader()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| DownloadError::Network {
            url: url.clone(),
            reason: "the body was cut short",
        })?;
    if bytes.len() as u64 > max {
        return Err(DownloadError::Network {
            url,
            reason: "the body is larger than a manifest may be",
        });
    }
    Ok(bytes)
}
