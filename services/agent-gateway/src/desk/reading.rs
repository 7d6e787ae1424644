//! What an agent reads: transcripts, its conversations and what waits in its queues, the
//! business's queues and agents (supervisors), canned responses, attachments.

use std::{collections::BTreeMap, pin::Pin, time::SystemTime};

use futures::Stream;
use parley_proto::v1::{
    AgentStatus, AgentSummary, AttachmentRef, CannedResponse, ConversationRef, ConversationSummary,
    DeviceCapabilities, LifecycleState, Locale, QueueSummary, TranscriptEntry,
};
use parley_state::{PresenceStatus, facts};
use parley_types::ConversationKey;
use prost::Message as _;

use super::{Desk, DeskError, Session, now_ms, unavailable};
use crate::attachments::AttachmentError;

/// A new session.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    /// The session's secret (only its SHA-256 is stored).
    pub(crate) token: String,
    /// Who signed in.
    pub(crate) session: Session,
    /// When it expires.
    pub(crate) expires_at: SystemTime,
}

/// One conversation as an agent may see it (never its key: no opaque id).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConversationDetail {
    /// Routing's lifecycle state.
    pub(crate) state: LifecycleState,
    /// The queue it is or was in.
    pub(crate) queue: String,
    /// Who holds it (empty: nobody).
    pub(crate) assigned_agent_id: String,
    /// Whether the asking agent holds it (may act on it).
    pub(crate) held: bool,
    /// The entry point: Apple's intent and group.
    pub(crate) intent: String,
    pub(crate) group: String,
    /// The customer's locale.
    pub(crate) locale: Option<Locale>,
    /// What the device can show (`None`: not known, the device is given the benefit of the
    /// doubt).
    pub(crate) capabilities: Option<DeviceCapabilities>,
    /// The customer closed it and has not written since: nothing can be sent.
    pub(crate) closed_by_customer: bool,
    /// When the customer last wrote.
    pub(crate) last_customer_message_at: Option<prost_types::Timestamp>,
    /// What routing tells the next agent: the bot's summary, the last transfer's note and
    /// the agent who had it before (empty when none).
    pub(crate) handoff_summary: String,
    pub(crate) handoff_note: String,
    pub(crate) previous_agent_id: String,
}

/// An attachment's bytes as they arrive from the blob store.
pub(crate) type AttachmentBytes =
    Pin<Box<dyn Stream<Item = Result<bytes::Bytes, DeskError>> + Send + 'static>>;

/// An attachment being read: its size, then its bytes.
pub(crate) struct AttachmentBody {
    pub(crate) size: u64,
    pub(crate) bytes: AttachmentBytes,
}

/// The typed entries of a stored transcript, oldest first: one per message id (a writer's
/// redelivery may have appended a message twice; the first is kept). An entry that does not
/// decode is skipped and counted, never shown: its bytes are not something an agent may read.
fn transcript_entries(raw: &[bytes::Bytes]) -> Vec<TranscriptEntry> {
    let mut seen = std::collections::HashSet::new();
    let mut skipped = 0_u64;
    let mut entries = Vec::with_capacity(raw.len());
    for bytes in raw {
        match TranscriptEntry::decode(bytes.as_ref()) {
            Ok(entry) if entry.author.is_some() => {
                if entry.message_id.is_empty() || seen.insert(entry.message_id.clone()) {
                    entries.push(entry);
                }
            }
            // Not a transcript entry (an author is always set by the writers).
            Ok(_) | Err(_) => skipped += 1,
        }
    }
    if skipped > 0 {
        metrics::counter!("parley_agent_gateway_transcript_entries_skipped_total")
            .increment(skipped);
        tracing::warn!(
            skipped,
            "transcript entries that do not decode were skipped"
        );
    }
    entries
}

fn millis_of(at: Option<&prost_types::Timestamp>) -> u64 {
    at.map_or(0, |t| {
        u64::try_from(t.seconds)
            .unwrap_or(0)
            .saturating_mul(1000)
            .saturating_add(u64::try_from(t.nanos / 1_000_000).unwrap_or(0))
    })
}

/// How long the customer has waited for an answer to its last message (0 when the business
/// wrote since).
fn unanswered_seconds(state: &parley_proto::v1::ConversationState, now_ms: u64) -> u64 {
    let customer = millis_of(state.last_customer_message_at.as_ref());
    let business = millis_of(state.last_business_message_at.as_ref());
    if customer == 0 || business >= customer {
        0
    } else {
        now_ms.saturating_sub(customer) / 1000
    }
}

impl Desk {
    /// The conversation `reference` names in the session's business, if the agent may read
    /// it: NOT_FOUND for no such conversation, PERMISSION_DENIED for one never offered.
    async fn readable(
        &self,
        session: &Session,
        reference: &str,
    ) -> Result<ConversationKey, DeskError> {
        let key = self
            .conversation(
                session,
                Some(&ConversationRef {
                    id: reference.to_owned(),
                }),
            )
            .await
            .map_err(unavailable)?
            .ok_or(DeskError::NotFound("no such conversation"))?;
        if self
            .may_read(session, &key, reference)
            .await
            .map_err(unavailable)?
        {
            Ok(key)
        } else {
            Err(DeskError::PermissionDenied(
                "the conversation was never offered to this agent",
            ))
        }
    }

