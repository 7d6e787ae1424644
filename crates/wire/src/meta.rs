//! Parley's domain values in `parley.v1` shape: a conversation key and the metadata every
//! event starts with. The caller reads the clock and passes the time (this crate has none).

use parley_proto::{Event, v1};
use parley_types::{ConversationKey, EventId, PartitionCount, Sequence};

/// A conversation key as the contract carries it.
pub fn conversation_key(key: &ConversationKey) -> v1::ConversationKey {
    v1::ConversationKey {
        business_id: key.business.to_string(),
        opaque_id: key.opaque.as_str().to_owned(),
    }
}

/// The metadata of an event of `key` produced by `producer` (`EventMeta.producer`, the
/// service's name), caused by the event `cause` (empty for none), at `sequence` in its
/// per-conversation stream (0 when unordered), in `key`'s partition, produced and published
/// at `at`.
pub fn event_meta(
    producer: &str,
    key: &ConversationKey,
    id: &EventId,
    cause: &str,
    sequence: u64,
    partitions: PartitionCount,
    at: prost_types::Timestamp,
) -> v1::EventMeta {
    v1::EventMeta {
        event_id: id.to_string(),
        conversation: Some(conversation_key(key)),
        sequence,
        partition: partitions.of(key).get(),
        occurred_at: Some(at),
        published_at: Some(at),
        causation_id: cause.to_owned(),
        schema_version: 1,
        producer: producer.to_owned(),
    }
}

/// The conversation and the in-order sequence an encoded event `E` names in its metadata;
/// `None` when the payload is not an `E`, names no valid conversation or has no sequence.
pub fn position<E: Event>(payload: &[u8]) -> Option<(ConversationKey, Sequence)> {
    let event = E::decode(payload).ok()?;
    let meta = event.meta()?;
    let conversation = meta.conversation.as_ref()?;
    let key = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id).ok()?;
    Some((key, Sequence::new(meta.sequence).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_carries_every_part() {
        let key = ConversationKey::parse("biz", "urn:mbid:someone").unwrap();
        let partitions = PartitionCount::new(16).unwrap();
        let id = EventId::new("ev-1").unwrap();
        let at = prost_types::Timestamp {
            seconds: 7,
            nanos: 8,
        };
        let meta = event_meta("bot", &key, &id, "in-1", 3, partitions, at);
        assert_eq!(meta.event_id, "ev-1");
        assert_eq!(meta.causation_id, "in-1");
        assert_eq!(meta.sequence, 3);
        assert_eq!(meta.partition, partitions.of(&key).get());
        assert_eq!(meta.occurred_at, Some(at));
        assert_eq!(meta.published_at, Some(at));
        assert_eq!(meta.producer, "bot");
        assert_eq!(meta.schema_version, 1);
        let conversation = meta.conversation.unwrap();
        assert_eq!(
            (
                conversation.business_id.as_str(),
                conversation.opaque_id.as_str()
            ),
            ("biz", "urn:mbid:someone")
        );
    }
}
