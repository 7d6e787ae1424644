//! The agent pool trait both backends fulfil, and its types.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;

/// Whether an agent takes new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceStatus {
    /// Takes new work while below capacity.
    Available,
    /// Keeps its conversations, takes no new work.
    Away,
    /// Takes no new work; also what an agent whose presence expired reads as.
    Offline,
}

impl PresenceStatus {
    /// The name stored in Redis.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PresenceStatus::Available => "available",
            PresenceStatus::Away => "away",
            PresenceStatus::Offline => "offline",
        }
    }

    /// The status stored under `name`, if it is one.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "available" => Some(PresenceStatus::Available),
            "away" => Some(PresenceStatus::Away),
            "offline" => Some(PresenceStatus::Offline),
            _ => None,
        }
    }
}

/// What an agent announces (and refreshes with each heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// Available, away or offline.
    pub status: PresenceStatus,
    /// How many conversations the agent holds at most.
    pub capacity: u32,
    /// The agent's skills (for example `fr`, `billing`).
    pub skills: Vec<String>,
}

/// An agent as the pool sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentState {
    /// The agent's id.
    pub agent_id: String,
    /// The announced status, or [`PresenceStatus::Offline`] once the presence expired.
    pub status: PresenceStatus,
    /// How many conversations the agent holds at most.
    pub capacity: u32,
    /// How many conversations the agent holds now.
    pub load: u32,
    /// The agent's skills.
    pub skills: Vec<String>,
}

/// A conversation waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// An opaque conversation tag (for example `ConversationKey::hash_tag()`), unique in the
    /// business.
    pub conversation: String,
    /// Higher is served first.
    pub priority: i32,
    /// When the conversation started waiting (the caller's clock, ms since the epoch); among
    /// equal priorities the older is served first (then the lower conversation tag).
    pub enqueued_at_ms: u64,
    /// Skills the assigned agent must have.
    pub required_skills: Vec<String>,
    /// Agents that declined the conversation: none of them is offered it before its
    /// `until_ms` (the caller's clock), so a decline hands it to someone else, and back to
    /// the same agent only once the cool-down has passed.
    pub declined: Vec<Declined>,
}

/// An agent that declined a queued conversation, and until when it is not offered it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declined {
    /// The agent.
    pub agent_id: String,
    /// Until when (the caller's clock, ms since the epoch) it is passed over.
    pub until_ms: u64,
}

/// One queue [`AgentPool::assign_first`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueChoice<'a> {
    /// The queue's name.
    pub queue: &'a str,
    /// After how long a wait one required skill may be missing; `None` never.
    pub relax_after: Option<Duration>,
}

/// What [`AgentPool::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// The conversation now waits in the queue.
    Added,
    /// It was already waiting there; it keeps its original place.
    AlreadyQueued,
    /// It is assigned to an agent in this business; release it first.
    AlreadyAssigned,
}

/// A conversation given to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The conversation tag.
    pub conversation: String,
    /// The agent now holding it.
    pub agent_id: String,
}

