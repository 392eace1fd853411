//! The `oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]` grammar, checked
//! strictly before any request: the repository becomes a directory of the
//! local layout and a path of the distribution API, so traversal, empty
//! parts and names a registry would refuse are refused here, by name.
//! It lives under `model_ref`, which parses every scheme, rather than
//! under `oci`, which pulls: parsing a reference needs no registry client.

use crate::model_ref::{ModelRef, RefError};

/// The tag a reference without one (and without a digest) means.
pub const DEFAULT_TAG: &str = "latest";

const MAX_REPOSITORY: usize = 255;
const MAX_TAG: usize = 128;
const MAX_HOST: usize = 253;

/// Parses what follows `oci:` in `input`.
pub(crate) fn parse(input: &str, rest: &str) -> Result<ModelRef, RefError> {
    let bad_url = |reason| RefError::BadUrl {
        input: input.to_string(),
        reason,
    };
    let empty = |part| RefError::EmptyPart {
        input: input.to_string(),
        part,
    };
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| bad_url("an oci reference needs '//' after 'oci:'"))?;
    let (registry, name) = rest.split_once('/').ok_or_else(|| empty("repository"))?;
    let registry = check_registry(input, registry)?;
    let (name, digest) = match name.rsplit_once('@') {
        Some((name, digest)) => (name, Some(check_digest(input, digest)?)),
        None => (name, None),
    };
    let (repository, tag) = match name.rsplit_once(':') {
        Some((repository, tag)) => (repository, Some(check_tag(input, tag)?)),
        None => (name, None),
    };
    check_repository(input, repository)?;
    let tag = match (tag, &digest) {
        (None, None) => Some(DEFAULT_TAG.to_string()),
        (tag, _) => tag,
    };
    Ok(ModelRef::Oci {
        registry,
        repository: repository.to_string(),
        tag,
        digest,
    })
}

fn bad_name(input: &str, part: &'static str, value: &str, reason: &'static str) -> RefError {
    RefError::BadName {
        input: input.to_string(),
        part,
        value: value.to_string(),
        reason,
    }
}

/// `host[:port]`, lower-cased; no credentials (they belong in the Docker
/// config, where they are never shown).
fn check_registry(input: &str, registry: &str) -> Result<String, RefError> {
    let bad = |reason| Err(bad_name(input, "registry", registry, reason));
    if registry.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "registry",
        });
    }
    if let Some((_, host)) = registry.rsplit_once('@') {
        // Name only what follows the credentials: they are never shown.
        return Err(bad_name(
            input,
            "registry",
            host,
            "credentials do not belong in the reference: put them in the Docker config",
        ));
    }
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    if let Some(port) = port
        && (port.is_empty()
            || port.len() > 5
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return bad("the port must be a number from 0 to 65535");
    }
    if host.is_empty() || host.len() > MAX_HOST {
        return bad("the host must be 1 to 253 characters");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !host.split('.').all(label_ok) {
        return bad("a host is dot-separated labels of letters, digits and '-'");
    }
    Ok(registry.to_ascii_lowercase())
}

