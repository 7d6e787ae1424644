//! The in-process agent pool, inside [`EmbeddedStore`]: the same rules as the Redis scripts,
//! under one lock.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use async_trait::async_trait;

use super::pool::{
    AgentPool, AgentState, Assignment, Declined, EnqueueOutcome, Presence, PresenceStatus,
    QueueChoice, QueueEntry, better, relax_cutoff,
};
use crate::{EmbeddedStore, Result};

/// Every business's pool.
#[derive(Default)]
pub(crate) struct PoolState {
    businesses: HashMap<String, Business>,
}

#[derive(Default)]
struct Business {
    /// agent → (presence, expiry in the store's ms)
    agents: BTreeMap<String, (Presence, u64)>,
    load: HashMap<String, u32>,
    /// conversation → agent
    assign: BTreeMap<String, String>,
    queues: HashMap<String, Queue>,
}

/// (-priority, enqueued_at_ms, conversation): the Redis sorted-set order.
type Order = (i64, u64, String);

/// What the pool keeps of a waiting conversation besides its place.
struct Waiting {
    required_skills: Vec<String>,
    declined: Vec<Declined>,
}

impl Waiting {
    /// Whether `agent` declined the conversation and its cool-down has not passed.
    fn passes_over(&self, agent: &str, now_ms: u64) -> bool {
        self.declined
            .iter()
            .any(|d| d.agent_id == agent && d.until_ms > now_ms)
    }
}

#[derive(Default)]
struct Queue {
    order: BTreeMap<Order, Waiting>,
    by_conversation: HashMap<String, Order>,
}

impl Queue {
    fn remove(&mut self, conversation: &str) -> bool {
        match self.by_conversation.remove(conversation) {
            Some(order) => {
                self.order.remove(&order);
                true
            }
            None => false,
        }
    }
}

impl EmbeddedStore {
    fn with_business<T>(&self, business: &str, f: impl FnOnce(&mut Business, u64) -> T) -> T {
        let now = self.now_ms();
        let mut pools = self.pools();
        let b = pools.businesses.entry(business.to_owned()).or_default();
        f(b, now)
    }
}

