//! Which characters text fields may hold. Control characters (C0, DEL, C1) are never typed by a person
//! and break logs, CSV and terminals; bidi overrides and isolates make text display other than it reads
//! (a file name `gpj.exe` shown as `exe.jpg`). One-line fields (titles, tags, names, ids) refuse both;
//! multi-line fields (bodies, reasons, notes) allow line breaks and tabs.

/// U+202A–U+202E (embeddings and overrides) and U+2066–U+2069 (isolates).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub fn one_line_ok(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || is_bidi_control(c))
}

pub fn multi_line_ok(s: &str) -> bool {
    !s.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_control(c))
}

/// The message for a field that failed [`one_line_ok`] or [`multi_line_ok`].
pub fn refusal(field: &str) -> String {
    format!("{field} contains control or text-direction characters / {field}包含不可见的控制字符")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_direction_characters() {
        for bad in ["a\u{0}b", "a\u{7}", "\u{1b}[31m", "a\u{7f}", "a\u{85}b", "a\u{9b}", "gpj\u{202e}.exe", "\u{2067}x"]
        {
            assert!(!one_line_ok(bad), "{bad:?}");
            assert!(!multi_line_ok(bad), "{bad:?}");
        }
        assert!(!one_line_ok("两行\n标题"));
        assert!(!one_line_ok("tab\there"));
        assert!(multi_line_ok("第一行\r\n第二行\t缩进"));
        assert!(one_line_ok("余热回收 (Waste heat) №5 — 节电30%"));
    }
}
