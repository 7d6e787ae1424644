//! Routing's outbox: the events one input causes, written with the state they follow from,
//! in one atomic store step ([`parley_state::ConversationStore::commit`]), and published
//! only after it. A losing compare-and-set therefore leaves nothing on any stream (and draws
//! no sequence number), and a crash between the write and the publishes loses nothing: the
//! next input of the conversation, or the redelivery of the same one, finds the outbox not
//! marked done and publishes it again under the same ids and numbers (the streams drop the
//! copies; the consumers' gates drop any that outlive the duplicate window).
//!
//! The outbox is three fields of the conversation's record: the encoded [`Outbox`] (Base64:
//! fields are text), the numbers drawn for its events, and the cause whose outbox was
//! published last.

use base64::Engine as _;
use parley_proto::{
    Event as _,
    v1::{AgentTask, BotTask, OutboundMessage},
};
use parley_types::Sequence;
use prost::Message as _;

use crate::handler::Failure;

/// The encoded outbox of the last input applied.
pub(crate) const FIELD: &str = "routing_outbox";
/// The numbers drawn for its events, comma-separated, in order.
pub(crate) const SEQUENCES: &str = "routing_outbox_sequences";
/// The cause whose outbox was published last.
pub(crate) const DONE: &str = "routing_outbox_done";

/// The events of one input.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Outbox {
    /// The event id of the input (inbound message or routing command).
    #[prost(string, tag = "1")]
    pub(crate) cause: String,
    /// In publish order.
    #[prost(message, repeated, tag = "2")]
    pub(crate) events: Vec<OutboxEvent>,
}

/// One event to publish.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct OutboxEvent {
    #[prost(string, tag = "1")]
    pub(crate) subject: String,
    /// Its `Nats-Msg-Id`.
    #[prost(string, tag = "2")]
    pub(crate) id: String,
    /// Its `Parley-Event-Type`.
    #[prost(string, tag = "3")]
    pub(crate) event_type: String,
    /// The conversation counter its `meta.sequence` is drawn from; empty for none.
    #[prost(string, tag = "4")]
    pub(crate) counter: String,
    /// The encoded event, `meta.sequence` not yet set when it has a counter.
    #[prost(bytes = "vec", tag = "5")]
    pub(crate) payload: Vec<u8>,
}

impl Outbox {
    /// The counters to draw from, one per event that has one, in order.
    pub(crate) fn counters(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter(|e| !e.counter.is_empty())
            .map(|e| e.counter.as_str())
            .collect()
    }

    pub(crate) fn to_field(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.encode_to_vec())
    }

    fn from_field(field: &str) -> Result<Self, Failure> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(field)
            .map_err(|e| format!("outbox: {e}"))?;
        Self::decode(bytes.as_slice()).map_err(|e| format!("outbox: {e}"))
    }
}

/// What `fields` (read as [`FIELD`], [`SEQUENCES`], [`DONE`]) hold: the last outbox with its
/// numbers, and whether it was published.
pub(crate) struct Stored {
    pub(crate) outbox: Outbox,
    pub(crate) sequences: Vec<Sequence>,
    pub(crate) published: bool,
}

/// The stored outbox, if any.
pub(crate) fn stored(fields: &[Option<String>]) -> Result<Option<Stored>, Failure> {
    let Some(Some(field)) = fields.first() else {
        return Ok(None);
    };
    let outbox = Outbox::from_field(field)?;
    let sequences = fields
        .get(1)
        .cloned()
        .flatten()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .ok()
                .and_then(|n| Sequence::new(n).ok())
                .ok_or_else(|| format!("outbox: bad sequence {s:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let published = fields.get(2).cloned().flatten().as_deref() == Some(outbox.cause.as_str());
    Ok(Some(Stored {
        outbox,
        sequences,
        published,
    }))
}

/// The payload to publish: `sequence` set in its `meta` when it has one.
pub(crate) fn finalize(
    event: &OutboxEvent,
    sequence: Option<Sequence>,
) -> Result<Vec<u8>, Failure> {
    let Some(sequence) = sequence else {
        return Ok(event.payload.clone());
    };
    macro_rules! numbered {
        ($event:ty) => {{
            let mut decoded =
                <$event>::decode(event.payload.as_slice()).map_err(|e| format!("outbox: {e}"))?;
            let meta = decoded
                .meta
                .as_mut()
                .ok_or_else(|| format!("outbox: {} without meta", event.event_type))?;
            meta.sequence = sequence.get();
            Ok(decoded.encode_to_vec())
        }};
    }
    match event.event_type.as_str() {
        BotTask::TYPE => numbered!(BotTask),
        AgentTask::TYPE => numbered!(AgentTask),
        OutboundMessage::TYPE => numbered!(OutboundMessage),
        other => Err(format!("outbox: no sequence for {other}")),
    }
}
