//! Secret redaction applied to every string field on its way into the
//! narration event.
//!
//! Two stages. The fast path scans sixteen bytes at a time (SSE2 compares on
//! x86-64) for the few bytes a secret needs nearby (`=`, `:`, `@`, `_`,
//! `b`/`B` for `bearer`, `A` for `AKIA…`) and looks around each for the
//! pattern a rule needs (a secret-looking name before `=`/`:`, `hf_`,
//! `://…@`, …). Text with none is returned borrowed, with no allocation and
//! no regex. Only
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
/// It tests sixteen bytes at a time (six vector compares on x86-64) for the
/// few bytes a secret shows itself by, and looks closer only at those.
fn may_hold_secret(text: &str) -> bool {
    let scan = Scan {
        bytes: text.as_bytes(),
        has_scheme: std::cell::OnceCell::new(),
    };
    let bytes = scan.bytes;
    let len = bytes.len();
    if len < BLOCK {
        // Too short for a block: one byte at a time.
        return (0..len).any(|i| IS_TRIGGER[usize::from(bytes[i])] && scan.secret_at(i));
    }
    let mut base = 0;
    while base + BLOCK <= len {
        if scan.secret_at_marks(base, block_marks(bytes, base)) {
            return true;
        }
        base += BLOCK;
    }
    if base == len {
        return false;
    }
    // The last block overlaps the one before it; only its new bytes count.
    let last = len - BLOCK;
    let marks = block_marks(bytes, last) >> (base - last);
    scan.secret_at_marks(base, marks)
}

/// The trigger marks of the `BLOCK` bytes of `bytes` from `at`. The caller
/// keeps the block in range; were it not, every byte gets a look.
fn block_marks(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + BLOCK).and_then(|b| b.try_into().ok()) {
        Some(block) => trigger_marks(block),
        None => (1 << BLOCK) - 1,
    }
}

/// Bytes the fast path tests at once.
const BLOCK: usize = 16;

/// One fast-path scan of a text.
struct Scan<'a> {
    bytes: &'a [u8],
    /// Whether the text holds `://` anywhere: looked up once, at the first
    /// `@`, so that many `@`s cost one search, not one each.
    has_scheme: std::cell::OnceCell<bool>,
}

impl Scan<'_> {
    /// Whether a trigger byte marked in `marks` (bit `k` for the byte at
    /// `base + k`) starts or ends a secret.
    fn secret_at_marks(&self, base: usize, mut marks: u32) -> bool {
        while marks != 0 {
            let i = base + marks.trailing_zeros() as usize;
            if i < self.bytes.len() && self.secret_at(i) {
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

/// One bit per byte of `block`, set where the byte is one at which a secret
/// can show itself: `=`, `:`, `@`, `_`, `b`/`B` (`bearer`), `A` (`AKIA…`).
#[cfg(target_arch = "x86_64")]
#[inline]
fn trigger_marks(block: &[u8; BLOCK]) -> u32 {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
    unsafe { trigger_marks_sse2(block) }
}

/// Six SSE2 compares of the whole block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn trigger_marks_sse2(block: &[u8; BLOCK]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };
    let mut low = [0u8; 8];
    let mut high = [0u8; 8];
    low.copy_from_slice(&block[..8]);
    high.copy_from_slice(&block[8..]);
    let v = _mm_set_epi64x(i64::from_le_bytes(high), i64::from_le_bytes(low));
    let hits = _mm_or_si128(
        _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'=' as i8)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)),
        ),
        _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'@' as i8)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
        ),
    );
    // `b | 0x20 == b'b'` holds for `b` and `B` only.
    let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
    let hits = _mm_or_si128(
        hits,
        _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'A' as i8)),
            _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'b' as i8)),
        ),
    );
    // One bit per byte of the 16: never negative.
    _mm_movemask_epi8(hits) as u32
}

