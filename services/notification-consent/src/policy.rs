//! The policies file (`--policies-file`, TOML): per business, its notification topics, the
//! topics that need Apple's disclosure text first, extra keywords, quiet hours and the
//! confirmation texts per language; and the notification API's clients with their hashed
//! tokens. A business of the platform configuration without an entry gets [`Policy::default`];
//! without clients, the notification API refuses every call (401).
//!
//! ```toml
//! [[business]]
//! id = "acme"
//! topics = ["account", "orders", "marketing"]
//! disclosure_topics = ["account", "orders"]
//! unsubscribe_words = ["desabonner", "baja"]
//! quiet_hours = { start = "21:00", end = "08:00", time_zone = "Europe/Paris" }
//! [business.texts.fr]
//! unsubscribed = "Vous ne recevrez plus de notifications de notre part."
//!
//! [[client]]
//! name = "acme-crm"
//! business = "acme"
//! token_sha256 = "…64 hex digits…"
//! ```

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use jiff::{Timestamp, civil::Time, tz::TimeZone};
use parley_types::{BusinessId, TokenDigest, fold};
use serde::Deserialize;

use crate::error::{Error, Result};

/// Apple's disclosure text, verbatim (apple-mfb-api.md §10): it must be sent before the first
/// account or transaction notification.
pub const APPLE_DISCLOSURE: &str = "We will send important notifications related to your account status or transactions. Send 'Unsubscribe' to manage your message preferences.";

/// The confirmation after an opt-out, unless the policy has one for the customer's language.
pub const DEFAULT_UNSUBSCRIBED: &str = "You will not receive notifications from us anymore. Write \"subscribe\" to receive them again.";

/// The confirmation after an opt-in, unless the policy has one for the customer's language.
pub const DEFAULT_SUBSCRIBED: &str =
    "You will now receive our notifications. Write \"unsubscribe\" at any time to stop them.";

/// The preferences list picker's title.
pub const DEFAULT_PREFERENCES_TITLE: &str = "Message preferences";

/// The preferences list picker's subtitle.
pub const DEFAULT_PREFERENCES_SUBTITLE: &str = "Choose the notifications you want to receive";

