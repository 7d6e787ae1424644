//! A business's routing rules, loaded from TOML and validated at start.
//!
//! ```toml
//! [queues.billing]
//! priority = 10                 # higher is served first
//! skills = ["billing"]          # skills an agent needs
//! response_target = "2m"        # an assigned agent must answer within this
//! relax_skills_after = "10m"    # optional: drop the skills after this wait
//! decline_cooldown = "5m"       # optional (default 5m): an agent who declines a
//!                               # conversation is not offered it again for this long
//! waiting_message = "You are number {position} in line for billing."  # optional; the
//!                               # customer is told their place when the queue is open
//!
//! [queues.billing.hours]        # optional: without it the queue is always open
//! time_zone = "Europe/Paris"    # IANA zone (or utc_offset = "+01:00" with offset_periods)
//! holidays = ["2026-12-25"]
//! closed_message = "We are closed; an agent will answer when we open."
//!
//! [queues.billing.hours.weekly]
//! mon = [["09:00", "17:30"]]
//! fri = [["09:00", "12:00"], ["13:00", "16:00"]]
//!
//! [[rules]]
//! intent = "billing"            # Apple's `intent` (biz-intent-id), or "*"
//! group = "*"                   # Apple's `group` (biz-group-id), or "*"
//! queue = "billing"
//! bot_first = false
//!
//! [default]                     # required: used when no rule matches
//! queue = "billing"
//! bot_first = true
//! ```
//!
//! Matching is exact and case-insensitive. When several rules match, the most specific wins:
//! exact intent and group, then exact intent with group `"*"`, then intent `"*"` with an
//! exact group, then `"*"`/`"*"`; two rules with the same intent and group are an error, so
//! there is never a tie. An absent intent or group (Apple sends them only at the start of a
//! session) is the empty string and matches only `"*"`.
//!
//! Every validation error names the setting's path, for example
//! `queues.billing.hours.weekly.mon[0][1]`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use crate::hours::{Date, Hours, Interval, UtcOffset, Weekday, Zone, first_overlap};

/// Why a rules file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The file is not valid TOML, or does not have the expected shape (a missing required
    /// key, an unknown key, a wrong type); the message names the key and line.
    #[error("routing rules are not valid TOML: {0}")]
    Toml(String),
    /// A setting has a wrong value.
    #[error("routing rules: `{path}`: {message}")]
    Invalid {
        /// The setting's path, for example `queues.billing.response_target`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl RulesError {
    /// The path of the wrong setting, for [`RulesError::Invalid`].
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Toml(_) => None,
            Self::Invalid { path, .. } => Some(path),
        }
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> RulesError {
    RulesError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// Where a conversation goes: a queue, and whether the bot answers first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The human queue (always one of [`Rules::queues`]).
    pub queue: String,
    /// True when the bot answers first and escalates; false when the conversation goes
    /// straight to the queue.
    pub bot_first: bool,
    /// Index of the queue in [`Rules::queues`] (sorted by name).
    queue_index: usize,
}

/// A queue of conversations waiting for a human agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    name: String,
    priority: u32,
    skills: Vec<String>,
    response_target: Duration,
    relax_skills_after: Option<Duration>,
    decline_cooldown: Duration,
    hours: Option<Hours>,
    waiting_message: String,
}

/// How long an agent who declined a conversation is passed over for it, unless the queue
/// sets its own `decline_cooldown`.
pub const DEFAULT_DECLINE_COOLDOWN: Duration = Duration::from_secs(5 * 60);

/// What a customer entering an open queue is told, `{position}` replaced by their 1-based
/// place, unless the queue sets its own `waiting_message`.
pub const DEFAULT_WAITING_MESSAGE: &str =
    "You are number {position} in line. An agent will be with you as soon as possible.";

impl Queue {
    /// What a customer entering the queue while it is open is told, with their 1-based
    /// place in the queue.
    pub fn waiting_message(&self, position: usize) -> String {
        self.waiting_message
            .replace("{position}", &position.to_string())
    }

