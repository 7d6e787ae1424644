//! Dead letters for operators (`parley dlq list | show | replay`): reading the dead-letter
//! stream and re-driving one message to the subject it was consumed from.
//!
//! A dead letter is the original message (payload and headers) with the `Parley-Dead-*`
//! headers the consume loop adds. Its id is its sequence in the dead-letter stream. A replay
//! publishes the original again under a `Nats-Msg-Id` derived from that id, so replaying
//! twice within the duplicate window stores it once; after the window the consumers'
//! in-order gates recognise it (a sequence they abandoned is applied once, then it is a
//! duplicate), so a replay is applied at most once either way.

use crate::{Bus, Error, Headers, Namespace, Outgoing, Published, Result, StreamKind, header};

/// Header on a replayed message: the id of the dead letter it re-drives.
pub const REPLAY_OF: &str = "Parley-Replay-Of";

/// One dead letter as an operator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id: the sequence in the dead-letter stream.
    pub id: u64,
    /// The durable consumer that gave up.
    pub consumer: String,
    /// The subject the original was consumed from.
    pub original_subject: String,
    /// The original's stream sequence.
    pub original_stream_sequence: u64,
    /// The original's `Parley-Event-Type`.
    pub event_type: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// How many deliveries the consumer had seen.
    pub deliveries: u32,
    /// The original's headers and the dead-letter ones.
    pub headers: Headers,
    /// The original payload, byte for byte.
    pub payload: bytes::Bytes,
}

impl DeadLetter {
    fn from_stored(stored: crate::StoredMessage) -> Self {
        let get = |name: &str| stored.headers.get(name).unwrap_or_default().to_owned();
        Self {
            id: stored.sequence,
            consumer: get(header::DEAD_CONSUMER),
            original_subject: get(header::DEAD_SUBJECT),
            original_stream_sequence: get(header::DEAD_STREAM_SEQUENCE).parse().unwrap_or(0),
            event_type: get(header::EVENT_TYPE),
            reason: get(header::DEAD_REASON),
            deliveries: get(header::DEAD_ATTEMPTS).parse().unwrap_or(0),
            headers: stored.headers,
            payload: stored.payload,
        }
    }
}

/// Up to `max` dead letters from id `from` on, oldest first.
pub async fn list(bus: &dyn Bus, ns: &Namespace, from: u64, max: usize) -> Result<Vec<DeadLetter>> {
    let stream = ns.stream_name(StreamKind::DeadLetter);
    Ok(bus
        .read_stream(&stream, from, max)
        .await?
        .into_iter()
        .map(DeadLetter::from_stored)
        .collect())
}

/// The dead letter `id`, if the stream still holds it.
pub async fn show(bus: &dyn Bus, ns: &Namespace, id: u64) -> Result<Option<DeadLetter>> {
    Ok(list(bus, ns, id, 1).await?.into_iter().find(|d| d.id == id))
}

/// Publishes dead letter `id`'s original again to the subject it was consumed from, with its
/// headers (not the dead-letter ones) and [`REPLAY_OF`]; `None` when there is no such dead
/// letter.
pub async fn replay(bus: &dyn Bus, ns: &Namespace, id: u64) -> Result<Option<Published>> {
    let Some(dead) = show(bus, ns, id).await? else {
        return Ok(None);
    };
    if dead.original_subject.is_empty() {
        return Err(Error::Header {
            name: header::DEAD_SUBJECT.to_owned(),
            reason: format!("dead letter {id} does not name the subject it came from"),
        });
    }
    let mut message = Outgoing::new(
        dead.original_subject.clone(),
        format!("replay-{}-{id}", ns.stream_name(StreamKind::DeadLetter)),
        dead.event_type.clone(),
        dead.payload.clone(),
    );
    for (name, value) in dead.headers.iter() {
        let set_here = [header::MSG_ID, header::EVENT_TYPE].contains(&name);
        if !set_here && !name.starts_with("Parley-Dead-") {
            message.headers.insert(name, value);
        }
    }
    message.headers.insert(REPLAY_OF, id.to_string());
    bus.publish(message).await.map(Some)
}
