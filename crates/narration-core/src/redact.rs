//! Secret redaction applied to every string field on its way into the
//! narration event.
//!
//! Two stages. The fast path scans eight bytes at a time for the few bytes a secret
//! needs nearby (`=`, `:`, `@`, `_`, `b`/`B` for
//! `bearer`, `A` for `AKIA…`) and looks around each for the pattern a rule
//! needs (a secret-looking name before `=`/`:`, `hf_`, `://…@`, …). Text with
//! none is returned borrowed, with no allocation and no regex. Only
//! candidates go through the regex rules, which rewrite the secret values
//! and keep the names.
//!
//! The scan is hand-written because it is on every narration's path: a
//! case-insensitive keyword automaton (aho-corasick) measured 2 ns/byte here,
//! this scan a fraction of that.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

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
            r#"(?i)(?-u:\b)((?:proxy-)?authorization"?(?-u:\s)*[:=]\s*"?)[^\r\n]+"#,
            "${1}[REDACTED]",
        ),
        // A bare `Bearer abc…` anywhere.
        rule(
            r"(?i)(?-u:\b)(bearer)\s+[A-Za-z0-9._~+/=-]+",
            "${1} [REDACTED]",
        ),
        // Tokens recognised by their shape: Hugging Face, GitHub, AWS key ids.
        rule(
            r"(?-u:\b)(?:hf_[A-Za-z0-9]{6,}|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|AKIA[0-9A-Z]{16})",
            "[REDACTED]",
        ),
        // URL userinfo: scheme://user:pass@host → scheme://[REDACTED]@host.
        rule(
            r"(?i)(?-u:\b)([a-z][a-z0-9+.-]*://)[^/\s@?#]+@",
            "${1}[REDACTED]@",
        ),
        // Names match ASCII case-insensitively only (`(?-u:…)`), as the fast
        // path does: Unicode folding would let `\u{212A}` (Kelvin) spell `k`.
        // name=value, name: value and "name": "value" pairs whose name says
        // it holds a secret: query strings (`?access_token=`, `X-Amz-Signature=`),
        // env dumps (`HF_TOKEN=`), headers, JSON.
        rule(
            &format!(
                r#"(?i)(?-u:\b)((?-u:[a-z0-9_.-]*(?:token|passw|passphrase|secret|signature|credential|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth|cookie)[a-z0-9_.-]*)"?(?-u:\s)*[=:]\s*"?){VALUE}"#
            ),
            "${1}[REDACTED]",
        ),
        // Short names, only as a whole `name=value` pair: `?sig=…`, `?key=…`.
        rule(
            &format!(r"(?i)(^|[^a-z0-9_.-])((?-u:sig|key|pwd|pass)=){VALUE}"),
            "${1}${2}[REDACTED]",
        ),
    ]
});

/// True when `text` could hold a secret that one of the [`RULES`] removes.
///
/// This is the fast path: it must return true for every text a rule can
/// change (a property test checks that it does), and it never allocates.
/// It marks, eight bytes at a time, the few bytes a secret shows itself by,
/// and looks closer only around those.
fn may_hold_secret(text: &str) -> bool {
    let scan = Scan {
        bytes: text.as_bytes(),
        has_scheme: std::cell::OnceCell::new(),
    };
    let bytes = scan.bytes;
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    for (n, chunk) in chunks.enumerate() {
        // A chunk is always 8 bytes; were it not, every byte gets a look.
        let word = chunk.try_into().map(u64::from_le_bytes).unwrap_or(u64::MAX);
        if scan.secret_at_marks(n * 8, trigger_marks(word)) {
            return true;
        }
    }
    // Zero padding is no trigger.
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    let base = bytes.len() - tail.len();
    scan.secret_at_marks(base, trigger_marks(u64::from_le_bytes(last)))
}

/// One fast-path scan of a text.
struct Scan<'a> {
    bytes: &'a [u8],
    /// Whether the text holds `://` anywhere: looked up once, at the first
    /// `@`, so that many `@`s cost one search, not one each.
    has_scheme: std::cell::OnceCell<bool>,
}

impl Scan<'_> {
    /// Looks closer at each byte of the word at `base` whose mark is set.
    fn secret_at_marks(&self, base: usize, mut marks: u64) -> bool {
        let bytes = self.bytes;
        while marks != 0 {
            let i = base + (marks.trailing_zeros() / 8) as usize;
            // A mark above a real match can be a false one: check the byte.
            if i < bytes.len() && IS_TRIGGER[bytes[i] as usize] && self.secret_at(i) {
                return true;
            }
            marks &= marks - 1;
        }
        false
    }

    /// Whether the trigger byte at `i` starts or ends something a rule
    /// rewrites.
    fn secret_at(&self, i: usize) -> bool {
        let bytes = self.bytes;
        match bytes[i] {
            b'=' => secret_name_before(bytes, i, true),
            b':' => secret_name_before(bytes, i, false),
            // URL userinfo: `scheme://user:pass@host`.
            b'@' => *self
                .has_scheme
                .get_or_init(|| bytes.windows(3).any(|w| w == b"://")),
            // `hf_…`, `ghp_…` (and gho/ghs/ghu/ghr), `github_pat_…`.
            b'_' => {
                let before = &bytes[..i];
                before.ends_with(b"hf")
                    || before.ends_with(b"github")
                    || (before.len() >= 3
                        && before[before.len() - 3..before.len() - 1] == *b"gh"
                        && b"pousr".contains(&before[before.len() - 1]))
            }
            b'b' | b'B' => starts_with_ignore_case(&bytes[i..], b"bearer"),
            b'A' => bytes[i..].starts_with(b"AKIA"),
            _ => false,
        }
    }
}