/// Agents, their presence and load, and the queues of conversations waiting for them, per
/// business. Every read-modify-write is atomic, so any number of routing replicas may share
/// one pool without over-assigning an agent.
///
/// Presence expiry uses the store's clock (the Redis server's, shared by all replicas);
/// queue ages use the caller's clock (`enqueued_at_ms`, `now_ms`).
#[async_trait]
pub trait AgentPool: Send + Sync + 'static {
    /// Sets an agent's presence, valid for `ttl` unless set again (a heartbeat). An expired
    /// or offline agent gets no new work but keeps its assignments.
    async fn set_presence(
        &self,
        business: &str,
        agent_id: &str,
        presence: &Presence,
        ttl: Duration,
    ) -> Result<()>;

    /// Every agent that ever announced presence, ordered by id.
    async fn agents(&self, business: &str) -> Result<Vec<AgentState>>;

    /// Puts a conversation in `queue`. Idempotent: a conversation already waiting keeps its
    /// place; an assigned one is not queued.
    async fn enqueue(
        &self,
        business: &str,
        queue: &str,
        entry: &QueueEntry,
    ) -> Result<EnqueueOutcome>;

    /// The conversation's 0-based place in assignment order (higher priority first, then
    /// older), if it waits in `queue`.
    async fn position(
        &self,
        business: &str,
        queue: &str,
        conversation: &str,
    ) -> Result<Option<usize>>;

    /// How many conversations of `queue` come before `entry` in assignment order: its
    /// 0-based place once enqueued (if it already waits there, the place it keeps).
    async fn places_ahead(&self, business: &str, queue: &str, entry: &QueueEntry) -> Result<usize>;

    /// Takes a conversation out of `queue`; `true` if it was waiting there.
    async fn dequeue(&self, business: &str, queue: &str, conversation: &str) -> Result<bool>;

    /// Atomically assigns the first entry of `queue` (in assignment order) that some agent
    /// can take; [`AgentPool::assign_first`] with that one queue.
    async fn assign_next(
        &self,
        business: &str,
        queue: &str,
        now_ms: u64,
        relax_after: Option<Duration>,
    ) -> Result<Option<Assignment>> {
        let only = [QueueChoice { queue, relax_after }];
        Ok(self
            .assign_first(business, &only, now_ms)
            .await?
            .map(|(_, assignment)| assignment))
    }

    /// Atomically assigns the first entry that some agent can take, looking at `queues` in
    /// the order given (the caller lists them highest priority first) and at each queue's
    /// entries in assignment order (higher priority, then older), so no agent takes work
    /// of a later queue while it could take an entry of an earlier one. An agent can take
    /// an entry when it is available, its presence has not expired, its load is below its
    /// capacity and it has every required skill, except that one required skill may be
    /// missing once the entry has waited (`now_ms - enqueued_at_ms`) longer than its queue's
    /// `relax_after`, and it is not one of the entry's `declined` agents before its
    /// `until_ms` (compared with `now_ms`). Among those agents it picks the one missing fewest required skills,
    /// then the least loaded, then the lowest load ratio, then the lowest id. Entries nobody
    /// can take keep their place. The agent's load grows by one, the entry leaves its queue
    /// and the assignment is recorded. An entry whose conversation is already assigned (it
    /// was queued twice) is dropped. Returns the queue and the assignment.
    async fn assign_first(
        &self,
        business: &str,
        queues: &[QueueChoice<'_>],
        now_ms: u64,
    ) -> Result<Option<(String, Assignment)>>;

    /// Atomically gives `conversation` to `agent_id` directly (a transfer to a named agent):
    /// only if the agent is available, its presence has not expired and its load is below
    /// its capacity. The agent's load grows by one and the assignment is recorded; a previous
    /// holder's load shrinks by one (it no longer holds it). `true` also when that agent
    /// already holds it (a repeated call); `false`, changing nothing, when the agent cannot
    /// take it. A queue entry of the conversation is dropped by the next `assign_next`.
    async fn assign_to(&self, business: &str, agent_id: &str, conversation: &str) -> Result<bool>;

    /// Ends `agent_id`'s hold of `conversation` (its load shrinks by one, never below 0);
    /// `false`, changing nothing, if that agent does not hold it.
    async fn release(&self, business: &str, agent_id: &str, conversation: &str) -> Result<bool>;

    /// The agent holding `conversation`, if any.
    async fn assignment(&self, business: &str, conversation: &str) -> Result<Option<String>>;

    /// The conversations `agent_id` holds, ordered.
    async fn assignments_of(&self, business: &str, agent_id: &str) -> Result<Vec<String>>;

    /// Takes every conversation from `agent_id` (whose presence died) and returns them,
    /// ordered, for the caller to queue again; its load becomes 0.
    async fn requeue_agent(&self, business: &str, agent_id: &str) -> Result<Vec<String>>;
}

/// The waiting time past which one required skill may be missing, as "enqueued before"
/// this instant (caller's ms), or `None` when no entry can have waited that long.
pub(crate) fn relax_cutoff(now_ms: u64, relax_after: Option<Duration>) -> Option<u64> {
    let after = u64::try_from(relax_after?.as_millis()).unwrap_or(u64::MAX);
    now_ms.checked_sub(after)
}

/// Whether agent `a` (missing, load, capacity, id) is a better pick than `b`.
pub(crate) fn better(a: (usize, u32, u32, &str), b: (usize, u32, u32, &str)) -> bool {
    let ratio = |load: u32, other_capacity: u32| u64::from(load) * u64::from(other_capacity);
    (a.0, a.1, ratio(a.1, b.2), a.3) < (b.0, b.1, ratio(b.1, a.2), b.3)
}