    /// The queue's name (ASCII letters, digits, `-` and `_`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The priority: conversations of a higher-priority queue are assigned first.
    pub fn priority(&self) -> u32 {
        self.priority
    }

    /// The skills an agent needs to take a conversation of this queue.
    pub fn skills(&self) -> &[String] {
        &self.skills
    }

    /// How long an assigned agent has to answer before the conversation is reassigned.
    pub fn response_target(&self) -> Duration {
        self.response_target
    }

    /// After how long a wait the required skills are dropped, if configured.
    pub fn relax_skills_after(&self) -> Option<Duration> {
        self.relax_skills_after
    }

    /// How long an agent who declined a conversation of this queue is not offered it again
    /// (others are; with nobody else it waits that long).
    pub fn decline_cooldown(&self) -> Duration {
        self.decline_cooldown
    }

    /// The business hours; `None` means always open.
    pub fn hours(&self) -> Option<&Hours> {
        self.hours.as_ref()
    }

    /// True when the queue is open at the instant (seconds since the Unix epoch, UTC).
    pub fn is_open(&self, now_utc_seconds: i64) -> bool {
        self.hours
            .as_ref()
            .is_none_or(|h| h.is_open(now_utc_seconds))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// Lower-cased intent, `None` for `"*"`.
    intent: Option<String>,
    /// Lower-cased group, `None` for `"*"`.
    group: Option<String>,
    route: Route,
}

impl Rule {
    fn specificity(&self) -> u8 {
        u8::from(self.intent.is_some()) * 2 + u8::from(self.group.is_some())
    }

    fn matches(&self, intent: &str, group: &str) -> bool {
        self.intent.as_deref().is_none_or(|i| i == intent)
            && self.group.as_deref().is_none_or(|g| g == group)
    }
}

/// A business's validated routing rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Sorted by name.
    queues: Vec<Queue>,
    /// Sorted by decreasing specificity, then file order.
    rules: Vec<Rule>,
    default: Route,
}

impl Rules {
    /// Parses and validates a rules file.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| RulesError::Toml(e.to_string()))?;
        raw.validate()
    }

    /// The route for Apple's `intent` and `group` (empty when absent).
    pub fn route(&self, intent: &str, group: &str) -> &Route {
        let intent = intent.trim().to_lowercase();
        let group = group.trim().to_lowercase();
        self.rules
            .iter()
            .find(|r| r.matches(&intent, &group))
            .map_or(&self.default, |r| &r.route)
    }

    /// The queue of the route for Apple's `intent` and `group` ([`Rules::route`]).
    pub fn route_queue(&self, intent: &str, group: &str) -> &Queue {
        &self.queues[self.route(intent, group).queue_index]
    }

    /// The default route.
    pub fn default_route(&self) -> &Route {
        &self.default
    }

    /// A queue by name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues
            .binary_search_by(|q| q.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.queues[i])
    }

    /// Every queue, by name.
    pub fn queues(&self) -> impl Iterator<Item = &Queue> {
        self.queues.iter()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    queues: BTreeMap<String, RawQueue>,
    #[serde(default)]
    rules: Vec<RawRule>,
    default: Option<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    #[serde(default)]
    priority: u32,
    #[serde(default)]
    skills: Vec<String>,
    response_target: Option<String>,
    relax_skills_after: Option<String>,
    decline_cooldown: Option<String>,
    hours: Option<RawHours>,
    waiting_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    time_zone: Option<String>,
    utc_offset: Option<String>,
    #[serde(default)]
    offset_periods: Vec<RawPeriod>,
    #[serde(default)]
    weekly: BTreeMap<String, Vec<Vec<String>>>,
    #[serde(default)]
    holidays: Vec<String>,
    closed_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    from: String,
    utc_offset: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    intent: String,
    group: String,
    queue: String,
    bot_first: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    queue: String,
    bot_first: bool,
}

