//! The console's JSON: what the API answers (never a conversation key, so never an opaque
//! id: conversations are named by their references), built from the desk's types.

use parley_proto::v1::{
    ActorKind, AgentEvent, AgentStatus, AgentSummary, AttachmentRef, CannedResponse, Capability,
    ConversationSummary, DeviceCapabilities, LifecycleState, QueueSummary, TranscriptDelivery,
    TranscriptEntry, UnassignReason, agent_event, delivery_result, inbound_message,
};
use serde_json::{Value, json};

use crate::desk::ConversationDetail;

/// Milliseconds since the Unix epoch (what JavaScript's `Date` takes), or null.
fn millis(at: Option<&prost_types::Timestamp>) -> Value {
    at.map_or(Value::Null, |t| {
        json!(t.seconds.saturating_mul(1000) + i64::from(t.nanos / 1_000_000))
    })
}

fn actor_kind(kind: i32) -> &'static str {
    match ActorKind::try_from(kind).unwrap_or_default() {
        ActorKind::Customer => "customer",
        ActorKind::Bot => "bot",
        ActorKind::Agent => "agent",
        ActorKind::Notification => "notification",
        ActorKind::System | ActorKind::Unspecified => "system",
    }
}

fn lifecycle(state: i32) -> &'static str {
    match LifecycleState::try_from(state).unwrap_or_default() {
        LifecycleState::New => "new",
        LifecycleState::WithBot => "with_bot",
        LifecycleState::Queued => "queued",
        LifecycleState::Assigned => "assigned",
        LifecycleState::ClosedByCustomer => "closed_by_customer",
        LifecycleState::Resolved => "resolved",
        LifecycleState::Unspecified => "unknown",
    }
}

/// A stored file: its key (to download it) and what it is.
pub(crate) fn attachment(a: &AttachmentRef) -> Value {
    let blob = a.blob.clone().unwrap_or_default();
    json!({
        "key": blob.key,
        "store": blob.store,
        "sha256": blob.sha256,
        "name": a.name,
        "mime_type": a.mime_type,
        "size_bytes": a.size_bytes,
    })
}

/// A transcript entry.
pub(crate) fn entry(e: &TranscriptEntry) -> Value {
    let author = e.author.clone().unwrap_or_default();
    let delivery = match TranscriptDelivery::try_from(e.delivery).unwrap_or_default() {
        TranscriptDelivery::Sent => json!("sent"),
        TranscriptDelivery::Refused => json!("refused"),
        TranscriptDelivery::Failed => json!("failed"),
        TranscriptDelivery::Unspecified => Value::Null,
    };
    json!({
        "author": {
            "kind": actor_kind(author.kind),
            "id": author.id,
            "name": author.display_name,
        },
        "at": millis(e.at.as_ref()),
        "text": e.text,
        "message_id": e.message_id,
        "delivery": delivery,
        "delivery_detail": e.delivery_detail,
        "attachments": e.attachments.iter().map(attachment).collect::<Vec<_>>(),
    })
}

/// What a device can show, by the names the console's composer uses.
fn capabilities(caps: Option<&DeviceCapabilities>) -> Value {
    let Some(caps) = caps else {
        return Value::Null;
    };
    let names: Vec<&str> = caps
        .capabilities
        .iter()
        .filter_map(|c| match Capability::try_from(*c).ok()? {
            Capability::QuickReply => Some("quick_reply"),
            Capability::ListPicker => Some("list_picker"),
            Capability::TimePicker => Some("time_picker"),
            Capability::Authentication => Some("authentication"),
            Capability::AuthenticationV2 => Some("authentication_v2"),
            Capability::Form => Some("form"),
            Capability::Unspecified => None,
        })
        .collect();
    json!(names)
}

/// A conversation of the agent's list.
pub(crate) fn summary(s: &ConversationSummary) -> Value {
    json!({
        "ref": s.conversation.as_ref().map_or("", |c| c.id.as_str()),
        "state": lifecycle(s.state),
        "queue": s.queue,
        "assigned_agent_id": s.assigned_agent_id,
        "position": s.position,
        "waited_seconds": s.waited_seconds,
        "response_target_seconds": s.response_target_seconds,
        "last_customer_message_at": millis(s.last_customer_message_at.as_ref()),
    })
}

/// One conversation.
pub(crate) fn detail(reference: &str, d: &ConversationDetail) -> Value {
    json!({
        "ref": reference,
        "state": lifecycle(d.state as i32),
        "queue": d.queue,
        "assigned_agent_id": d.assigned_agent_id,
        "held": d.held,
        "intent": d.intent,
        "group": d.group,
        "locale": d.locale.as_ref().map_or("", |l| l.language_tag.as_str()),
        "capabilities": capabilities(d.capabilities.as_ref()),
        "closed_by_customer": d.closed_by_customer,
        "last_customer_message_at": millis(d.last_customer_message_at.as_ref()),
        "summary": d.handoff_summary,
        "transfer_note": d.handoff_note,
        "previous_agent_id": d.previous_agent_id,
    })
}