    /// One conversation the agent may read.
    pub(crate) async fn conversation_detail(
        &self,
        session: &Session,
        reference: &str,
    ) -> Result<ConversationDetail, DeskError> {
        let key = self.readable(session, reference).await?;
        let state = self
            .state(&key)
            .await
            .map_err(unavailable)?
            .unwrap_or_default();
        let held = self.owns(session, &key).await.map_err(unavailable)?;
        let fields = self
            .conversations
            .get_fields(
                &key,
                &[facts::CUSTOMER_CLOSED_AT, facts::CUSTOMER_ACTIVE_AT],
            )
            .await
            .map_err(unavailable)?;
        let number = |i: usize| {
            fields
                .get(i)
                .cloned()
                .flatten()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let lifecycle = LifecycleState::try_from(state.lifecycle).unwrap_or_default();
        Ok(ConversationDetail {
            closed_by_customer: number(0) > number(1)
                || lifecycle == LifecycleState::ClosedByCustomer,
            state: lifecycle,
            queue: state.queue,
            assigned_agent_id: state.assigned_agent_id,
            held,
            intent: state.intent,
            group: state.group,
            locale: state.locale,
            capabilities: state.capabilities,
            last_customer_message_at: state.last_customer_message_at,
            handoff_summary: state.handoff_summary,
            handoff_note: state.handoff_note,
            previous_agent_id: state.previous_agent_id,
        })
    }

    /// The conversation's transcript, oldest first, at most `limit` entries (0: 100; at
    /// most 1,000).
    pub(crate) async fn transcript(
        &self,
        session: &Session,
        reference: &str,
        limit: u32,
    ) -> Result<Vec<TranscriptEntry>, DeskError> {
        let key = self.readable(session, reference).await?;
        let limit = match limit {
            0 => 100,
            n => n.min(1000) as usize,
        };
        let raw = self
            .conversations
            .transcript(&key, limit)
            .await
            .map_err(unavailable)?;
        Ok(transcript_entries(&raw))
    }

    /// The conversations held (the agent's own; a supervisor's: every agent's), then those
    /// waiting (for an agent, those its declared skills cover; for a supervisor, all).
    pub(crate) async fn conversations(
        &self,
        session: &Session,
    ) -> Result<Vec<ConversationSummary>, DeskError> {
        let supervisor = self.is_supervisor(session);
        let live = self
            .pool
            .agents(&session.business)
            .await
            .map_err(unavailable)?;
        let holders: Vec<String> = if supervisor {
            live.iter().map(|a| a.agent_id.clone()).collect()
        } else {
            vec![session.agent.clone()]
        };
        let mut tags = Vec::new();
        for holder in holders {
            let held = self
                .pool
                .assignments_of(&session.business, &holder)
                .await
                .map_err(unavailable)?;
            tags.extend(held.into_iter().map(|tag| (holder.clone(), tag)));
        }
        let mut conversations = Vec::with_capacity(tags.len());
        let prefix = format!("{}:", session.business);
        let now_ms = now_ms();
        for (holder, tag) in tags {
            let opaque = tag.strip_prefix(&prefix).unwrap_or(&tag);
            let Ok(key) = ConversationKey::parse(&session.business, opaque) else {
                continue;
            };
            let reference = self.store.ref_for(&key).await.map_err(unavailable)?;
            let state = self.state(&key).await.map_err(unavailable)?;
            conversations.push(ConversationSummary {
                conversation: Some(ConversationRef { id: reference }),
                state: state.as_ref().map_or(0, |s| s.lifecycle),
                last_customer_message_at: state.as_ref().and_then(|s| s.last_customer_message_at),
                queue: state.as_ref().map(|s| s.queue.clone()).unwrap_or_default(),
                assigned_agent_id: holder,
                position: 0,
                waited_seconds: state.as_ref().map_or(0, |s| unanswered_seconds(s, now_ms)),
                response_target_seconds: 0,
            });
        }
        let skills = if supervisor {
            None
        } else {
            Some(
                live.into_iter()
                    .find(|a| a.agent_id == session.agent)
                    .map(|a| a.skills)
                    .unwrap_or_default(),
            )
        };
        for (waiting, place) in self
            .still_waiting(&session.business, skills.as_deref())
            .await
            .map_err(unavailable)?
        {
            let Ok(key) = ConversationKey::parse(&session.business, &waiting.opaque) else {
                continue;
            };
            let reference = self.store.ref_for(&key).await.map_err(unavailable)?;
            let state = self.state(&key).await.map_err(unavailable)?;
            conversations.push(ConversationSummary {
                conversation: Some(ConversationRef { id: reference }),
                state: state.as_ref().map_or(0, |s| s.lifecycle),
                last_customer_message_at: state.as_ref().and_then(|s| s.last_customer_message_at),
                queue: waiting.queue,
                assigned_agent_id: String::new(),
                position: u32::try_from(place).unwrap_or(u32::MAX),
                waited_seconds: now_ms.saturating_sub(waiting.since_ms) / 1000,
                response_target_seconds: waiting.response_target_seconds,
            });
        }
        Ok(conversations)
    }

    /// Every queue with something waiting: how many, and the longest wait (supervisors).
    pub(crate) async fn queues(&self, session: &Session) -> Result<Vec<QueueSummary>, DeskError> {
        if !self.is_supervisor(session) {
            return Err(DeskError::PermissionDenied(
                "only a supervisor lists the queues",
            ));
        }
        let now_ms = now_ms();
        let mut queues: BTreeMap<String, QueueSummary> = BTreeMap::new();
        for (waiting, _) in self
            .still_waiting(&session.business, None)
            .await
            .map_err(unavailable)?
        {
            let summary = queues
                .entry(waiting.queue.clone())
                .or_insert_with(|| QueueSummary {
                    queue: waiting.queue.clone(),
                    ..QueueSummary::default()
                });
            summary.waiting += 1;
            summary.longest_wait_seconds = summary
                .longest_wait_seconds
                .max(now_ms.saturating_sub(waiting.since_ms) / 1000);
        }
        Ok(queues.into_values().collect())
    }

    /// Every agent of the business with its presence and load (supervisors).
    pub(crate) async fn agent_summaries(
        &self,
        session: &Session,
    ) -> Result<Vec<AgentSummary>, DeskError> {
        if !self.is_supervisor(session) {
            return Err(DeskError::PermissionDenied(
                "only a supervisor lists the agents",
            ));
        }
        let live = self
            .pool
            .agents(&session.business)
            .await
            .map_err(unavailable)?;
        Ok(self
            .agents
            .of_business(&session.business)
            .map(|entry| {
                let state = live.iter().find(|a| a.agent_id == entry.id);
                let status = match state.map(|a| a.status) {
                    Some(PresenceStatus::Available) => AgentStatus::Available,
                    Some(PresenceStatus::Away) => AgentStatus::Away,
                    Some(PresenceStatus::Offline) | None => AgentStatus::Offline,
                };
                AgentSummary {
                    agent_id: entry.id.clone(),
                    display_name: entry.display_name.clone(),
                    status: status as i32,
                    capacity: state.map_or(0, |a| a.capacity),
                    load: state.map_or(0, |a| a.load),
                    skills: state.map(|a| a.skills.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// The business's canned responses.
    pub(crate) fn canned(&self, session: &Session) -> Vec<CannedResponse> {
        self.agents
            .canned(&session.business)
            .map(|c| CannedResponse {
                id: c.id.clone(),
                title: c.title.clone(),
                text: c.text.clone(),
            })
            .collect()
    }

    /// One of a readable conversation's files (a customer's attachment, an agent's upload).
    pub(crate) async fn open_attachment(
        &self,
        session: &Session,
        reference: &str,
        blob: &str,
    ) -> Result<AttachmentBody, DeskError> {
        use futures::{StreamExt as _, TryStreamExt as _};
        let key = self
            .readable(session, reference)
            .await
            .map_err(|e| match e {
                DeskError::PermissionDenied(_) => {
                    DeskError::PermissionDenied("not an attachment of a conversation of this agent")
                }
                other => other,
            })?;
        if !crate::attachments::belongs_to(blob, &key) {
            return Err(DeskError::PermissionDenied(
                "not an attachment of a conversation of this agent",
            ));
        }
        let (size, stream) = self.blobs.open(blob).await.map_err(|e| match e {
            AttachmentError::NotFound => DeskError::NotFound("no such attachment"),
            other => unavailable(other),
        })?;
        Ok(AttachmentBody {
            size,
            bytes: stream.map_err(unavailable).boxed(),
        })
    }

    /// Stores an agent's file for a conversation it holds, to send in a reply.
    pub(crate) async fn put_attachment(
        &self,
        session: &Session,
        reference: &str,
        name: &str,
        mime_type: &str,
        data: Vec<u8>,
    ) -> Result<AttachmentRef, DeskError> {
        let key = self
            .owned(
                session,
                Some(&ConversationRef {
                    id: reference.to_owned(),
                }),
            )
            .await
            .map_err(|(error, _)| match error {
                parley_proto::v1::CommandError::Unavailable => DeskError::Unavailable,
                _ => DeskError::PermissionDenied("the conversation is not yours"),
            })?;
        if name.trim().is_empty() || mime_type.trim().is_empty() {
            return Err(DeskError::Invalid(
                "a file needs a name and a MIME type".to_owned(),
            ));
        }
        if u64::try_from(data.len()).unwrap_or(u64::MAX) > crate::attachments::MAX_UPLOAD_BYTES {
            return Err(DeskError::TooLarge("the file is larger than 100 MiB"));
        }
        self.blobs
            .put(&key, name, mime_type, data)
            .await
            .map_err(unavailable)
    }
}
