//! The in-process store for `parley up` and unit tests.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bytes::Bytes;
use parley_types::{ConversationKey, Sequence};

use crate::{
    CasOutcome, ClaimToken, Commit, CommitOutcome, ConversationStore, Error, GateDecision,
    GatePolicy, Result, StoreSettings, Versioned, gate::GateFields, routing::PoolState,
};

/// The in-process store. Expiry is checked when a conversation is touched.
pub struct EmbeddedStore {
    settings: StoreSettings,
    started: Instant,
    conversations: Mutex<HashMap<ConversationKey, Conversation>>,
    pools: Mutex<PoolState>,
}

#[derive(Default)]
struct Conversation {
    state: Option<Versioned>,
    counters: HashMap<String, u64>,
    /// counter NUL id → sequence, the newest [`SEQUENCE_IDS_KEPT`]
    sequence_ids: HashMap<String, u64>,
    fields: HashMap<String, String>,
    consent: HashMap<String, Bytes>,
    gates: HashMap<String, GateFields>,
    log: VecDeque<Bytes>,
    /// scope NUL id → expiry (ms since start)
    dedup: HashMap<String, u64>,
    expires_at: u64,
}

impl EmbeddedStore {
    /// An empty store.
    pub fn new(settings: StoreSettings) -> Self {
        Self {
            settings,
            started: Instant::now(),
            conversations: Mutex::new(HashMap::new()),
            pools: Mutex::new(PoolState::default()),
        }
    }

    /// Milliseconds since the store was made: its clock for expiry.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConversationKey, Conversation>> {
        // Every mutation completes before anything can panic, so a poisoned map is sound.
        self.conversations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The agent pools (see [`crate::AgentPool`]).
    pub(crate) fn pools(&self) -> MutexGuard<'_, PoolState> {
        // Every mutation completes before anything can panic, so a poisoned pool is sound.
        self.pools
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the live conversation (creating it), then refreshes its time to live.
    fn write<T>(&self, key: &ConversationKey, f: impl FnOnce(&mut Conversation, u64) -> T) -> T {
        let now = self.now_ms();
        let mut map = self.lock();
        if map.get(key).is_some_and(|c| c.expires_at <= now) {
            map.remove(key);
        }
        let conversation = map.entry(key.clone()).or_default();
        let out = f(conversation, now);
        conversation.expires_at = now.saturating_add(self.settings.retention_ms());
        out
    }

    /// Runs `f` on the live conversation, if any, without refreshing it.
    fn read<T>(&self, key: &ConversationKey, f: impl FnOnce(&Conversation, u64) -> T) -> Option<T> {
        let now = self.now_ms();
        let mut map = self.lock();
        if map.get(key).is_some_and(|c| c.expires_at <= now) {
            map.remove(key);
        }
        map.get(key).map(|c| f(c, now))
    }
}

impl EmbeddedStore {
    /// The gate (see [`crate::gate`]), a claim it grants held under `token`.
    fn decide(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: Option<ClaimToken>,
    ) -> Result<GateDecision> {
        let duplicate = self
            .read(key, |c, _| {
                c.gates.get(stage).is_some_and(|g| {
                    sequence.get() <= g.applied && !g.holes.contains(&sequence.get())
                })
            })
            .unwrap_or(false);
        let decision = if duplicate {
            // A read: nothing is written for a duplicate (as in the Redis script).
            GateDecision::Duplicate
        } else {
            self.write(key, |c, now| {
                c.gates.entry(stage.to_owned()).or_default().decide_with(
                    sequence.get(),
                    now,
                    policy,
                    token,
                )
            })
        };
        crate::gate::observe(stage, &decision);
        Ok(decision)
    }
}

/// How many idempotent sequence allocations are remembered per conversation.
pub(crate) const SEQUENCE_IDS_KEPT: usize = 4096;

fn dedup_key(scope: &str, id: &str) -> String {
    format!("{scope}\0{id}")
}

