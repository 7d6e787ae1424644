//! The bot's word handling on top of [`fold`] (shared with notification-consent's keywords,
//! which must agree with the bot's trigger words), for matching only: answers are never
//! normalised.

pub use parley_types::fold;

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
