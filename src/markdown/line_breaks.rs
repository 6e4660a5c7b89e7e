//! Soft line breaks in East Asian text: a newline inside a paragraph of Chinese or Japanese is a
//! line wrap in the source, not a space (the languages put none between words), so it is dropped
//! between two such characters, as Hugo's `eastAsianLineBreaks` and Pandoc's
//! `east_asian_line_breaks` do. Between Latin words, and in Korean (which spaces its words), the
//! break stays a space.

/// Whether a soft break between `before` and `after` joins them with nothing.
pub(crate) fn joins_without_space(before: char, after: char) -> bool {
    is_wide(before) && is_wide(after)
}

/// Han and kana (the search tokenizer's CJK ranges, less Hangul), CJK punctuation and
/// full-width forms.
fn is_wide(c: char) -> bool {
    let hangul = matches!(c as u32, 0xAC00..=0xD7AF);
    let punctuation = matches!(c as u32,
        0x3000..=0x303F      // CJK symbols and punctuation: 。、「」
        | 0xFF00..=0xFF60); // full-width forms: ，！？：；（）
    punctuation || (crate::search::is_cjk(c) && !hangul)
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
