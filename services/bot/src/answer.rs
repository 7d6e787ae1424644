//! The bot's decisions, as a pure function: from the knowledge file, one `BotTask`, what the
//! bot remembers of the conversation and the time, to the actions to carry out (messages
//! to send, an escalation to ask routing for, an opt-out to record) and what to remember
//! next. No I/O, no clock, no randomness: a redelivered task gives the same actions, so the
//! service republishes the same event ids with the same sequence numbers.
//!
//! Order of precedence for a customer's text:
//! 1. Apple's trigger words (`agent`/`support`/`help`: a person; `menu`/`list`/`?`: the
//!    menu; `unsubscribe`/`spam`/`stop`/`end`/`subscribe`: nothing, notification-consent
//!    records the change and confirms it);
//! 2. a number answering the last menu, quick reply or slot list the bot showed (`2`);
//! 3. the best intent of the knowledge file, if the match is good enough;
//! 4. close to several intents: one clarifying question (the top intents and a person, a
//!    quick reply), counted as a miss;
//! 5. otherwise a miss: sorry and the menu; after `max_misses` misses in a row, a person.
//!
//! Every answer offers a person: text answers end with the hint that a person is one word
//! away, every menu has a "person" choice (the knowledge file is refused otherwise), quick
//! replies and the location list end with a "talk to a person" item, a time picker is
//! followed by the hint.

use parley_proto::v1::{
    BotContext, BotTask, BubbleLayout, EscalateToHuman, EscalationReason, EscalationStatus,
    EscalationUpdate, InboundMessage, InteractiveCommon, ListPickerItem, ListPickerRequest,
    ListPickerSection, OutboundMessage, OutboundText, QuickReplyItem, QuickReplyRequest, RichLink,
    TimePickerEvent, TimePickerRequest, TimeSlot, TypingEnd, TypingStart, bot_task,
    inbound_message, interactive_reply, outbound_message::Kind,
};
use parley_wire::{capabilities, consent::preference_topic};
use serde::{Deserialize, Serialize};

use crate::{
    entities::{self, Day},
    hours::{LocalTime, Status},
    knowledge::{IntentKind, Knowledge, QuickReply, Text, localized},
    locale::{self as conventions, script_language},
    matching::Match,
    normalize::bare_number,
    stemming::primary,
    triggers::{TriggerAction, trigger},
};

/// Choice identifier prefix of an intent (list picker item, remembered menu entry).
pub const INTENT_CHOICE: &str = "intent:";
/// Choice identifier prefix of a location.
pub const LOCATION_CHOICE: &str = "location:";
/// Choice identifier prefix of a quick-reply item (`quick:<intent>:<item>`).
pub const QUICK_CHOICE: &str = "quick:";
/// Choice identifier prefix of an appointment slot (`slot:<intent>:<unix seconds>`).
pub const SLOT_CHOICE: &str = "slot:";
/// Choice identifier of the "talk to a person" item of quick replies and location lists.
pub const HUMAN_CHOICE: &str = "human";
/// The most candidate intents a clarifying question offers.
const CLARIFY_CANDIDATES: usize = 3;
/// A candidate for a clarifying question scores at least this share of the threshold.
const CLARIFY_FLOOR: f64 = 0.5;
/// How long the last question's topic is remembered for a follow-up ("and on Sunday?"), in
/// seconds of the conversation's own time (the tasks' `occurred_at`).
pub const CONTEXT_SECONDS: i64 = 15 * 60;
/// How far below the best language's score the device's language may score and still be
/// the language of the answer.
const DEVICE_LANGUAGE_MARGIN: f64 = 0.05;

/// What the bot remembers of a conversation between tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// The choices of the last menu shown, in order (a typed number picks one).
    #[serde(default)]
    pub menu: Vec<String>,
    /// Misunderstood messages in a row.
    #[serde(default)]
    pub misses: u32,
    /// The language of the last message understood (empty: the device's).
    #[serde(default)]
    pub locale: String,
    /// The id of the intent last answered, for a follow-up (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// When it was answered (seconds since the Unix epoch, the task's time).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub topic_at: i64,
    /// The day it was about ([`Day::key`]; empty: none named).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub day: String,
    /// The location it was about (its id; empty: none named).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// What a question is about besides its intent: a day and a location (an index).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// The day or moment named.
    pub day: Option<Day>,
    /// The location named.
    pub location: Option<usize>,
}

impl Asked {
    /// The day and location `text` names in the knowledge of `k`.
    pub fn of(k: &Knowledge, text: &str) -> Self {
        Self {
            day: entities::day(text),
            location: k.places.find(text),
        }
    }

    fn is_empty(self) -> bool {
        self.day.is_none() && self.location.is_none()
    }
}

/// One thing the service must do, in order.
#[derive(Debug, Clone, PartialEq)]
// A handful of actions live for one task; boxing the message would only cost an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Send a message to the customer (`amb.outbound`).
    Send(Kind),
    /// Ask routing to hand the conversation to a person (`amb.routing`).
    Escalate(EscalateToHuman),
}

/// The bot's decision for one task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// What to remember afterwards.
    pub memory: Memory,
    /// True when the customer's message was not understood (for metrics).
    pub missed: bool,
}

