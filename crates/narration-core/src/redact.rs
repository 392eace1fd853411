//! Secret redaction applied to every string field before it is emitted.
//!
//! Two stages. The fast path asks one Aho-Corasick automaton whether the
//! text holds any keyword a secret could hide behind (`token`, `bearer`,
//! `hf_`, `sig`, …) or a URL with userinfo; text with none is returned
//! borrowed, with no allocation and no regex. Only candidates go through the
//! regex rules, which rewrite the secret values and keep the names.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Words that must appear (ASCII case-insensitively) in any text that one of
/// the [`RULES`] can change, apart from URL userinfo, which is checked on its
/// own. Keep this list a superset of what the rules look for: a rule whose
/// keyword is missing here never runs.
const KEYWORDS: &[&str] = &[
    // Header values: `Authorization: Bearer …`, `Basic …`.
    "bearer",
    "authorization",
    // Token formats recognised by their prefix.
    "hf_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "akia",
    // Names of secret-holding pairs (`name=value`, `name: value`).
    "token",
    "passw",
    "passphrase",
    "secret",
    "signature",
    "credential",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "private_key",
    "private-key",
    "auth",
    "cookie",
    // Short names only matched as whole `name=value` pairs.
    "sig=",
    "key=",
    "pwd=",
    "pass=",
];

static KEYWORD_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(KEYWORDS)
        .expect("the fixed redaction keywords build an automaton")
});

struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

/// Characters a secret value is made of: everything up to a separator that
/// ends a query parameter, a header or a word.
const VALUE: &str = r#"[^\s&;,"'<>]+"#;

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |pattern: &str, replacement: &'static str| Rule {
        pattern: Regex::new(pattern).expect("the fixed redaction patterns compile"),
        replacement,
    };
    vec![
        // `Authorization: Basic dXNlcjpwYXNz`, `Proxy-Authorization = Bearer x`:
        // the whole header value, whatever its scheme.
        rule(
            r#"(?i)\b((?:proxy-)?authorization"?\s*[:=]\s*"?)[^\r\n]+"#,
            "${1}[REDACTED]",
        ),
        // A bare `Bearer abc…` anywhere.
        rule(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+", "${1} [REDACTED]"),
        // Tokens recognised by their shape: Hugging Face, GitHub, AWS key ids.
        rule(
            r"\b(?:hf_[A-Za-z0-9]{6,}|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|AKIA[0-9A-Z]{16})",
            "[REDACTED]",
        ),
        // URL userinfo: scheme://user:pass@host → scheme://[REDACTED]@host.
        rule(
            r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@",
            "${1}[REDACTED]@",
        ),
        // name=value, name: value and "name": "value" pairs whose name says
        // it holds a secret: query strings (`?access_token=`, `X-Amz-Signature=`),
        // env dumps (`HF_TOKEN=`), headers, JSON.
        rule(
            &format!(
                r#"(?i)\b([a-z0-9_.-]*(?:token|passw|passphrase|secret|signature|credential|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth|cookie)[a-z0-9_.-]*"?\s*[=:]\s*"?){VALUE}"#
            ),
            "${1}[REDACTED]",
        ),
        // Short names, only as a whole `name=value` pair: `?sig=…`, `?key=…`.
        rule(
            &format!(r"(?i)(^|[^a-z0-9_.-])((?:sig|key|pwd|pass)=){VALUE}"),
            "${1}${2}[REDACTED]",
        ),
    ]
});

/// True when `text` could hold a secret that one of the rules removes.
///
/// This is the fast path: one automaton scan, plus a byte search for `@`
/// when the text holds a URL. It never allocates.
fn may_hold_secret(text: &str) -> bool {
    KEYWORD_FINDER.is_match(text) || has_url_userinfo(text)
}

fn has_url_userinfo(text: &str) -> bool {
    text.as_bytes().contains(&b'@') && text.contains("://")
}

