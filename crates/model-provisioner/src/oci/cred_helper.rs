//! Docker credential helpers (`credsStore`, `credHelpers` in the Docker
//! config): `docker-credential-<name> get` with the registry on stdin,
//! answering `{"ServerURL","Username","Secret"}`. Fleets keep registry
//! secrets in a keychain, `pass`, or a cloud helper (`ecr-login`, `gcr`)
//! rather than in `config.json`, so without this their registries read
//! as anonymous. The helper's output is never shown: it holds the secret.

use crate::oci_error::OciError;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a helper may take (a keychain prompt, a cloud token call).
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

/// The username a helper answers for an identity (refresh) token.
const IDENTITY_TOKEN_USER: &str = "<token>";

/// What a helper holds for a registry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    /// A user and password (or access token) for Basic or the token realm.
    Password { user: String, secret: String },
    /// An identity token: exchanged at the token realm for an access token
    /// (OAuth2 `refresh_token` grant), never sent to the registry.
    IdentityToken(String),
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { user, .. } => write!(f, "Password {{ user: {user:?}, .. }}"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(..)"),
        }
    }
}

/// The name a helper is asked about: the host, except Docker Hub's
/// historical key, which is what helpers store Docker Hub logins under.
pub(crate) fn server_url(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".to_string()
        }
        host => host.to_string(),
    }
}

/// Runs `docker-credential-<name> get` for `registry`, found in `path`
/// (a `PATH` value; `None`: this process's). `Ok(None)` when the helper
/// holds nothing for it; a helper that is missing, fails, hangs or
/// answers something else is an error naming the helper (never its
/// output).
pub(crate) fn get(
    name: &str,
    registry: &str,
    path: Option<&std::ffi::OsStr>,
) -> Result<Option<Stored>, OciError> {
    let program = format!("docker-credential-{name}");
    let fail = |reason: String| OciError::CredentialHelper {
        helper: program.clone(),
        registry: registry.to_string(),
        reason,
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(fail("the helper name is not a plain name".to_string()));
    }
    let mut command = Command::new(&program);
    if let Some(path) = path {
        // Unix looks the program up in the child's PATH when one is set.
        command.env("PATH", path);
    }
    let mut child = command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(format!(
                "{program} is not on PATH; install it, or remove the helper from the Docker config"
            )),
            kind => fail(format!("cannot be started ({kind})")),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its answer.
        let _ = stdin.write_all(server_url(registry).as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < HELPER_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "no answer within {} s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(fail(format!("cannot be waited for ({})", e.kind()))),
        }
    };
    let mut out = Vec::new();
    if let Some(pipe) = child.stdout.take() {
        let _ = pipe.take(1 << 20).read_to_end(&mut out);
    }
    if !status.success() {
        // The protocol's "no credentials" answer; anything else is a failure.
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!(
            "`get` failed ({status}); its output is not shown"
        )));
    }
    parse(&out).map(Some).ok_or_else(|| {
        fail("`get` answered something other than {\"Username\",\"Secret\"} JSON".to_string())
    })
}

/// The helper's answer: `{"Username": …, "Secret": …}`.
fn parse(out: &[u8]) -> Option<Stored> {
    let json: serde_json::Value = serde_json::from_slice(out).ok()?;
    let user = json.get("Username")?.as_str()?;
    let secret = json.get("Secret")?.as_str()?;
    if secret.is_empty() {
        return None;
    }
    Some(if user == IDENTITY_TOKEN_USER {
        Stored::IdentityToken(secret.to_string())
    } else {
        Stored::Password {
            user: user.to_string(),
            secret: secret.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_into_a_password_or_an_identity_token_that_never_shows() {
        let p = parse(br#"{"ServerURL":"r","Username":"ci","Secret":"pw-S3CRET"}"#).unwrap();
        assert_eq!(
            p,
            Stored::Password {
                user: "ci".into(),
                secret: "pw-S3CRET".into()
            }
        );
        let t = parse(br#"{"Username":"<token>","Secret":"rt-S3CRET"}"#).unwrap();
        assert_eq!(t, Stored::IdentityToken("rt-S3CRET".into()));
        for s in [&p, &t] {
            assert!(!format!("{s:?}").contains("S3CRET"));
        }
        assert_eq!(parse(b"not json"), None);
        assert_eq!(parse(br#"{"Username":"u","Secret":""}"#), None);
        assert_eq!(server_url("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(server_url("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn a_missing_helper_is_an_error_naming_it() {
        let err = get("provision-test-absent-helper", "ghcr.io", None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("docker-credential-provision-test-absent-helper")
                && text.contains("PATH"),
            "{text}"
        );
        assert_eq!(err.kind(), "credential-helper");
        assert!(get("../evil", "ghcr.io", None).is_err());
    }
}
