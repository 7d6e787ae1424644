//! The bot's text handling on top of [`fold`] (shared with notification-consent's keywords,
//! which must agree with the bot's trigger words), for matching only: answers are never
//! normalised. The analysis of a sentence into comparable terms is in
//! [`analyze`](crate::analyze).

pub use parley_types::fold;

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
    fn bare_numbers() {
        assert_eq!(bare_number(" 2 "), Some(2));
        assert_eq!(bare_number("#3."), Some(3));
        assert_eq!(bare_number("２"), Some(2));
        assert_eq!(bare_number("2 please"), None);
        assert_eq!(bare_number("99999"), None);
        assert_eq!(bare_number(""), None);
    }
}
