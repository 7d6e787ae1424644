//! Apple's trigger words (apple-mfb-api.md §10): whole-message keywords the bot must honour
//! whatever it is doing.
//!
//! | action | primary | alternatives |
//! |---|---|---|
//! | reach a live agent | `agent` | `support`, `help` |
//! | view a menu or list | `menu` | `list`, `?` |
//! | manage message preferences | `unsubscribe` | `spam`, `stop`, `end` |
//!
//! and `subscribe` (Apple: no marketing unless the customer sent it). The preference words
//! are notification-consent's: it records the consent and confirms, whoever answers the
//! conversation; the bot only recognises them so as to stay silent. Both fold text with
//! [`parley_types::fold`], so they agree on what a keyword is.
//!
//! A message is a trigger only when it is essentially that one word after [`fold`]ing
//! (`"Agent!"`, `"  MENU "`, `"stop 🛑"` are; `"stop the order"`, `"helpdesk"` are not). A
//! knowledge file may add words per action (for example `agente`, `menú`), which work the
//! same way. Sentences that ask for a person ("I want to talk to someone") are the matcher's
//! job (an intent of kind `human`), not this module's.

use crate::normalize::fold;

/// What a trigger word asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerAction {
    /// Reach a live agent.
    Agent,
    /// See the menu.
    Menu,
    /// Manage message preferences (opt out): notification-consent's, the bot is silent.
    Unsubscribe,
    /// Opt in to notifications: notification-consent's, the bot is silent.
    Subscribe,
}

/// A trigger word the customer typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// What it asks for.
    pub action: TriggerAction,
    /// The word as folded (`agent`, `?`, `stop`, or a knowledge file's own word).
    pub word: String,
}

/// Apple's words for each action.
pub const APPLE_WORDS: &[(TriggerAction, &str)] = &[
    (TriggerAction::Agent, "agent"),
    (TriggerAction::Agent, "support"),
    (TriggerAction::Agent, "help"),
    (TriggerAction::Menu, "menu"),
    (TriggerAction::Menu, "list"),
    (TriggerAction::Unsubscribe, "unsubscribe"),
    (TriggerAction::Unsubscribe, "spam"),
    (TriggerAction::Unsubscribe, "stop"),
    (TriggerAction::Unsubscribe, "end"),
    (TriggerAction::Subscribe, "subscribe"),
];

/// The trigger `text` consists of: Apple's words, then `extra` (already folded words of a
/// knowledge file).
pub fn trigger(text: &str, extra: &[(TriggerAction, String)]) -> Option<Trigger> {
    let trimmed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !trimmed.is_empty() && trimmed.chars().all(|c| matches!(c, '?' | '？' | '¿' | '؟')) {
        return Some(Trigger {
            action: TriggerAction::Menu,
            word: "?".into(),
        });
    }
    let folded = fold(text);
    if folded.is_empty() {
        return None;
    }
    APPLE_WORDS
        .iter()
        .map(|(action, word)| (*action, *word))
        .chain(extra.iter().map(|(action, word)| (*action, word.as_str())))
        .find(|(_, word)| *word == folded)
        .map(|(action, word)| Trigger {
            action,
            word: word.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(text: &str) -> Option<TriggerAction> {
        trigger(text, &[(TriggerAction::Agent, "agente".into())]).map(|t| t.action)
    }

    #[test]
    fn every_apple_word_and_alternative() {
        for (expected, word) in APPLE_WORDS {
            assert_eq!(action(word), Some(*expected), "{word}");
            assert_eq!(action(&word.to_uppercase()), Some(*expected), "{word}");
            assert_eq!(action(&format!("  {word}! 🙏")), Some(*expected), "{word}");
        }
        assert_eq!(action("?"), Some(TriggerAction::Menu));
        assert_eq!(action(" ?? "), Some(TriggerAction::Menu));
        assert_eq!(action("ＨＥＬＰ"), Some(TriggerAction::Agent));
        assert_eq!(action("Agente"), Some(TriggerAction::Agent));
    }

    #[test]
    fn sentences_and_lookalikes_are_not_triggers() {
        for text in [
            "stop the order",
            "helpdesk",
            "agents",
            "I need help with my order",
            "what's on the menu?",
            "",
            "🙂",
            "h e l p",
        ] {
            assert_eq!(action(text), None, "{text}");
        }
    }
}