impl Reply {
    /// The texts the customer is sent (message bodies; list pickers by their title), for
    /// tests and the demo.
    pub fn texts(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(Kind::Text(t)) => Some(t.body.clone()),
                Action::Send(Kind::ListPicker(l)) => l
                    .common
                    .as_ref()
                    .and_then(|c| c.received_message.as_ref())
                    .map(|b| b.title.clone()),
                Action::Send(Kind::QuickReply(q)) => Some(q.summary_text.clone()),
                Action::Send(Kind::TimePicker(t)) => t.event.as_ref().map(|e| e.title.clone()),
                _ => None,
            })
            .collect()
    }

    /// The escalation asked for, if any.
    pub fn escalation(&self) -> Option<&EscalateToHuman> {
        self.actions.iter().find_map(|a| match a {
            Action::Escalate(e) => Some(e),
            _ => None,
        })
    }
}

struct Turn<'a> {
    k: &'a Knowledge,
    ctx: &'a BotContext,
    /// The device's language tag, as routing gave it (`en_US`).
    device: String,
    locale: String,
    /// What the question being answered is about.
    asked: Asked,
    now: i64,
    memory: Memory,
    actions: Vec<Action>,
    missed: bool,
}

/// Decides what to do about `task`. `now_unix_seconds` is the time the task was produced
/// (its `meta.occurred_at`), so a redelivery decides the same.
pub fn answer(k: &Knowledge, task: &BotTask, memory: &Memory, now_unix_seconds: i64) -> Reply {
    let default_ctx = BotContext::default();
    let ctx = task.context.as_ref().unwrap_or(&default_ctx);
    let device = ctx
        .locale
        .as_ref()
        .map(|l| {
            if l.language_tag.is_empty() {
                l.apple.clone()
            } else {
                l.language_tag.clone()
            }
        })
        .unwrap_or_default();
    let locale = if memory.locale.is_empty() {
        k.locale_for(&device)
    } else {
        k.locale_for(&memory.locale)
    };
    let mut turn = Turn {
        k,
        ctx,
        device,
        locale,
        asked: Asked::default(),
        now: now_unix_seconds,
        memory: memory.clone(),
        actions: Vec::new(),
        missed: false,
    };
    match task.task.as_ref() {
        Some(bot_task::Task::CustomerMessage(message)) => turn.customer(message),
        Some(bot_task::Task::ReturnedFromAgent(_)) => {
            turn.memory.misses = 0;
            turn.say(k.text(&turn.locale, Text::Returned));
            turn.menu();
        }
        Some(bot_task::Task::EscalationUpdate(update)) => turn.escalation_update(update),
        Some(bot_task::Task::ConversationEnded(_)) => turn.memory = Memory::default(),
        None => {}
    }
    turn.finish()
}

