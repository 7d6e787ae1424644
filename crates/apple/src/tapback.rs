//! Tapback detection (apple-mfb-api.md §5): a user's reaction arrives as an ordinary `text`
//! message whose body describes it, e.g. `Liked “See you at 5”`, `Reacted 😀 to “Thanks”`,
//! `Liked 1 Business Message` or `Removed a heart from “Hi”`.
//!
//! [`detect_tapback`] is the one entry point. The patterns live in a per-language table, so
//! another language is one more table entry. The bodies are localised per device and no
//! structured field is known (UNKNOWN), so only English is recognised for now. Matching is
//! exact (case-sensitive, at the start of the body, the quote closing the body) to avoid
//! taking a user's own words for a reaction.

/// The reaction itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reaction {
    /// Heart (`Loved`).
    Loved,
    /// Thumbs up (`Liked`).
    Liked,
    /// Thumbs down (`Disliked`).
    Disliked,
    /// Ha ha (`Laughed at`).
    Laughed,
    /// Double exclamation (`Emphasized`).
    Emphasized,
    /// Question mark (`Questioned`).
    Questioned,
    /// Any emoji (`Reacted 😀 to`), iOS 18 and later.
    Emoji(String),
}

/// A reaction added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TapbackKind {
    /// The user added the reaction.
    Added(Reaction),
    /// The user took the reaction back (`Removed a like from “…”`).
    Removed(Reaction),
}

/// What the reaction is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TapbackTarget {
    /// A message quoted by its text (without the quotes).
    Quoted(String),
    /// A number of business messages (`1 Business Message`): interactive messages, rich links
    /// and other bubbles without text.
    BusinessMessages(u32),
    /// A non-text item named as the device wrote it, e.g. `an image`.
    Item(String),
}

/// A detected tapback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tapback {
    /// Which reaction, added or removed.
    pub kind: TapbackKind,
    /// What it is about.
    pub target: TapbackTarget,
}

impl Tapback {
    /// The reaction, whether added or removed.
    pub fn reaction(&self) -> &Reaction {
        match &self.kind {
            TapbackKind::Added(r) | TapbackKind::Removed(r) => r,
        }
    }

    /// Whether the reaction was taken back.
    pub fn is_removal(&self) -> bool {
        matches!(self.kind, TapbackKind::Removed(_))
    }

    /// The quoted text, if the target is a quoted message.
    pub fn quoted_text(&self) -> Option<&str> {
        match &self.target {
            TapbackTarget::Quoted(s) => Some(s),
            _ => None,
        }
    }
}

/// One language's patterns.
struct Language {
    /// `<verb><target>`: the verb includes its trailing space.
    added: &'static [(&'static str, Reaction)],
    /// `<prefix><emoji><infix><target>`.
    emoji_prefix: &'static str,
    /// Follows the emoji.
    emoji_infix: &'static str,
    /// `<prefix><noun><infix><target>` for removals.
    removed_prefix: &'static str,
    /// Follows the removed noun.
    removed_infix: &'static str,
    /// The removed reactions' nouns.
    removed_nouns: &'static [(&'static str, Reaction)],
    /// Articles that may come before an emoji in a removal (`a 😀`), tried in order, last
    /// one empty.
    removed_emoji_articles: &'static [&'static str],
    /// Opening quote characters.
    open_quotes: &'static [char],
    /// Closing quote characters.
    close_quotes: &'static [char],
    /// `<count> <singular|plural>`; a count may also be written with the words in `one`.
    business_message: (&'static str, &'static str),
    /// Words meaning a count of one (`a`).
    one: &'static [&'static str],
    /// Non-text items, as the device names them.
    items: &'static [&'static str],
}

const ENGLISH: Language = Language {
    added: &[
        ("Loved ", Reaction::Loved),
        ("Liked ", Reaction::Liked),
        ("Disliked ", Reaction::Disliked),
        ("Laughed at ", Reaction::Laughed),
        ("Emphasized ", Reaction::Emphasized),
        ("Emphasised ", Reaction::Emphasized),
        ("Questioned ", Reaction::Questioned),
    ],
    emoji_prefix: "Reacted ",
    emoji_infix: " to ",
    removed_prefix: "Removed ",
    removed_infix: " from ",
    removed_nouns: &[
        ("a heart", Reaction::Loved),
        ("a like", Reaction::Liked),
        ("a dislike", Reaction::Disliked),
        ("a laugh", Reaction::Laughed),
        ("an exclamation", Reaction::Emphasized),
        ("an emphasis", Reaction::Emphasized),
        ("a question mark", Reaction::Questioned),
    ],
    removed_emoji_articles: &["a ", "an ", ""],
    open_quotes: &['\u{201C}', '"'],
    close_quotes: &['\u{201D}', '"'],
    business_message: ("Business Message", "Business Messages"),
    one: &["a", "an"],
    items: &[
        "an image",
        "a photo",
        "a movie",
        "a video",
        "an attachment",
        "a sticker",
        "an audio message",
        "a location",
    ],
};