/// Path components of lower-case letters and digits joined by `.`, `_`,
/// `__` or dashes (the distribution spec's grammar), so no `..`, no empty
/// segment and nothing a file system would read specially.
fn check_repository(input: &str, repository: &str) -> Result<(), RefError> {
    if repository.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "repository",
        });
    }
    if repository.len() > MAX_REPOSITORY {
        return Err(bad_name(
            input,
            "repository",
            repository,
            "longer than 255 characters",
        ));
    }
    for segment in repository.split('/') {
        match segment {
            "" => {
                return Err(RefError::EmptyPart {
                    input: input.to_string(),
                    part: "repository path segment",
                });
            }
            "." | ".." => {
                return Err(RefError::Traversal {
                    input: input.to_string(),
                    segment: segment.to_string(),
                });
            }
            _ if !component_ok(segment) => {
                return Err(bad_name(
                    input,
                    "repository",
                    repository,
                    "use lower-case letters and digits, separated by '.', '_', '__' or '-'",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn component_ok(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().copied().is_some_and(alnum) || !bytes.last().copied().is_some_and(alnum) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: '.', '_', '__' or one or more '-'.
        let run = bytes[i..].iter().take_while(|b| !alnum(**b)).count();
        let sep = &segment[i..i + run];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
        i += run;
    }
    true
}

fn check_tag(input: &str, tag: &str) -> Result<String, RefError> {
    if tag.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "tag",
        });
    }
    let first_ok = tag
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = tag
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if tag.len() > MAX_TAG || !first_ok || !rest_ok {
        return Err(bad_name(
            input,
            "tag",
            tag,
            "1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
        ));
    }
    Ok(tag.to_string())
}

/// `sha256:` and 64 lower-case hex digits: the only digest a manifest is
/// pinned by here.
fn check_digest(input: &str, digest: &str) -> Result<String, RefError> {
    let bad = |reason| RefError::BadDigest {
        input: input.to_string(),
        digest: digest.to_string(),
        reason,
    };
    if digest.is_empty() {
        return Err(RefError::EmptyPart {
            input: input.to_string(),
            part: "digest",
        });
    }
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return Err(bad("only sha256:… digests are accepted"));
    };
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad("a sha256 digest is 64 lower-case hex digits"));
    }
    Ok(digest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oci(registry: &str, repository: &str, tag: Option<&str>, digest: Option<&str>) -> ModelRef {
        ModelRef::Oci {
            registry: registry.into(),
            repository: repository.into(),
            tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    const D: &str = "sha256:13d1380e1f0c6a7a3a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef";

    #[test]
    fn parses_tags_digests_and_the_default_tag() {
        let p = |s: &str| ModelRef::parse(s).unwrap();
        assert_eq!(
            p("oci://Registry.Example.com:5000/ai/tiny"),
            oci("registry.example.com:5000", "ai/tiny", Some("latest"), None)
        );
        assert_eq!(
            p("oci://ghcr.io/org/sub/model:Q4_K_M"),
            oci("ghcr.io", "org/sub/model", Some("Q4_K_M"), None)
        );
        assert_eq!(
            p(&format!("oci://localhost/a@{D}")),
            oci("localhost", "a", None, Some(D))
        );
        assert_eq!(
            p(&format!("oci://127.0.0.1:5000/a__b.c-d:v1@{D}")),
            oci("127.0.0.1:5000", "a__b.c-d", Some("v1"), Some(D))
        );
        for s in [
            "oci://registry.example.com:5000/ai/tiny:latest",
            "oci://ghcr.io/org/model:v1.0",
            &format!("oci://localhost/a@{D}"),
            &format!("oci://localhost/a:t@{D}"),
        ] {
            let r = p(s);
            assert_eq!(r.id(), s);
            assert_eq!(p(&r.id()), r);
            assert_eq!(r.scheme(), "oci");
        }
    }

    #[test]
    fn refuses_hostile_references_naming_them() {
        type Check = fn(&RefError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("oci:reg/a", |e| matches!(e, RefError::BadUrl { .. })),
            ("oci://", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "repository",
                        ..
                    }
                )
            }),
            ("oci://reg", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "repository",
                        ..
                    }
                )
            }),
            ("oci:///a", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "registry",
                        ..
                    }
                )
            }),
            ("oci://reg/", |e| {
                matches!(
                    e,
                    RefError::EmptyPart {
                        part: "repository",
                        ..
                    }
                )
            }),
            ("oci://reg/a/../b", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("oci://reg/../../etc", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("oci://reg/a/./b", |e| {
                matches!(e, RefError::Traversal { .. })
            }),
            ("oci://reg/a//b", |e| {
                matches!(e, RefError::EmptyPart { .. })
            }),
            ("oci://reg/A", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "repository",
                        ..
                    }
                )
            }),
            ("oci://reg/a\\b", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "repository",
                        ..
                    }
                )
            }),
            ("oci://reg/-a", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "repository",
                        ..
                    }
                )
            }),
            ("oci://reg/a:", |e| {
                matches!(e, RefError::EmptyPart { part: "tag", .. })
            }),
            ("oci://reg/a:.x", |e| {
                matches!(e, RefError::BadName { part: "tag", .. })
            }),
            ("oci://reg/a:x/y", |e| {
                matches!(e, RefError::BadName { part: "tag", .. })
            }),
            ("oci://reg/a@", |e| {
                matches!(e, RefError::EmptyPart { part: "digest", .. })
            }),
            ("oci://reg/a@md5:00", |e| {
                matches!(e, RefError::BadDigest { .. })
            }),
            ("oci://reg/a@sha256:abc", |e| {
                matches!(e, RefError::BadDigest { .. })
            }),
            (
                "oci://reg/a@sha256:ZZ3d1380e1f0c6a7a3a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef",
                |e| matches!(e, RefError::BadDigest { .. }),
            ),
            ("oci://user:pw@reg/a", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "registry",
                        ..
                    }
                )
            }),
            ("oci://reg:99999/a", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "registry",
                        ..
                    }
                )
            }),
            ("oci://re_g/a", |e| {
                matches!(
                    e,
                    RefError::BadName {
                        part: "registry",
                        ..
                    }
                )
            }),
            ("oci://reg/a\u{1b}[2J", |e| {
                matches!(e, RefError::ControlCharacter { .. })
            }),
            ("oci://reg/a b", |e| matches!(e, RefError::BadName { .. })),
        ];
        for (input, check) in cases {
            let err = ModelRef::parse(input).expect_err(input);
            assert!(check(&err), "{input:?} gave {err:?}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn repositories_never_escape_the_layout(s in "[a-z./_-]{1,24}") {
            if let Ok(ModelRef::Oci { repository, .. }) = ModelRef::parse(&format!("oci://r/{s}")) {
                proptest::prop_assert!(repository.split('/').all(|seg| seg != ".." && seg != "." && !seg.is_empty()));
            }
        }
    }
}