/// Bytes at which a secret can show itself: `=`, `:`, `@`, `_`, `b`/`B`
/// (`bearer`), `A` (`AKIA…`).
const TRIGGERS: [u8; 7] = [b'=', b':', b'@', b'_', b'b', b'B', b'A'];

/// The high bit of each byte of `word` that is one of [`TRIGGERS`] (SWAR:
/// a zero byte in `word ^ repeated(t)` marks a match; bytes above a match
/// may be marked too, and are checked again).
fn trigger_marks(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    TRIGGERS.iter().fold(0, |found, &t| {
        let x = word ^ (ONES * u64::from(t));
        found | (x.wrapping_sub(ONES) & !x & HIGHS)
    })
}

/// [`TRIGGERS`] as a lookup table, to confirm a mark.
static IS_TRIGGER: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    while k < TRIGGERS.len() {
        table[TRIGGERS[k] as usize] = true;
        k += 1;
    }
    table
};

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

/// The name before a `=` or `:` at `end` (skipping `"` and spaces between,
/// as in `"api_key": "…"`): does it say it holds a secret?
fn secret_name_before(bytes: &[u8], end: usize, equals: bool) -> bool {
    let mut stop = end;
    // The rules' `(?-u:\s)`: ASCII whitespace, vertical tab included.
    while stop > 0
        && matches!(
            bytes[stop - 1],
            b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r'
        )
    {
        stop -= 1;
    }
    if stop > 0 && bytes[stop - 1] == b'"' {
        stop -= 1;
    }
    let mut start = stop;
    while start > 0 && is_name_byte(bytes[start - 1]) {
        start -= 1;
    }
    let name = &bytes[start..stop];
    if name.len() < 3 {
        return false;
    }
    if equals
        && [&b"sig"[..], b"key", b"pwd", b"pass"]
            .iter()
            .any(|short| name.eq_ignore_ascii_case(short))
    {
        return true;
    }
    (0..name.len()).any(|j| {
        let rest = &name[j..];
        let any = |words: &[&[u8]]| words.iter().any(|w| starts_with_ignore_case(rest, w));
        match rest[0].to_ascii_lowercase() {
            b't' => any(&[b"token"]),
            b'p' => any(&[
                b"passw",
                b"passphrase",
                b"private_key",
                b"private-key",
                b"privatekey",
            ]),
            b's' => any(&[b"secret", b"signature"]),
            b'c' => any(&[b"credential", b"cookie"]),
            b'a' => any(&[
                b"auth",
                b"api_key",
                b"api-key",
                b"apikey",
                b"access_key",
                b"access-key",
                b"accesskey",
            ]),
            _ => false,
        }
    })
}

/// Bytes of a `name` in `name=value`, as the pair rules define it.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
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
    apply_rules(text)
}

/// Every rule, in order, without the fast path.
fn apply_rules(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if let Cow::Owned(s) = rule.pattern.replace_all(&out, rule.replacement) {
            out = Cow::Owned(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pieces that secrets and near-misses are made of.
    const PIECES: &[&str] = &[
        "token",
        "TOKEN",
        "=",
        ":",
        " ",
        "\"",
        "hf_",
        "hf",
        "_",
        "abcdef123456",
        "Bearer ",
        "bearer",
        "://",
        "https",
        "@",
        "key",
        "Key",
        "sig",
        "pwd",
        "pass",
        "passw",
        "word",
        "Authorization",
        "auth",
        "api",
        "-",
        ".",
        "AKIA",
        "IOSFODNN7EXAMPLE",
        "ghp_",
        "gh",
        "github",
        "pat",
        "secret",
        "signature",
        "credential",
        "cookie",
        "private",
        "access",
        "x",
        "/",
        "?",
        "&",
        "\n",
        "\u{b}",
        "\u{a0}",
        "é",
        "privatekey",
        "accesskey",
        "\u{212a}",
        "\u{17f}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// The fast path may only skip text that no rule would change.
        #[test]
        fn fast_path_never_skips_what_a_rule_changes(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..12)
        ) {
            let text: String = parts.concat();
            if let Cow::Owned(changed) = apply_rules(&text) {
                prop_assert!(may_hold_secret(&text), "{:?} -> {:?} skipped", text, changed);
            }
        }
    }

    fn assert_clean(input: &str, secrets: &[&str]) {
        assert!(
            may_hold_secret(input),
            "the fast path lets {input:?} through"
        );
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
            "Resolving model reference: hf:org/repo/model-Q4_K_M.gguf",
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
    fn names_match_ascii_case_insensitively_only() {
        // Kelvin sign and long s fold to `k` and `s` in Unicode; the rules
        // and the fast path agree on ignoring them.
        for text in ["to\u{212a}en=abc", "\u{17f}ecret: abc", "\u{212a}ey=abc"] {
            assert_eq!(apply_rules(text), text, "{text:?}");
        }
        assert_eq!(redact("TOKEN=abc"), "TOKEN=[REDACTED]");
    }

    #[test]
    fn short_names_need_a_whole_pair() {
        assert_eq!(redact("monkey=banana"), "monkey=banana");
        assert_eq!(redact("design: the signal"), "design: the signal");
    }
}
