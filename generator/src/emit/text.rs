//! Text from a spec made fit for the comments it becomes. String literals
//! need nothing (`quote` escapes them); a comment is written as it is, and
//! rustc refuses a bare carriage return there and (a deny-by-default lint)
//! the codepoints that change the direction of text.

/// Text for doc comments: line endings (`\r\n`, `\r`, and the Unicode line
/// and paragraph separators) become `\n`; control characters other than
/// tab and the bidirectional formatting codepoints become U+FFFD.
pub(crate) fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push('\t'),
            c if c.is_control() || is_bidi_control(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text for a one-line comment (the generated file's header): as
/// [`comment`], and line breaks become U+FFFD too.
pub(crate) fn comment_line(text: &str) -> String {
    comment(text).replace('\n', "\u{FFFD}")
}

/// The codepoints of rustc's `text_direction_codepoint_in_comment` lint.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_become_newlines() {
        assert_eq!(comment("a\r\nb\rc\nd\u{2028}e"), "a\nb\nc\nd\ne");
        assert_eq!(comment("a\r\r\nb"), "a\n\nb");
    }

    #[test]
    fn characters_rustc_refuses_are_replaced() {
        assert_eq!(
            comment("a\u{0}b\u{7}c\u{1b}d\u{7f}e\u{202E}f\u{2066}g\th"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}f\u{FFFD}g\th"
        );
        assert_eq!(comment("é 💥 \u{FFFD}"), "é 💥 \u{FFFD}");
        assert_eq!(comment_line("a\r\nb"), "a\u{FFFD}b");
    }
}
