//! Model references: what a caller asks for, parsed and checked before any
//! file or network is touched.
//!
//! Accepted forms:
//!
//! | input | parsed as |
//! |---|---|
//! | `file:/abs/m.gguf`, `/abs/m.gguf`, `rel/m.gguf` | [`ModelRef::File`] (relative to the current dir) |
//! | `hf:org/repo` | [`ModelRef::Hf`], file chosen by the HF fetcher |
//! | `hf:org/repo/path/in/repo.gguf` | [`ModelRef::Hf`] with `path` |
//! | `hf:org/repo@revision/path.gguf` | with `revision` (branch, tag, commit, `refs/pr/N`) |
//! | `hf:org/repo:Q4_K_M` | with `quant`, resolved from the repo listing |
//! | `https://…`, `http://…` | [`ModelRef::Https`] / [`ModelRef::Http`] |
//! | `oci://registry/repo[:tag][@sha256:…]` | [`ModelRef::Oci`] (tag `latest` when neither is given) |

mod error;
pub(crate) mod oci_ref;
mod parse;

use parse::{file_ref, parse_file, parse_hf, parse_url, split_scheme};

pub use error::RefError;

use narration_core::public_url;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A parsed model reference. [`ModelRef::id`] is its stable, normalized
/// name; the catalog is keyed by it.
///
/// ```
/// use model_provisioner::ModelRef;
/// let r = ModelRef::parse("hf:TheOrg/tiny-GGUF@v1.0/models/tiny.Q4_K_M.gguf").unwrap();
/// assert_eq!(r.id(), "hf:TheOrg/tiny-GGUF@v1.0/models/tiny.Q4_K_M.gguf");
/// assert_eq!(r.scheme(), "hf");
/// assert!(ModelRef::parse("hf:org/repo/../etc/passwd").is_err());
/// ```
///
/// A URL ref keeps its credentials (userinfo, signed query parameters) for
/// the fetcher, but never shows them: `id()`, `Display` and `Debug` use
/// [`public_url`].
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelRef {
    /// A local file; the path is absolute and lexically normalized.
    File {
        /// The file.
        path: PathBuf,
    },
    /// A file in a Hugging Face repository.
    Hf {
        /// The owner (user or organization).
        org: String,
        /// The repository name.
        repo: String,
        /// Branch, tag or commit; `None` means the default branch (`main`).
        revision: Option<String>,
        /// Path of the file inside the repo.
        path: Option<String>,
        /// Quantization selector such as `Q4_K_M`, used when `path` is `None`.
        quant: Option<String>,
    },
    /// A file behind an `https://` URL.
    Https {
        /// The URL as given, credentials included (never shown).
        url: String,
    },
    /// A file behind an `http://` URL (the fetcher restricts it to loopback
    /// unless told otherwise).
    Http {
        /// The URL as given, credentials included (never shown).
        url: String,
    },
    /// A model artifact in an OCI registry (see [`crate::oci`]).
    Oci {
        /// `host[:port]`, lower-cased.
        registry: String,
        /// The repository, e.g. `ai/smollm2`.
        repository: String,
        /// The tag; `None` only when `digest` pins the manifest.
        tag: Option<String>,
        /// `sha256:…` of the manifest, when pinned.
        digest: Option<String>,
    },
}

impl ModelRef {
    /// Parse a reference; relative paths resolve against the current dir.
    pub fn parse(input: &str) -> Result<Self, RefError> {
        let cwd = std::env::current_dir().ok();
        Self::parse_in(input, cwd.as_deref())
    }

    /// Parse a reference, resolving relative paths against `base` (an
    /// error for a relative path when `base` is `None`).
    pub fn parse_in(input: &str, base: Option<&Path>) -> Result<Self, RefError> {
        Self::parse_checked(input, base).map_err(RefError::without_secrets)
    }

    fn parse_checked(input: &str, base: Option<&Path>) -> Result<Self, RefError> {
        if input.trim().is_empty() {
            return Err(RefError::Empty);
        }
        if let Some(position) = input.find(|c: char| c.is_control()) {
            return Err(RefError::ControlCharacter {
                input: input.to_string(),
                position,
            });
        }
        match split_scheme(input) {
            Some(("file", rest)) => parse_file(input, rest, base),
            Some(("hf", rest)) => parse_hf(input, rest),
            Some(("https", _)) => parse_url(input, "https").map(|url| Self::Https { url }),
            Some(("http", _)) => parse_url(input, "http").map(|url| Self::Http { url }),
            Some(("oci", rest)) => oci_ref::parse(input, rest),
            Some((scheme, _)) => Err(RefError::UnknownScheme {
                input: input.to_string(),
                scheme: scheme.to_string(),
            }),
            None => file_ref(input, Path::new(input), base),
        }
    }