#[async_trait]
impl AgentPool for EmbeddedStore {
    async fn set_presence(
        &self,
        business: &str,
        agent_id: &str,
        presence: &Presence,
        ttl: Duration,
    ) -> Result<()> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.with_business(business, |b, now| {
            b.agents.insert(
                agent_id.to_owned(),
                (presence.clone(), now.saturating_add(ttl_ms)),
            );
        });
        Ok(())
    }

    async fn agents(&self, business: &str) -> Result<Vec<AgentState>> {
        Ok(self.with_business(business, |b, now| {
            b.agents
                .iter()
                .map(|(id, (p, expires))| AgentState {
                    agent_id: id.clone(),
                    status: if *expires > now {
                        p.status
                    } else {
                        PresenceStatus::Offline
                    },
                    capacity: p.capacity,
                    load: b.load.get(id).copied().unwrap_or(0),
                    skills: p.skills.clone(),
                })
                .collect()
        }))
    }

    async fn enqueue(
        &self,
        business: &str,
        queue: &str,
        entry: &QueueEntry,
    ) -> Result<EnqueueOutcome> {
        Ok(self.with_business(business, |b, _| {
            let q = b.queues.entry(queue.to_owned()).or_default();
            if q.by_conversation.contains_key(&entry.conversation) {
                return EnqueueOutcome::AlreadyQueued;
            }
            if b.assign.contains_key(&entry.conversation) {
                return EnqueueOutcome::AlreadyAssigned;
            }
            let order = (
                -i64::from(entry.priority),
                entry.enqueued_at_ms,
                entry.conversation.clone(),
            );
            q.order.insert(
                order.clone(),
                Waiting {
                    required_skills: entry.required_skills.clone(),
                    declined: entry.declined.clone(),
                },
            );
            q.by_conversation.insert(entry.conversation.clone(), order);
            EnqueueOutcome::Added
        }))
    }

    async fn position(
        &self,
        business: &str,
        queue: &str,
        conversation: &str,
    ) -> Result<Option<usize>> {
        Ok(self.with_business(business, |b, _| {
            let q = b.queues.get(queue)?;
            let order = q.by_conversation.get(conversation)?;
            Some(q.order.range(..order).count())
        }))
    }

    async fn places_ahead(&self, business: &str, queue: &str, entry: &QueueEntry) -> Result<usize> {
        Ok(self.with_business(business, |b, _| {
            let Some(q) = b.queues.get(queue) else {
                return 0;
            };
            let order = q
                .by_conversation
                .get(&entry.conversation)
                .cloned()
                .unwrap_or((
                    -i64::from(entry.priority),
                    entry.enqueued_at_ms,
                    entry.conversation.clone(),
                ));
            q.order.range(..order).count()
        }))
    }

    async fn dequeue(&self, business: &str, queue: &str, conversation: &str) -> Result<bool> {
        Ok(self.with_business(business, |b, _| {
            b.queues
                .get_mut(queue)
                .is_some_and(|q| q.remove(conversation))
        }))
    }

    async fn assign_first(
        &self,
        business: &str,
        queues: &[QueueChoice<'_>],
        now_ms: u64,
    ) -> Result<Option<(String, Assignment)>> {
        Ok(self.with_business(business, |b, now| {
            let free: Vec<(&String, &Presence, u32)> = b
                .agents
                .iter()
                .filter(|(_, (p, expires))| *expires > now && p.status == PresenceStatus::Available)
                .map(|(id, (p, _))| (id, p, b.load.get(id).copied().unwrap_or(0)))
                .filter(|(_, p, load)| *load < p.capacity)
                .collect();
            if free.is_empty() {
                return None;
            }
            for choice in queues {
                let cutoff = relax_cutoff(now_ms, choice.relax_after);
                let Some(q) = b.queues.get_mut(choice.queue) else {
                    continue;
                };
                let mut stale = Vec::new();
                let mut chosen = None;
                for ((_, enqueued_at, conversation), waiting) in &q.order {
                    if b.assign.contains_key(conversation) {
                        stale.push(conversation.clone());
                        continue;
                    }
                    let allowed = usize::from(cutoff.is_some_and(|c| *enqueued_at < c));
                    let mut best: Option<(usize, u32, u32, &str)> = None;
                    for (id, p, load) in &free {
                        if waiting.passes_over(id, now_ms) {
                            continue;
                        }
                        let missing = waiting
                            .required_skills
                            .iter()
                            .filter(|s| !p.skills.contains(s))
                            .count();
                        if missing > allowed {
                            continue;
                        }
                        let candidate = (missing, *load, p.capacity, id.as_str());
                        if best.is_none_or(|current| better(candidate, current)) {
                            best = Some(candidate);
                        }
                    }
                    if let Some((_, _, _, agent)) = best {
                        chosen = Some((conversation.clone(), agent.to_owned()));
                        break;
                    }
                }
                for conversation in stale {
                    q.remove(&conversation);
                }
                let Some((conversation, agent_id)) = chosen else {
                    continue;
                };
                q.remove(&conversation);
                *b.load.entry(agent_id.clone()).or_default() += 1;
                b.assign.insert(conversation.clone(), agent_id.clone());
                return Some((
                    choice.queue.to_owned(),
                    Assignment {
                        conversation,
                        agent_id,
                    },
                ));
            }
            None
        }))
    }

    async fn assign_to(&self, business: &str, agent_id: &str, conversation: &str) -> Result<bool> {
        Ok(self.with_business(business, |b, now| {
            let holder = b.assign.get(conversation).cloned();
            if holder.as_deref() == Some(agent_id) {
                return true;
            }
            let Some((presence, expiry)) = b.agents.get(agent_id) else {
                return false;
            };
            let load = b.load.get(agent_id).copied().unwrap_or(0);
            if presence.status != PresenceStatus::Available
                || *expiry <= now
                || load >= presence.capacity
            {
                return false;
            }
            if let Some(previous) = holder
                && let Some(held) = b.load.get_mut(&previous)
            {
                *held = held.saturating_sub(1);
            }
            *b.load.entry(agent_id.to_owned()).or_default() += 1;
            b.assign
                .insert(conversation.to_owned(), agent_id.to_owned());
            true
        }))
    }

    async fn release(&self, business: &str, agent_id: &str, conversation: &str) -> Result<bool> {
        Ok(self.with_business(business, |b, _| {
            if b.assign.get(conversation).is_none_or(|a| a != agent_id) {
                return false;
            }
            b.assign.remove(conversation);
            if let Some(load) = b.load.get_mut(agent_id) {
                *load = load.saturating_sub(1);
            }
            true
        }))
    }

    async fn assignment(&self, business: &str, conversation: &str) -> Result<Option<String>> {
        Ok(self.with_business(business, |b, _| b.assign.get(conversation).cloned()))
    }

    async fn assignments_of(&self, business: &str, agent_id: &str) -> Result<Vec<String>> {
        Ok(self.with_business(business, |b, _| {
            b.assign
                .iter()
                .filter(|(_, a)| *a == agent_id)
                .map(|(c, _)| c.clone())
                .collect()
        }))
    }

    async fn requeue_agent(&self, business: &str, agent_id: &str) -> Result<Vec<String>> {
        Ok(self.with_business(business, |b, _| {
            let held: Vec<String> = b
                .assign
                .iter()
                .filter(|(_, a)| *a == agent_id)
                .map(|(c, _)| c.clone())
                .collect();
            for conversation in &held {
                b.assign.remove(conversation);
            }
            b.load.remove(agent_id);
            held
        }))
    }
}
