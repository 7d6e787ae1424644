//! A trivial answerer (`parley bench --answerer echo`), to tell the bot's own cost from the
//! mesh's: it consumes `amb.bot` with the bot's durable name and answers each customer text
//! with one fixed, automated text reply on `amb.outbound`, exactly as a bot publishes.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use parley_bus::{ConsumeOptions, ConsumerSpec, Delivery, Handler, Outcome, Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, BotTask, EventMeta, OutboundMessage, OutboundText, bot_task,
        inbound_message, outbound_message::Kind,
    },
};
use parley_runtime::Backends;
use parley_state::facts;
use parley_types::{ConversationKey, EventId, PartitionCount};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// The reply the echo answerer sends (never the customer's text).
pub(crate) const ECHO_REPLY: &str = "Thanks! We are open 8:00-18:00 every day.";

struct Echo {
    backends: Backends,
    partitions: PartitionCount,
}

fn dead(reason: &str) -> Outcome {
    Outcome::DeadLetter {
        reason: reason.to_owned(),
    }
}

#[async_trait]
impl Handler for Echo {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(task) = BotTask::decode(delivery.payload.as_ref()) else {
            return dead("undecodable bot task");
        };
        let Some(bot_task::Task::CustomerMessage(inbound)) = task.task.as_ref() else {
            return Outcome::Ack;
        };
        if !matches!(inbound.kind, Some(inbound_message::Kind::Text(_))) {
            return Outcome::Ack;
        }
        let meta = task.meta.clone().unwrap_or_default();
        let conversation = meta.conversation.clone().unwrap_or_default();
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return dead("bad conversation key");
        };
        let Ok(cause) = EventId::new(meta.event_id.clone()) else {
            return dead("bad event id");
        };
        let id = cause.derived("bench-echo", 0);
        let retry = |reason: String| Outcome::Retry {
            delay: Duration::from_millis(200),
            reason,
        };
        let sequence = match self
            .backends
            .store
            .allocate_sequence(&key, facts::COUNTER_OUTBOUND, Some(id.as_str()))
            .await
        {
            Ok(sequence) => sequence,
            Err(e) => return retry(e.to_string()),
        };
        let partition = self.partitions.of(&key);
        let reply = OutboundMessage {
            meta: Some(EventMeta {
                event_id: id.to_string(),
                conversation: Some(conversation),
                sequence: sequence.get(),
                partition: partition.get(),
                causation_id: meta.event_id.clone(),
                producer: "bench-echo".into(),
                schema_version: 1,
                ..Default::default()
            }),
            apple_message_id: id.to_string(),
            sender: Some(Actor {
                kind: ActorKind::Bot as i32,
                id: "bench-echo".into(),
                display_name: "Echo".into(),
            }),
            auto_reply: true,
            kind: Some(Kind::Text(OutboundText {
                body: ECHO_REPLY.into(),
                attachments: vec![],
            })),
            ..Default::default()
        };
        let outgoing = Outgoing::new(
            self.backends
                .namespace
                .subject(StreamKind::Outbound, partition),
            id.to_string(),
            OutboundMessage::TYPE,
            reply.encode_to_vec(),
        )
        .with_ordering_key(key.stable_hash());
        match self.backends.bus.publish(outgoing).await {
            Ok(_) => Outcome::Ack,
            Err(e) => retry(e.to_string()),
        }
    }
}

/// Runs the echo answerer until `stop` fires.
pub(crate) async fn run(
    backends: Backends,
    partitions: PartitionCount,
    stop: CancellationToken,
) -> Result<(), String> {
    let spec = ConsumerSpec::new(&backends.namespace, StreamKind::Bot, "bot");
    backends
        .bus
        .ensure(&parley_bus::Topology::default().with_consumer(spec.clone()))
        .await
        .map_err(|e| format!("echo consumer: {e}"))?;
    let (bus, namespace) = (backends.bus.clone(), backends.namespace.clone());
    let echo = Arc::new(Echo {
        backends,
        partitions,
    });
    parley_bus::run_consumer(
        bus,
        &namespace,
        &spec,
        echo,
        ConsumeOptions::default(),
        stop,
    )
    .await
    .map(|_| ())
    .map_err(|e| format!("echo consumer: {e}"))
}
