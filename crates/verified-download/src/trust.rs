//! Which certificate authorities a TLS server must chain to.
//!
//! By default the client trusts Mozilla's roots, built in. A fleet behind
//! a TLS-intercepting proxy, or fetching from a mirror with an internal
//! CA, names a PEM bundle instead: [`CaBundle`], read once (when the
//! program builds its settings) so that a bad file is an error up front,
//! not on the first download.
//!
//! The bundle **replaces** the built-in roots, as curl's `--cacert`,
//! OpenSSL's `SSL_CERT_FILE` and Python `requests`' `REQUESTS_CA_BUNDLE`
//! do: an operator who sets one of those variables gets here what every
//! other tool on the host gets. A bundle that should keep the public CAs
//! is the system bundle with the internal CA added (what
//! `update-ca-certificates` writes to `/etc/ssl/certs/ca-certificates.crt`).

use crate::DownloadError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The variables naming a CA bundle, in the order they are read: the
/// OpenSSL one curl also reads, then Python `requests`' (which the
/// reference Hugging Face client honours), then curl's own.
pub const CA_BUNDLE_VARS: [&str; 3] = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"];

/// The certificates of a PEM bundle, trusted instead of the built-in
/// roots. Cheap to clone (the certificates are shared).
#[derive(Clone)]
pub struct CaBundle {
    path: PathBuf,
    certs: Arc<Vec<Certificate<'static>>>,
}

impl CaBundle {
    /// Reads the PEM certificates in `path`. A file that cannot be read,
    /// is not PEM, or holds no certificate is
    /// [`DownloadError::CaBundle`] naming it.
    pub fn read(path: impl Into<PathBuf>) -> Result<Self, DownloadError> {
        let path = path.into();
        let bad = |reason: String| DownloadError::CaBundle {
            path: path.clone(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|e| bad(format!("cannot read it ({e})")))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&bytes) {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                Ok(_) => {}
                Err(_) => return Err(bad("it is not a valid PEM file".into())),
            }
        }
        if certs.is_empty() {
            return Err(bad("it holds no PEM certificate".into()));
        }
        Ok(Self {
            path,
            certs: Arc::new(certs),
        })
    }

    /// The bundle `path` names when set, else none.
    pub fn read_optional(path: Option<&Path>) -> Result<Option<Self>, DownloadError> {
        path.map(Self::read).transpose()
    }

    /// The file named by the first set of [`CA_BUNDLE_VARS`] looked up
    /// through `var` (empty values count as unset), as a path.
    pub fn path_from_lookup(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
        CA_BUNDLE_VARS
            .iter()
            .filter_map(|name| var(name))
            .find(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    }

    /// Where the bundle was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Always false: a bundle holds at least one certificate.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The TLS configuration trusting these certificates only.
    pub(crate) fn tls_config(&self) -> TlsConfig {
        TlsConfig::builder()
            .root_certs(RootCerts::Specific(self.certs.clone()))
            .build()
    }
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CaBundle({}, {} certificates)",
            self.path.display(),
            self.len()
        )
    }
}

impl fmt::Display for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} certificates)", self.path.display(), self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_set_variable_names_the_bundle() {
        let path = CaBundle::path_from_lookup(|k| match k {
            "SSL_CERT_FILE" => Some(" ".into()),
            "REQUESTS_CA_BUNDLE" => Some("/etc/corp.pem".into()),
            "CURL_CA_BUNDLE" => Some("/etc/other.pem".into()),
            _ => None,
        });
        assert_eq!(path.as_deref(), Some(Path::new("/etc/corp.pem")));
        assert_eq!(CaBundle::path_from_lookup(|_| None), None);
    }

    #[test]
    fn a_file_without_certificates_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = CaBundle::read(&path).unwrap_err();
        assert_eq!(err.kind(), "ca-bundle");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("SSL_CERT_FILE"), "{text}");
        let missing = CaBundle::read(dir.path().join("absent.pem")).unwrap_err();
        assert!(missing.to_string().contains("absent.pem"), "{missing}");
    }
}
