//! Text from outside made inert for a terminal.
//!
//! Model metadata, refs, server messages, file snippets and paths reach
//! human output. A control character in them (ESC, BEL, C1 controls, DEL)
//! would be obeyed by the terminal: clear the screen, recolour it, set the
//! window title or the clipboard (OSC); a bidirectional override would
//! reorder what the reader sees. [`inert`] writes each of them as an
//! escape instead, the way Rust's `{:?}` does (`\u{1b}`, `\n`), and leaves
//! every other character alone. It is applied where human text leaves the
//! process (the log layer's human lines, the diagnostics lines, the CLI's
//! stdout and error line); JSON output keeps the exact strings.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for a character a terminal would act on or that reorders text:
/// C0 controls, DEL, C1 controls, and the bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069).
pub fn is_live(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [live](is_live) character escaped (`\t`, `\n`, `\r`,
/// else `\u{hex}`); borrowed unchanged when there is none.
///
/// ```
/// use narration_core::inert;
/// assert_eq!(inert("tiny-llama"), "tiny-llama");
/// assert_eq!(inert("\u{1b}[2J name\u{202e}"), "\\u{1b}[2J name\\u{202e}");
/// ```
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_live) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_live(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`inert`] line by line: the line breaks of `text` stay (it is a table
/// or a list), every other live character is escaped.
pub fn inert_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_live(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(inert).collect();
    Cow::Owned(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "Model ready: hf:org/repo/m.gguf (llama Q4_K_M) — 95.9 MiB, naïve ✓";
        assert!(matches!(inert(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn every_control_and_bidi_character_is_escaped() {
        let hostile = "\u{1b}]0;title\u{7}\u{1b}]52;c;eA==\u{1b}\\\u{9b}31m\u{85}\u{7f}\u{0}\t\r\n\u{202a}\u{202e}\u{2066}\u{2069}";
        let out = inert(hostile);
        assert!(!out.chars().any(is_live), "{out:?}");
        assert_eq!(
            out,
            "\\u{1b}]0;title\\u{7}\\u{1b}]52;c;eA==\\u{1b}\\\\u{9b}31m\\u{85}\\u{7f}\\u{0}\\t\\r\\n\\u{202a}\\u{202e}\\u{2066}\\u{2069}"
        );
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(
            inert_lines("name  \u{1b}[31mx\narch  llama\n"),
            "name  \\u{1b}[31mx\narch  llama\n"
        );
        assert!(matches!(inert_lines("a\nb\n"), Cow::Borrowed(_)));
    }
}
