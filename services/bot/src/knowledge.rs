//! The knowledge file: what the built-in bot knows about one business (intents with example
//! phrases and answers in several languages, the menu, locations with opening hours, the
//! fixed texts), loaded from TOML and validated at start with errors that name the file and
//! the bad entry. The format is documented in the crate's README.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use parley_types::BusinessId;
use serde::Deserialize;

use crate::{
    entities::Places,
    error::{Error, Result},
    hours::{DAY_KEYS, Schedule},
    matching::Matcher,
    normalize::fold,
    stemming::primary,
    texts::{builtin, builtin_days},
    triggers::TriggerAction,
};

/// The default lowest matching score that counts as understood.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    business: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    bot_name: String,
    #[serde(default = "default_locale")]
    default_locale: String,
    #[serde(default = "yes")]
    typing_indicators: bool,
    #[serde(default = "two")]
    max_misses: u32,
    #[serde(default)]
    match_threshold: Option<f64>,
    #[serde(default)]
    menu: Vec<String>,
    #[serde(default)]
    triggers: TriggersFile,
    #[serde(default)]
    messages: BTreeMap<String, Messages>,
    #[serde(default)]
    locations: Vec<LocationFile>,
    #[serde(default)]
    intents: Vec<IntentFile>,
    /// Synonym groups per language, added to Parley's (see [`crate::synonyms`]).
    #[serde(default)]
    synonyms: BTreeMap<String, Vec<Vec<String>>>,
}

fn default_locale() -> String {
    "en".into()
}
fn yes() -> bool {
    true
}
fn two() -> u32 {
    2
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersFile {
    #[serde(default)]
    agent: Vec<String>,
    #[serde(default)]
    menu: Vec<String>,
    #[serde(default)]
    unsubscribe: Vec<String>,
    #[serde(default)]
    subscribe: Vec<String>,
}

/// The fixed texts of one language. Every one is optional: a missing text comes from the
/// default language, then from the built-in English. Placeholders: `{business}`,
/// `{location}`, `{time}`, `{day}`, `{position}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Messages {
    pub greeting: Option<String>,
    pub human_hint: Option<String>,
    pub fallback: Option<String>,
    pub fallback_escalate: Option<String>,
    pub escalating: Option<String>,
    pub queued: Option<String>,
    pub queued_position: Option<String>,
    pub no_agents: Option<String>,
    pub outside_hours: Option<String>,
    pub assigned: Option<String>,
    pub returned: Option<String>,
    pub menu_title: Option<String>,
    pub locations_title: Option<String>,
    pub reply_with_number: Option<String>,
    pub open_until: Option<String>,
    pub opens_at: Option<String>,
    pub closed_holiday: Option<String>,
    pub closed: Option<String>,
    pub hours_on: Option<String>,
    pub closed_on: Option<String>,
    pub today: Option<String>,
    pub tomorrow: Option<String>,
    pub clarify: Option<String>,
    pub talk_to_person: Option<String>,
    pub no_slots: Option<String>,
    pub days: Option<Vec<String>>,
}

/// A fixed text of [`Messages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Text {
    Greeting,
    HumanHint,
    Fallback,
    FallbackEscalate,
    Escalating,
    Queued,
    QueuedPosition,
    NoAgents,
    OutsideHours,
    Assigned,
    Returned,
    MenuTitle,
    LocationsTitle,
    ReplyWithNumber,
    OpenUntil,
    OpensAt,
    ClosedHoliday,
    Closed,
    /// One location's hours on a day asked about (`{location}`, `{day}`, `{hours}`).
    HoursOn,
    /// A location closed on a day asked about (`{location}`, `{day}`).
    ClosedOn,
    Today,
    Tomorrow,
    Clarify,
    TalkToPerson,
    NoSlots,
}