    /// The stable, normalized name of this reference: the catalog key and
    /// the narration target. Equal refs have equal ids.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// `file`, `hf`, `https`, `http` or `oci`: what picks the fetcher.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::File { .. } => "file",
            Self::Hf { .. } => "hf",
            Self::Https { .. } => "https",
            Self::Http { .. } => "http",
            Self::Oci { .. } => "oci",
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path } => write!(f, "file:{}", path.display()),
            Self::Hf {
                org,
                repo,
                revision,
                path,
                quant,
            } => {
                write!(f, "hf:{org}/{repo}")?;
                if let Some(rev) = revision {
                    write!(f, "@{rev}")?;
                }
                if let Some(p) = path {
                    write!(f, "/{p}")?;
                }
                if let Some(q) = quant {
                    write!(f, ":{q}")?;
                }
                Ok(())
            }
            Self::Https { url } | Self::Http { url } => f.write_str(&public_url(url)),
            Self::Oci {
                registry,
                repository,
                tag,
                digest,
            } => {
                write!(f, "oci://{registry}/{repository}")?;
                if let Some(tag) = tag {
                    write!(f, ":{tag}")?;
                }
                if let Some(digest) = digest {
                    write!(f, "@{digest}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path } => f.debug_struct("File").field("path", path).finish(),
            Self::Hf {
                org,
                repo,
                revision,
                path,
                quant,
            } => f
                .debug_struct("Hf")
                .field("org", org)
                .field("repo", repo)
                .field("revision", revision)
                .field("path", path)
                .field("quant", quant)
                .finish(),
            Self::Https { url } => f
                .debug_struct("Https")
                .field("url", &public_url(url))
                .finish(),
            Self::Http { url } => f
                .debug_struct("Http")
                .field("url", &public_url(url))
                .finish(),
            Self::Oci {
                registry,
                repository,
                tag,
                digest,
            } => f
                .debug_struct("Oci")
                .field("registry", registry)
                .field("repository", repository)
                .field("tag", tag)
                .field("digest", digest)
                .finish(),
        }
    }
}

impl FromStr for ModelRef {
    type Err = RefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(
        org: &str,
        repo: &str,
        rev: Option<&str>,
        path: Option<&str>,
        quant: Option<&str>,
    ) -> ModelRef {
        ModelRef::Hf {
            org: org.into(),
            repo: repo.into(),
            revision: rev.map(Into::into),
            path: path.map(Into::into),
            quant: quant.map(Into::into),
        }
    }

    #[test]
    fn url_credentials_reach_the_fetcher_but_never_the_id() {
        let r = ModelRef::parse("https://Me:PassWord@Example.COM/m.gguf?token=T0K&v=1").unwrap();
        let ModelRef::Https { url } = &r else {
            panic!("not https: {r:?}")
        };
        assert_eq!(url, "https://Me:PassWord@example.com/m.gguf?token=T0K&v=1");
        assert_eq!(r.id(), "https://example.com/m.gguf?token=[REDACTED]&v=1");
        assert!(!format!("{r:?}").contains("PassWord"));
        let err = ModelRef::parse("https://me:PassWord@host").unwrap_err();
        assert!(!err.to_string().contains("PassWord"), "{err}");
    }

    #[test]
    fn parses_every_accepted_form() {
        let base = Path::new("/work");
        let p = |s| ModelRef::parse_in(s, Some(base)).unwrap();
        assert_eq!(
            p("file:/m/a.gguf"),
            ModelRef::File {
                path: "/m/a.gguf".into()
            }
        );
        assert_eq!(
            p("file:///m/a.gguf"),
            ModelRef::File {
                path: "/m/a.gguf".into()
            }
        );
        assert_eq!(
            p("/m//./a.gguf"),
            ModelRef::File {
                path: "/m/a.gguf".into()
            }
        );
        assert_eq!(
            p("models/a.gguf"),
            ModelRef::File {
                path: "/work/models/a.gguf".into()
            }
        );
        assert_eq!(
            p("./a:b.gguf"),
            ModelRef::File {
                path: "/work/a:b.gguf".into()
            }
        );
        assert_eq!(p("hf:org/repo"), hf("org", "repo", None, None, None));
        assert_eq!(
            p("hf:org/repo/dir/f.gguf"),
            hf("org", "repo", None, Some("dir/f.gguf"), None)
        );
        assert_eq!(
            p("hf:org/repo@v2/f.gguf"),
            hf("org", "repo", Some("v2"), Some("f.gguf"), None)
        );
        assert_eq!(
            p("hf:org/repo:Q4_K_M"),
            hf("org", "repo", None, None, Some("Q4_K_M"))
        );
        assert_eq!(
            p("hf:org/repo@main:Q8_0"),
            hf("org", "repo", Some("main"), None, Some("Q8_0"))
        );
        assert_eq!(
            p("hf:org/repo@refs/pr/12/f.gguf"),
            hf("org", "repo", Some("refs/pr/12"), Some("f.gguf"), None)
        );
        assert_eq!(
            p("https://Example.COM/x/m.gguf?v=1#frag"),
            ModelRef::Https {
                url: "https://example.com/x/m.gguf?v=1".into()
            }
        );
        assert_eq!(
            p("http://127.0.0.1:8080/m.gguf"),
            ModelRef::Http {
                url: "http://127.0.0.1:8080/m.gguf".into()
            }
        );
    }

