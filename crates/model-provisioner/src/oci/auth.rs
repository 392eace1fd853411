//! Registry credentials and challenges: the Docker config (read from a
//! path the caller passes, so tests and orchestrators choose it): its
//! credential helpers (`credHelpers` for the registry, else `credsStore`;
//! see [`cred_helper`](super::cred_helper)) and its `auths`; and the
//! `WWW-Authenticate` challenge a registry answers 401 with. Credentials
//! are never formatted: their `Debug` shows the user only.

use super::cred_helper::{self, Stored};
use crate::oci_error::OciError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::path::{Path, PathBuf};

/// Where registry credentials come from.
///
/// ```
/// use model_provisioner::oci::RegistryAuth;
/// let auth = RegistryAuth::from_lookup(|k| (k == "REGISTRY_AUTH_FILE").then(|| "/run/auth.json".into()));
/// assert_eq!(auth.file(), Some(std::path::Path::new("/run/auth.json")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryAuth {
    file: Option<PathBuf>,
    /// Where credential helpers are looked for (`PATH`); `None`: this
    /// process's.
    helper_path: Option<std::ffi::OsString>,
}

impl RegistryAuth {
    /// Anonymous only.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Credentials from this Docker config file (`{"auths": {…}}`).
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self {
            file: Some(path.into()),
            helper_path: None,
        }
    }

    /// The same, with credential helpers (`docker-credential-<name>`)
    /// looked for in `path` (a `PATH` value) instead of this process's.
    pub fn with_helper_path(self, path: impl Into<std::ffi::OsString>) -> Self {
        Self {
            helper_path: Some(path.into()),
            ..self
        }
    }

    /// `REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub fn from_env() -> Self {
        Self::from_lookup(crate::locations::env_var)
    }

    /// [`from_env`](Self::from_env) with variables from `var`.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |k: &str| var(k).filter(|v| !v.is_empty());
        let file = set("REGISTRY_AUTH_FILE")
            .map(PathBuf::from)
            .or_else(|| set("DOCKER_CONFIG").map(|d| Path::new(&d).join("config.json")))
            .or_else(|| set("HOME").map(|h| Path::new(&h).join(".docker/config.json")));
        Self {
            file,
            helper_path: set("PATH").map(Into::into),
        }
    }

    /// The credentials file, when one is configured.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The credentials for `registry`: from its credential helper when
    /// the file names one (`credHelpers.<registry>`, else `credsStore`),
    /// else (or when the helper holds none) from `auths`. A missing file
    /// means anonymous; a file that does not parse is an error naming the
    /// file (never its content), and so is a helper that cannot answer.
    pub(crate) fn credentials(&self, registry: &str) -> Result<Option<Credentials>, OciError> {
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let bad = |reason: &str| OciError::AuthConfig {
            path: path.clone(),
            reason: reason.to_string(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(&format!("cannot be read ({})", e.kind()))),
        };
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| bad("is not JSON"))?;
        if let Some(helper) = helper_for(&config, registry)
            && let Some(stored) = cred_helper::get(helper, registry, self.helper_path.as_deref())?
        {
            return Ok(Some(Credentials(stored)));
        }
        let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
            return Ok(None);
        };
        let Some(entry) = auths
            .iter()
            .find(|(key, _)| same_registry(&auth_key_host(key), registry))
            .map(|(_, v)| v)
        else {
            return Ok(None);
        };
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
            let decoded = STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    bad(&format!(
                        "auths entry for {registry} is not base64 user:password"
                    ))
                })?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| bad(&format!("auths entry for {registry} is not user:password")))?;
            return Ok(Some(Credentials::new(user, password)));
        }
        let field = |k: &str| entry.get(k).and_then(|v| v.as_str());
        Ok(match (field("username"), field("password")) {
            (Some(u), Some(p)) => Some(Credentials::new(u, p)),
            _ => None,
        })
    }
}

/// The helper the config names for `registry`: its `credHelpers` entry,
/// else `credsStore`.
fn helper_for<'a>(config: &'a serde_json::Value, registry: &str) -> Option<&'a str> {
    let own = config
        .get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|helpers| {
            helpers
                .iter()
                .find(|(key, _)| same_registry(&auth_key_host(key), registry))
                .and_then(|(_, v)| v.as_str())
        });
    own.or_else(|| config.get("credsStore").and_then(|s| s.as_str()))
        .filter(|name| !name.is_empty())
}

/// The host of an `auths` key (`https://index.docker.io/v1/` → `index.docker.io`).
fn auth_key_host(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key).to_ascii_lowercase()
}

fn same_registry(a: &str, b: &str) -> bool {
    let docker = |h: &str| matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io");
    a.eq_ignore_ascii_case(b) || (docker(a) && docker(b))
}

/// A user and password, or an identity token from a credential helper.
#[derive(Clone)]
pub(crate) struct Credentials(Stored);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?})", self.0)
    }
}

impl Credentials {
    pub fn new(user: &str, password: &str) -> Self {
        Self(Stored::Password {
            user: user.to_string(),
            secret: password.to_string(),
        })
    }

    /// `Basic base64(user:password)`; `None` for an identity token, which
    /// only the token realm takes.
    pub fn basic(&self) -> Option<String> {
        match &self.0 {
            Stored::Password { user, secret } => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{user}:{secret}"))
            )),
            Stored::IdentityToken(_) => None,
        }
    }

    /// The identity (refresh) token, when that is what these are.
    pub fn identity_token(&self) -> Option<&str> {
        match &self.0 {
            Stored::IdentityToken(token) => Some(token),
            Stored::Password { .. } => None,
        }
    }
}

/// What a 401's `WWW-Authenticate` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// Send Basic credentials with every request.
    Basic,
    /// Get a token from `realm` (with `service` and `scope`), send it as
    /// `Bearer`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`
/// (quoted values may hold commas).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(params);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        });
    }
    None
}

fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_commas_inside_quotes() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="r""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn credentials_come_from_the_named_file_and_never_show() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        let auth = STANDARD.encode("alice:s3cr3t-pw");
        std::fs::write(
            &file,
            format!(r#"{{"auths":{{"https://127.0.0.1:5000/v2/":{{"auth":"{auth}"}},"https://index.docker.io/v1/":{{"username":"bob","password":"pw2"}}}}}}"#),
        )
        .unwrap();
        let a = RegistryAuth::from_file(&file);
        let c = a.credentials("127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(c.basic(), Some(format!("Basic {auth}")));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(a.credentials("docker.io").unwrap().is_some());
        assert!(a.credentials("ghcr.io").unwrap().is_none());
        assert!(
            RegistryAuth::from_file(dir.path().join("none"))
                .credentials("x")
                .unwrap()
                .is_none()
        );
        std::fs::write(&file, "s3cr3t-pw not json").unwrap();
        let err = a.credentials("x").unwrap_err();
        assert_eq!(err.kind(), "auth-config");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