impl Messages {
    fn get(&self, text: Text) -> Option<&str> {
        let value = match text {
            Text::Greeting => &self.greeting,
            Text::HumanHint => &self.human_hint,
            Text::Fallback => &self.fallback,
            Text::FallbackEscalate => &self.fallback_escalate,
            Text::Escalating => &self.escalating,
            Text::Queued => &self.queued,
            Text::QueuedPosition => &self.queued_position,
            Text::NoAgents => &self.no_agents,
            Text::OutsideHours => &self.outside_hours,
            Text::Assigned => &self.assigned,
            Text::Returned => &self.returned,
            Text::MenuTitle => &self.menu_title,
            Text::LocationsTitle => &self.locations_title,
            Text::ReplyWithNumber => &self.reply_with_number,
            Text::OpenUntil => &self.open_until,
            Text::OpensAt => &self.opens_at,
            Text::ClosedHoliday => &self.closed_holiday,
            Text::Closed => &self.closed,
            Text::HoursOn => &self.hours_on,
            Text::ClosedOn => &self.closed_on,
            Text::Today => &self.today,
            Text::Tomorrow => &self.tomorrow,
            Text::Clarify => &self.clarify,
            Text::TalkToPerson => &self.talk_to_person,
            Text::NoSlots => &self.no_slots,
        };
        value.as_deref()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationFile {
    id: String,
    #[serde(default)]
    name: BTreeMap<String, String>,
    #[serde(default)]
    address: BTreeMap<String, String>,
    #[serde(default)]
    link: Option<String>,
    time_zone: String,
    #[serde(default)]
    holidays: Vec<String>,
    hours: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentFile {
    id: String,
    #[serde(default)]
    kind: IntentKind,
    #[serde(default)]
    title: BTreeMap<String, String>,
    #[serde(default)]
    phrases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    answer: BTreeMap<String, AnswerFile>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    appointment: Option<AppointmentFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFile {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    link: Option<Link>,
    #[serde(default)]
    quick_reply: Option<QuickReplyFile>,
    #[serde(default)]
    confirmed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuickReplyFile {
    summary: String,
    items: Vec<QuickItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppointmentFile {
    location: String,
    #[serde(default = "sixty")]
    duration_minutes: u32,
    #[serde(default = "three")]
    days: u32,
    #[serde(default = "eight")]
    max_slots: u32,
}

fn sixty() -> u32 {
    60
}
fn three() -> u32 {
    3
}
fn eight() -> u32 {
    8
}

/// One choice of a quick-reply answer and what the bot says when it is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickItem {
    /// Its id (choice identifier `quick:<intent>:<id>`).
    pub id: String,
    /// The button's title.
    pub title: String,
    /// The answer when it is chosen.
    pub text: String,
}

/// A quick reply: a question and 2 to 5 choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReply {
    /// The question above the choices.
    pub summary: String,
    /// The choices, in order.
    pub items: Vec<QuickItem>,
}

/// Appointment slots generated from a location's opening hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    /// The location (index into [`Knowledge::locations`]).
    pub location: usize,
    /// Each slot's length.
    pub duration_minutes: u32,
    /// How many local days are offered, today first.
    pub days: u32,
    /// The most slots offered.
    pub max_slots: u32,
}

/// What an intent does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentKind {
    /// Answers with its text (and link).
    #[default]
    Answer,
    /// Answers with its text, then each location's opening status now.
    Hours,
    /// Offers the locations in a list picker (numbered text where the device has none).
    Locations,
    /// Shows the menu.
    Menu,
    /// Hands the conversation to a person (its `queue` and `skills`, if set).
    Human,
    /// Offers appointment slots in a time picker (numbered text where the device has none),
    /// generated from a location's opening hours; a chosen slot gets the `confirmed` text.
    Appointment,
}

/// A link sent as a rich link after the answer's text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// An `https` URL.
    pub url: String,
    /// The preview's title.
    #[serde(default)]
    pub title: String,
}

/// One answer in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The text: always present, so every answer can be shown on any device.
    pub text: String,
    /// A link shown as a rich link after the text.
    pub link: Option<Link>,
    /// A quick reply sent instead of the text where the device can show one.
    pub quick_reply: Option<QuickReply>,
    /// For `appointment`: the confirmation of a chosen slot (`{time}`, `{day}`,
    /// `{location}`).
    pub confirmed: Option<String>,
}

/// One intent.
#[derive(Debug, Clone)]
pub struct Intent {
    /// Its id (menu item identifier `intent:<id>`).
    pub id: String,
    /// What it does.
    pub kind: IntentKind,
    /// Its menu title per language.
    pub titles: BTreeMap<String, String>,
    /// Its answer per language.
    pub answers: BTreeMap<String, Answer>,
    /// For `human`: the queue to ask routing for.
    pub queue: Option<String>,
    /// For `human`: the skills the agent needs.
    pub skills: Vec<String>,
    /// For `appointment`: the slots offered.
    pub appointment: Option<Appointment>,
}

