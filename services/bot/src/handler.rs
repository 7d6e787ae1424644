//! The `amb.bot` consumer: one `BotTask` at a time per conversation, in sequence order
//! through the store's gate (stage [`STAGE_BOT`]); decide ([`answer`]), then carry out the
//! actions with ids derived from the task's id, then remember.
//!
//! Redelivery safety: the decision depends only on the task (its `occurred_at` is the
//! clock), the knowledge file and the memory stored *before* the task, so a redelivered task
//! produces the same actions with the same event ids, and `allocate_sequence` (idempotent per
//! event id) returns the same outbound numbers: JetStream drops the copies and outbound's
//! in-order gate never sees a number twice or a number nobody publishes. The memory is
//! written last, as `{seq, before, after}`, so a task redelivered after the write still
//! decides from `before`.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use parley_bus::{Bus, Delivery, Handler, Namespace, Outcome, Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, BotTask, ConversationState, EventMeta, LifecycleState, OutboundMessage,
        RoutingCommand, bot_task, outbound_message::Kind, routing_command,
    },
};
use parley_runtime::ordered::{self, Admission};
use parley_state::{ConversationStore, GatePolicy, GateRead, GateReadout, Versioned, facts};
use parley_types::{BusinessId, ConversationKey, EventId, PartitionCount, Sequence};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use crate::{
    answer::{Action, Memory, answer},
    knowledge::Knowledge,
};

/// The gate stage of the bot (a conversation's bot tasks, in `meta.sequence` order).
pub const STAGE_BOT: &str = "bot";
/// The conversation store field holding the bot's memory (written only by the bot).
pub const MEMORY_FIELD: &str = "bot_memory";
/// The conversation store field holding how far the bot got publishing a task's actions
/// (written only by the bot, before each reply's number is allocated).
pub const CURSOR_FIELD: &str = "bot_cursor";
/// The bot id routing gives its built-in bot.
pub const BUILTIN_BOT_ID: &str = "bot";

/// The stored memory: what the bot remembered before and after task `seq`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredMemory {
    seq: u64,
    before: Memory,
    after: Memory,
}

/// How far the bot got with the actions of task `task`: `committed` is the highest action
/// index it committed to publishing (its outbound number may be allocated, so a redelivery
/// publishes it whoever owns the conversation now: an allocated number left unpublished
/// would stall outbound's gate until its gap timeout); `stopped` says it found a person
/// owning the conversation and published nothing more (a redelivery stops at the same
/// place).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    task: String,
    #[serde(default)]
    committed: Option<u32>,
    #[serde(default)]
    stopped: bool,
}

/// Everything the handler needs.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn ConversationStore>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) namespace: Namespace,
    pub(crate) partitions: PartitionCount,
    pub(crate) knowledge: BTreeMap<BusinessId, Arc<Knowledge>>,
    pub(crate) external: BTreeSet<BusinessId>,
    pub(crate) bot_ids: BTreeSet<String>,
    pub(crate) gate: GatePolicy,
}

fn retry(reason: impl Into<String>) -> Outcome {
    Outcome::Retry {
        delay: Duration::from_millis(500),
        reason: reason.into(),
    }
}

