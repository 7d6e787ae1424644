//! Parley's domain values in `parley.v1` shape: a conversation key and the metadata every
//! event starts with. The caller reads the clock and passes the time (this crate has none).

use parley_proto::v1;
use parley_types::{ConversationKey, EventId, Partition};

/// A conversation key as the contract carries it.
pub fn conversation_key(key: &ConversationKey) -> v1::ConversationKey {
    v1::ConversationKey {
        business_id: key.business.to_string(),
        opaque_id: key.opaque.as_str().to_owned(),
    }
}

/// Who produced an event, from what, and where it goes.
#[derive(Debug, Clone, Copy)]
pub struct Produced<'a> {
    /// `EventMeta.producer`: the service's name.
    pub producer: &'a str,
    /// The event's id.
    pub id: &'a EventId,
    /// The id of the event that caused it (empty for none).
    pub cause: &'a str,
    /// The conversation's partition.
    pub partition: Partition,
    /// The event's place in its per-conversation stream (0 when unordered).
    pub sequence: u64,
}

/// The metadata of an event of `key`, produced and published at `at`.
pub fn event_meta(
    key: &ConversationKey,
    produced: Produced<'_>,
    at: prost_types::Timestamp,
) -> v1::EventMeta {
    v1::EventMeta {
        event_id: produced.id.to_string(),
        conversation: Some(conversation_key(key)),
        sequence: produced.sequence,
        partition: produced.partition.get(),
        occurred_at: Some(at),
        published_at: Some(at),
        causation_id: produced.cause.to_owned(),
        schema_version: 1,
        producer: produced.producer.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use parley_types::PartitionCount;

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
        let meta = event_meta(
            &key,
            Produced {
                producer: "bot",
                id: &id,
                cause: "in-1",
                partition: partitions.of(&key),
                sequence: 3,
            },
            at,
        );
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