/// A queue (supervisors).
pub(crate) fn queue(q: &QueueSummary) -> Value {
    json!({
        "queue": q.queue,
        "waiting": q.waiting,
        "longest_wait_seconds": q.longest_wait_seconds,
    })
}

/// An agent of the business (supervisors).
pub(crate) fn agent(a: &AgentSummary) -> Value {
    let status = match AgentStatus::try_from(a.status).unwrap_or_default() {
        AgentStatus::Available => "available",
        AgentStatus::Away => "away",
        AgentStatus::Offline | AgentStatus::Unspecified => "offline",
    };
    json!({
        "agent_id": a.agent_id,
        "display_name": a.display_name,
        "status": status,
        "capacity": a.capacity,
        "load": a.load,
        "skills": a.skills,
    })
}

/// A canned response.
pub(crate) fn canned(c: &CannedResponse) -> Value {
    json!({ "id": c.id, "title": c.title, "text": c.text })
}

/// A logged event of the agent, as the console's live stream carries it: `None` for what a
/// console does not show (a welcome, a command result, typing of nobody).
pub(crate) fn event(e: &AgentEvent) -> Option<(&'static str, Value)> {
    use agent_event::Event;
    let reference =
        |c: Option<&parley_proto::v1::ConversationRef>| c.map_or(String::new(), |c| c.id.clone());
    let at = millis(e.at.as_ref());
    Some(match e.event.as_ref()? {
        Event::Assignment(a) => (
            "assignment",
            json!({
                "ref": reference(a.conversation.as_ref()),
                "at": at,
                "queue": a.queue,
                "intent": a.intent,
                "group": a.group,
                "locale": a.locale.as_ref().map_or("", |l| l.language_tag.as_str()),
                "capabilities": capabilities(a.capabilities.as_ref()),
                "waited_seconds": a.waited_seconds,
                "response_target_seconds": a.response_target_seconds,
                "summary": a.summary,
                "transfer_note": a.transfer_note,
                "previous_agent_id": a.previous_agent_id,
            }),
        ),
        Event::Unassigned(u) => {
            let reason = match UnassignReason::try_from(u.reason).unwrap_or_default() {
                UnassignReason::Transferred => "transferred",
                UnassignReason::NoAnswer => "no_answer",
                UnassignReason::PresenceLost => "presence_lost",
                UnassignReason::Resolved => "resolved",
                UnassignReason::ClosedByCustomer => "closed_by_customer",
                UnassignReason::Unspecified => "ended",
            };
            (
                "unassigned",
                json!({ "ref": reference(u.conversation.as_ref()), "at": at, "reason": reason }),
            )
        }
        Event::CustomerMessage(m) => {
            let message = m.message.as_ref()?;
            let conversation = reference(m.conversation.as_ref());
            match message.kind.as_ref()? {
                inbound_message::Kind::TypingStart(_) | inbound_message::Kind::TypingEnd(_) => (
                    "customer_typing",
                    json!({
                        "ref": conversation,
                        "active": matches!(message.kind, Some(inbound_message::Kind::TypingStart(_))),
                    }),
                ),
                _ => {
                    let when = e.at.unwrap_or_default();
                    let line = parley_wire::transcript::from_inbound(message, when)?;
                    (
                        "message",
                        json!({ "ref": conversation, "entry": entry(&line) }),
                    )
                }
            }
        }
        Event::Delivery(d) => {
            let result = d.result.as_ref()?;
            let (status, detail) = match result.outcome.as_ref()? {
                delivery_result::Outcome::Retrying(_) => ("retrying", ""),
                outcome => match parley_wire::transcript::delivery_of(outcome, false)? {
                    (TranscriptDelivery::Sent, detail) => ("sent", detail),
                    (TranscriptDelivery::Refused, detail) => ("refused", detail),
                    (TranscriptDelivery::Failed | TranscriptDelivery::Unspecified, detail) => {
                        ("failed", detail)
                    }
                },
            };
            (
                "delivery",
                json!({
                    "ref": reference(d.conversation.as_ref()),
                    "command_id": d.command_id,
                    "message_id": result.apple_message_id,
                    "status": status,
                    "detail": detail,
                }),
            )
        }
        Event::Conversation(c) => (
            "conversation",
            json!({ "state": lifecycle(c.state), "at": at }),
        ),
        Event::Welcome(_) | Event::Result(_) => return None,
    })
}
