//! Streams and consumers, defined in code.
//!
//! Every name can carry a [`Namespace`] prefix, so tests (and several deployments sharing
//! one NATS account) never see each other's streams, subjects or consumers.

use std::time::Duration;

use parley_types::Partition;
use serde::{Deserialize, Serialize};

/// A prefix applied to every stream, subject and consumer name. Empty in production.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    prefix: String,
}

impl Namespace {
    /// The production namespace: no prefix.
    pub fn root() -> Self {
        Self::default()
    }

    /// A prefixed namespace. The prefix must be a lowercase ASCII letter followed by
    /// letters, digits or `-`/`_` (it becomes a subject token and part of stream names).
    pub fn prefixed(prefix: &str) -> crate::Result<Self> {
        let valid = prefix
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid || prefix.len() > 32 {
            return Err(crate::Error::Topology {
                what: format!("namespace {prefix:?}"),
                reason: "a prefix is 1 to 32 of [a-z0-9_-], starting with a letter".into(),
            });
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix ("" for the root namespace).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn subject_root(&self, root: &str) -> String {
        if self.prefix.is_empty() {
            root.to_owned()
        } else {
            format!("{}.{root}", self.prefix)
        }
    }

    fn name(&self, base: &str) -> String {
        if self.prefix.is_empty() {
            base.to_owned()
        } else {
            format!("{}_{base}", self.prefix)
        }
    }

    /// The subject of an event of `kind` in `partition`, e.g. `amb.inbound.17`. For
    /// [`StreamKind::Events`], use [`Namespace::event_subject`].
    pub fn subject(&self, kind: StreamKind, partition: Partition) -> String {
        format!("{}.{partition}", self.subject_root(kind.subject_root()))
    }

    /// The subject of a public event, e.g. `amb.events.conversation.17`.
    pub fn event_subject(&self, topic: &str, partition: Partition) -> String {
        format!(
            "{}.{topic}.{partition}",
            self.subject_root(StreamKind::Events.subject_root())
        )
    }

    /// The filter for every partition of one public event topic, e.g.
    /// `amb.events.delivery.>`.
    pub fn event_filter(&self, topic: &str) -> String {
        format!(
            "{}.{topic}.>",
            self.subject_root(StreamKind::Events.subject_root())
        )
    }

    /// The subject dead letters of one durable consumer go to.
    pub fn dead_letter_subject(&self, durable: &str) -> String {
        format!(
            "{}.{durable}",
            self.subject_root(StreamKind::DeadLetter.subject_root())
        )
    }

    /// The wildcard subject a stream of `kind` captures, e.g. `amb.inbound.>`.
    pub fn stream_subject(&self, kind: StreamKind) -> String {
        format!("{}.>", self.subject_root(kind.subject_root()))
    }

    /// The stream name of `kind`, e.g. `AMB_INBOUND`.
    pub fn stream_name(&self, kind: StreamKind) -> String {
        self.name(kind.stream_base())
    }

    /// A durable consumer name in this namespace.
    pub fn durable(&self, name: &str) -> String {
        self.name(name)
    }
}

/// The platform's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Customer messages from Apple, written by ingest.
    Inbound,
    /// Commands to routing (escalate, transfer, accept, close, presence).
    Routing,
    /// Tasks for the bot.
    Bot,
    /// Tasks for the agent gateway.
    Agent,
    /// Messages to send to Apple.
    Outbound,
    /// The public event stream for subscriber services (conversation, delivery, consent).
    Events,
    /// Dead letters, with the reason.
    DeadLetter,
}

impl StreamKind {
    /// Every stream.
    pub const ALL: [StreamKind; 7] = [
        StreamKind::Inbound,
        StreamKind::Routing,
        StreamKind::Bot,
        StreamKind::Agent,
        StreamKind::Outbound,
        StreamKind::Events,
        StreamKind::DeadLetter,
    ];

    fn subject_root(self) -> &'static str {
        match self {
            StreamKind::Inbound => "amb.inbound",
            StreamKind::Routing => "amb.routing",
            StreamKind::Bot => "amb.bot",
            StreamKind::Agent => "amb.agent",
            StreamKind::Outbound => "amb.outbound",
            StreamKind::Events => "amb.events",
            StreamKind::DeadLetter => "amb.deadletter",
        }
    }

    fn stream_base(self) -> &'static str {
        match self {
            StreamKind::Inbound => "AMB_INBOUND",
            StreamKind::Routing => "AMB_ROUTING",
            StreamKind::Bot => "AMB_BOT",
            StreamKind::Agent => "AMB_AGENT",
            StreamKind::Outbound => "AMB_OUTBOUND",
            StreamKind::Events => "AMB_EVENTS",
            StreamKind::DeadLetter => "AMB_DEADLETTER",
        }
    }
}

/// Stream settings from the platform configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusSettings {
    /// Stream replicas (1 in development, 3 in production).
    pub replicas: usize,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop duplicates. Longer-lived
    /// de-duplication is the state store's job.
    #[serde(with = "humantime_serde")]
    pub duplicate_window: Duration,
    /// How long the internal work streams keep messages (limits retention).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// How long the public `AMB_EVENTS` stream keeps events.
    #[serde(with = "humantime_serde")]
    pub events_max_age: Duration,
    /// How long dead letters are kept.
    #[serde(with = "humantime_serde")]
    pub dead_letter_max_age: Duration,
    /// Store streams in memory instead of files (tests and demos only).
    pub memory_storage: bool,
    /// Upper bound on each work stream's size in bytes; past it, publishes are refused
    /// (ingest answers 503) rather than old messages silently dropped. 0 = unbounded.
    pub max_bytes: i64,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(7 * 24 * 3600),
            events_max_age: Duration::from_secs(7 * 24 * 3600),
            dead_letter_max_age: Duration::from_secs(30 * 24 * 3600),
            memory_storage: false,
            max_bytes: 0,
        }
    }
}

