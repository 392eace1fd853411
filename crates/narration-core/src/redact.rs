//! Secret redaction applied to every string field before it is emitted.
//!
//! Text with no candidate secret is returned borrowed: the common case costs
//! one scan and no allocation.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |pattern: &str, replacement: &'static str| Rule {
        pattern: Regex::new(pattern).expect("redaction pattern compiles"),
        replacement,
    };
    vec![
        // `Authorization: Bearer abc…` and bare `Bearer abc…`.
        rule(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+", "${1} [REDACTED]"),
        // Hugging Face user and org tokens.
        rule(r"\bhf_[A-Za-z0-9]{6,}", "[REDACTED]"),
        // URL userinfo: scheme://user:pass@host → scheme://[REDACTED]@host.
        rule(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@", "${1}[REDACTED]@"),
        // key=value and key: value pairs, in query strings, env dumps and headers.
        rule(
            r"(?i)\b((?:[a-z0-9_-]*(?:api[_-]?key|token|password|passwd|secret|signature|credential|auth)[a-z0-9_-]*)\s*[=:]\s*)([^\s&;,]+)",
            "${1}[REDACTED]",
        ),
    ]
});

/// True when `text` could hold a secret that one of the rules removes.
///
/// This is the fast path: a handful of substring checks on bytes.
fn may_hold_secret(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.contains(&b'@')
        || bytes.contains(&b'=')
        || bytes.contains(&b':')
        || memmem(bytes, b"hf_")
        || memmem_ignore_case(bytes, b"bearer")
}

fn memmem(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn memmem_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Remove secrets from `text`: bearer tokens, `hf_…` tokens, URL userinfo,
/// and the values of `api_key=`, `token=`, `password=`, `secret=` and
/// similar pairs (query parameters included).
///
/// ```
/// use narration_core::redact;
/// assert_eq!(redact("GET https://u:p@host/x?token=abc"), "GET https://[REDACTED]@host/x?token=[REDACTED]");
/// assert!(matches!(redact("Resolving model"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    if !may_hold_secret(text) {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if let Cow::Owned(s) = rule.pattern.replace_all(&out, rule.replacement) {
            out = Cow::Owned(s);
        }
    }
    out
}

/// Redact in place, allocating only when a secret was found.
pub(crate) fn redact_string(s: &mut String) {
    if let Cow::Owned(clean) = redact(s) {
        *s = clean;
    }
}

pub(crate) fn redact_option(s: &mut Option<String>) {
    if let Some(s) = s {
        redact_string(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            redact("Building llama-server with 8 jobs"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn bearer_and_hf_tokens_are_removed() {
        let out = redact("authorization: Bearer hf_abcdefghijklmnop and hf_zzzzzzzzzzzz");
        assert!(!out.contains("abcdefghijklmnop"), "{out}");
        assert!(!out.contains("zzzzzzzzzzzz"), "{out}");
    }

    #[test]
    fn url_userinfo_and_query_secrets_are_removed() {
        let out = redact("https://alice:s3cret@example.com/f?api_key=K1&x=1&access_token=T2");
        assert_eq!(
            out,
            "https://[REDACTED]@example.com/f?api_key=[REDACTED]&x=1&access_token=[REDACTED]"
        );
    }

    #[test]
    fn password_and_secret_pairs_are_removed() {
        let out = redact("password=hunter2 secret: xyz HF_TOKEN=abc");
        assert!(
            !out.contains("hunter2") && !out.contains("xyz") && !out.contains("abc"),
            "{out}"
        );
    }
}