    #[test]
    fn id_is_stable_and_reparses_to_the_same_ref() {
        for s in [
            "file:/m/a.gguf",
            "hf:org/repo",
            "hf:org/repo/dir/f.gguf",
            "hf:org/repo@v2/f.gguf",
            "hf:org/repo@refs/pr/3/f.gguf",
            "hf:org/repo:Q4_K_M",
            "https://example.com/m.gguf",
        ] {
            let r = ModelRef::parse(s).unwrap();
            assert_eq!(r.id(), s);
            assert_eq!(ModelRef::parse(&r.id()).unwrap(), r);
        }
        let a = ModelRef::parse_in("a.gguf", Some(Path::new("/w"))).unwrap();
        let b = ModelRef::parse("file:/w/./a.gguf").unwrap();
        assert_eq!(a.id(), b.id());
    }

    #[test]
    fn refuses_bad_refs_with_a_typed_error_naming_the_input() {
        type Check = fn(&RefError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, RefError::Empty)),
            (
                "s3://bucket/m.gguf",
                |e| matches!(e, RefError::UnknownScheme { scheme, .. } if scheme == "s3"),
            ),
            ("hf:org", |e| {
                matches!(e, RefError::EmptyPart { part: "repo", .. })
            }),
            ("hf:/repo", |e| {
                matches!(e, RefError::EmptyPart { part: "org", .. })
            }),
            ("hf:org/", |e| {
                matches!(e, RefError::EmptyPart { part: "repo", .. })
            }),
            ("hf:org/repo/", |e| matches!(e, RefError::EmptyPart { .. })),
            ("hf:org/repo/a//b", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "path segment",
                        ..
                    }
                )
            }),
            ("hf:org/repo/../x", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("hf:org/repo/a/./x", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("hf:org/repo//etc/passwd", |e| {
                matches!(e, RefError::AbsolutePath { .. })
            }),
            ("hf:org/repo/a\\b", |e| {
                matches!(e, RefError::AbsolutePath { .. })
            }),
            ("hf:org/repo@/f", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "revision",
                        ..
                    }
                )
            }),
            ("hf:org/repo@-x/f", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/repo@a..b/f", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/repo@a@b", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/repo@refs/pr/", |e| {
                matches!(e, RefError::BadRevision { .. })
            }),
            ("hf:org/re po", |e| {
                matches!(e, RefError::BadName { part: "repo", .. })
            }),
            ("hf:-org/repo", |e| {
                matches!(e, RefError::BadName { part: "org", .. })
            }),
            ("hf:org/repo:", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "quantization",
                        ..
                    }
                )
            }),
            ("hf:org/repo:Q4 K", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "quantization",
                        ..
                    }
                )
            }),
            ("hf:org/re\u{7}po", |e| {
                matches!(e, RefError::ControlCharacter { .. })
            }),
            ("/m/a\n.gguf", |e| {
                matches!(e, RefError::ControlCharacter { .. })
            }),
            ("https:example.com/m", |e| {
                matches!(e, RefError::BadUrl { .. })
            }),
            ("https:///m.gguf", |e| matches!(e, RefError::BadUrl { .. })),
            ("https://host", |e| matches!(e, RefError::BadUrl { .. })),
            ("file:", |e| matches!(e, RefError::EmptyPart { .. })),
        ];
        for (input, check) in cases {
            let err = ModelRef::parse(input).expect_err(input);
            assert!(check(&err), "{input:?} gave {err:?}");
            assert_eq!(err.input(), *input);
            if !input.is_empty() {
                assert!(err.to_string().contains(&format!("{input:?}")), "{err}");
            }
        }
    }

    /// A fuzz find: a host with `*` and `=` was accepted, and its id,
    /// redacted as `pwd=[REDACTED]`, parsed back to no URL.
    #[test]
    fn a_host_that_is_no_dns_name_is_refused() {
        for input in ["https://examp5eh.mo*PWD=//exa", "https://a*b/m.gguf"] {
            let err = ModelRef::parse(input).expect_err(input);
            assert!(matches!(err, RefError::BadUrl { .. }), "{err:?}");
        }
        for good in [
            "https://cdn-1.example_x.org/m.gguf",
            "http://127.0.0.1:8/m",
            "http://[::1]/m",
        ] {
            let parsed = ModelRef::parse(good).expect(good);
            assert_eq!(ModelRef::parse(&parsed.id()).unwrap(), parsed, "{good}");
        }
    }

    #[test]
    fn relative_path_without_a_base_is_an_error() {
        assert!(matches!(
            ModelRef::parse_in("a.gguf", None),
            Err(RefError::NoCurrentDir { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = ModelRef::parse_in(&s, Some(Path::new("/b")));
        }

        #[test]
        fn hf_paths_never_escape_the_repo(s in "[a-z./]{1,24}") {
            if let Ok(ModelRef::Hf { path: Some(p), .. }) = ModelRef::parse(&format!("hf:o/r/{s}")) {
                proptest::prop_assert!(!p.starts_with('/'));
                proptest::prop_assert!(p.split('/').all(|seg| seg != ".." && seg != "." && !seg.is_empty()));
            }
        }
    }
}
