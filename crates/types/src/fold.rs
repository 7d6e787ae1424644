//! Folding a customer's text into comparable words (matching keywords and questions, never
//! rewriting what is shown: right-to-left text, emoji and accents pass through untouched
//! wherever text is displayed).
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

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_case_accents_punctuation_and_emoji() {
        assert_eq!(fold("  Où êtes-vous ?? 🙂 "), "ou etes vous");
        assert_eq!(fold("¿Cuándo ABREN?"), "cuando abren");
        assert_eq!(fold("ＨＥＬＰ"), "help");
        assert_eq!(fold("what's\u{200B}up"), "what s up");
        assert_eq!(fold("🙂🙂"), "");
        assert_eq!(fold(""), "");
    }
}