/// One stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// Its name.
    pub name: String,
    /// The subjects it captures.
    pub subjects: Vec<String>,
    /// How long messages are kept (limits retention: consumers never delete messages, so a
    /// subscriber added later can still read them and nothing depends on consumer timing).
    pub max_age: Duration,
    /// The `Nats-Msg-Id` de-duplication window.
    pub duplicate_window: Duration,
    /// Replicas.
    pub replicas: usize,
    /// In memory rather than files.
    pub memory_storage: bool,
    /// Size bound in bytes with "discard new" (0 = unbounded).
    pub max_bytes: i64,
}

/// One durable pull consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// The stream it reads.
    pub stream: String,
    /// Its durable name.
    pub durable: String,
    /// The subject filter.
    pub filter_subject: String,
    /// How long a delivery may stay unacknowledged before it is redelivered.
    pub ack_wait: Duration,
    /// How many deliveries may be unacknowledged at once.
    pub max_ack_pending: i64,
    /// After this many deliveries a failing message is dead-lettered by the consume loop
    /// (the server itself never gives up, so nothing silently stays behind).
    pub max_deliver: u32,
}

impl ConsumerSpec {
    /// A consumer named `durable` (namespaced) reading every subject of `kind`, with
    /// defaults: 30 s ack wait, 1000 pending, 10 deliveries.
    pub fn new(ns: &Namespace, kind: StreamKind, durable: &str) -> Self {
        Self {
            stream: ns.stream_name(kind),
            durable: ns.durable(durable),
            filter_subject: ns.stream_subject(kind),
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1000,
            max_deliver: 10,
        }
    }

    /// Sets the ack wait.
    pub fn with_ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// Sets the dead-letter threshold.
    pub fn with_max_deliver(mut self, max_deliver: u32) -> Self {
        self.max_deliver = max_deliver.max(1);
        self
    }

    /// Sets the filter subject.
    pub fn with_filter(mut self, filter_subject: impl Into<String>) -> Self {
        self.filter_subject = filter_subject.into();
        self
    }
}

/// Streams and consumers to create (idempotently) at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Streams.
    pub streams: Vec<StreamSpec>,
    /// Consumers.
    pub consumers: Vec<ConsumerSpec>,
}

impl Topology {
    /// Every platform stream, no consumers.
    pub fn platform(ns: &Namespace, settings: &BusSettings) -> Self {
        let streams = StreamKind::ALL
            .iter()
            .map(|&kind| {
                let max_age = match kind {
                    StreamKind::Events => settings.events_max_age,
                    StreamKind::DeadLetter => settings.dead_letter_max_age,
                    _ => settings.max_age,
                };
                let max_bytes = match kind {
                    StreamKind::Events | StreamKind::DeadLetter => 0,
                    _ => settings.max_bytes,
                };
                StreamSpec {
                    name: ns.stream_name(kind),
                    subjects: vec![ns.stream_subject(kind)],
                    max_age,
                    duplicate_window: settings.duplicate_window.min(max_age),
                    replicas: settings.replicas,
                    memory_storage: settings.memory_storage,
                    max_bytes,
                }
            })
            .collect();
        Self {
            streams,
            consumers: Vec::new(),
        }
    }

    /// Adds a consumer.
    pub fn with_consumer(mut self, consumer: ConsumerSpec) -> Self {
        self.consumers.push(consumer);
        self
    }
}

#[cfg(test)]
mod tests {
    use parley_types::PartitionCount;

    use super::*;

    #[test]
    fn names_and_subjects() {
        let count = PartitionCount::new(32).unwrap();
        let p = Partition::new(17, count).unwrap();
        let root = Namespace::root();
        assert_eq!(root.subject(StreamKind::Inbound, p), "amb.inbound.17");
        assert_eq!(root.event_subject("delivery", p), "amb.events.delivery.17");
        assert_eq!(root.event_filter("delivery"), "amb.events.delivery.>");
        assert_eq!(root.stream_name(StreamKind::Events), "AMB_EVENTS");
        assert_eq!(
            root.dead_letter_subject("routing"),
            "amb.deadletter.routing"
        );
        let t = Namespace::prefixed("t1").unwrap();
        assert_eq!(t.subject(StreamKind::Bot, p), "t1.amb.bot.17");
        assert_eq!(t.stream_name(StreamKind::Bot), "t1_AMB_BOT");
        assert_eq!(t.stream_subject(StreamKind::Bot), "t1.amb.bot.>");
        assert!(Namespace::prefixed("T1").is_err());
        assert!(Namespace::prefixed("a.b").is_err());
        assert!(Namespace::prefixed("").is_err());
    }

    #[test]
    fn platform_has_every_stream_and_subjects_do_not_overlap() {
        let topo = Topology::platform(&Namespace::root(), &BusSettings::default());
        assert_eq!(topo.streams.len(), 7);
        for a in &topo.streams {
            for b in &topo.streams {
                if a.name != b.name {
                    assert!(!crate::subject_matches(
                        &a.subjects[0],
                        &b.subjects[0].replace(".>", ".x")
                    ));
                }
            }
        }
    }
}