/// One location.
#[derive(Debug, Clone)]
pub struct Location {
    /// Its id (list item identifier `location:<id>`).
    pub id: String,
    /// Its name per language.
    pub names: BTreeMap<String, String>,
    /// Its address per language.
    pub addresses: BTreeMap<String, String>,
    /// A map or page link, sent as a rich link when the location is chosen.
    pub link: Option<String>,
    /// Its opening hours.
    pub schedule: Schedule,
}

/// Everything the built-in bot knows about one business.
#[derive(Debug, Clone)]
pub struct Knowledge {
    /// The file it came from (for errors and logs).
    pub source: String,
    /// The business.
    pub business: BusinessId,
    /// The business's display name.
    pub name: String,
    /// The bot's label (`msp-agent`) and display name.
    pub bot_name: String,
    /// The language used when the customer's is not in the file.
    pub default_locale: String,
    /// Every language the file has texts for.
    pub locales: BTreeSet<String>,
    /// Whether answers are wrapped in typing indicators.
    pub typing_indicators: bool,
    /// Misunderstood messages in a row before the bot hands over to a person.
    pub max_misses: u32,
    /// The intents of the main menu, in order.
    pub menu: Vec<usize>,
    /// Extra trigger words (folded).
    pub triggers: Vec<(TriggerAction, String)>,
    /// The intents.
    pub intents: Vec<Intent>,
    /// The locations.
    pub locations: Vec<Location>,
    /// The phrase index.
    pub matcher: Matcher,
    /// The words naming each location, for the location a sentence is about.
    pub places: Places,
    messages: BTreeMap<String, Messages>,
}

/// The value for `locale` in a per-language map: that language, then the default one, then
/// any.
pub fn localized<'a, T>(
    map: &'a BTreeMap<String, T>,
    locale: &str,
    default: &str,
) -> Option<&'a T> {
    map.get(locale)
        .or_else(|| map.get(default))
        .or_else(|| map.values().next())
}

