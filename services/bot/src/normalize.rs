//! Folding a customer's text into comparable words, for matching only (answers are never
//! normalised: right-to-left text, emoji and accents in the knowledge file pass through
//! untouched).
//!
//! 1. compatibility decomposition (NFKD): full-width `ＨＥＬＰ` becomes `HELP`, `é` becomes
//!    `e` + a combining accent, ligatures such as `ﬁ` split;
//! 2. combining marks are dropped (accents, Arabic and Hebrew vowel points);
//! 3. letters are lower-cased with Unicode rules (`É` → `é` → `e`, `Σ` → `σ`);
//! 4. everything that is not a letter or a digit (punctuation, symbols, emoji, invisible
//!    format characters, whitespace) separates words;
//! 5. words are joined by single spaces.

use unicode_normalization::{UnicodeNormalization as _, char::is_combining_mark};

/// The folded text: lower-case words without accents, separated by single spaces.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The folded words of `text`.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A word reduced for comparison: a plural `s` (or `x`, French) is dropped from words
/// longer than three letters, so `hours` and `hour`, `horaires` and `horaire` compare equal.
pub fn stem(word: &str) -> &str {
    if word.chars().count() > 3
        && let Some(stripped) = word.strip_suffix('s').or_else(|| word.strip_suffix('x'))
    {
        return stripped;
    }
    word
}

/// The number a message consists of (`" 2 "`, `"2."`, `"#3"`, `"２"`), if it is only that.
pub fn bare_number(text: &str) -> Option<usize> {
    let folded = fold(text);
    if folded.is_empty() || folded.len() > 4 || !folded.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    folded.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_punctuation_and_emoji() {
        assert_eq!(fold("  Où êtes-vous ?? 🙂 "), "ou etes vous");
        assert_eq!(fold("¿Cuándo ABREN?"), "cuando abren");
        assert_eq!(fold("ＨＥＬＰ"), "help");
        assert_eq!(fold("what's\u{200B}up"), "what s up");
        assert_eq!(fold("🙂🙂"), "");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn keeps_non_latin_letters() {
        assert_eq!(fold("متى تفتحون؟"), "متى تفتحون");
        assert_eq!(fold("שָׁלוֹם"), "שלום");
    }

    #[test]
    fn stems_plurals_only_on_longer_words() {
        assert_eq!(stem("hours"), "hour");
        assert_eq!(stem("horaires"), "horaire");
        assert_eq!(stem("bus"), "bus");
        assert_eq!(stem("is"), "is");
    }

    #[test]
    fn bare_numbers() {
        assert_eq!(bare_number(" 2 "), Some(2));
        assert_eq!(bare_number("#3."), Some(3));
        assert_eq!(bare_number("２"), Some(2));
        assert_eq!(bare_number("2 please"), None);
        assert_eq!(bare_number("99999"), None);
        assert_eq!(bare_number(""), None);
    }
}