#[async_trait]
impl ConversationStore for EmbeddedStore {
    async fn load(&self, key: &ConversationKey) -> Result<Option<Versioned>> {
        Ok(self.read(key, |c, _| c.state.clone()).flatten())
    }

    async fn compare_and_set(
        &self,
        key: &ConversationKey,
        expected: u64,
        state: Bytes,
    ) -> Result<CasOutcome> {
        Ok(self.write(key, |c, _| {
            let current = c.state.as_ref().map_or(0, |v| v.version);
            if current != expected {
                return CasOutcome::Conflict { current };
            }
            let version = current + 1;
            c.state = Some(Versioned { version, state });
            CasOutcome::Applied { version }
        }))
    }

    async fn commit(&self, key: &ConversationKey, commit: Commit<'_>) -> Result<CommitOutcome> {
        let cap = self.settings.transcript_cap.max(1);
        let drawn = self.write(key, |c, _| {
            let current = c.state.as_ref().map_or(0, |v| v.version);
            if current != commit.expected {
                return Err(current);
            }
            let version = current + 1;
            c.state = Some(Versioned {
                version,
                state: commit.state,
            });
            let drawn: Vec<u64> = commit
                .allocate
                .iter()
                .map(|counter| {
                    let next = c.counters.entry((*counter).to_owned()).or_default();
                    *next += 1;
                    *next
                })
                .collect();
            for (name, value) in commit.fields {
                c.fields.insert(name.to_owned(), value);
            }
            if let Some(name) = commit.sequences_field {
                let joined: Vec<String> = drawn.iter().map(u64::to_string).collect();
                c.fields.insert(name.to_owned(), joined.join(","));
            }
            if let Some(entry) = commit.transcript {
                c.log.push_back(entry);
                while c.log.len() > cap {
                    c.log.pop_front();
                }
            }
            Ok((version, drawn))
        });
        match drawn {
            Err(current) => Ok(CommitOutcome::Conflict { current }),
            Ok((version, drawn)) => Ok(CommitOutcome::Applied {
                version,
                sequences: drawn
                    .into_iter()
                    .map(|n| {
                        Sequence::new(n).map_err(|e| Error::Protocol {
                            operation: "commit",
                            reason: e.to_string(),
                        })
                    })
                    .collect::<Result<_>>()?,
            }),
        }
    }

    async fn allocate_sequence(
        &self,
        key: &ConversationKey,
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        let value = self.write(key, |c, _| {
            let member = idempotency_id.map(|id| format!("{counter}\0{id}"));
            if let Some(existing) = member.as_ref().and_then(|m| c.sequence_ids.get(m)) {
                return *existing;
            }
            let next = c.counters.entry(counter.to_owned()).or_default();
            *next += 1;
            let value = *next;
            if let Some(member) = member {
                c.sequence_ids.insert(member, value);
                if c.sequence_ids.len() > SEQUENCE_IDS_KEPT {
                    // Drop the lowest sequence, as the Redis script does by rank.
                    if let Some(oldest) = c
                        .sequence_ids
                        .iter()
                        .min_by_key(|(m, v)| (**v, (*m).clone()))
                        .map(|(m, _)| m.clone())
                    {
                        c.sequence_ids.remove(&oldest);
                    }
                }
            }
            value
        });
        Sequence::new(value).map_err(|e| Error::Protocol {
            operation: "allocate_sequence",
            reason: e.to_string(),
        })
    }

    async fn set_fields(&self, key: &ConversationKey, fields: &[(&str, &str)]) -> Result<()> {
        self.write(key, |c, _| {
            for (name, value) in fields {
                c.fields.insert((*name).to_owned(), (*value).to_owned());
            }
        });
        Ok(())
    }

    async fn get_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<Vec<Option<String>>> {
        Ok(self
            .read(key, |c, _| {
                names.iter().map(|n| c.fields.get(*n).cloned()).collect()
            })
            .unwrap_or_else(|| vec![None; names.len()]))
    }