/// The confirmation after the customer chose in the preferences list picker.
pub const DEFAULT_PREFERENCES_SAVED: &str = "Your message preferences are saved.";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoliciesFile {
    #[serde(default)]
    business: Vec<BusinessFile>,
    #[serde(default)]
    client: Vec<ClientFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BusinessFile {
    id: String,
    #[serde(default = "default_topics")]
    topics: Vec<String>,
    #[serde(default = "default_disclosure_topics")]
    disclosure_topics: Vec<String>,
    #[serde(default)]
    disclosure_text: Option<String>,
    #[serde(default)]
    unsubscribe_words: Vec<String>,
    #[serde(default)]
    subscribe_words: Vec<String>,
    #[serde(default)]
    quiet_hours: Option<QuietHoursFile>,
    #[serde(default)]
    texts: BTreeMap<String, TextsFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietHoursFile {
    start: String,
    end: String,
    time_zone: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextsFile {
    #[serde(default)]
    unsubscribed: Option<String>,
    #[serde(default)]
    subscribed: Option<String>,
    #[serde(default)]
    preferences_title: Option<String>,
    #[serde(default)]
    preferences_subtitle: Option<String>,
    #[serde(default)]
    preferences_saved: Option<String>,
    /// Topic titles in the preferences list picker.
    #[serde(default)]
    topics: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    name: String,
    business: String,
    token_sha256: String,
}

fn default_topics() -> Vec<String> {
    ["account", "orders", "marketing"].map(String::from).into()
}

fn default_disclosure_topics() -> Vec<String> {
    ["account", "orders"].map(String::from).into()
}

/// When a business does not want notifications delivered (in its own time zone).
#[derive(Debug, Clone, PartialEq)]
pub struct QuietHours {
    start: Time,
    end: Time,
    zone: TimeZone,
}

impl QuietHours {
    /// Builds quiet hours from `HH:MM` times and an IANA time zone; `start` after `end`
    /// spans midnight.
    pub fn new(start: &str, end: &str, time_zone: &str) -> std::result::Result<Self, String> {
        let start = parse_time(start)?;
        let end = parse_time(end)?;
        if start == end {
            return Err("`start` and `end` are the same time".into());
        }
        let zone = TimeZone::get(time_zone)
            .map_err(|e| format!("unknown time zone {time_zone:?}: {e}"))?;
        Ok(Self { start, end, zone })
    }

    /// When the quiet hours that `now` falls in end; `None` when `now` is not in them.
    pub fn ends_after(&self, now: Timestamp) -> Option<Timestamp> {
        let local = now.to_zoned_datetime(self.zone.clone());
        let time = local.time();
        let date = local.date();
        let end_date = if self.start < self.end {
            if time < self.start || time >= self.end {
                return None;
            }
            date
        } else if time >= self.start {
            date.tomorrow().ok()?
        } else if time < self.end {
            date
        } else {
            return None;
        };
        // A local time that does not exist (a DST gap) resolves to the later instant.
        jiff::civil::DateTime::from_parts(end_date, self.end)
            .to_zoned_datetime(self.zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

fn parse_time(text: &str) -> std::result::Result<Time, String> {
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not HH:MM"))?;
    let (Ok(h), Ok(m)) = (h.parse::<i8>(), m.parse::<i8>()) else {
        return Err(format!("{text:?} is not HH:MM"));
    };
    Time::new(h, m, 0, 0).map_err(|e| format!("{text:?} is not a time of day: {e}"))
}

/// The texts of one language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    unsubscribed: Option<String>,
    subscribed: Option<String>,
    preferences_title: Option<String>,
    preferences_subtitle: Option<String>,
    preferences_saved: Option<String>,
    topics: BTreeMap<String, String>,
}

/// One business's notification policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its notification topics (an `unsubscribe` opts out of all of them).
    pub topics: Vec<String>,
    /// The topics whose first notification must follow Apple's disclosure text.
    pub disclosure_topics: BTreeSet<String>,
    /// The disclosure text ([`APPLE_DISCLOSURE`] unless the business has an approved one).
    pub disclosure_text: String,
    /// Folded extra opt-out words (besides Apple's).
    pub unsubscribe_words: Vec<String>,
    /// Folded extra opt-in words (besides `subscribe`).
    pub subscribe_words: Vec<String>,
    /// When notifications wait.
    pub quiet_hours: Option<QuietHours>,
    texts: BTreeMap<String, Texts>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            topics: default_topics(),
            disclosure_topics: default_disclosure_topics().into_iter().collect(),
            disclosure_text: APPLE_DISCLOSURE.to_owned(),
            unsubscribe_words: Vec::new(),
            subscribe_words: Vec::new(),
            quiet_hours: None,
            texts: BTreeMap::new(),
        }
    }
}

/// Which of the service's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// The confirmation after an opt-out.
    Unsubscribed,
    /// The confirmation after an opt-in.
    Subscribed,
    /// The preferences list picker's title.
    PreferencesTitle,
    /// The preferences list picker's subtitle.
    PreferencesSubtitle,
    /// The confirmation after a choice in the preferences list picker.
    PreferencesSaved,
}

impl Policy {
    /// Whether `topic` is one of the business's topics.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }

    /// The texts of a BCP 47 `language_tag` that has them: `fr-CA`, then `fr`.
    fn texts_for<'a>(&'a self, language_tag: &'a str) -> impl Iterator<Item = &'a Texts> {
        let language = language_tag.split(['-', '_']).next().unwrap_or_default();
        [language_tag, language]
            .into_iter()
            .filter(|tag| !tag.is_empty())
            .filter_map(|tag| self.texts.get(tag))
    }

    /// A text in a BCP 47 `language_tag` (`fr-CA`, then `fr`, then the built-in English).
    pub fn text<'a>(&'a self, which: Text, language_tag: &'a str) -> &'a str {
        let pick = |texts: &'a Texts| -> Option<&'a str> {
            match which {
                Text::Unsubscribed => texts.unsubscribed.as_deref(),
                Text::Subscribed => texts.subscribed.as_deref(),
                Text::PreferencesTitle => texts.preferences_title.as_deref(),
                Text::PreferencesSubtitle => texts.preferences_subtitle.as_deref(),
                Text::PreferencesSaved => texts.preferences_saved.as_deref(),
            }
        };
        self.texts_for(language_tag)
            .find_map(pick)
            .unwrap_or(match which {
                Text::Unsubscribed => DEFAULT_UNSUBSCRIBED,
                Text::Subscribed => DEFAULT_SUBSCRIBED,
                Text::PreferencesTitle => DEFAULT_PREFERENCES_TITLE,
                Text::PreferencesSubtitle => DEFAULT_PREFERENCES_SUBTITLE,
                Text::PreferencesSaved => DEFAULT_PREFERENCES_SAVED,
            })
    }

    /// A topic's title in the preferences list picker: the language's, else the topic with
    /// a capital first letter (`orders` → `Orders`).
    pub fn topic_title(&self, topic: &str, language_tag: &str) -> String {
        self.texts_for(language_tag)
            .find_map(|t| t.topics.get(topic).cloned())
            .unwrap_or_else(|| {
                let mut chars = topic.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect::<String>()
                })
            })
    }
}

