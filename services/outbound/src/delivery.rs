//! Delivery results on `amb.events.delivery.<partition>`.

use std::time::{SystemTime, UNIX_EPOCH};

use parley_bus::{Bus, Namespace, Outgoing};
use parley_proto::{
    Event as _,
    v1::{DeliveryResult, EventMeta, OutboundMessage, delivery_result::Outcome},
};
use parley_types::{EventId, PartitionCount};
use prost::Message as _;

fn now() -> prost_types::Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
    }
}

/// Publishes the result of handling `event` (one part of an event: part `part`, 0 for a
/// single message, with the part's Apple message id and kind). `step` makes the id
/// deterministic per outcome: 0 for the final outcome, the attempt number for a retry notice;
/// part 0's ids are a single message's, part i's (i >= 1) are derived from the part too.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish(
    bus: &dyn Bus,
    namespace: &Namespace,
    partitions: PartitionCount,
    event: &OutboundMessage,
    part: u32,
    attempt: u32,
    step: u32,
    outcome: Outcome,
) -> parley_bus::Result<()> {
    let meta = event.meta.clone().unwrap_or_default();
    let cause = EventId::new(meta.event_id.clone()).unwrap_or_else(|_| EventId::fresh());
    let id = if part == 0 {
        cause.derived("delivery", step)
    } else {
        cause.derived("part", part).derived("delivery", step)
    };
    let Ok(partition) = parley_types::Partition::new(meta.partition, partitions)
        .or_else(|_| parley_types::Partition::new(0, partitions))
    else {
        return Err(parley_bus::Error::NoStream(
            "a delivery result without a partition".into(),
        ));
    };
    let at = now();
    let result = DeliveryResult {
        meta: Some(EventMeta {
            event_id: id.to_string(),
            conversation: meta.conversation.clone(),
            sequence: meta.sequence,
            partition: partition.get(),
            occurred_at: Some(at),
            published_at: Some(at),
            causation_id: meta.event_id.clone(),
            schema_version: 1,
            producer: "outbound".into(),
        }),
        outbound_event_id: meta.event_id.clone(),
        apple_message_id: event.apple_message_id.clone(),
        sender: event.sender.clone(),
        kind: parley_wire::outbound::kind_of(event) as i32,
        notification_topic: event.notification_topic.clone(),
        attempt,
        outcome: Some(outcome),
    };
    let mut outgoing = Outgoing::new(
        namespace.event_subject("delivery", partition),
        id.to_string(),
        DeliveryResult::TYPE,
        result.encode_to_vec(),
    );
    if let Some(key) = meta
        .conversation
        .as_ref()
        .and_then(|c| parley_types::ConversationKey::parse(&c.business_id, &c.opaque_id).ok())
    {
        outgoing = outgoing.with_ordering_key(key.stable_hash());
    }
    bus.publish(outgoing).await.map(|_| ())
}
