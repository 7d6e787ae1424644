//! Message headers and the outgoing message.

use bytes::Bytes;

/// Header names Parley sets.
pub mod header {
    /// JetStream's de-duplication id: the event id.
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// The fully-qualified protobuf name of the payload, e.g. `parley.v1.InboundMessage`.
    pub const EVENT_TYPE: &str = "Parley-Event-Type";
    /// The payload schema version.
    pub const SCHEMA: &str = "Parley-Schema";
    /// A hex hash of the conversation key, for ordering within a consumer (never the key
    /// itself: opaque ids stay out of headers).
    pub const ORDERING_KEY: &str = "Parley-Ordering-Key";
    /// On a dead letter: why it was dead-lettered.
    pub const DEAD_REASON: &str = "Parley-Dead-Reason";
    /// On a dead letter: the subject it was consumed from.
    pub const DEAD_SUBJECT: &str = "Parley-Dead-Subject";
    /// On a dead letter: the durable consumer that gave up.
    pub const DEAD_CONSUMER: &str = "Parley-Dead-Consumer";
    /// On a dead letter: how many deliveries were attempted.
    pub const DEAD_ATTEMPTS: &str = "Parley-Dead-Attempts";
    /// On a dead letter: the stream sequence of the original.
    pub const DEAD_STREAM_SEQUENCE: &str = "Parley-Dead-Stream-Sequence";
    /// The W3C trace parent.
    pub const TRACEPARENT: &str = "traceparent";
    /// The schema version Parley writes.
    pub const SCHEMA_V1: &str = "v1";
}

/// Message headers: an ordered list of name/value pairs; names are case-sensitive as in NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing earlier values.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value.into()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl opentelemetry::propagation::Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key, value);
    }
}

impl opentelemetry::propagation::Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        Headers::get(self, key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// An event to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The full subject (see [`crate::Namespace::subject`]).
    pub subject: String,
    /// The event id: becomes `Nats-Msg-Id`. Deterministic per cause, so a republished copy
    /// is dropped by the stream.
    pub msg_id: String,
    /// The payload's fully-qualified protobuf name.
    pub event_type: String,
    /// A hash of the conversation key; deliveries with the same key are handled in order by
    /// one worker of a consumer.
    pub ordering_key: Option<u64>,
    /// The encoded event.
    pub payload: Bytes,
    /// Extra headers (trace context is added at publish).
    pub headers: Headers,
}

impl Outgoing {
    /// An event with no extra headers.
    pub fn new(
        subject: impl Into<String>,
        msg_id: impl Into<String>,
        event_type: impl Into<String>,
        payload: impl Into<Bytes>,
    ) -> Self {
        Self {
            subject: subject.into(),
            msg_id: msg_id.into(),
            event_type: event_type.into(),
            ordering_key: None,
            payload: payload.into(),
            headers: Headers::new(),
        }
    }

    /// One event of a conversation: `Nats-Msg-Id` is `id`, the ordering key the
    /// conversation's stable hash (never the opaque id).
    pub fn conversation_event(
        subject: impl Into<String>,
        id: &parley_types::EventId,
        event_type: impl Into<String>,
        payload: impl Into<Bytes>,
        key: &parley_types::ConversationKey,
    ) -> Self {
        Self::new(subject, id.as_str(), event_type, payload).with_ordering_key(key.stable_hash())
    }

    /// Sets the ordering key.
    pub fn with_ordering_key(mut self, key: u64) -> Self {
        self.ordering_key = Some(key);
        self
    }

    /// The headers as sent: the extra ones, then `Nats-Msg-Id`, the event type, the schema,
    /// the ordering key and the current span's trace context.
    pub(crate) fn wire_headers(&self) -> Headers {
        let mut headers = self.headers.clone();
        headers.insert(header::MSG_ID, self.msg_id.clone());
        headers.insert(header::EVENT_TYPE, self.event_type.clone());
        headers.insert(header::SCHEMA, header::SCHEMA_V1);
        if let Some(key) = self.ordering_key {
            headers.insert(header::ORDERING_KEY, format!("{key:016x}"));
        }
        parley_telemetry::inject_context(&tracing::Span::current(), &mut headers);
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces() {
        let mut h = Headers::new();
        h.insert("a", "1");
        h.insert("a", "2");
        assert_eq!(h.get("a"), Some("2"));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn wire_headers_carry_ids() {
        let out = Outgoing::new("s", "id-1", "parley.v1.X", "p").with_ordering_key(255);
        let h = out.wire_headers();
        assert_eq!(h.get(header::MSG_ID), Some("id-1"));
        assert_eq!(h.get(header::EVENT_TYPE), Some("parley.v1.X"));
        assert_eq!(h.get(header::ORDERING_KEY), Some("00000000000000ff"));
    }
}
