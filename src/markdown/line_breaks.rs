//! Soft line breaks in East Asian text: a newline inside a paragraph of Chinese or Japanese is a
//! line wrap in the source, not a space (the languages put none between words), so it is dropped
//! between two such characters, as Hugo's `eastAsianLineBreaks` and Pandoc's
//! `east_asian_line_breaks` do. Between Latin words, and in Korean (which spaces its words), the
//! break stays a space.

/// Whether a soft break between `before` and `after` joins them with nothing.
pub(crate) fn joins_without_space(before: char, after: char) -> bool {
    is_wide(before) && is_wide(after)
}

/// Han, kana, CJK punctuation and full-width forms; not Hangul.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F      // CJK symbols and punctuation: 。、「」
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF00..=0xFF60    // full-width forms: ，！？：；（）
        | 0x20000..=0x2FA1F) // extensions B.. and compatibility supplement
}

#[cfg(test)]
mod tests {
    use super::joins_without_space;

    #[test]
    fn a_break_between_two_chinese_or_japanese_characters_is_dropped() {
        assert!(joins_without_space('件', '它'));
        assert!(joins_without_space('。', '它'));
        assert!(joins_without_space('的', '，'));
        assert!(joins_without_space('す', 'る'));
    }

    #[test]
    fn a_break_next_to_latin_or_korean_stays_a_space() {
        assert!(!joins_without_space('a', 'b'));
        assert!(!joins_without_space('件', 'G'));
        assert!(!joins_without_space('o', '它'));
        assert!(!joins_without_space('다', '그'));
    }
}