impl RawRules {
    fn validate(self) -> Result<Rules, RulesError> {
        if self.queues.is_empty() {
            return Err(invalid("queues", "at least one queue is required"));
        }
        let mut queues = BTreeMap::new();
        for (name, raw) in self.queues {
            let queue = raw.validate(&name)?;
            queues.insert(name, queue);
        }
        let queues: Vec<Queue> = queues.into_values().collect();
        let route = |path: String, queue: String, bot_first: bool| match queues
            .binary_search_by(|q| q.name.as_str().cmp(&queue))
        {
            Ok(queue_index) => Ok(Route {
                queue,
                bot_first,
                queue_index,
            }),
            Err(_) => Err(invalid(path, format!("unknown queue `{queue}`"))),
        };
        let default = self
            .default
            .ok_or_else(|| invalid("default", "a default rule is required"))?;
        let default = route("default.queue".to_owned(), default.queue, default.bot_first)?;

        let mut rules: Vec<Rule> = Vec::with_capacity(self.rules.len());
        let mut seen: BTreeMap<(Option<String>, Option<String>), usize> = BTreeMap::new();
        for (i, raw) in self.rules.into_iter().enumerate() {
            let intent = selector(&format!("rules[{i}].intent"), &raw.intent)?;
            let group = selector(&format!("rules[{i}].group"), &raw.group)?;
            if let Some(first) = seen.insert((intent.clone(), group.clone()), i) {
                return Err(invalid(
                    format!("rules[{i}]"),
                    format!("same intent and group as rules[{first}]"),
                ));
            }
            let route = route(format!("rules[{i}].queue"), raw.queue, raw.bot_first)?;
            rules.push(Rule {
                intent,
                group,
                route,
            });
        }
        // Stable: equal specificity keeps file order (and cannot both match, being distinct).
        rules.sort_by_key(|r| std::cmp::Reverse(r.specificity()));
        Ok(Rules {
            queues,
            rules,
            default,
        })
    }
}

/// A rule's intent or group: `"*"` (any) or an exact value, lower-cased.
fn selector(path: &str, value: &str) -> Result<Option<String>, RulesError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(path, "must not be empty (use \"*\" for any)"));
    }
    Ok((value != "*").then(|| value.to_lowercase()))
}

fn duration(path: &str, text: &str) -> Result<Duration, RulesError> {
    let d = humantime_serde::re::humantime::parse_duration(text)
        .map_err(|e| invalid(path, format!("`{text}` is not a duration like \"2m\": {e}")))?;
    if d.is_zero() {
        return Err(invalid(path, "must be longer than zero"));
    }
    Ok(d)
}

impl RawQueue {
    fn validate(self, name: &str) -> Result<Queue, RulesError> {
        let path = format!("queues.{name}");
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                &path,
                "a queue name has only ASCII letters, digits, `-` and `_`",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, skill) in self.skills.iter().enumerate() {
            if skill.trim().is_empty() {
                return Err(invalid(format!("{path}.skills[{i}]"), "must not be empty"));
            }
            if !seen.insert(skill.as_str()) {
                return Err(invalid(
                    format!("{path}.skills[{i}]"),
                    format!("skill `{skill}` is listed twice"),
                ));
            }
        }
        let target_path = format!("{path}.response_target");
        let response_target = match &self.response_target {
            Some(text) => duration(&target_path, text)?,
            None => return Err(invalid(target_path, "is required")),
        };
        let relax_path = format!("{path}.relax_skills_after");
        let relax_skills_after = match &self.relax_skills_after {
            Some(_) if self.skills.is_empty() => {
                return Err(invalid(relax_path, "the queue requires no skills to relax"));
            }
            Some(text) => Some(duration(&relax_path, text)?),
            None => None,
        };
        let decline_cooldown = match &self.decline_cooldown {
            Some(text) => duration(&format!("{path}.decline_cooldown"), text)?,
            None => DEFAULT_DECLINE_COOLDOWN,
        };
        let hours = match self.hours {
            Some(raw) => Some(raw.validate(&format!("{path}.hours"))?),
            None => None,
        };
        let waiting_message = match self.waiting_message {
            Some(text) if text.trim().is_empty() => {
                return Err(invalid(
                    format!("{path}.waiting_message"),
                    "must not be empty (leave it out for the default)",
                ));
            }
            Some(text) => text,
            None => DEFAULT_WAITING_MESSAGE.to_owned(),
        };
        Ok(Queue {
            name: name.to_owned(),
            priority: self.priority,
            skills: self.skills,
            response_target,
            relax_skills_after,
            decline_cooldown,
            hours,
            waiting_message,
        })
    }
}