/// A caller of the notification API, scoped to one business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its name (in the audit trail and the event ids).
    pub name: String,
    /// The one business it may act for.
    pub business: BusinessId,
    digest: TokenDigest,
}

/// Every business's policy and the API's clients.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    businesses: BTreeMap<BusinessId, Policy>,
    clients: Vec<Client>,
}

impl Policies {
    /// Reads and validates a policies file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Policy {
            file: path.display().to_string(),
            problem: e.to_string(),
        })?;
        Self::parse(&text).map_err(|problem| Error::Policy {
            file: path.display().to_string(),
            problem,
        })
    }

    /// Parses and validates TOML text; the error names the entry and the field.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let file: PoliciesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut policies = Self::default();
        for (i, b) in file.business.into_iter().enumerate() {
            let at = format!("business[{i}] ({})", b.id);
            let id = BusinessId::new(b.id.clone()).map_err(|e| format!("{at}: `id`: {e}"))?;
            if policies.businesses.contains_key(&id) {
                return Err(format!("{at}: the business is listed twice"));
            }
            let policy = business_policy(b).map_err(|e| format!("{at}: {e}"))?;
            policies.businesses.insert(id, policy);
        }
        for (i, c) in file.client.into_iter().enumerate() {
            let at = format!("client[{i}] ({})", c.name);
            if c.name.is_empty()
                || c.name.len() > 64
                || !c.name.chars().all(|ch| ch.is_ascii_graphic())
            {
                return Err(format!(
                    "{at}: `name` must be 1 to 64 printable ASCII characters without spaces"
                ));
            }
            if policies.clients.iter().any(|k| k.name == c.name) {
                return Err(format!("{at}: the client is listed twice"));
            }
            let business =
                BusinessId::new(c.business).map_err(|e| format!("{at}: `business`: {e}"))?;
            let digest = TokenDigest::from_hex(&c.token_sha256)
                .map_err(|e| format!("{at}: `token_sha256`: {e}"))?;
            policies.clients.push(Client {
                name: c.name,
                business,
                digest,
            });
        }
        Ok(policies)
    }

    /// Sets one business's policy (tests and embedded set-ups).
    pub fn with_policy(mut self, business: BusinessId, policy: Policy) -> Self {
        self.businesses.insert(business, policy);
        self
    }

    /// Adds an API client whose token is `token`.
    pub fn with_client(mut self, name: &str, business: BusinessId, token: &str) -> Self {
        self.clients.push(Client {
            name: name.to_owned(),
            business,
            digest: TokenDigest::of(token),
        });
        self
    }

    /// A business's policy ([`Policy::default`] when the file has none).
    pub fn policy(&self, business: &BusinessId) -> std::borrow::Cow<'_, Policy> {
        self.businesses.get(business).map_or_else(
            || std::borrow::Cow::Owned(Policy::default()),
            std::borrow::Cow::Borrowed,
        )
    }

    /// The businesses the file names.
    pub fn businesses(&self) -> impl Iterator<Item = &BusinessId> {
        self.businesses.keys()
    }

    /// The client whose token is `token` (every client is compared, each in constant time).
    pub fn authenticate(&self, token: &str) -> Option<&Client> {
        let digest = TokenDigest::of(token);
        let mut found = None;
        for client in &self.clients {
            if client.digest.matches(&digest) && found.is_none() {
                found = Some(client);
            }
        }
        found
    }
}