/// Remove secrets from `text`: `Authorization` header values, bearer
/// tokens, `hf_…` (and GitHub, AWS key id) tokens, URL userinfo, and the
/// values of pairs whose name says they hold a secret (`api_key=`,
/// `access_token=`, `password:`, `X-Amz-Signature=`, `?sig=`, `?key=`,
/// `HF_TOKEN=` …), in query strings, headers, env dumps and JSON alike.
///
/// Text with no candidate secret is returned borrowed, without allocating.
///
/// ```
/// use narration_core::redact;
/// assert_eq!(redact("GET https://u:p@host/x?token=abc"), "GET https://[REDACTED]@host/x?token=[REDACTED]");
/// assert!(matches!(redact("Resolving model reference: file:/m.gguf"), std::borrow::Cow::Borrowed(_)));
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

    fn assert_clean(input: &str, secrets: &[&str]) {
        let out = redact(input);
        for secret in secrets {
            assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        }
        assert!(out.contains(REDACTED), "nothing redacted in {out:?}");
    }

    #[test]
    fn plain_text_is_borrowed() {
        for text in [
            "Building llama-server with 8 jobs",
            "Resolving model reference: file:/m.gguf",
            "hf:org/repo/model-Q4_K_M.gguf",
            "https://huggingface.co/org/repo/resolve/main/f.gguf",
            "engine=llamacpp device=cuda:0 jobs=8",
            "narration-core@0.1.0",
            "",
        ] {
            assert!(
                matches!(redact(text), Cow::Borrowed(_)),
                "{text:?} was copied"
            );
        }
    }

    #[test]
    fn bearer_and_hf_tokens_are_removed() {
        assert_clean(
            "authorization: Bearer hf_abcdefghijklmnop and hf_zzzzzzzzzzzz",
            &["abcdefghijklmnop", "zzzzzzzzzzzz"],
        );
        assert_clean("sent Bearer eyJhbGciOi.J9.x-y_z", &["eyJhbGciOi"]);
    }

    #[test]
    fn authorization_header_values_are_removed_whatever_the_scheme() {
        assert_clean("Authorization: Basic dXNlcjpwYXNz", &["dXNlcjpwYXNz"]);
        assert_clean("Proxy-Authorization: Digest u=\"x\"", &["Digest", "\"x\""]);
        assert_clean(
            r#"{"authorization":"token ghx-opaque-123"}"#,
            &["ghx-opaque-123"],
        );
    }

    #[test]
    fn url_userinfo_and_query_secrets_are_removed() {
        let out = redact("https://alice:s3cret@example.com/f?api_key=K1&x=1&access_token=T2");
        assert_eq!(
            out,
            "https://[REDACTED]@example.com/f?api_key=[REDACTED]&x=1&access_token=[REDACTED]"
        );
        assert_clean(
            "git clone https://oauth2:glpat-XYZ@gitlab.example/r.git",
            &["glpat-XYZ"],
        );
    }

    #[test]
    fn signed_url_parameters_are_removed() {
        let url = "https://cdn.example/f.gguf?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026&X-Amz-Signature=deadbeef01&X-Amz-Security-Token=FwoG&sig=abc123&key=AIzaSy0";
        assert_clean(
            url,
            &[
                "AKIAIOSFODNN7EXAMPLE",
                "deadbeef01",
                "FwoG",
                "abc123",
                "AIzaSy0",
            ],
        );
        // Names stay, so the line still says what was there.
        let out = redact(url);
        assert!(out.contains("X-Amz-Signature=[REDACTED]"), "{out}");
        assert!(out.contains("X-Amz-Algorithm=AWS4"), "{out}");
    }

    #[test]
    fn password_and_secret_pairs_are_removed() {
        assert_clean(
            "password=hunter2 secret: xyz HF_TOKEN=abc client_secret=\"q\" pwd=p1",
            &["hunter2", "xyz", "abc", "\"q\"", "p1"],
        );
        assert_clean(r#"{"api_key": "k-123"}"#, &["k-123"]);
    }

    #[test]
    fn tokens_are_removed_by_shape() {
        assert_clean(
            "ghp_0123456789abcdefghij and AKIAIOSFODNN7EXAMPLE",
            &["0123456789abcdefghij", "IOSFODNN7EXAMPLE"],
        );
    }

    #[test]
    fn short_names_need_a_whole_pair() {
        assert_eq!(redact("monkey=banana"), "monkey=banana");
        assert_eq!(redact("design: the signal"), "design: the signal");
    }
}