    async fn raise_field(&self, key: &ConversationKey, field: &str, value: u64) -> Result<u64> {
        self.write(key, |c, _| {
            let current = c
                .fields
                .get(field)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let stored = current.max(value);
            c.fields.insert(field.to_owned(), stored.to_string());
            Ok(stored)
        })
    }

    async fn set_consent(&self, key: &ConversationKey, topic: &str, record: Bytes) -> Result<()> {
        self.write(key, |c, _| {
            c.consent.insert(topic.to_owned(), record);
        });
        Ok(())
    }

    async fn consent(&self, key: &ConversationKey, topic: &str) -> Result<Option<Bytes>> {
        Ok(self
            .read(key, |c, _| c.consent.get(topic).cloned())
            .flatten())
    }

    async fn gate(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
    ) -> Result<GateDecision> {
        self.decide(key, stage, sequence, policy, None)
    }

    async fn gate_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        self.decide(key, stage, sequence, policy, Some(token))
    }

    async fn release_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        token: ClaimToken,
    ) -> Result<bool> {
        Ok(self.write(key, |c, _| {
            c.gates
                .get_mut(stage)
                .is_some_and(|g| g.release_claim(sequence.get(), token))
        }))
    }

    async fn complete(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        self.write(key, |c, _| {
            c.gates
                .entry(stage.to_owned())
                .or_default()
                .complete(sequence.get());
        });
        Ok(())
    }

    async fn release(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        self.write(key, |c, _| {
            if let Some(g) = c.gates.get_mut(stage) {
                g.release(sequence.get());
            }
        });
        Ok(())
    }

    async fn abandon(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        self.write(key, |c, _| {
            c.gates
                .entry(stage.to_owned())
                .or_default()
                .abandon(sequence.get());
        });
        Ok(())
    }

    async fn remember(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        Ok(self.write(key, |c, now| {
            c.dedup.retain(|_, until| *until > now);
            let entry = dedup_key(scope, id);
            if c.dedup.contains_key(&entry) {
                return false;
            }
            c.dedup.insert(entry, now.saturating_add(ttl_ms));
            true
        }))
    }

    async fn is_remembered(&self, key: &ConversationKey, scope: &str, id: &str) -> Result<bool> {
        Ok(self
            .read(key, |c, now| {
                c.dedup
                    .get(&dedup_key(scope, id))
                    .is_some_and(|until| *until > now)
            })
            .unwrap_or(false))
    }

    async fn append_transcript(&self, key: &ConversationKey, entry: Bytes) -> Result<()> {
        let cap = self.settings.transcript_cap.max(1);
        self.write(key, |c, _| {
            c.log.push_back(entry);
            while c.log.len() > cap {
                c.log.pop_front();
            }
        });
        Ok(())
    }

    async fn transcript(&self, key: &ConversationKey, limit: usize) -> Result<Vec<Bytes>> {
        Ok(self
            .read(key, |c, _| {
                let skip = c.log.len().saturating_sub(limit);
                c.log.iter().skip(skip).cloned().collect()
            })
            .unwrap_or_default())
    }

    async fn forget(&self, key: &ConversationKey) -> Result<u64> {
        let now = self.now_ms();
        let removed = self.lock().remove(key);
        // Count as Redis would: the record hash, the log and the dedup set, each if non-empty.
        Ok(removed.filter(|c| c.expires_at > now).map_or(0, |c| {
            let record = c.state.is_some()
                || !c.counters.is_empty()
                || !c.gates.is_empty()
                || !c.fields.is_empty();
            [
                record,
                !c.log.is_empty(),
                !c.consent.is_empty(),
                !c.dedup.is_empty(),
                !c.sequence_ids.is_empty(),
            ]
            .into_iter()
            .map(u64::from)
            .sum()
        }))
    }

    async fn time_to_live(&self, key: &ConversationKey) -> Result<Option<Duration>> {
        Ok(self.read(key, |c, now| {
            Duration::from_millis(c.expires_at.saturating_sub(now))
        }))
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }
}
