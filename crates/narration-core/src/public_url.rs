//! The public form of a URL: what may be shown, logged, stored and used as
//! a key. The one place the project turns a URL that may carry secrets
//! into one that does not.

use crate::redact::{REDACTED, is_secret_name, redact};

/// `url` without its userinfo (`user:password@`) and with the value of
/// every query parameter whose name says it is a secret (`token`,
/// `X-Amz-Signature`, `sig`, `key`, …) replaced by `[REDACTED]`. A URL
/// with nothing to take out is returned exactly as written.
/// Text that does not parse as an absolute URL is redacted as free text.
///
/// ```
/// use narration_core::public_url;
/// assert_eq!(
///     public_url("https://alice:s3cret@example.com/m.gguf?X-Amz-Signature=abc&v=2"),
///     "https://example.com/m.gguf?X-Amz-Signature=[REDACTED]&v=2"
/// );
/// assert_eq!(public_url("https://example.com/m.gguf"), "https://example.com/m.gguf");
/// ```
pub fn public_url(url: &str) -> String {
    // Only text with an authority can carry userinfo; anything else (a
    // path, `https:host` typed by mistake) is shown as written, redacted.
    if !url.contains("://") {
        return redact(url).into_owned();
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        return redact(url).into_owned();
    };
    if parsed.cannot_be_a_base() {
        return redact(url).into_owned();
    }
    let has_userinfo = !parsed.username().is_empty() || parsed.password().is_some();
    let public_query = parsed.query().map(public_query);
    if !has_userinfo && public_query.as_deref() == parsed.query() {
        // Nothing to take out: keep the text exactly as written.
        return redact(url).into_owned();
    }
    // Both only fail for URLs that cannot have credentials.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    if public_query.is_some() {
        parsed.set_query(public_query.as_deref());
    }
    // The rest goes through the text redaction too, as a URL without
    // userinfo does: the public form of a public form is itself.
    redact(parsed.as_str()).into_owned()
}

/// The query with the values of secret-named parameters replaced.
fn public_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if secret_param(name) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A query parameter name that says its value is a secret, percent-decoded
/// first so that `%74oken` is `token`.
fn secret_param(name: &str) -> bool {
    let decoded: Vec<u8> = percent_decode(name.as_bytes());
    is_secret_name(&decoded, true)
        || ["sig", "key", "session"]
            .iter()
            .any(|short| contains_ignore_case(&decoded, short.as_bytes()))
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn userinfo_is_dropped_and_secret_parameters_are_redacted() {
        assert_eq!(
            public_url("https://oauth2:glpat-XYZ@gitlab.example/r.git"),
            "https://gitlab.example/r.git"
        );
        assert_eq!(
            public_url("https://u@h/x?token=abc&v=1&%74oken=z&X-Amz-Credential=AKIA&Sig=1"),
            "https://h/x?token=[REDACTED]&v=1&%74oken=[REDACTED]&X-Amz-Credential=[REDACTED]&Sig=[REDACTED]"
        );
        assert_eq!(
            public_url("http://127.0.0.1:8080/a/b.gguf"),
            "http://127.0.0.1:8080/a/b.gguf"
        );
    }

    #[test]
    fn the_public_form_of_a_public_form_is_itself() {
        // Found by the model_ref fuzz target: userinfo, and a path that
        // reads like a URL with credentials.
        let once = public_url("https://m@0.0.0.2/m.gutps://m@f");
        assert_eq!(once, "https://0.0.0.2/m.gutps://[REDACTED]@f");
        assert_eq!(public_url(&once), once);
    }

    #[test]
    fn text_that_is_not_a_url_is_redacted_as_text() {
        assert_eq!(public_url("/models/m.gguf"), "/models/m.gguf");
        assert_eq!(
            public_url("not a url token=abc"),
            "not a url token=[REDACTED]"
        );
    }
}
