//! A minimal external bot: answers every customer message of one business with an echo and
//! hands the conversation to a person on `agent`, following the external-bot contract of
//! `services/bot/README.md`.
//!
//! ```sh
//! parley-bot --config parley.toml --knowledge-dir services/bot/knowledge \
//!     --external-business biz-echo &
//! PARLEY_ADMIN__LISTEN=127.0.0.1:9191 cargo run -p parley-bot --example external_bot -- \
//!     --config parley.toml --business biz-echo
//! ```

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use clap::Parser as _;
use parley_bus::{
    Bus, ConsumeOptions, ConsumerSpec, Delivery, Handler, Namespace, Outcome, Outgoing, StreamKind,
    Topology, run_consumer,
};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, BotTask, ConversationKey as KeyProto, EscalateToHuman, EscalationReason,
        EventMeta, OutboundMessage, OutboundText, RoutingCommand, bot_task, inbound_message,
        outbound_message, routing_command,
    },
};
use parley_runtime::ordered::{self, Admission};
use parley_state::{ConversationStore, GatePolicy, facts};
use parley_types::{ConversationKey, EventId, PartitionCount, Sequence};
use prost::Message as _;

/// This bot's name: its durable consumer, its gate stage, the prefix of its event ids.
pub(crate) const NAME: &str = "external-echo";

#[derive(Debug, clap::Parser)]
struct Args {
    /// The platform configuration file.
    #[arg(long, env = "PARLEY_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// The business this bot answers (configured as external in `parley-bot`).
    #[arg(long)]
    business: String,
}

/// The bot: a `Handler` of its own durable consumer on `AMB_BOT`.
pub(crate) struct EchoBot {
    business: String,
    bus: Arc<dyn Bus>,
    store: Arc<dyn ConversationStore>,
    namespace: Namespace,
    partitions: PartitionCount,
}

fn retry(reason: impl ToString) -> Outcome {
    Outcome::Retry {
        delay: Duration::from_millis(500),
        reason: reason.to_string(),
    }
}

impl EchoBot {
    /// A bot answering `business` (also used by the crate's tests).
    pub(crate) fn new(
        business: String,
        bus: Arc<dyn Bus>,
        store: Arc<dyn ConversationStore>,
        namespace: Namespace,
        partitions: PartitionCount,
    ) -> Self {
        Self {
            business,
            bus,
            store,
            namespace,
            partitions,
        }
    }

    /// Its durable consumer.
    pub(crate) fn consumer(namespace: &Namespace) -> ConsumerSpec {
        ConsumerSpec::new(namespace, StreamKind::Bot, NAME).with_max_deliver(u32::MAX)
    }

    fn meta(&self, key: &ConversationKey, id: &EventId, cause: &str, sequence: u64) -> EventMeta {
        EventMeta {
            event_id: id.to_string(),
            conversation: Some(KeyProto {
                business_id: key.business.to_string(),
                opaque_id: key.opaque.as_str().to_owned(),
            }),
            sequence,
            partition: self.partitions.of(key).get(),
            causation_id: cause.to_owned(),
            schema_version: 1,
            producer: NAME.into(),
            ..EventMeta::default()
        }
    }

