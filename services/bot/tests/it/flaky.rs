//! A conversation store that fails chosen calls once, to crash the bot between its effects.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use bytes::Bytes;
use parley_bot::service::MEMORY_FIELD;
use parley_state::{
    CasOutcome, ConversationStore, Error, GateDecision, GatePolicy, Result, Versioned,
};
use parley_types::{ConversationKey, Sequence};

/// Fails the next `memory_writes` writes of the bot's memory, and `completes` gate
/// completions of sequence `complete_of`; after `assign_after` more allocations of outbound
/// numbers (counting down to 0 from a non-zero value), writes routing's state `Assigned`
/// (as routing does when an agent accepts); otherwise it is the store it wraps.
pub struct Flaky {
    pub inner: Arc<dyn ConversationStore>,
    pub memory_writes: AtomicU32,
    pub completes: AtomicU32,
    pub complete_of: AtomicU64,
    pub assign_after: AtomicU32,
    /// With `assign_after`: the allocation that assigns then fails (the bot crashed after
    /// taking the number, before publishing).
    pub crash_on_assign: std::sync::atomic::AtomicBool,
}

impl Flaky {
    pub fn new(inner: Arc<dyn ConversationStore>) -> Self {
        Self {
            inner,
            memory_writes: 0.into(),
            completes: 0.into(),
            complete_of: 0.into(),
            assign_after: 0.into(),
            crash_on_assign: false.into(),
        }
    }
}

/// Writes routing's state for `key` with `lifecycle` (a compare-and-set on the version
/// stored, as routing writes it).
pub async fn set_lifecycle(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    lifecycle: parley_proto::v1::LifecycleState,
) {
    use prost::Message as _;
    let expected = store.load(key).await.unwrap().map_or(0, |v| v.version);
    let state = parley_proto::v1::ConversationState {
        lifecycle: lifecycle as i32,
        bot_id: "bot".into(),
        ..parley_proto::v1::ConversationState::default()
    };
    let outcome = store
        .compare_and_set(key, expected, state.encode_to_vec().into())
        .await
        .unwrap();
    assert!(matches!(outcome, CasOutcome::Applied { .. }), "{outcome:?}");
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn down(operation: &'static str) -> Error {
    Error::Unavailable {
        operation,
        reason: "injected failure".into(),
    }
}

#[async_trait]
impl ConversationStore for Flaky {
    async fn load(&self, key: &ConversationKey) -> Result<Option<Versioned>> {
        self.inner.load(key).await
    }
    async fn compare_and_set(
        &self,
        key: &ConversationKey,
        expected: u64,
        state: Bytes,
    ) -> Result<CasOutcome> {
        self.inner.compare_and_set(key, expected, state).await
    }
    async fn allocate_sequence(
        &self,
        key: &ConversationKey,
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        let sequence = self
            .inner
            .allocate_sequence(key, counter, idempotency_id)
            .await?;
        if counter == parley_state::facts::COUNTER_OUTBOUND
            && self
                .assign_after
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                == Ok(1)
        {
            set_lifecycle(
                self.inner.as_ref(),
                key,
                parley_proto::v1::LifecycleState::Assigned,
            )
            .await;
            if self.crash_on_assign.swap(false, Ordering::SeqCst) {
                return Err(down("allocate_sequence"));
            }
        }
        Ok(sequence)
    }
    async fn set_fields(&self, key: &ConversationKey, fields: &[(&str, &str)]) -> Result<()> {
        if fields.iter().any(|(name, _)| *name == MEMORY_FIELD) && take(&self.memory_writes) {
            return Err(down("set_fields"));
        }
        self.inner.set_fields(key, fields).await
    }
    async fn get_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<Vec<Option<String>>> {
        self.inner.get_fields(key, names).await
    }
    async fn raise_field(&self, key: &ConversationKey, field: &str, value: u64) -> Result<u64> {
        self.inner.raise_field(key, field, value).await
    }
    async fn set_consent(&self, key: &ConversationKey, topic: &str, record: Bytes) -> Result<()> {
        self.inner.set_consent(key, topic, record).await
    }
    async fn consent(&self, key: &ConversationKey, topic: &str) -> Result<Option<Bytes>> {
        self.inner.consent(key, topic).await
    }
    async fn gate(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
    ) -> Result<GateDecision> {
        self.inner.gate(key, stage, sequence, policy).await
    }
    async fn complete(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        if sequence.get() == self.complete_of.load(Ordering::SeqCst) && take(&self.completes) {
            return Err(down("complete"));
        }
        self.inner.complete(key, stage, sequence).await
    }
    async fn release(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        self.inner.release(key, stage, sequence).await
    }
    async fn abandon(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        self.inner.abandon(key, stage, sequence).await
    }
    async fn remember(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool> {
        self.inner.remember(key, scope, id, ttl).await
    }
    async fn is_remembered(&self, key: &ConversationKey, scope: &str, id: &str) -> Result<bool> {
        self.inner.is_remembered(key, scope, id).await
    }
    async fn append_transcript(&self, key: &ConversationKey, entry: Bytes) -> Result<()> {
        self.inner.append_transcript(key, entry).await
    }
    async fn transcript(&self, key: &ConversationKey, limit: usize) -> Result<Vec<Bytes>> {
        self.inner.transcript(key, limit).await
    }
    async fn forget(&self, key: &ConversationKey) -> Result<u64> {
        self.inner.forget(key).await
    }
    async fn time_to_live(&self, key: &ConversationKey) -> Result<Option<Duration>> {
        self.inner.time_to_live(key).await
    }
    async fn health(&self) -> Result<()> {
        self.inner.health().await
    }
}
