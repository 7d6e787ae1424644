//! A store that delegates every call to another one and runs a test's hook before each
//! [`ConversationStore::commit`]: how a test makes a writer lose a compare-and-set race on
//! purpose (the hook writes first), or lose the reply of a commit that was written (as a
//! crash or a timeout right after it would). Only with the `testing` feature; never in a
//! service.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use parley_types::{ConversationKey, Sequence};

use crate::{
    CasOutcome, Commit, CommitOutcome, ConversationStore, GateDecision, GatePolicy, Result,
    Versioned,
};

/// What happens to a commit's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The caller gets it.
    Keep,
    /// The commit is done, but the caller gets an `Unavailable` error.
    Lose,
}

/// What runs before a commit of `key`, and what becomes of its reply.
pub type BeforeCommit =
    Arc<dyn Fn(ConversationKey) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// `inner`, with `before_commit` run before each commit.
pub struct Intercepting {
    /// The store every call goes to.
    pub inner: Arc<dyn ConversationStore>,
    /// Runs before each commit, with the commit's key.
    pub before_commit: BeforeCommit,
}

#[async_trait]
impl ConversationStore for Intercepting {
    async fn load(&self, key: &ConversationKey) -> Result<Option<Versioned>> {
        self.inner.load(key).await
    }
    async fn commit(&self, key: &ConversationKey, commit: Commit<'_>) -> Result<CommitOutcome> {
        let reply = (self.before_commit)(key.clone()).await;
        let outcome = self.inner.commit(key, commit).await?;
        match reply {
            Reply::Keep => Ok(outcome),
            Reply::Lose => Err(crate::Error::Unavailable {
                operation: "commit",
                reason: "the reply was lost (a test's intercept)".into(),
            }),
        }
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
        self.inner
            .allocate_sequence(key, counter, idempotency_id)
            .await
    }
    async fn set_fields_then_allocate(
        &self,
        key: &ConversationKey,
        fields: &[(&str, &str)],
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        self.inner
            .set_fields_then_allocate(key, fields, counter, idempotency_id)
            .await
    }
    async fn load_with_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<(Option<Versioned>, Vec<Option<String>>)> {
        self.inner.load_with_fields(key, names).await
    }
    async fn set_fields(&self, key: &ConversationKey, fields: &[(&str, &str)]) -> Result<()> {
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
    async fn remember_then_complete(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
        stage: &str,
        sequence: Sequence,
    ) -> Result<bool> {
        self.inner
            .remember_then_complete(key, scope, id, ttl, stage, sequence)
            .await
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