/// Portable version of the x86-64 [`trigger_marks`].
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn trigger_marks(block: &[u8; BLOCK]) -> u32 {
    block.iter().enumerate().fold(0, |marks, (k, &b)| {
        let hit = matches!(b, b'=' | b':' | b'@' | b'_' | b'b' | b'B' | b'A');
        marks | (u32::from(hit) << k)
    })
}

/// The bytes [`trigger_marks`] marks, as a table.
static IS_TRIGGER: [bool; 256] = {
    let mut table = [false; 256];
    let triggers = *b"=:@_bBA";
    let mut k = 0;
    while k < triggers.len() {
        table[triggers[k] as usize] = true;
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
    while start > 0 && NAME_BYTE[usize::from(bytes[start - 1])] {
        start -= 1;
    }
    is_secret_name(&bytes[start..stop], equals)
}

/// Does `name` say its value is a secret (`access_token`, `X-Amz-Signature`,
/// `api_key`, …)? `pair` allows the short names `sig`, `key`, `pwd` and
/// `pass`, which count only as the whole name of a `name=value` pair.
pub(crate) fn is_secret_name(name: &[u8], pair: bool) -> bool {
    if name.len() < 3 {
        return false;
    }
    if pair
        && [&b"sig"[..], b"key", b"pwd", b"pass"]
            .iter()
            .any(|short| name.eq_ignore_ascii_case(short))
    {
        return true;
    }
    (0..name.len()).any(|j| KEYWORD_START[usize::from(name[j])] && keyword_at(&name[j..]))
}

/// Whether `rest` starts with a word that makes a name a secret's name.
fn keyword_at(rest: &[u8]) -> bool {
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
}

/// The first letters of the words [`keyword_at`] looks for, either case: a
/// table, so that the other letters of a name cost one load each.
static KEYWORD_START: [bool; 256] = {
    let mut table = [false; 256];
    let starts = *b"tpscaTPSCA";
    let mut k = 0;
    while k < starts.len() {
        table[starts[k] as usize] = true;
        k += 1;
    }
    table
};

/// [`is_name_byte`] as a table.
static NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_name_byte(b as u8);
        b += 1;
    }
    table
};

/// Bytes of a `name` in `name=value`, as the pair rules define it.
const fn is_name_byte(b: u8) -> bool {
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

/// Every rule, in order, without the fast path. Kept out of line: it is
/// the rare path, and inlined it would make every call of [`redact`] pay
/// for its stack frame.
#[inline(never)]
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

    /// The fast path one byte at a time, with no blocks: what the block
    /// scan must agree with.
    fn may_hold_secret_bytewise(text: &str) -> bool {
        let scan = Scan {
            bytes: text.as_bytes(),
            has_scheme: std::cell::OnceCell::new(),
        };
        (0..text.len()).any(|i| IS_TRIGGER[usize::from(text.as_bytes()[i])] && scan.secret_at(i))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Blocks, the overlapping last block and short texts see every
        /// byte: the block scan answers as a byte-by-byte scan does, at
        /// every length and position.
        #[test]
        fn block_scan_agrees_with_bytewise_scan(
            text in "[a-zA-Z0-9 =:@_/.\"-]{0,70}"
        ) {
            prop_assert_eq!(may_hold_secret(&text), may_hold_secret_bytewise(&text), "{:?}", text);
        }
    }

    #[test]
    fn a_secret_is_found_at_every_offset_and_length() {
        for secret in [
            "token=x",
            "hf_abcdefg",
            "Bearer x",
            "AKIAIOSFODNN7EXAMPLE",
            "u://a:b@h",
        ] {
            for len in 0..48 {
                for at in 0..=len {
                    let text = format!("{}{secret}{}", ".".repeat(at), ".".repeat(len - at));
                    assert!(may_hold_secret(&text), "{text:?} skipped");
                    assert!(redact(&text).contains(REDACTED), "{text:?} kept its secret");
                }
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