    async fn publish(
        &self,
        key: &ConversationKey,
        kind: StreamKind,
        id: &EventId,
        event_type: &str,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        let subject = self.namespace.subject(kind, self.partitions.of(key));
        self.bus
            .publish(
                Outgoing::new(subject, id.to_string(), event_type, payload)
                    .with_ordering_key(key.stable_hash()),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The effects of one task: deterministic ids (a redelivery republishes the same ones) and
    /// outbound numbers from the conversation's shared counter (idempotent per id).
    async fn apply(
        &self,
        key: &ConversationKey,
        task: &BotTask,
        cause: &str,
    ) -> Result<(), String> {
        let Some(bot_task::Task::CustomerMessage(message)) = task.task.as_ref() else {
            return Ok(());
        };
        let Some(inbound_message::Kind::Text(text)) = message.kind.as_ref() else {
            return Ok(());
        };
        let cause_id = EventId::new(cause).map_err(|e| e.to_string())?;
        let actor = Actor {
            kind: ActorKind::Bot as i32,
            id: NAME.into(),
            display_name: "Echo".into(),
        };
        let reply_id = cause_id.derived(NAME, 0);
        let wants_person = text.body.trim().eq_ignore_ascii_case("agent");
        let body = if wants_person {
            "Connecting you with a person.".to_owned()
        } else {
            format!("You said: {}", text.body)
        };
        let sequence = self
            .store
            .allocate_sequence(key, facts::COUNTER_OUTBOUND, Some(reply_id.as_str()))
            .await
            .map_err(|e| e.to_string())?;
        let reply = OutboundMessage {
            meta: Some(self.meta(key, &reply_id, cause, sequence.get())),
            // A UUID derived from the event id: a republished copy keeps it.
            apple_message_id: parley_bot::handler::apple_message_id(&reply_id),
            sender: Some(actor.clone()),
            auto_reply: true,
            msp_agent: "Echo".into(),
            kind: Some(outbound_message::Kind::Text(OutboundText {
                body,
                attachments: Vec::new(),
            })),
            ..OutboundMessage::default()
        };
        self.publish(
            key,
            StreamKind::Outbound,
            &reply_id,
            OutboundMessage::TYPE,
            reply.encode_to_vec(),
        )
        .await?;
        if wants_person {
            let id = cause_id.derived(NAME, 1);
            let command = RoutingCommand {
                meta: Some(self.meta(key, &id, cause, 0)),
                issued_by: Some(actor),
                command: Some(routing_command::Command::Escalate(EscalateToHuman {
                    reason: EscalationReason::TriggerWord as i32,
                    trigger_word: "agent".into(),
                    ..EscalateToHuman::default()
                })),
            };
            self.publish(
                key,
                StreamKind::Routing,
                &id,
                RoutingCommand::TYPE,
                command.encode_to_vec(),
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Handler for EchoBot {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(task) = BotTask::decode(delivery.payload.as_ref()) else {
            return Outcome::DeadLetter {
                reason: "not a parley.v1.BotTask".into(),
            };
        };
        let Some(meta) = task.meta.clone() else {
            return Outcome::DeadLetter {
                reason: "no meta".into(),
            };
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return Outcome::DeadLetter {
                reason: "no conversation".into(),
            };
        };
        // Every bot's consumer sees every task: keep only this bot's business.
        if conversation.business_id != self.business {
            return Outcome::Ack;
        }
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return Outcome::DeadLetter {
                reason: "bad conversation key".into(),
            };
        };
        // A conversation's tasks in `meta.sequence` order, once each, across replicas.
        let Ok(sequence) = Sequence::new(meta.sequence) else {
            return Outcome::DeadLetter {
                reason: "no sequence".into(),
            };
        };
        // The platform's gate protocol: duplicates acknowledged, waits given back, a poison
        // task dead-lettered after its attempts while the conversation goes on.
        let policy = GatePolicy::default();
        let store = &*self.store;
        let claim = match ordered::admit(store, &key, NAME, sequence, &policy).await {
            Admission::Proceed(claim) => claim,
            Admission::Settle(outcome) => return outcome,
        };
        let outcome = match self.apply(&key, &task, &meta.event_id).await {
            Ok(()) => Outcome::Ack,
            Err(error) => retry(error),
        };
        ordered::finish(store, &key, claim, &policy, outcome).await
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let env = std::env::vars().collect();
    let business = args.business;
    parley_runtime::run_service(NAME, args.config, env, move |ctx| async move {
        let namespace = ctx.backends.namespace.clone();
        // Its own durable consumer on AMB_BOT: explicit ack, at-least-once.
        let spec = EchoBot::consumer(&namespace);
        ctx.backends
            .bus
            .ensure(&Topology::default().with_consumer(spec.clone()))
            .await
            .map_err(|e| e.to_string())?;
        let bot = Arc::new(EchoBot::new(
            business,
            ctx.backends.bus.clone(),
            ctx.backends.store.clone(),
            namespace.clone(),
            ctx.config.partitions,
        ));
        run_consumer(
            ctx.backends.bus.clone(),
            &namespace,
            &spec,
            bot,
            ConsumeOptions::default(),
            ctx.shutdown.token(),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    })
    .await?;
    Ok(())
}