fn check_locale(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 35
        && tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Knowledge {
    /// Parses and validates a knowledge file; `source` names it in errors.
    #[allow(clippy::too_many_lines)]
    pub fn from_toml(source: &str, text: &str) -> Result<Self> {
        let fail = |problem: String| Error::Knowledge {
            file: source.to_owned(),
            problem,
        };
        let file: File = toml::from_str(text).map_err(|e| fail(e.to_string().trim().to_owned()))?;
        let business =
            BusinessId::new(file.business.clone()).map_err(|e| fail(format!("business: {e}")))?;
        let default = file.default_locale.clone();
        if !check_locale(&default) {
            return Err(fail(format!(
                "default_locale {default:?} must be a lower-case language tag such as \"en\" or \"pt-br\""
            )));
        }
        let mut locales = BTreeSet::from([default.clone()]);
        let mut check = |what: &str, tag: &str| -> Result<()> {
            if check_locale(tag) {
                locales.insert(tag.to_owned());
                Ok(())
            } else {
                Err(fail(format!(
                    "{what}: language {tag:?} must be a lower-case language tag such as \"en\" or \"pt-br\""
                )))
            }
        };
        for (tag, messages) in &file.messages {
            check("messages", tag)?;
            if let Some(days) = &messages.days
                && days.len() != 7
            {
                return Err(fail(format!(
                    "messages.{tag}: days must name 7 days, Monday first"
                )));
            }
        }
        if file.max_misses == 0 {
            return Err(fail("max_misses must be at least 1".into()));
        }
        let threshold = file.match_threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(fail("match_threshold must be above 0 and at most 1".into()));
        }

        let mut locations = Vec::new();
        let mut location_ids = BTreeSet::new();
        for location in &file.locations {
            let what = format!("location {:?}", location.id);
            if location.id.trim().is_empty() {
                return Err(fail("a location has an empty id".into()));
            }
            if !location_ids.insert(location.id.clone()) {
                return Err(fail(format!("{what} is defined twice")));
            }
            for tag in location.name.keys().chain(location.address.keys()) {
                check(&what, tag)?;
            }
            if location.name.values().all(|n| n.trim().is_empty()) {
                return Err(fail(format!("{what} has no name")));
            }
            if let Some(link) = &location.link
                && !link.starts_with("https://")
            {
                return Err(fail(format!("{what}: link must be an https URL")));
            }
            if let Some(day) = location
                .hours
                .keys()
                .find(|d| !DAY_KEYS.contains(&d.as_str()))
            {
                return Err(fail(format!(
                    "{what}: hours: {day:?} is not one of mon, tue, wed, thu, fri, sat, sun"
                )));
            }
            let week = DAY_KEYS.map(|d| location.hours.get(d).map_or("closed", String::as_str));
            let schedule = Schedule::new(&location.time_zone, week, &location.holidays)
                .map_err(|e| fail(format!("{what}: {e}")))?;
            locations.push(Location {
                id: location.id.clone(),
                names: location.name.clone(),
                addresses: location.address.clone(),
                link: location.link.clone(),
                schedule,
            });
        }

        let mut intents = Vec::new();
        let mut ids = BTreeSet::new();
        let mut phrases = Vec::new();
        for (index, intent) in file.intents.iter().enumerate() {
            let what = format!("intent {:?}", intent.id);
            if intent.id.trim().is_empty() {
                return Err(fail("an intent has an empty id".into()));
            }
            if !ids.insert(intent.id.clone()) {
                return Err(fail(format!("{what} is defined twice")));
            }
            let mut answers = BTreeMap::new();
            for (tag, answer) in &intent.answer {
                check(&what, tag)?;
                let text = answer.text.clone().unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(fail(format!("{what}: answer ({tag}) has no text fallback")));
                }
                if let Some(url) = text.split_whitespace().find(|w| w.contains("http://")) {
                    return Err(fail(format!(
                        "{what}: answer ({tag}): {url:?}: links must be https (each is also sent as a rich link)"
                    )));
                }
                if let Some(link) = &answer.link
                    && !link.url.starts_with("https://")
                {
                    return Err(fail(format!(
                        "{what}: answer ({tag}): link must be an https URL"
                    )));
                }
                let quick_reply = match &answer.quick_reply {
                    None => None,
                    Some(quick) => {
                        let n = quick.items.len();
                        if !(2..=5).contains(&n) {
                            return Err(fail(format!(
                                "{what}: answer ({tag}): quick_reply has {n} items (2 to 5)"
                            )));
                        }
                        if quick.summary.trim().is_empty() {
                            return Err(fail(format!(
                                "{what}: answer ({tag}): quick_reply has no summary"
                            )));
                        }
                        let mut seen = BTreeSet::new();
                        for item in &quick.items {
                            if item.id.trim().is_empty() || !seen.insert(item.id.as_str()) {
                                return Err(fail(format!(
                                    "{what}: answer ({tag}): quick_reply item {:?} is empty or repeated",
                                    item.id
                                )));
                            }
                            if item.title.trim().is_empty() || item.text.trim().is_empty() {
                                return Err(fail(format!(
                                    "{what}: answer ({tag}): quick_reply item {:?} needs a title and a text",
                                    item.id
                                )));
                            }
                        }
                        Some(QuickReply {
                            summary: quick.summary.clone(),
                            items: quick.items.clone(),
                        })
                    }
                };
                if intent.kind == IntentKind::Appointment
                    && answer
                        .confirmed
                        .as_deref()
                        .is_none_or(|c| c.trim().is_empty())
                {
                    return Err(fail(format!(
                        "{what}: answer ({tag}) has no confirmed text (the answer to a chosen slot)"
                    )));
                }
                answers.insert(
                    tag.clone(),
                    Answer {
                        text,
                        link: answer.link.clone(),
                        quick_reply,
                        confirmed: answer.confirmed.clone(),
                    },
                );
            }
            let appointment = match (&intent.appointment, intent.kind) {
                (None, IntentKind::Appointment) => {
                    return Err(fail(format!(
                        "{what}: kind \"appointment\" needs an appointment = {{ location = … }}"
                    )));
                }
                (Some(_), kind) if kind != IntentKind::Appointment => {
                    return Err(fail(format!(
                        "{what}: appointment is only for kind \"appointment\""
                    )));
                }
                (None, _) => None,
                (Some(a), _) => {
                    let Some(location) = locations.iter().position(|l| l.id == a.location) else {
                        return Err(fail(format!(
                            "{what}: appointment: location {:?} is not defined",
                            a.location
                        )));
                    };
                    if !(5..=1440).contains(&a.duration_minutes) {
                        return Err(fail(format!(
                            "{what}: appointment: duration_minutes must be 5 to 1440"
                        )));
                    }
                    if !(1..=31).contains(&a.days) {
                        return Err(fail(format!("{what}: appointment: days must be 1 to 31")));
                    }
                    if !(1..=20).contains(&a.max_slots) {
                        return Err(fail(format!(
                            "{what}: appointment: max_slots must be 1 to 20"
                        )));
                    }
                    Some(Appointment {
                        location,
                        duration_minutes: a.duration_minutes,
                        days: a.days,
                        max_slots: a.max_slots,
                    })
                }
            };
            if matches!(intent.kind, IntentKind::Answer | IntentKind::Appointment)
                && answers.is_empty()
            {
                return Err(fail(format!("{what}: has no answer")));
            }
            if matches!(intent.kind, IntentKind::Hours | IntentKind::Locations)
                && locations.is_empty()
            {
                return Err(fail(format!(
                    "{what}: kind {:?} needs at least one [[locations]] entry",
                    intent.kind
                )));
            }
            for tag in intent.title.keys() {
                check(&what, tag)?;
            }
            for (tag, list) in &intent.phrases {
                check(&what, tag)?;
                for phrase in list {
                    if fold(phrase).is_empty() {
                        return Err(fail(format!(
                            "{what}: phrase {phrase:?} ({tag}) has no words"
                        )));
                    }
                    phrases.push((index, tag.clone(), phrase.clone()));
                }
            }
            // A title names its intent plainly (`Opening hours`, `Coffee beans`): it is
            // one more phrase.
            for (tag, title) in &intent.title {
                if !fold(title).is_empty() {
                    phrases.push((index, tag.clone(), title.clone()));
                }
            }
            if intent.phrases.values().all(Vec::is_empty)
                && !file.menu.contains(&intent.id)
                && intent.kind != IntentKind::Menu
            {
                return Err(fail(format!(
                    "{what}: has no phrases and is not in the menu, so it can never be chosen"
                )));
            }
            intents.push(Intent {
                id: intent.id.clone(),
                kind: intent.kind,
                titles: intent.title.clone(),
                answers,
                queue: intent.queue.clone().filter(|q| !q.trim().is_empty()),
                skills: intent.skills.clone(),
                appointment,
            });
        }

        let mut menu = Vec::new();
        for id in &file.menu {
            let Some(index) = intents.iter().position(|i| &i.id == id) else {
                return Err(fail(format!("menu: intent {id:?} is not defined")));
            };
            if intents[index].titles.values().all(|t| t.trim().is_empty()) {
                return Err(fail(format!(
                    "intent {id:?}: is in the menu but has no title"
                )));
            }
            if intents[index].kind == IntentKind::Menu {
                return Err(fail(format!("menu: intent {id:?} is the menu itself")));
            }
            menu.push(index);
        }
        if !menu.iter().any(|&i| intents[i].kind == IntentKind::Human) && !menu.is_empty() {
            return Err(fail(
                "menu: has no intent of kind \"human\" (a person must always be one choice away)"
                    .into(),
            ));
        }

        let mut triggers = Vec::new();
        for (action, words) in [
            (TriggerAction::Agent, &file.triggers.agent),
            (TriggerAction::Menu, &file.triggers.menu),
            (TriggerAction::Unsubscribe, &file.triggers.unsubscribe),
            (TriggerAction::Subscribe, &file.triggers.subscribe),
        ] {
            for word in words {
                let folded = fold(word);
                if folded.is_empty() || folded.contains(' ') {
                    return Err(fail(format!("triggers: {word:?} must be one word")));
                }
                triggers.push((action, folded));
            }
        }

        for (tag, groups) in &file.synonyms {
            if !check_locale(tag) {
                return Err(fail(format!(
                    "synonyms: language {tag:?} must be a lower-case language tag such as \"en\" or \"pt-br\""
                )));
            }
            for group in groups {
                if group.len() < 2 || group.iter().any(|w| fold(w).is_empty()) {
                    return Err(fail(format!(
                        "synonyms.{tag}: {group:?} must list two or more words, the first the one the others stand for"
                    )));
                }
            }
        }
        let matcher = Matcher::with_synonyms(
            phrases
                .iter()
                .map(|(i, tag, phrase)| (*i, tag.as_str(), phrase.as_str())),
            threshold,
            &file.synonyms,
        );
        let places = Places::new(locations.iter().map(|l| {
            (
                l.id.as_str(),
                l.names.values().map(String::as_str).collect::<Vec<_>>(),
            )
        }));
        Ok(Self {
            source: source.to_owned(),
            name: if file.name.is_empty() {
                business.to_string()
            } else {
                file.name
            },
            bot_name: if file.bot_name.is_empty() {
                "Parley bot".into()
            } else {
                file.bot_name
            },
            business,
            default_locale: default,
            locales,
            typing_indicators: file.typing_indicators,
            max_misses: file.max_misses,
            menu,
            triggers,
            intents,
            locations,
            matcher,
            places,
            messages: file.messages,
        })
    }

    /// The knowledge of a business without a file: no intents, built-in texts; every
    /// message goes to a person.
    pub fn empty(business: BusinessId) -> Self {
        Self {
            source: "(none)".into(),
            name: business.to_string(),
            bot_name: "Parley bot".into(),
            business,
            default_locale: default_locale(),
            locales: BTreeSet::from([default_locale()]),
            typing_indicators: true,
            max_misses: 1,
            menu: Vec::new(),
            triggers: Vec::new(),
            intents: Vec::new(),
            locations: Vec::new(),
            matcher: Matcher::default(),
            places: Places::default(),
            messages: BTreeMap::new(),
        }
    }

    /// The file's language for a customer's BCP 47 tag (`fr-CA` → `fr-ca`, else `fr`, else
    /// the default language).
    pub fn locale_for(&self, tag: &str) -> String {
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        if self.locales.contains(&tag) {
            return tag;
        }
        let primary = tag.split('-').next().unwrap_or_default();
        if self.locales.contains(primary) {
            return primary.to_owned();
        }
        self.default_locale.clone()
    }

    /// A fixed text in `locale`: the file's, else Parley's built-in text of that language
    /// (see [`crate::texts`]), else the file's default language's, else built-in English;
    /// with `{business}` filled in.
    pub fn text(&self, locale: &str, text: Text) -> String {
        let found = self
            .messages
            .get(locale)
            .and_then(|m| m.get(text))
            .or_else(|| self.messages.get(primary(locale)).and_then(|m| m.get(text)))
            .or_else(|| builtin(primary(locale), text))
            .or_else(|| {
                self.messages
                    .get(&self.default_locale)
                    .and_then(|m| m.get(text))
            })
            .or_else(|| builtin(primary(&self.default_locale), text))
            .or_else(|| builtin("en", text))
            .unwrap_or_default();
        found.replace("{business}", &self.name)
    }

    /// Whether the file itself writes `text` in `locale` (not a built-in text).
    pub fn writes(&self, locale: &str, text: Text) -> bool {
        self.messages
            .get(locale)
            .and_then(|m| m.get(text))
            .is_some()
    }

    /// The name of a day of the week (0 = Monday) in `locale`: the file's, else Parley's
    /// built-in names of that language, else the default language's, else English.
    pub fn day_name(&self, locale: &str, weekday: u8) -> String {
        let index = usize::from(weekday.min(6));
        let file = |tag: &str| {
            self.messages
                .get(tag)
                .and_then(|m| m.days.as_ref())
                .and_then(|d| d.get(index).cloned())
        };
        let built = |tag: &str| {
            builtin_days(primary(tag)).and_then(|d| d.get(index).map(|day| (*day).to_owned()))
        };
        file(locale)
            .or_else(|| file(primary(locale)))
            .or_else(|| built(locale))
            .or_else(|| file(&self.default_locale))
            .or_else(|| built(&self.default_locale))
            .or_else(|| built("en"))
            .unwrap_or_default()
    }

    /// The index of an intent by id.
    pub fn intent(&self, id: &str) -> Option<usize> {
        self.intents.iter().position(|i| i.id == id)
    }
}

/// Loads every `*.toml` file of `dir` (one business each), validated; two files for one
/// business are refused.
pub fn load_dir(dir: &Path) -> Result<BTreeMap<BusinessId, Knowledge>> {
    let io = |path: &Path, source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out: BTreeMap<BusinessId, Knowledge> = BTreeMap::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let knowledge = Knowledge::from_toml(&name, &text)?;
        if let Some(other) = out.get(&knowledge.business) {
            return Err(Error::Knowledge {
                file: name,
                problem: format!(
                    "business {} is already described by {}",
                    knowledge.business, other.source
                ),
            });
        }
        out.insert(knowledge.business.clone(), knowledge);
    }
    Ok(out)
}