fn dead(reason: &str) -> Outcome {
    Outcome::DeadLetter {
        reason: reason.to_owned(),
    }
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl Shared {
    /// Whether the built-in bot answers this business and bot id.
    fn answers(&self, business: &BusinessId, bot_id: &str) -> bool {
        !self.external.contains(business) && (bot_id.is_empty() || self.bot_ids.contains(bot_id))
    }

    pub(crate) async fn handle_task(&self, task: &BotTask) -> Outcome {
        let Some(meta) = task.meta.as_ref() else {
            return dead("the task has no meta");
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return dead("the task names no conversation");
        };
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return dead("the task's conversation key is invalid");
        };
        let Ok(event_id) = EventId::new(meta.event_id.clone()) else {
            return dead("the task has no valid id");
        };
        let bot_id = task.context.as_ref().map_or("", |c| c.bot_id.as_str());
        if !self.answers(&key.business, bot_id) {
            // An external bot's task: its own durable consumer handles it.
            return Outcome::Ack;
        }
        // The claim reads what the task reads next (the memory, the cursor, and routing's
        // state for the first human-owner check): one store call.
        let read = GateRead {
            state: true,
            fields: &[MEMORY_FIELD, CURSOR_FIELD],
            remembered: None,
        };
        let (claim, preread) = match Sequence::new(meta.sequence) {
            Ok(sequence) => {
                match ordered::admit_reading(
                    &*self.store,
                    &key,
                    STAGE_BOT,
                    sequence,
                    &self.gate,
                    &read,
                )
                .await
                {
                    (Admission::Proceed(claim), readout) => (Some(claim), Some(readout)),
                    (Admission::Settle(outcome), _) => return outcome,
                }
            }
            Err(_) => (None, None),
        };
        let kind = match task.task.as_ref() {
            Some(bot_task::Task::CustomerMessage(_)) => "customer_message",
            Some(bot_task::Task::ReturnedFromAgent(_)) => "returned_from_agent",
            Some(bot_task::Task::EscalationUpdate(_)) => "escalation_update",
            Some(bot_task::Task::ConversationEnded(_)) => "conversation_ended",
            None => "none",
        };
        let span = tracing::info_span!(
            "bot answer",
            parley.conversation = %key.redacted(),
            parley.sequence = meta.sequence,
            parley.task = kind,
        );
        let (outcome, memory) = match self
            .apply(&key, &event_id, meta, task, preread)
            .instrument(span)
            .await
        {
            Ok(memory) => (Outcome::Ack, memory),
            Err(error) => (retry(error), None),
        };
        // The memory is recorded with the gate's completion, in one store call.
        let fields: Vec<(&str, &str)> = memory
            .as_deref()
            .map(|value| (MEMORY_FIELD, value))
            .into_iter()
            .collect();
        match claim {
            Some(claim) => {
                ordered::finish_recording(&*self.store, &key, claim, &self.gate, outcome, &fields)
                    .await
            }
            None if outcome == Outcome::Ack && !fields.is_empty() => {
                match self.store.set_fields(&key, &fields).await {
                    Ok(()) => outcome,
                    Err(error) => retry(format!("store memory: {error}")),
                }
            }
            None => outcome,
        }
    }

    /// Decides and publishes; answers the memory to record with the task's completion
    /// (`None`: unchanged).
    async fn apply(
        &self,
        key: &ConversationKey,
        event_id: &EventId,
        meta: &EventMeta,
        task: &BotTask,
        preread: Option<GateReadout>,
    ) -> Result<Option<String>, String> {
        let knowledge = self
            .knowledge
            .get(&key.business)
            .cloned()
            .unwrap_or_else(|| Arc::new(Knowledge::empty(key.business.clone())));
        // Read with the claim when there was one; the state serves the first owner check.
        let (fields, mut owner_state) = match preread {
            Some(GateReadout { state, fields, .. }) if fields.len() == 2 => (fields, Some(state)),
            _ => (
                self.store
                    .get_fields(key, &[MEMORY_FIELD, CURSOR_FIELD])
                    .await
                    .map_err(|e| format!("load memory: {e}"))?,
                None,
            ),
        };
        let mut fields = fields.into_iter();
        let stored_memory = fields.next().flatten();
        let mut cursor = fields
            .next()
            .flatten()
            .and_then(|s| serde_json::from_str::<Cursor>(&s).ok())
            .filter(|c| c.task == event_id.as_str())
            .unwrap_or_else(|| Cursor {
                task: event_id.to_string(),
                ..Cursor::default()
            });
        let stored = stored_memory
            .filter(|s| !s.is_empty())
            .map(|s| {
                serde_json::from_str::<StoredMemory>(&s).unwrap_or_else(|error| {
                    tracing::warn!(%error, "unreadable bot memory; starting afresh");
                    StoredMemory::default()
                })
            })
            .unwrap_or_default();
        let memory = if meta.sequence != 0 && stored.seq == meta.sequence {
            stored.before
        } else {
            stored.after
        };
        let now = meta
            .occurred_at
            .as_ref()
            .map_or_else(now_seconds, |t| t.seconds);
        let reply = answer(&knowledge, task, &memory, now);
        let bot_id = task
            .context
            .as_ref()
            .map(|c| c.bot_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| BUILTIN_BOT_ID.to_owned());
        let actor = Actor {
            kind: ActorKind::Bot as i32,
            id: bot_id,
            display_name: knowledge.bot_name.clone(),
        };
        tracing::debug!(
            conversation = %key.redacted(),
            actions = reply.actions.len(),
            "bot decided"
        );
        if matches!(task.task, Some(bot_task::Task::CustomerMessage(_))) {
            let result = if reply.missed { "missed" } else { "answered" };
            metrics::counter!("parley_bot_messages_total", "result" => result).increment(1);
        }
        for (index, step) in steps(&reply.actions) {
            let id = event_id.derived(STAGE_BOT, index);
            // A person owns the conversation (or is about to): publish nothing more. Checked
            // right before each publish, and before a reply's number is allocated.
            let committed = cursor.committed.is_some_and(|c| index <= c);
            if !committed {
                if cursor.stopped {
                    continue;
                }
                if self.human_owns(key, owner_state.take()).await? {
                    cursor.stopped = true;
                    self.write_cursor(key, &cursor).await?;
                    tracing::info!(
                        conversation = %key.redacted(),
                        action = index,
                        "a person owns the conversation; the bot publishes nothing more"
                    );
                    continue;
                }
            }
            match step {
                Step::Send(kinds) => {
                    // The cursor is committed before the reply's number is allocated: in
                    // one atomic step with the allocation (see `send`).
                    let commit = if committed {
                        None
                    } else {
                        cursor.committed = Some(index);
                        Some(&cursor)
                    };
                    self.send(key, &id, event_id, &actor, &knowledge, kinds, commit)
                        .await?;
                }
                Step::Escalate(escalate) => {
                    metrics::counter!(
                        "parley_bot_escalations_total",
                        "reason" => escalate.reason().as_str_name()
                    )
                    .increment(1);
                    let command = RoutingCommand {
                        meta: Some(self.meta(key, &id, event_id, 0)),
                        issued_by: Some(actor.clone()),
                        command: Some(routing_command::Command::Escalate(escalate.clone())),
                    };
                    self.publish(
                        key,
                        self.namespace
                            .subject(StreamKind::Routing, self.partitions.of(key)),
                        &id,
                        RoutingCommand::TYPE,
                        command.encode_to_vec(),
                    )
                    .await?;
                }
            }
        }
        if reply.memory != memory || (meta.sequence != 0 && stored.seq != meta.sequence) {
            let value = serde_json::to_string(&StoredMemory {
                seq: meta.sequence,
                before: memory,
                after: reply.memory,
            })
            .map_err(|e| format!("encode memory: {e}"))?;
            return Ok(Some(value));
        }
        Ok(None)
    }

    /// Whether routing's lifecycle says a person owns the conversation or it waits for one
    /// (`QUEUED`, `ASSIGNED`). A missing or unreadable state does not block the bot.
    /// `read`: the state as the task's claim read it (the first check), else it is read now.
    async fn human_owns(
        &self,
        key: &ConversationKey,
        read: Option<Option<Versioned>>,
    ) -> Result<bool, String> {
        let stored = match read {
            Some(stored) => stored,
            None => self
                .store
                .load(key)
                .await
                .map_err(|e| format!("load state: {e}"))?,
        };
        let Some(stored) = stored else {
            return Ok(false);
        };
        let lifecycle = match ConversationState::decode(stored.state.as_ref()) {
            Ok(state) => state.lifecycle,
            Err(error) => {
                tracing::warn!(%error, conversation = %key.redacted(), "unreadable conversation state");
                return Ok(false);
            }
        };
        Ok(lifecycle == LifecycleState::Queued as i32
            || lifecycle == LifecycleState::Assigned as i32)
    }

    async fn write_cursor(&self, key: &ConversationKey, cursor: &Cursor) -> Result<(), String> {
        let value = serde_json::to_string(cursor).map_err(|e| format!("encode cursor: {e}"))?;
        self.store
            .set_fields(key, &[(CURSOR_FIELD, value.as_str())])
            .await
            .map_err(|e| format!("store cursor: {e}"))
    }

    fn meta(
        &self,
        key: &ConversationKey,
        id: &EventId,
        cause: &EventId,
        sequence: u64,
    ) -> EventMeta {
        parley_wire::meta::event_meta(
            "bot",
            key,
            id,
            cause.as_str(),
            sequence,
            self.partitions,
            prost_types::Timestamp::from(SystemTime::now()),
        )
    }

    /// Publishes one reply (its messages as one event: outbound sends them in order, typing
    /// indicators included); with `commit`, writes that cursor first, in the same atomic
    /// step as the number's allocation (one round trip; never a number without the cursor
    /// that makes a redelivery publish it).
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        key: &ConversationKey,
        id: &EventId,
        cause: &EventId,
        actor: &Actor,
        knowledge: &Knowledge,
        kinds: Vec<Kind>,
        commit: Option<&Cursor>,
    ) -> Result<(), String> {
        // The conversation's one outbound counter, shared with the agent gateway and
        // routing; idempotent per event id, so a redelivery keeps its number.
        let sequence = match commit {
            Some(cursor) => {
                let value =
                    serde_json::to_string(cursor).map_err(|e| format!("encode cursor: {e}"))?;
                self.store
                    .set_fields_then_allocate(
                        key,
                        &[(CURSOR_FIELD, value.as_str())],
                        facts::COUNTER_OUTBOUND,
                        Some(id.as_str()),
                    )
                    .await
                    .map_err(|e| format!("store cursor and allocate sequence: {e}"))?
            }
            None => self
                .store
                .allocate_sequence(key, facts::COUNTER_OUTBOUND, Some(id.as_str()))
                .await
                .map_err(|e| format!("allocate sequence: {e}"))?,
        };
        let envelope = OutboundMessage {
            meta: Some(self.meta(key, id, cause, sequence.get())),
            apple_message_id: apple_message_id(id),
            sender: Some(actor.clone()),
            auto_reply: true,
            msp_agent: knowledge.bot_name.chars().take(64).collect(),
            business_initiated: false,
            notification_topic: String::new(),
            more: Vec::new(),
            kind: None,
        };
        let Some(message) = parley_wire::parts::join(envelope, kinds) else {
            return Ok(());
        };
        self.publish(
            key,
            self.namespace
                .subject(StreamKind::Outbound, self.partitions.of(key)),
            id,
            OutboundMessage::TYPE,
            message.encode_to_vec(),
        )
        .await
    }

    async fn publish(
        &self,
        key: &ConversationKey,
        subject: String,
        id: &EventId,
        event_type: &str,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        self.bus
            .publish(Outgoing::conversation_event(
                subject, id, event_type, payload, key,
            ))
            .await
            .map(|_| ())
            .map_err(|e| format!("publish: {e}"))
    }
}