impl RawHours {
    fn validate(self, path: &str) -> Result<Hours, RulesError> {
        let offset_path = format!("{path}.utc_offset");
        let zone_path = format!("{path}.time_zone");
        let zone = match (&self.time_zone, &self.utc_offset) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    zone_path,
                    "give a time_zone or a utc_offset, not both",
                ));
            }
            (Some(_), None) if !self.offset_periods.is_empty() => {
                return Err(invalid(
                    format!("{path}.offset_periods"),
                    "only with a utc_offset (a time_zone knows its own daylight saving time)",
                ));
            }
            (Some(name), None) => Some(Zone::named(name).map_err(|m| invalid(&zone_path, m))?),
            (None, None) => {
                return Err(invalid(
                    zone_path,
                    "is required, for example \"Europe/Paris\" (or a utc_offset like \"+02:00\")",
                ));
            }
            (None, Some(_)) => None,
        };
        let base_offset = match &self.utc_offset {
            Some(text) => UtcOffset::parse(text).map_err(|m| invalid(&offset_path, m))?,
            None => UtcOffset::UTC,
        };
        let mut periods: Vec<(Date, UtcOffset)> = Vec::with_capacity(self.offset_periods.len());
        for (i, period) in self.offset_periods.iter().enumerate() {
            let p = format!("{path}.offset_periods[{i}]");
            let from = Date::parse(&period.from).map_err(|m| invalid(format!("{p}.from"), m))?;
            if let Some((previous, _)) = periods.last()
                && *previous >= from
            {
                return Err(invalid(
                    format!("{p}.from"),
                    "offset periods must be in increasing date order",
                ));
            }
            let offset = UtcOffset::parse(&period.utc_offset)
                .map_err(|m| invalid(format!("{p}.utc_offset"), m))?;
            periods.push((from, offset));
        }

        let mut weekly: [Vec<Interval>; 7] = Default::default();
        for (key, intervals) in &self.weekly {
            let day_path = format!("{path}.weekly.{key}");
            let day = Weekday::from_key(key).ok_or_else(|| {
                invalid(
                    &day_path,
                    "not a weekday: use mon, tue, wed, thu, fri, sat or sun",
                )
            })?;
            let mut parsed = Vec::with_capacity(intervals.len());
            for (i, pair) in intervals.iter().enumerate() {
                let [start, end] = pair.as_slice() else {
                    return Err(invalid(
                        format!("{day_path}[{i}]"),
                        "an interval is a pair [\"HH:MM\", \"HH:MM\"]",
                    ));
                };
                let interval = Interval::parse(start, end)
                    .map_err(|(which, m)| invalid(format!("{day_path}[{i}][{which}]"), m))?;
                parsed.push((i, interval));
            }
            parsed.sort_by_key(|(_, iv)| (iv.start_minutes(), iv.end_minutes()));
            if let Some(i) = first_overlap(&parsed) {
                return Err(invalid(
                    format!("{day_path}[{i}]"),
                    "overlaps another interval of the same day",
                ));
            }
            weekly[day.index()] = parsed.into_iter().map(|(_, iv)| iv).collect();
        }

        let mut holidays = BTreeSet::new();
        for (i, text) in self.holidays.iter().enumerate() {
            let date =
                Date::parse(text).map_err(|m| invalid(format!("{path}.holidays[{i}]"), m))?;
            holidays.insert(date);
        }

        let closed_message = match self.closed_message {
            Some(m) if !m.trim().is_empty() => m,
            _ => {
                return Err(invalid(
                    format!("{path}.closed_message"),
                    "is required: what to tell a customer outside business hours",
                ));
            }
        };
        let hours = Hours::new(base_offset, periods, weekly, holidays, closed_message);
        Ok(match zone {
            Some(zone) => hours.in_zone(zone),
            None => hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::tests::at;

    pub(crate) const EXAMPLE: &str = r#"
[queues.general]
priority = 1
response_target = "5m"

[queues.billing]
priority = 10
skills = ["billing"]
response_target = "2m"
relax_skills_after = "10m"
decline_cooldown = "90s"

[queues.billing.hours]
utc_offset = "+01:00"
holidays = ["2026-12-25"]
closed_message = "We are closed."

[queues.billing.hours.weekly]
mon = [["09:00", "17:30"]]
tue = [["13:00", "17:00"], ["09:00", "12:00"]]

[[rules]]
intent = "Billing"
group = "*"
queue = "billing"
bot_first = false

[[rules]]
intent = "billing"
group = "VIP"
queue = "general"
bot_first = false

[[rules]]
intent = "*"
group = "sales"
queue = "general"
bot_first = true

[default]
queue = "general"
bot_first = true
"#;

    #[test]
    fn parses_the_example() {
        let rules = Rules::from_toml(EXAMPLE).unwrap();
        let billing = rules.queue("billing").unwrap();
        assert_eq!(billing.name(), "billing");
        assert_eq!(billing.priority(), 10);
        assert_eq!(billing.skills(), ["billing".to_owned()]);
        assert_eq!(billing.response_target(), Duration::from_secs(120));
        assert_eq!(billing.relax_skills_after(), Some(Duration::from_secs(600)));
        assert_eq!(billing.decline_cooldown(), Duration::from_secs(90));
        let hours = billing.hours().unwrap();
        assert_eq!(hours.closed_message(), "We are closed.");
        // 2026-11-24 is a Tuesday; 11:00 UTC is 12:00 local: the lunch gap.
        assert!(!billing.is_open(at("2026-11-24", 11, 0)));
        assert!(billing.is_open(at("2026-11-24", 12, 0)));
        let general = rules.queue("general").unwrap();
        assert_eq!(general.decline_cooldown(), DEFAULT_DECLINE_COOLDOWN);
        assert!(general.hours().is_none());
        assert!(general.is_open(0));
        assert_eq!(rules.queues().count(), 2);
        assert!(rules.queue("nope").is_none());
        assert_eq!(rules.default_route().queue, "general");
    }

    #[test]
    fn routes_by_specificity_case_insensitively() {
        let rules = Rules::from_toml(EXAMPLE).unwrap();
        let table = [
            ("billing", "", "billing", false),
            ("BILLING", "anything", "billing", false),
            ("billing", "vip", "general", false),
            ("Billing", "Vip", "general", false),
            ("billing", "sales", "billing", false),
            ("other", "sales", "general", true),
            ("", "SALES", "general", true),
            ("", "", "general", true),
            ("billingx", "", "general", true),
            (" billing ", "", "billing", false),
        ];
        for (intent, group, queue, bot_first) in table {
            let route = rules.route(intent, group);
            assert_eq!(
                (route.queue.as_str(), route.bot_first),
                (queue, bot_first),
                "{intent:?}/{group:?}"
            );
        }
    }

    /// The smallest valid file, with `extra` appended.
    fn minimal(extra: &str) -> String {
        format!(
            "[queues.q]\nresponse_target = \"1m\"\n\n[default]\nqueue = \"q\"\nbot_first = true\n{extra}"
        )
    }

    fn hours_file(hours: &str) -> String {
        format!(
            "[default]\nqueue = \"q\"\nbot_first = true\n\n[queues.q]\nresponse_target = \"1m\"\n\n[queues.q.hours]\n{hours}"
        )
    }

    #[test]
    fn minimal_file_is_valid() {
        let rules = Rules::from_toml(&minimal("")).unwrap();
        assert_eq!(rules.route("x", "y").queue, "q");
    }

    #[test]
    fn errors_name_the_setting() {
        let good_hours = "utc_offset = \"+00:00\"\nclosed_message = \"closed\"\n";
        let table: Vec<(String, &str, &str)> = vec![
            (
                "[queues.q]\nresponse_target = \"1m\"\n".to_owned(),
                "default",
                "required",
            ),
            (
                "[default]\nqueue = \"q\"\nbot_first = true\n".to_owned(),
                "queues",
                "at least one",
            ),
            (
                "[queues.q]\nresponse_target = \"1m\"\n[default]\nqueue = \"nope\"\nbot_first = true\n"
                    .to_owned(),
                "default.queue",
                "unknown queue `nope`",
            ),
            (
                minimal("[[rules]]\nintent = \"a\"\ngroup = \"*\"\nqueue = \"missing\"\nbot_first = true\n"),
                "rules[0].queue",
                "unknown queue",
            ),
            (
                minimal("[[rules]]\nintent = \"\"\ngroup = \"*\"\nqueue = \"q\"\nbot_first = true\n"),
                "rules[0].intent",
                "must not be empty",
            ),
            (
                minimal("[[rules]]\nintent = \"a\"\ngroup = \"*\"\nqueue = \"q\"\nbot_first = true\n[[rules]]\nintent = \"A\"\ngroup = \"*\"\nqueue = \"q\"\nbot_first = false\n"),
                "rules[1]",
                "same intent and group as rules[0]",
            ),
            (
                "[queues.q]\nresponse_target = \"soon\"\n[default]\nqueue = \"q\"\nbot_first = true\n"
                    .to_owned(),
                "queues.q.response_target",
                "not a duration",
            ),
            (
                "[queues.q]\nresponse_target = \"0s\"\n[default]\nqueue = \"q\"\nbot_first = true\n"
                    .to_owned(),
                "queues.q.response_target",
                "longer than zero",
            ),
            (
                "[queues.q]\n[default]\nqueue = \"q\"\nbot_first = true\n".to_owned(),
                "queues.q.response_target",
                "is required",
            ),
            (
                "[queues.q]\nresponse_target = \"1m\"\nrelax_skills_after = \"5m\"\n[default]\nqueue = \"q\"\nbot_first = true\n"
                    .to_owned(),
                "queues.q.relax_skills_after",
                "no skills",
            ),
            (
                "[queues.q]\nresponse_target = \"1m\"\nskills = [\"a\"]\nrelax_skills_after = \"later\"\n[default]\nqueue = \"q\"\nbot_first = true\n"
                    .to_owned(),
                "queues.q.relax_skills_after",
                "not a duration",
            ),
            (
                "[queues.q]\nresponse_target = \"1m\"\nskills = [\"a\", \"a\"]\n[default]\nqueue = \"q\"\nbot_first = true\n"
                    .to_owned(),
                "queues.q.skills[1]",
                "listed twice",
            ),
            (
                "[queues.\"bad name\"]\nresponse_target = \"1m\"\n[default]\nqueue = \"q\"\nbot_first = true\n"
                    .to_owned(),
                "queues.bad name",
                "ASCII letters",
            ),
            (
                hours_file("utc_offset = \"Europe/Paris\"\nclosed_message = \"c\"\n"),
                "queues.q.hours.utc_offset",
                "not a UTC offset",
            ),
            (
                hours_file("closed_message = \"c\"\n"),
                "queues.q.hours.time_zone",
                "is required",
            ),
            (
                hours_file("time_zone = \"Mars/Olympus_Mons\"\nclosed_message = \"c\"\n"),
                "queues.q.hours.time_zone",
                "not a time zone name",
            ),
            (
                hours_file("time_zone = \"Europe/Paris\"\nutc_offset = \"+01:00\"\nclosed_message = \"c\"\n"),
                "queues.q.hours.time_zone",
                "not both",
            ),
            (
                hours_file("time_zone = \"Europe/Paris\"\nclosed_message = \"c\"\noffset_periods = [{ from = \"2026-03-29\", utc_offset = \"+02:00\" }]\n"),
                "queues.q.hours.offset_periods",
                "only with a utc_offset",
            ),
            (
                hours_file("utc_offset = \"+01:00\"\n"),
                "queues.q.hours.closed_message",
                "is required",
            ),
            (
                hours_file(&format!("{good_hours}holidays = [\"2026-02-30\"]\n")),
                "queues.q.hours.holidays[0]",
                "not a real date",
            ),
            (
                hours_file(&format!("{good_hours}[queues.q.hours.weekly]\nfunday = [[\"09:00\", \"17:00\"]]\n")),
                "queues.q.hours.weekly.funday",
                "not a weekday",
            ),
            (
                hours_file(&format!("{good_hours}[queues.q.hours.weekly]\nmon = [[\"09:00\", \"25:00\"]]\n")),
                "queues.q.hours.weekly.mon[0][1]",
                "not a time of day",
            ),
            (
                hours_file(&format!("{good_hours}[queues.q.hours.weekly]\ntue = [[\"9am\", \"17:00\"]]\n")),
                "queues.q.hours.weekly.tue[0][0]",
                "not a time",
            ),
            (
                hours_file(&format!("{good_hours}[queues.q.hours.weekly]\nwed = [[\"09:00\"]]\n")),
                "queues.q.hours.weekly.wed[0]",
                "pair",
            ),
            (
                hours_file(&format!("{good_hours}[queues.q.hours.weekly]\nthu = [[\"09:00\", \"12:00\"], [\"11:00\", \"13:00\"]]\n")),
                "queues.q.hours.weekly.thu[1]",
                "overlaps",
            ),
            (
                hours_file(&format!("{good_hours}[queues.q.hours.weekly]\nfri = [[\"10:00\", \"10:00\"]]\n")),
                "queues.q.hours.weekly.fri[0][1]",
                "empty",
            ),
            (
                hours_file(&format!("{good_hours}offset_periods = [{{ from = \"2026-10-25\", utc_offset = \"+01:00\" }}, {{ from = \"2026-03-29\", utc_offset = \"+02:00\" }}]\n")),
                "queues.q.hours.offset_periods[1].from",
                "increasing",
            ),
            (
                hours_file(&format!("{good_hours}offset_periods = [{{ from = \"2026-03-29\", utc_offset = \"+2\" }}]\n")),
                "queues.q.hours.offset_periods[0].utc_offset",
                "not a UTC offset",
            ),
        ];
        assert!(table.len() >= 8);
        for (file, path, message) in table {
            let err = Rules::from_toml(&file).unwrap_err();
            assert_eq!(err.path(), Some(path), "{file}\n→ {err}");
            let text = err.to_string();
            assert!(text.contains(message), "{text}");
            assert!(text.contains(path), "{text}");
        }
    }

    #[test]
    fn shape_errors_come_from_toml_and_name_the_key() {
        let table = [
            ("this is not toml", "TOML"),
            (
                &*minimal("[queues.q2]\nresponse_target = \"1m\"\nprioritty = 3\n"),
                "prioritty",
            ),
            (
                &*minimal("[[rules]]\nintent = \"a\"\ngroup = \"*\"\nqueue = \"q\"\n"),
                "bot_first",
            ),
            (
                "[queues.q]\nresponse_target = \"1m\"\npriority = -1\n",
                "priority",
            ),
            (&*minimal("[extra]\n"), "extra"),
        ];
        for (file, needle) in table {
            let err = Rules::from_toml(file).unwrap_err();
            assert!(matches!(err, RulesError::Toml(_)), "{err}");
            assert_eq!(err.path(), None);
            assert!(err.to_string().contains(needle), "{err}");
        }
    }
}
