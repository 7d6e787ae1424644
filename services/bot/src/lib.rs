//! The bot: Parley's built-in answering service for conversations routing hands to the bot.
//!
//! It consumes `amb.bot` (durable consumer `bot`, a conversation's tasks applied strictly in
//! `meta.sequence` order through the store's gate, stage `bot`) and produces replies on
//! `amb.outbound` (numbered from the conversation's shared `outbound` counter, the one the
//! agent gateway and routing use, so outbound's in-order gate never waits for a number
//! nobody sends) and escalations on `amb.routing`. It answers FAQ intents in several
//! languages from a per-business knowledge file, honours Apple's trigger words, shows menus
//! as list pickers, answers with quick replies and offers appointment slots in time pickers
//! (numbered text where the device cannot show them), asks one clarifying question when a
//! sentence is close to several intents, tells opening hours per location in the location's
//! time zone, wraps answers in typing indicators, records opt-outs, and always offers a
//! person. Right before each publish it reads routing's lifecycle and publishes nothing more
//! once a person owns the conversation or it waits in a queue.
//!
//! It owns: the knowledge files, the bot's per-conversation memory (the store field
//! [`service::MEMORY_FIELD`]), and its gate stage. It must not change a conversation's
//! lifecycle (routing is the single writer: the bot asks with a `RoutingCommand`), send to a
//! business whose bot is external (those tasks are acknowledged and left to the external
//! bot's own durable consumer), read the environment, or log message bodies and opaque ids
//! in clear.
//!
//! The decisions are pure and unit-tested ([`answer::answer`]); [`handler`] and [`service`]
//! do the I/O:
//! - [`normalize`]: folding text for comparison (case, accents, punctuation, emoji);
//! - [`triggers`]: Apple's trigger words;
//! - [`matching`]: which intent a sentence asks for (IDF-weighted, typo-tolerant, per
//!   language), on [`analyze`] (a text made terms: [`letters`], [`hanzi`], [`segment`],
//!   [`stopwords`], [`stemming`], [`synonyms`], [`entities`]);
//! - [`hours`]: opening hours with IANA time zones, DST and holidays;
//! - [`locale`]: the customer's conventions (12- or 24-hour clock, the language a script
//!   gives away, placeholders isolated in right-to-left texts); [`texts`]: the built-in
//!   fixed texts in every language the matcher understands;
//! - [`knowledge`]: the knowledge file format and its validation.

pub mod analyze;
pub mod answer;
pub mod entities;
mod error;
pub mod handler;
pub mod hanzi;
pub mod hours;
pub mod knowledge;
pub mod letters;
pub mod locale;
pub mod matching;
pub mod normalize;
pub mod segment;
pub mod service;
pub mod stemming;
pub mod stopwords;
pub mod synonyms;
pub mod texts;
pub mod triggers;

pub use answer::{Action, Asked, Memory, Reply, answer};
pub use error::{Error, Result};
pub use knowledge::{Knowledge, load_dir};
pub use service::{Bot, BotArgs, BotConfig, BotParts, STAGE_BOT, configure, consumer_spec, run};
