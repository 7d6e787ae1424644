//! Apple's trigger words for reaching a live agent: `agent` (primary), `support` and `help`.
//!
//! Apple's trigger words are whole-message keywords, so a message is a trigger only when it
//! is essentially that one word: after normalisation its text equals `agent`, `support` or
//! `help`. "I don't need help with X" is not a trigger (the bot reads phrases and escalates
//! on its own through a `BotEscalate`).
//!
//! Normalisation, without a Unicode normalisation table:
//! 1. invisible format characters are removed anywhere (zero-width space, joiners, word
//!    joiner, byte order mark, soft hyphen, bidi marks);
//! 2. full-width ASCII forms (`ＨＥＬＰ`, U+FF01 to U+FF5E) are folded to ASCII, the part of
//!    NFKC that matters for these words;
//! 3. everything that is not a letter or digit (whitespace, punctuation, symbols, emoji) is
//!    trimmed from both ends;
//! 4. the rest is lower-cased with Unicode rules.
//!
//! So `"Agent!"`, `"  HELP?"`, `"support."`, `"¿Help?"` and `"help 🙏"` are triggers;
//! `"help me"`, `"helpdesk"`, `"agents"` and `"h e l p"` are not.

use std::fmt;

/// One of Apple's trigger words for reaching a live agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EscalationWord {
    /// `agent`, Apple's primary word.
    Agent,
    /// `support`.
    Support,
    /// `help`.
    Help,
}

impl EscalationWord {
    /// The word in lower case, as Apple lists it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Support => "support",
            Self::Help => "help",
        }
    }
}

impl fmt::Display for EscalationWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The trigger word a message consists of, if it is one (see the module documentation).
pub fn escalation_word(text: &str) -> Option<EscalationWord> {
    match normalise(text).as_str() {
        "agent" => Some(EscalationWord::Agent),
        "support" => Some(EscalationWord::Support),
        "help" => Some(EscalationWord::Help),
        _ => None,
    }
}

/// True when the message is essentially one of the words `agent`, `support` or `help`.
pub fn is_escalation_word(text: &str) -> bool {
    escalation_word(text).is_some()
}

/// Removes invisible characters, folds full-width ASCII, trims non-alphanumerics from both
/// ends and lower-cases.
fn normalise(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(fold_full_width)
        .collect();
    folded
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FE0E}'
            | '\u{FE0F}'
            | '\u{FEFF}'
    )
}

fn fold_full_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_in_any_case_and_with_punctuation() {
        let cases = [
            ("agent", EscalationWord::Agent),
            ("Agent!", EscalationWord::Agent),
            ("AGENT", EscalationWord::Agent),
            ("  HELP?", EscalationWord::Help),
            ("help", EscalationWord::Help),
            ("HeLp!!!", EscalationWord::Help),
            ("¿Help?", EscalationWord::Help),
            ("help 🙏", EscalationWord::Help),
            ("\"help\"", EscalationWord::Help),
            ("(agent)", EscalationWord::Agent),
            ("support.", EscalationWord::Support),
            ("Support\n", EscalationWord::Support),
            ("\tSUPPORT...", EscalationWord::Support),
            ("ＨＥＬＰ", EscalationWord::Help),
            ("he\u{200B}lp", EscalationWord::Help),
            ("\u{FEFF}agent\u{200D}", EscalationWord::Agent),
            ("agent\u{3000}", EscalationWord::Agent),
            ("--agent--", EscalationWord::Agent),
        ];
        for (text, word) in cases {
            assert_eq!(escalation_word(text), Some(word), "{text:?}");
            assert!(is_escalation_word(text), "{text:?}");
        }
    }

    #[test]
    fn not_triggers() {
        let cases = [
            "",
            "   ",
            "?!",
            "help me",
            "I don't need help with X",
            "can I talk to an agent",
            "helpdesk",
            "agents",
            "supporter",
            "h e l p",
            "hel p",
            "menu",
            "unsubscribe",
            "helpful",
            "agent 007",
            "aide",
        ];
        for text in cases {
            assert!(!is_escalation_word(text), "{text:?}");
        }
    }

    #[test]
    fn words_display_lower_case() {
        assert_eq!(EscalationWord::Agent.to_string(), "agent");
        assert_eq!(EscalationWord::Support.as_str(), "support");
        assert_eq!(EscalationWord::Help.as_str(), "help");
    }
}