/// One publish of a task: consecutive messages as one outbound event, or an escalation.
enum Step<'a> {
    Send(Vec<Kind>),
    Escalate(&'a parley_proto::v1::EscalateToHuman),
}

/// The task's publishes in order, each with the index of its first action (its event id and
/// the cursor's mark; the same actions always give the same steps). Consecutive messages (the
/// typing indicators, a greeting, the answer) are one outbound event
/// (docs/adr/0004-one-outbound-event-per-answer.md).
fn steps(actions: &[Action]) -> Vec<(u32, Step<'_>)> {
    let mut steps: Vec<(u32, Step<'_>)> = Vec::new();
    for (index, action) in actions.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        match action {
            Action::Send(kind) => match steps.last_mut() {
                Some((_, Step::Send(kinds))) => kinds.push(kind.clone()),
                _ => steps.push((index, Step::Send(vec![kind.clone()]))),
            },
            Action::Escalate(escalate) => steps.push((index, Step::Escalate(escalate))),
        }
    }
    steps
}

/// Apple's message id for the event `id`: a UUID derived from it, so a redelivery sends the
/// same id ([`EventId::apple_message_id`], as every producer derives it).
pub fn apple_message_id(id: &EventId) -> String {
    id.apple_message_id()
}

/// The `amb.bot` consumer's handler.
pub(crate) struct TaskHandler(pub(crate) Arc<Shared>);

#[async_trait]
impl Handler for TaskHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        match BotTask::decode(delivery.payload.as_ref()) {
            Ok(task) => self.0.handle_task(&task).await,
            Err(error) => Outcome::DeadLetter {
                reason: format!("not a parley.v1.BotTask: {error}"),
            },
        }
    }

    async fn on_panic(&self, delivery: &Delivery) {
        if let Some((key, sequence)) = parley_wire::meta::position::<BotTask>(&delivery.payload) {
            ordered::release_after_panic(&*self.0.store, &key, STAGE_BOT, sequence).await;
        }
    }
}
