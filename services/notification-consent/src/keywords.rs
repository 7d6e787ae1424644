//! The customer's own words about notifications: a whole message that is, once folded
//! ([`parley_types::fold`], the same folding as the bot's trigger words), Apple's
//! `unsubscribe` or one of its alternatives `spam`, `stop`, `end`, or `subscribe`, or one of
//! the business's extra words. `"STOP!"`, `"  Unsubscribe 🙏"` are; `"stop the order"` is not
//! (apple-mfb-api.md §10).

use parley_types::fold;

use crate::policy::Policy;

/// Apple's words for managing message preferences: an opt-out of every topic.
pub const UNSUBSCRIBE_WORDS: [&str; 4] = ["unsubscribe", "spam", "stop", "end"];

/// The word that opts in (Apple: no marketing unless the customer sent "subscribe").
pub const SUBSCRIBE_WORD: &str = "subscribe";

/// What a keyword asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyword {
    /// Opt out of every topic.
    Unsubscribe(String),
    /// Opt in to every topic.
    Subscribe(String),
}

impl Keyword {
    /// The word as folded.
    pub fn word(&self) -> &str {
        match self {
            Keyword::Unsubscribe(w) | Keyword::Subscribe(w) => w,
        }
    }
}

/// The keyword `text` consists of, if any.
pub fn keyword(text: &str, policy: &Policy) -> Option<Keyword> {
    let folded = fold(text);
    if folded.is_empty() {
        return None;
    }
    if UNSUBSCRIBE_WORDS.contains(&folded.as_str()) || policy.unsubscribe_words.contains(&folded) {
        return Some(Keyword::Unsubscribe(folded));
    }
    if folded == SUBSCRIBE_WORD || policy.subscribe_words.contains(&folded) {
        return Some(Keyword::Subscribe(folded));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_message_keywords_in_any_case_with_punctuation_and_emoji() {
        let mut policy = Policy::default();
        policy.unsubscribe_words.push("baja".into());
        for text in [
            "STOP",
            " stop! ",
            "Unsubscribe 🙏",
            "ＳＰＡＭ",
            "End.",
            "baja",
            "Bája",
        ] {
            assert!(
                matches!(keyword(text, &policy), Some(Keyword::Unsubscribe(_))),
                "{text}"
            );
        }
        assert_eq!(
            keyword("Subscribe!", &policy),
            Some(Keyword::Subscribe("subscribe".into()))
        );
        for text in [
            "stop the order",
            "don't stop",
            "subscribed",
            "",
            "🛑",
            "endless",
        ] {
            assert_eq!(keyword(text, &policy), None, "{text}");
        }
    }
}