fn business_policy(b: BusinessFile) -> std::result::Result<Policy, String> {
    if b.topics.is_empty() {
        return Err("`topics` is empty".into());
    }
    let mut topics = Vec::with_capacity(b.topics.len());
    for topic in b.topics {
        if topic.is_empty()
            || topic.len() > 64
            || !topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "topic {topic:?}: 1 to 64 ASCII letters, digits, `-` or `_`"
            ));
        }
        if topics.contains(&topic) {
            return Err(format!("topic {topic:?} is listed twice"));
        }
        topics.push(topic);
    }
    let mut disclosure_topics = BTreeSet::new();
    for topic in b.disclosure_topics {
        if !topics.contains(&topic) {
            return Err(format!(
                "`disclosure_topics`: {topic:?} is not one of `topics`"
            ));
        }
        disclosure_topics.insert(topic);
    }
    let words = |list: Vec<String>, field: &str| -> std::result::Result<Vec<String>, String> {
        list.into_iter()
            .map(|w| {
                let folded = fold(&w);
                if folded.is_empty() || folded.contains(' ') {
                    Err(format!("`{field}`: {w:?} must be one word"))
                } else {
                    Ok(folded)
                }
            })
            .collect()
    };
    let quiet_hours = b
        .quiet_hours
        .map(|q| QuietHours::new(&q.start, &q.end, &q.time_zone))
        .transpose()
        .map_err(|e| format!("`quiet_hours`: {e}"))?;
    let disclosure_text = match b.disclosure_text {
        Some(text) if text.trim().is_empty() => return Err("`disclosure_text` is empty".into()),
        Some(text) => text,
        None => APPLE_DISCLOSURE.to_owned(),
    };
    let mut texts = BTreeMap::new();
    for (tag, t) in b.texts {
        for (field, value) in [
            ("unsubscribed", &t.unsubscribed),
            ("subscribed", &t.subscribed),
            ("preferences_title", &t.preferences_title),
            ("preferences_subtitle", &t.preferences_subtitle),
            ("preferences_saved", &t.preferences_saved),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(format!("`texts.{tag}.{field}` is empty"));
            }
        }
        for (topic, title) in &t.topics {
            if !topics.contains(topic) {
                return Err(format!(
                    "`texts.{tag}.topics`: {topic:?} is not one of `topics`"
                ));
            }
            if title.trim().is_empty() {
                return Err(format!("`texts.{tag}.topics.{topic}` is empty"));
            }
        }
        texts.insert(
            tag,
            Texts {
                unsubscribed: t.unsubscribed,
                subscribed: t.subscribed,
                preferences_title: t.preferences_title,
                preferences_subtitle: t.preferences_subtitle,
                preferences_saved: t.preferences_saved,
                topics: t.topics,
            },
        );
    }
    Ok(Policy {
        topics,
        disclosure_topics,
        disclosure_text,
        unsubscribe_words: words(b.unsubscribe_words, "unsubscribe_words")?,
        subscribe_words: words(b.subscribe_words, "subscribe_words")?,
        quiet_hours,
        texts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_full_file_parses_and_a_client_authenticates_by_its_token() {
        let text = format!(
            r#"
            [[business]]
            id = "acme"
            topics = ["account", "orders"]
            disclosure_topics = ["account"]
            unsubscribe_words = ["Désabonner"]
            quiet_hours = {{ start = "21:00", end = "08:00", time_zone = "Europe/Paris" }}
            [business.texts.fr]
            unsubscribed = "Plus de notifications."
            topics = {{ orders = "Commandes" }}

            [[client]]
            name = "crm"
            business = "acme"
            token_sha256 = "{TOKEN_HASH}"
            "#
        );
        let policies = Policies::parse(&text).unwrap();
        let acme = BusinessId::new("acme").unwrap();
        let policy = policies.policy(&acme);
        assert_eq!(policy.unsubscribe_words, ["desabonner"]);
        assert!(policy.has_topic("orders") && !policy.has_topic("marketing"));
        assert_eq!(
            policy.text(Text::Unsubscribed, "fr-CA"),
            "Plus de notifications."
        );
        assert_eq!(policy.text(Text::Subscribed, "fr-CA"), DEFAULT_SUBSCRIBED);
        assert_eq!(policy.topic_title("orders", "fr-FR"), "Commandes");
        assert_eq!(policy.topic_title("account", "fr-FR"), "Account");
        assert_eq!(policy.topic_title("orders", "en"), "Orders");
        // SHA-256 of "test".
        assert_eq!(policies.authenticate("test").unwrap().name, "crm");
        assert!(policies.authenticate("tesT").is_none());
        let other = policies.policy(&BusinessId::new("other").unwrap());
        assert_eq!(*other, Policy::default());
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry_and_the_field() {
        for (text, expected) in [
            (
                r#"[[business]]
                id = "acme"
                topics = []"#,
                "business[0] (acme): `topics` is empty",
            ),
            (
                r#"[[business]]
                id = "acme"
                topics = ["a b"]"#,
                "topic \"a b\"",
            ),
            (
                r#"[[business]]
                id = "acme"
                disclosure_topics = ["billing"]"#,
                "\"billing\" is not one of `topics`",
            ),
            (
                r#"[[business]]
                id = "acme"
                quiet_hours = { start = "25:00", end = "08:00", time_zone = "UTC" }"#,
                "`quiet_hours`",
            ),
            (
                r#"[[business]]
                id = "acme"
                quiet_hours = { start = "21:00", end = "08:00", time_zone = "Mars/Olympus" }"#,
                "unknown time zone",
            ),
            (
                r#"[[client]]
                name = "crm"
                business = "acme"
                token_sha256 = "abc""#,
                "client[0] (crm): `token_sha256`",
            ),
            (
                r#"[[business]]
                id = "acme"
                colour = "red""#,
                "unknown field",
            ),
        ] {
            let error = Policies::parse(text).unwrap_err();
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning_in_the_business_zone() {
        let quiet = QuietHours::new("21:00", "08:00", "Europe/Paris").unwrap();
        // 2026-12-01 22:30 in Paris (UTC+1) is 21:30 UTC.
        let late: Timestamp = "2026-12-01T21:30:00Z".parse().unwrap();
        assert_eq!(
            quiet.ends_after(late).unwrap(),
            "2026-12-02T07:00:00Z".parse::<Timestamp>().unwrap()
        );
        let early: Timestamp = "2026-12-02T05:00:00Z".parse().unwrap();
        assert_eq!(
            quiet.ends_after(early).unwrap(),
            "2026-12-02T07:00:00Z".parse::<Timestamp>().unwrap()
        );
        let noon: Timestamp = "2026-12-02T11:00:00Z".parse().unwrap();
        assert_eq!(quiet.ends_after(noon), None);
        let day = QuietHours::new("12:00", "14:00", "UTC").unwrap();
        assert_eq!(
            day.ends_after("2026-12-02T13:59:59Z".parse().unwrap()),
            Some("2026-12-02T14:00:00Z".parse().unwrap())
        );
        assert_eq!(
            day.ends_after("2026-12-02T14:00:00Z".parse().unwrap()),
            None
        );
    }
}