const LANGUAGES: &[Language] = &[ENGLISH];

/// Longest emoji token accepted (a ZWJ sequence with modifiers stays well under this).
const MAX_EMOJI_CHARS: usize = 16;

/// Detects a tapback in a text body. `None` if the body is not one of the known patterns.
/// Never panics.
pub fn detect_tapback(body: &str) -> Option<Tapback> {
    let body = body.trim();
    LANGUAGES.iter().find_map(|lang| detect_in(lang, body))
}

fn detect_in(lang: &Language, body: &str) -> Option<Tapback> {
    for (verb, reaction) in lang.added {
        if let Some(rest) = body.strip_prefix(verb)
            && let Some(target) = parse_target(lang, rest)
        {
            return Some(Tapback {
                kind: TapbackKind::Added(reaction.clone()),
                target,
            });
        }
    }
    if let Some(rest) = body.strip_prefix(lang.emoji_prefix)
        && let Some((emoji, rest)) = split_emoji(lang.emoji_infix, rest)
        && let Some(target) = parse_target(lang, rest)
    {
        return Some(Tapback {
            kind: TapbackKind::Added(Reaction::Emoji(emoji.to_owned())),
            target,
        });
    }
    if let Some(rest) = body.strip_prefix(lang.removed_prefix) {
        for (noun, reaction) in lang.removed_nouns {
            if let Some(rest) = rest.strip_prefix(noun)
                && let Some(rest) = rest.strip_prefix(lang.removed_infix)
                && let Some(target) = parse_target(lang, rest)
            {
                return Some(Tapback {
                    kind: TapbackKind::Removed(reaction.clone()),
                    target,
                });
            }
        }
        for article in lang.removed_emoji_articles {
            if let Some(rest) = rest.strip_prefix(article)
                && let Some((emoji, rest)) = split_emoji(lang.removed_infix, rest)
                && let Some(target) = parse_target(lang, rest)
            {
                return Some(Tapback {
                    kind: TapbackKind::Removed(Reaction::Emoji(emoji.to_owned())),
                    target,
                });
            }
        }
    }
    None
}

/// Splits `<emoji><infix><rest>`: the emoji runs to the first whitespace, must be short and
/// hold no letters or digits.
fn split_emoji<'a>(infix: &str, s: &'a str) -> Option<(&'a str, &'a str)> {
    let end = s.find(char::is_whitespace)?;
    let (emoji, rest) = s.split_at(end);
    let rest = rest.strip_prefix(infix)?;
    let plausible = !emoji.is_empty()
        && emoji.chars().count() <= MAX_EMOJI_CHARS
        && !emoji.chars().any(|c| c.is_alphanumeric() || c.is_control());
    plausible.then_some((emoji, rest))
}

/// Reads the whole remainder as a target: a quoted text (the closing quote ends the body), a
/// count of business messages, or a named item.
fn parse_target(lang: &Language, s: &str) -> Option<TapbackTarget> {
    if let Some(first) = s.chars().next()
        && lang.open_quotes.contains(&first)
    {
        let inner = &s[first.len_utf8()..];
        let last = inner.chars().next_back()?;
        if !lang.close_quotes.contains(&last) {
            return None;
        }
        let text = &inner[..inner.len() - last.len_utf8()];
        return Some(TapbackTarget::Quoted(text.to_owned()));
    }
    if let Some((count, noun)) = s.split_once(' ') {
        let (singular, plural) = lang.business_message;
        if noun == singular || noun == plural {
            let n = if lang.one.contains(&count) {
                Some(1)
            } else if count.bytes().all(|b| b.is_ascii_digit()) {
                count.parse().ok()
            } else {
                None
            };
            if let Some(n) = n {
                return Some(TapbackTarget::BusinessMessages(n));
            }
        }
    }
    lang.items
        .iter()
        .find(|item| **item == s)
        .map(|item| TapbackTarget::Item((*item).to_owned()))
}