impl Turn<'_> {
    fn finish(mut self) -> Reply {
        let visible = self.actions.iter().any(|a| matches!(a, Action::Send(_)));
        if visible && self.k.typing_indicators {
            self.actions
                .insert(0, Action::Send(Kind::TypingStart(TypingStart {})));
            let last_send = self
                .actions
                .iter()
                .rposition(|a| matches!(a, Action::Send(_)))
                .map_or(self.actions.len(), |i| i + 1);
            self.actions
                .insert(last_send, Action::Send(Kind::TypingEnd(TypingEnd {})));
        }
        Reply {
            actions: self.actions,
            memory: self.memory,
            missed: self.missed,
        }
    }

    fn say(&mut self, text: String) {
        if !text.trim().is_empty() {
            self.actions.push(Action::Send(Kind::Text(OutboundText {
                body: text,
                attachments: Vec::new(),
            })));
        }
    }

    /// A text answer with the hint that a person is one word away.
    fn say_with_hint(&mut self, text: &str) {
        let hint = self.k.text(&self.locale, Text::HumanHint);
        if hint.trim().is_empty() {
            self.say(text.to_owned());
        } else {
            self.say(format!("{text}\n\n{hint}"));
        }
    }

    fn greet_if_new(&mut self) {
        if self.ctx.new_conversation {
            let greeting = self.k.text(&self.locale, Text::Greeting);
            self.say(greeting);
        }
    }

    fn customer(&mut self, message: &InboundMessage) {
        match message.kind.as_ref() {
            Some(inbound_message::Kind::Text(text)) => self.text(&text.body),
            Some(inbound_message::Kind::InteractiveReply(reply)) => {
                // The customer's message preferences: notification-consent's to record and
                // confirm.
                if let Some(interactive_reply::Reply::ListPicker(list)) = reply.reply.as_ref()
                    && list
                        .sections
                        .iter()
                        .flat_map(|s| s.items.iter())
                        .any(|i| preference_topic(&i.identifier).is_some())
                {
                    return;
                }
                let choice = match reply.reply.as_ref() {
                    Some(interactive_reply::Reply::ListPicker(list)) => list
                        .sections
                        .iter()
                        .flat_map(|s| s.items.iter())
                        .map(|i| i.identifier.clone())
                        .next(),
                    Some(interactive_reply::Reply::TimePicker(time)) => {
                        time.event.as_ref().and_then(|event| {
                            event.timeslots.first().map(|slot| {
                                if slot.identifier.is_empty() {
                                    let at = slot.start_time.as_ref().map_or(0, |t| t.seconds);
                                    format!("{SLOT_CHOICE}{}:{at}", event.identifier)
                                } else {
                                    slot.identifier.clone()
                                }
                            })
                        })
                    }
                    Some(interactive_reply::Reply::QuickReply(quick)) => {
                        if quick.selected_identifier.is_empty() {
                            quick
                                .selected_index
                                .and_then(|i| usize::try_from(i).ok())
                                .and_then(|i| self.memory.menu.get(i).cloned())
                        } else {
                            Some(quick.selected_identifier.clone())
                        }
                    }
                    _ => None,
                };
                if let Some(choice) = choice {
                    self.choose(&choice);
                }
            }
            // Typing, tapbacks and close need no answer (routing ends the conversation on
            // close).
            _ => {}
        }
    }

    fn text(&mut self, body: &str) {
        if let Some(t) = trigger(body, &self.k.triggers) {
            self.memory.misses = 0;
            match t.action {
                TriggerAction::Agent => {
                    self.escalate(
                        EscalationReason::TriggerWord,
                        &t.word,
                        format!("The customer typed the trigger word \"{}\".", t.word),
                        None,
                        Vec::new(),
                    );
                }
                TriggerAction::Menu => {
                    self.greet_if_new();
                    self.menu();
                }
                // notification-consent records the change and confirms it in the
                // customer's language; a second answer from the bot would only confuse.
                TriggerAction::Unsubscribe | TriggerAction::Subscribe => {}
            }
            return;
        }
        if let Some(n) = bare_number(body)
            && let Some(choice) = n
                .checked_sub(1)
                .and_then(|i| self.memory.menu.get(i))
                .cloned()
        {
            self.choose(&choice);
            return;
        }
        let mut asked = Asked::of(self.k, body);
        let found = self.k.matcher.best(body);
        // "and on Sunday?", "what about the Paris one?": a follow-up, unless its words ask
        // for another answer of their own (`وصلني الكوب مكسورا يوم السبت`, "the mug arrived
        // broken on Saturday", opens with a و that is no "and": it is a return). Only
        // hours, locations and the menu (`what about …` comes close to `what can you do`)
        // give way.
        let open = found.as_ref().is_none_or(|m| {
            self.k.intents.get(m.intent).is_none_or(|i| {
                matches!(
                    i.kind,
                    IntentKind::Hours
                        | IntentKind::Locations
                        | IntentKind::Menu
                        | IntentKind::Appointment
                )
            })
        });
        if open && entities::sounds_like_a_follow_up(body) && self.follow_up(body, asked) {
            return;
        }
        if let Some(found) = found {
            self.memory.misses = 0;
            let locale = self.answer_language(&found, body);
            self.locale.clone_from(&locale);
            self.memory.locale = locale;
            self.greet_if_new();
            // An hours question naming a day but no store, right after a store was talked
            // about, is about that store.
            let hours = self
                .k
                .intents
                .get(found.intent)
                .is_some_and(|i| i.kind == IntentKind::Hours);
            if hours
                && asked.day.is_some()
                && asked.location.is_none()
                && self.recent_topic().is_some()
            {
                asked.location = self
                    .k
                    .locations
                    .iter()
                    .position(|l| l.id == self.memory.location);
            }
            self.asked = asked;
            self.intent(found.intent, EscalationReason::CustomerChoice);
            return;
        }
        if self.follow_up(body, asked) {
            return;
        }
        self.miss(body);
    }

    /// The intent last answered, if within [`CONTEXT_SECONDS`].
    fn recent_topic(&self) -> Option<usize> {
        if self.memory.topic.is_empty()
            || self.now.abs_diff(self.memory.topic_at) > CONTEXT_SECONDS.unsigned_abs()
        {
            return None;
        }
        self.k.intent(&self.memory.topic)
    }

    /// The file's language for the device's tag, if the file has that language.
    fn device_locale(&self) -> Option<String> {
        let tag = self.device.trim().to_ascii_lowercase().replace('_', "-");
        if tag.is_empty() {
            return None;
        }
        let locale = self.k.locale_for(&tag);
        (primary(&locale) == primary(&tag)).then_some(locale)
    }

    /// The language to answer a matched sentence in: the language of the phrase that
    /// matched, unless the device's language reads the sentence about as well (its script,
    /// and its own phrases of the intent scoring within [`DEVICE_LANGUAGE_MARGIN`] of the
    /// best): `営業時間` on a Japanese device is Japanese although Chinese writes it too,
    /// while `tienen wifi?` on an English device stays Spanish.
    fn answer_language(&self, found: &Match, body: &str) -> String {
        let Some(device) = self.device_locale() else {
            return found.locale.clone();
        };
        let language = primary(&device);
        if language == primary(&found.locale) {
            return found.locale.clone();
        }
        let fits = match script_language(body) {
            Some(script) => script == language || (language == "ja" && script == "zh"),
            None => script_language(&self.k.text(&device, Text::MenuTitle)).is_none(),
        };
        if !fits {
            return found.locale.clone();
        }
        let score = self.k.matcher.score_in(body, found.intent, language);
        if score >= self.k.matcher.threshold() && score + DEVICE_LANGUAGE_MARGIN >= found.score {
            device
        } else {
            found.locale.clone()
        }
    }

    /// A message whose letters give its language away (Hebrew, Arabic, kana, Han, …) is
    /// answered in that language when the file has it, even not understood.
    fn script_locale(&mut self, body: &str) {
        let Some(language) = script_language(body) else {
            return;
        };
        if primary(&self.locale) == language
            || (language == "zh" && primary(&self.locale) == "ja")
            || !self.k.locales.contains(language)
        {
            return;
        }
        language.clone_into(&mut self.locale);
        language.clone_into(&mut self.memory.locale);
    }

    /// A follow-up of the last question ("and on Sunday?", "what about the Paris one?"):
    /// a sentence not understood on its own that names a day or a location, within
    /// [`CONTEXT_SECONDS`] of an hours or locations answer, answers that question again
    /// for what it names (a day without a location keeps the location asked about, and
    /// the other way round). A day after a location's answer asks for its hours.
    fn follow_up(&mut self, body: &str, asked: Asked) -> bool {
        if asked.is_empty() {
            return false;
        }
        let Some(topic) = self.recent_topic() else {
            return false;
        };
        let remembered = Asked {
            day: Day::from_key(&self.memory.day),
            location: self
                .k
                .locations
                .iter()
                .position(|l| l.id == self.memory.location),
        };
        let asked = Asked {
            day: asked.day.or(remembered.day),
            location: asked.location.or(remembered.location),
        };
        let kind = self.k.intents.get(topic).map(|i| i.kind);
        let index = match kind {
            Some(IntentKind::Hours) => topic,
            Some(IntentKind::Locations) if asked.day.is_some() => {
                let Some(hours) = self
                    .k
                    .intents
                    .iter()
                    .position(|i| i.kind == IntentKind::Hours)
                else {
                    return false;
                };
                hours
            }
            Some(IntentKind::Locations) => topic,
            Some(IntentKind::Appointment) if asked.day.is_some() => topic,
            _ => return false,
        };
        self.script_locale(body);
        self.memory.misses = 0;
        self.asked = asked;
        self.intent(index, EscalationReason::CustomerChoice);
        true
    }

    /// The clock times are shown on: the device's when the answer is in the device's
    /// language (`en_US`: 12-hour, `en_GB`: 24-hour), else the answer language's.
    fn clock(&self) -> conventions::Clock {
        let device = self.device.trim().to_ascii_lowercase().replace('_', "-");
        if !device.is_empty() && primary(&device) == primary(&self.locale) {
            conventions::clock(&device)
        } else {
            conventions::clock(&self.locale)
        }
    }

    fn time(&self, at: LocalTime) -> String {
        conventions::format_time(at, self.clock())
    }

    /// A text of the answer's language with its placeholders filled (isolated in a
    /// right-to-left language, see [`conventions::fill`]).
    fn fill(&self, template: &str, values: &[(&str, &str)]) -> String {
        conventions::fill(&self.locale, template, values)
    }

    fn miss(&mut self, body: &str) {
        self.missed = true;
        self.script_locale(body);
        if self.k.intents.is_empty() {
            self.escalate(
                EscalationReason::NoBot,
                "",
                "This business has no bot knowledge.".into(),
                None,
                Vec::new(),
            );
            return;
        }
        self.memory.misses = self.memory.misses.saturating_add(1);
        if self.memory.misses >= self.k.max_misses {
            let misses = self.memory.misses;
            self.memory.misses = 0;
            let text = self.k.text(&self.locale, Text::FallbackEscalate);
            self.say(text);
            self.escalate_quietly(
                EscalationReason::BotFallback,
                "",
                format!("The bot did not understand {misses} messages in a row."),
                None,
                Vec::new(),
            );
            return;
        }
        self.greet_if_new();
        // Close to several intents without reaching the threshold: one clarifying question
        // with the best candidates and a person.
        let floor = self.k.matcher.threshold() * CLARIFY_FLOOR;
        let candidates: Vec<(String, String)> = self
            .k
            .matcher
            .candidates(body, floor, CLARIFY_CANDIDATES + 1)
            .into_iter()
            .filter_map(|m| self.k.intents.get(m.intent))
            .filter(|intent| intent.kind != IntentKind::Human)
            .filter_map(|intent| {
                localized(&intent.titles, &self.locale, &self.k.default_locale)
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| (format!("{INTENT_CHOICE}{}", intent.id), t.clone()))
            })
            .take(CLARIFY_CANDIDATES)
            .collect();
        // One near candidate is not an ambiguity (a nonsense sentence can come close to one
        // phrase): the question is asked when two or more intents come close.
        if candidates.len() >= 2 {
            let question = self.k.text(&self.locale, Text::Clarify);
            self.quick(question, candidates);
            return;
        }
        if self.k.menu.is_empty() {
            let text = self.k.text(&self.locale, Text::Fallback);
            self.say_with_hint(&text);
        } else {
            let text = self.k.text(&self.locale, Text::Fallback);
            self.say(text);
            self.menu();
        }
    }

    fn choose(&mut self, choice: &str) {
        self.memory.misses = 0;
        if let Some(id) = choice.strip_prefix(INTENT_CHOICE)
            && let Some(index) = self.k.intent(id)
        {
            self.intent(index, EscalationReason::CustomerChoice);
        } else if let Some(id) = choice.strip_prefix(LOCATION_CHOICE)
            && let Some(index) = self.k.locations.iter().position(|l| l.id == id)
        {
            if let Some(topic) = self
                .k
                .intents
                .iter()
                .find(|i| i.kind == IntentKind::Locations)
            {
                self.memory.topic.clone_from(&topic.id);
                self.memory.topic_at = self.now;
                self.memory.day.clear();
                id.clone_into(&mut self.memory.location);
            }
            self.location(index);
        } else if choice == HUMAN_CHOICE {
            self.human();
        } else if let Some(rest) = choice.strip_prefix(QUICK_CHOICE)
            && let Some(text) = self.quick_item(rest)
        {
            self.say_with_hint(&text);
        } else if let Some(rest) = choice.strip_prefix(SLOT_CHOICE)
            && let Some((id, at)) = rest.rsplit_once(':')
            && let Some(index) = self.k.intent(id)
            && let Ok(at) = at.parse::<i64>()
        {
            self.slot(index, at);
        } else {
            // A choice of a menu this knowledge no longer has.
            self.menu();
        }
    }

    fn intent(&mut self, index: usize, reason: EscalationReason) {
        let Some(intent) = self.k.intents.get(index) else {
            return;
        };
        let answer = localized(&intent.answers, &self.locale, &self.k.default_locale).cloned();
        let asked = self.asked;
        self.memory.topic.clone_from(&intent.id);
        self.memory.topic_at = self.now;
        self.memory.day = asked.day.map(|d| d.key().to_owned()).unwrap_or_default();
        self.memory.location = asked
            .location
            .and_then(|i| self.k.locations.get(i))
            .map(|l| l.id.clone())
            .unwrap_or_default();
        match intent.kind {
            IntentKind::Answer => {
                if let Some(answer) = answer {
                    if let Some(quick) = answer.quick_reply.as_ref() {
                        self.quick_answer(&intent.id, quick);
                        return;
                    }
                    self.say_with_hint(&answer.text);
                    // Apple wants every URL also sent as a rich link: the configured link
                    // first, then any other URL of the text.
                    let mut links: Vec<(String, String)> =
                        answer.link.map(|l| (l.url, l.title)).into_iter().collect();
                    for url in urls(&answer.text) {
                        if !links.iter().any(|(known, _)| *known == url) {
                            links.push((url, String::new()));
                        }
                    }
                    for (url, title) in links {
                        self.actions.push(Action::Send(Kind::RichLink(RichLink {
                            url,
                            title,
                            image: None,
                            video: None,
                        })));
                    }
                }
            }
            IntentKind::Hours => {
                let mut lines = Vec::new();
                let which: Vec<usize> = match asked.location {
                    Some(location) => vec![location],
                    None => (0..self.k.locations.len()).collect(),
                };
                match asked.day.filter(|d| d.is_other_day()) {
                    // Another day than today: that day's hours, per location.
                    Some(day) => {
                        for location in which {
                            lines.push(self.day_line(location, day));
                        }
                    }
                    None => {
                        if let Some(answer) = answer {
                            lines.push(answer.text);
                        }
                        for location in which {
                            lines.push(self.status_line(location));
                        }
                    }
                }
                self.say_with_hint(&lines.join("\n"));
            }
            IntentKind::Locations => match asked.location {
                Some(location) => self.location(location),
                None => self.locations(),
            },
            IntentKind::Menu => self.menu(),
            IntentKind::Appointment => self.appointment(index),
            IntentKind::Human => {
                let queue = intent.queue.clone();
                let skills = intent.skills.clone();
                let summary = format!(
                    "The customer asked for a person (intent \"{}\").",
                    intent.id
                );
                self.escalate(reason, "", summary, queue, skills);
            }
        }
    }

    fn location_name(&self, index: usize) -> String {
        self.k.locations.get(index).map_or_else(String::new, |l| {
            localized(&l.names, &self.locale, &self.k.default_locale)
                .cloned()
                .unwrap_or_else(|| l.id.clone())
        })
    }

    /// `Downtown: open now until 18:00.` and the like.
    fn status_line(&self, index: usize) -> String {
        let Some(location) = self.k.locations.get(index) else {
            return String::new();
        };
        let name = self.location_name(index);
        let (template, time, day) = match location.schedule.status(self.now) {
            Status::Open { until } => (Text::OpenUntil, self.time(until), String::new()),
            Status::Closed { holiday, opens } => match opens {
                None => (Text::Closed, String::new(), String::new()),
                Some(opening) => {
                    let day = match opening.in_days {
                        0 => self.k.text(&self.locale, Text::Today),
                        1 => self.k.text(&self.locale, Text::Tomorrow),
                        _ => self.k.day_name(&self.locale, opening.weekday),
                    };
                    let template = if holiday {
                        Text::ClosedHoliday
                    } else {
                        Text::OpensAt
                    };
                    (template, self.time(opening.at), day)
                }
            },
        };
        self.fill(
            &self.k.text(&self.locale, template),
            &[("location", &name), ("time", &time), ("day", &day)],
        )
    }

    /// `Downtown (New York), Sunday: 9:00 AM–5:00 PM.`, or closed that day, for the next
    /// such day in the location's own time zone.
    fn day_line(&self, index: usize, day: Day) -> String {
        let Some(location) = self.k.locations.get(index) else {
            return String::new();
        };
        let schedule = &location.schedule;
        let in_days = match day {
            Day::Weekday(weekday) => schedule.days_until(self.now, weekday).unwrap_or(0),
            Day::Tomorrow => 1,
            Day::Now | Day::Today => 0,
        };
        let Some((weekday, _, intervals)) = schedule.day_after(self.now, in_days) else {
            return self.status_line(index);
        };
        let name = self.location_name(index);
        let day = match in_days {
            0 => self.k.text(&self.locale, Text::Today),
            1 => self.k.text(&self.locale, Text::Tomorrow),
            _ => self.k.day_name(&self.locale, weekday),
        };
        if intervals.is_empty() {
            return self.fill(
                &self.k.text(&self.locale, Text::ClosedOn),
                &[("location", &name), ("day", &day)],
            );
        }
        let hours = intervals
            .iter()
            .map(|i| format!("{}–{}", self.time(i.opens()), self.time(i.closes())))
            .collect::<Vec<_>>()
            .join(", ");
        self.fill(
            &self.k.text(&self.locale, Text::HoursOn),
            &[("location", &name), ("day", &day), ("hours", &hours)],
        )
    }

    fn location(&mut self, index: usize) {
        let Some(location) = self.k.locations.get(index) else {
            return;
        };
        let mut lines = vec![self.location_name(index)];
        if let Some(address) = localized(&location.addresses, &self.locale, &self.k.default_locale)
        {
            lines.push(address.clone());
        }
        lines.push(self.status_line(index));
        let link = location.link.clone();
        self.say_with_hint(&lines.join("\n"));
        if let Some(url) = link {
            let title = self.location_name(index);
            self.actions.push(Action::Send(Kind::RichLink(RichLink {
                url,
                title,
                image: None,
                video: None,
            })));
        }
    }

    fn menu(&mut self) {
        if self.k.menu.is_empty() {
            let hint = self.k.text(&self.locale, Text::HumanHint);
            self.say(hint);
            return;
        }
        let title = self.k.text(&self.locale, Text::MenuTitle);
        let items: Vec<(String, String, String)> = self
            .k
            .menu
            .iter()
            .filter_map(|&i| self.k.intents.get(i))
            .map(|intent| {
                let label = localized(&intent.titles, &self.locale, &self.k.default_locale)
                    .cloned()
                    .unwrap_or_else(|| intent.id.clone());
                (
                    format!("{INTENT_CHOICE}{}", intent.id),
                    label,
                    String::new(),
                )
            })
            .collect();
        self.picker(title, items);
    }

    fn locations(&mut self) {
        let title = self.k.text(&self.locale, Text::LocationsTitle);
        let items: Vec<(String, String, String)> = (0..self.k.locations.len())
            .filter_map(|i| {
                let location = self.k.locations.get(i)?;
                let address = localized(&location.addresses, &self.locale, &self.k.default_locale)
                    .cloned()
                    .unwrap_or_default();
                Some((
                    format!("{LOCATION_CHOICE}{}", location.id),
                    self.location_name(i),
                    address,
                ))
            })
            .chain(std::iter::once((
                HUMAN_CHOICE.to_owned(),
                self.k.text(&self.locale, Text::TalkToPerson),
                String::new(),
            )))
            .collect();
        self.picker(title, items);
    }

    /// A list picker of `(identifier, title, subtitle)`, or where the device cannot show
    /// one, the same choices as numbered text (rendered by `parley-wire`, exactly as
    /// outbound's last gate would, with the closing line in the customer's language). The
    /// choices are remembered so a typed number picks one.
    fn picker(&mut self, title: String, items: Vec<(String, String, String)>) {
        let bubble = BubbleLayout {
            title: title.clone(),
            ..BubbleLayout::default()
        };
        let list = ListPickerRequest {
            common: Some(InteractiveCommon {
                received_message: Some(bubble.clone()),
                reply_message: Some(bubble),
                ..InteractiveCommon::default()
            }),
            sections: vec![ListPickerSection {
                title,
                order: 0,
                multiple_selection: false,
                items: items
                    .iter()
                    .enumerate()
                    .map(|(order, (identifier, title, subtitle))| ListPickerItem {
                        identifier: identifier.clone(),
                        title: title.clone(),
                        subtitle: subtitle.clone(),
                        order: u32::try_from(order).unwrap_or(u32::MAX),
                        style: "default".into(),
                        image_identifier: String::new(),
                    })
                    .collect(),
            }],
        };
        let choices = items.into_iter().map(|(id, _, _)| id).collect();
        // The section repeats the bubble's title; the text says it once.
        let mut plain = list.clone();
        for section in &mut plain.sections {
            section.title.clear();
        }
        self.interactive(
            Kind::ListPicker(list),
            Kind::ListPicker(plain),
            choices,
            false,
        );
    }

    /// Sends `kind` where the device can show it (capabilities unknown: as outbound's gate
    /// assumes, it can), otherwise `plain`'s text equivalent (`parley-wire`'s, exactly what
    /// outbound's last gate would send, with the closing line in the customer's language).
    /// The choices are remembered so a typed number picks one. With `hint`, the way to a
    /// person follows (a text after the message, or the text's last line).
    fn interactive(&mut self, kind: Kind, plain: Kind, choices: Vec<String>, hint: bool) {
        self.memory.menu = choices;
        let message = OutboundMessage {
            kind: Some(kind),
            ..OutboundMessage::default()
        };
        let shown = self.ctx.capabilities.as_ref().is_none_or(|caps| {
            capabilities::can_show(&message, caps, self.ctx.device_agent.as_ref())
        });
        let hint_text = if hint {
            self.k.text(&self.locale, Text::HumanHint)
        } else {
            String::new()
        };
        if shown {
            if let Some(kind) = message.kind {
                self.actions.push(Action::Send(kind));
            }
            self.say(hint_text);
            return;
        }
        let plain = OutboundMessage {
            kind: Some(plain),
            ..OutboundMessage::default()
        };
        if let Some(text) = capabilities::text_fallback(&plain) {
            let closing = self.k.text(&self.locale, Text::ReplyWithNumber);
            let text = match text.strip_suffix(builtin_reply_with_number()) {
                Some(head) => format!("{head}{closing}"),
                None => text,
            };
            if hint_text.trim().is_empty() {
                self.say(text);
            } else {
                self.say(format!("{text}\n\n{hint_text}"));
            }
        }
    }

    /// A quick reply of `(identifier, title)` choices and a "talk to a person" choice (when
    /// there is room for it among Apple's 5; otherwise the hint follows the question).
    fn quick(&mut self, summary: String, mut items: Vec<(String, String)>) {
        let hint = items.len() >= 5;
        if !hint {
            items.push((
                HUMAN_CHOICE.to_owned(),
                self.k.text(&self.locale, Text::TalkToPerson),
            ));
        }
        let request = QuickReplyRequest {
            common: Some(InteractiveCommon::default()),
            summary_text: summary,
            items: items
                .iter()
                .map(|(identifier, title)| QuickReplyItem {
                    identifier: identifier.clone(),
                    title: title.clone(),
                })
                .collect(),
        };
        let choices = items.into_iter().map(|(id, _)| id).collect();
        self.interactive(
            Kind::QuickReply(request.clone()),
            Kind::QuickReply(request),
            choices,
            hint,
        );
    }

    /// An answer given as a quick reply (its text is the fallback for the knowledge file;
    /// the device without quick replies gets the numbered question).
    fn quick_answer(&mut self, intent: &str, quick: &QuickReply) {
        let items = quick
            .items
            .iter()
            .map(|i| (format!("{QUICK_CHOICE}{intent}:{}", i.id), i.title.clone()))
            .collect();
        self.quick(quick.summary.clone(), items);
    }

    /// The answer to a chosen quick-reply item `<intent>:<item>`, in the customer's language.
    fn quick_item(&self, rest: &str) -> Option<String> {
        let (id, item) = rest.split_once(':')?;
        let intent = self.k.intents.get(self.k.intent(id)?)?;
        let answer = localized(&intent.answers, &self.locale, &self.k.default_locale)?;
        let found = answer
            .quick_reply
            .as_ref()?
            .items
            .iter()
            .find(|i| i.id == item)
            .map(|i| i.text.clone());
        // A choice made in another language's quick reply: the same item id in any language.
        found.or_else(|| {
            intent.answers.values().find_map(|a| {
                a.quick_reply
                    .as_ref()?
                    .items
                    .iter()
                    .find(|i| i.id == item)
                    .map(|i| i.text.clone())
            })
        })
    }

    /// A person: the knowledge file's `human` intent (its queue and skills), else any.
    fn human(&mut self) {
        if let Some(index) = self
            .k
            .intents
            .iter()
            .position(|i| i.kind == IntentKind::Human)
        {
            self.intent(index, EscalationReason::CustomerChoice);
        } else {
            self.escalate(
                EscalationReason::CustomerChoice,
                "",
                "The customer asked for a person.".into(),
                None,
                Vec::new(),
            );
        }
    }

    /// Appointment slots from the location's opening hours, in a time picker (numbered text
    /// where the device has none), then the way to a person.
    fn appointment(&mut self, index: usize) {
        let Some(intent) = self.k.intents.get(index) else {
            return;
        };
        let Some(appointment) = intent.appointment.as_ref() else {
            return;
        };
        let Some(location) = self.k.locations.get(appointment.location) else {
            return;
        };
        let max = usize::try_from(appointment.max_slots).unwrap_or(8);
        let mut slots = location.schedule.slots(
            self.now,
            appointment.days,
            appointment.duration_minutes,
            max,
        );
        // A day named ("on Friday", "tomorrow") within the days offered: that day's slots
        // (else, or when it has none, the next ones).
        if let Some(day) = self.asked.day.filter(|d| d.is_other_day()) {
            let in_days = match day {
                Day::Weekday(weekday) => location.schedule.days_until(self.now, weekday),
                _ => Some(1),
            };
            if let Some(in_days) = in_days.filter(|d| *d < appointment.days) {
                let that_day: Vec<i64> = location
                    .schedule
                    .slots(
                        self.now,
                        in_days + 1,
                        appointment.duration_minutes,
                        usize::MAX,
                    )
                    .into_iter()
                    .filter(|&at| {
                        location
                            .schedule
                            .local(self.now, at)
                            .is_some_and(|l| l.in_days == in_days)
                    })
                    .take(max)
                    .collect();
                if !that_day.is_empty() {
                    slots = that_day;
                }
            }
        }
        let Some(&first) = slots.first() else {
            let text = self.k.text(&self.locale, Text::NoSlots);
            self.say_with_hint(&text);
            return;
        };
        let title = localized(&intent.answers, &self.locale, &self.k.default_locale)
            .map(|a| a.text.clone())
            .unwrap_or_else(|| intent.id.clone());
        let bubble = BubbleLayout {
            title: title.clone(),
            subtitle: self.location_name(appointment.location),
            ..BubbleLayout::default()
        };
        let choices: Vec<String> = slots
            .iter()
            .map(|at| format!("{SLOT_CHOICE}{}:{at}", intent.id))
            .collect();
        let request = TimePickerRequest {
            common: Some(InteractiveCommon {
                received_message: Some(bubble.clone()),
                reply_message: Some(bubble),
                ..InteractiveCommon::default()
            }),
            event: Some(TimePickerEvent {
                identifier: intent.id.clone(),
                title,
                timezone_offset_minutes: location.schedule.offset_minutes(first),
                timeslots: slots
                    .iter()
                    .zip(&choices)
                    .map(|(&at, identifier)| TimeSlot {
                        identifier: identifier.clone(),
                        start_time: Some(prost_types::Timestamp {
                            seconds: at,
                            nanos: 0,
                        }),
                        duration_seconds: appointment.duration_minutes.saturating_mul(60),
                    })
                    .collect(),
            }),
        };
        self.interactive(
            Kind::TimePicker(request.clone()),
            Kind::TimePicker(request),
            choices,
            true,
        );
    }

    /// A chosen slot: confirmed if the location still offers it, else the slots again.
    fn slot(&mut self, index: usize, at: i64) {
        let Some(intent) = self.k.intents.get(index) else {
            return;
        };
        let Some(appointment) = intent.appointment.as_ref() else {
            self.menu();
            return;
        };
        let Some(location) = self.k.locations.get(appointment.location) else {
            return;
        };
        let offered = at > self.now
            && location
                .schedule
                .slots(
                    self.now,
                    appointment.days,
                    appointment.duration_minutes,
                    usize::MAX,
                )
                .contains(&at);
        let local = location.schedule.local(self.now, at);
        let confirmed = localized(&intent.answers, &self.locale, &self.k.default_locale)
            .and_then(|a| a.confirmed.clone());
        let (Some(local), Some(confirmed), true) = (local, confirmed, offered) else {
            self.appointment(index);
            return;
        };
        let day = match local.in_days {
            0 => self.k.text(&self.locale, Text::Today),
            1 => self.k.text(&self.locale, Text::Tomorrow),
            _ => self.k.day_name(&self.locale, local.weekday),
        };
        let text = self.fill(
            &confirmed,
            &[
                ("location", &self.location_name(appointment.location)),
                ("time", &self.time(local.at)),
                ("day", &day),
            ],
        );
        self.say_with_hint(&text);
    }

    fn escalate(
        &mut self,
        reason: EscalationReason,
        word: &str,
        summary: String,
        queue: Option<String>,
        skills: Vec<String>,
    ) {
        // Outside business hours no one is about to answer: say so rather than "connecting".
        let text = if self.ctx.within_business_hours {
            Text::Escalating
        } else {
            Text::OutsideHours
        };
        let text = self.k.text(&self.locale, text);
        self.say(text);
        self.escalate_quietly(reason, word, summary, queue, skills);
    }

    fn escalate_quietly(
        &mut self,
        reason: EscalationReason,
        word: &str,
        summary: String,
        queue: Option<String>,
        mut skills: Vec<String>,
    ) {
        skills.sort();
        skills.dedup();
        self.memory.menu.clear();
        self.actions.push(Action::Escalate(EscalateToHuman {
            reason: reason as i32,
            queue: queue.unwrap_or_default(),
            skills,
            summary,
            trigger_word: word.to_owned(),
        }));
    }

    fn escalation_update(&mut self, update: &EscalationUpdate) {
        let status = EscalationStatus::try_from(update.status).unwrap_or_default();
        let text = match status {
            // Routing itself tells a customer entering a queue their place in it (or, for a
            // closed queue, when the business opens); the bot adds nothing unless the update
            // carries a position routing did not announce.
            EscalationStatus::Queued if update.position > 0 => self.fill(
                &self.k.text(&self.locale, Text::QueuedPosition),
                &[("position", &update.position.to_string())],
            ),
            EscalationStatus::Queued => return,
            EscalationStatus::NoAgentsAvailable => self.k.text(&self.locale, Text::NoAgents),
            EscalationStatus::OutsideBusinessHours => self.k.text(&self.locale, Text::OutsideHours),
            EscalationStatus::Assigned => self.k.text(&self.locale, Text::Assigned),
            EscalationStatus::Unspecified => return,
        };
        self.memory.menu.clear();
        self.say(text);
    }
}

/// The `https` URLs of a text, in order, without the punctuation around them.
pub fn urls(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let word = word
            .trim_start_matches(['(', '[', '«', '"', '\'', '<'])
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '»', '"', '\'', '>']);
        if word.len() > "https://".len()
            && word.starts_with("https://")
            && !out.iter().any(|u| u == word)
        {
            out.push(word.to_owned());
        }
    }
    out
}

/// The closing line `parley-wire` ends a numbered list with.
fn builtin_reply_with_number() -> &'static str {
    "Reply with a number."
}
