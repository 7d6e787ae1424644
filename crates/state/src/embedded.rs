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
    CasOutcome, ConversationStore, Error, GateDecision, GatePolicy, Result, StoreSettings,
    Versioned, gate::GateFields,
};

/// The in-process store. Expiry is checked when a conversation is touched.
pub struct EmbeddedStore {
    settings: StoreSettings,
    started: Instant,
    conversations: Mutex<HashMap<ConversationKey, Conversation>>,
}

#[derive(Default)]
struct Conversation {
    state: Option<Versioned>,
    sequence: u64,
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
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConversationKey, Conversation>> {
        // Every mutation completes before anything can panic, so a poisoned map is sound.
        self.conversations
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

    async fn next_sequence(&self, key: &ConversationKey) -> Result<Sequence> {
        let value = self.write(key, |c, _| {
            c.sequence += 1;
            c.sequence
        });
        Sequence::new(value).map_err(|e| Error::Protocol {
            operation: "next_sequence",
            reason: e.to_string(),
        })
    }

    async fn gate(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
    ) -> Result<GateDecision> {
        let applied = self
            .read(key, |c, _| c.gates.get(stage).map_or(0, |g| g.applied))
            .unwrap_or(0);
        let decision = if sequence.get() <= applied {
            // A read: nothing is written for a duplicate (as in the Redis script).
            GateDecision::Duplicate
        } else {
            self.write(key, |c, now| {
                c.gates
                    .entry(stage.to_owned())
                    .or_default()
                    .decide(sequence.get(), now, policy)
            })
        };
        crate::gate::observe(stage, &decision);
        Ok(decision)
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
            let record = c.state.is_some() || c.sequence > 0 || !c.gates.is_empty();
            u64::from(record) + u64::from(!c.log.is_empty()) + u64::from(!c.dedup.is_empty())
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
