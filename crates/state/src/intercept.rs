//! Stores that delegate every call to another one, for tests. [`Intercepting`] runs a test's
//! hook before each [`ConversationStore::commit`]: how a test makes a writer lose a
//! compare-and-set race on purpose (the hook writes first), or lose the reply of a commit that
//! was written (as a crash or a timeout right after it would). [`Faulty`] makes any named
//! operation fail, before it runs or after (its reply lost). Only with the `testing` feature;
//! never in a service.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use parley_types::{ConversationKey, Sequence};

use crate::{
    CasOutcome, ClaimToken, Commit, CommitOutcome, ConversationStore, GateDecision, GatePolicy,
    Result, Versioned,
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
    async fn gate_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        self.inner
            .gate_claim(key, stage, sequence, policy, token)
            .await
    }
    async fn release_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        token: ClaimToken,
    ) -> Result<bool> {
        self.inner.release_claim(key, stage, sequence, token).await
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

/// What [`Faulty`] does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: the call goes through.
    Pass,
    /// The call is not made; the caller gets an `Unavailable` error.
    Refuse,
    /// The call is made, but the caller gets an `Unavailable` error (as after a timeout).
    LoseReply,
}

/// Decides each call's fault from the operation's name (the method's, e.g. `"gate_claim"`).
pub type Faults = Arc<dyn Fn(&'static str) -> Fault + Send + Sync>;

/// `inner`, with the calls `faults` names failing.
pub struct Faulty {
    /// The store every call goes to.
    pub inner: Arc<dyn ConversationStore>,
    /// Consulted before each call.
    pub faults: Faults,
}

fn injected(operation: &'static str, what: &str) -> crate::Error {
    crate::Error::Unavailable {
        operation,
        reason: format!("{what} (a test's fault)"),
    }
}

macro_rules! faulty {
    ($self:ident, $operation:literal, $call:expr) => {
        match ($self.faults)($operation) {
            Fault::Pass => $call.await,
            Fault::Refuse => Err(injected($operation, "refused")),
            Fault::LoseReply => {
                let _ = $call.await;
                Err(injected($operation, "the reply was lost"))
            }
        }
    };
}

#[async_trait]
impl ConversationStore for Faulty {
    async fn load(&self, key: &ConversationKey) -> Result<Option<Versioned>> {
        faulty!(self, "load", self.inner.load(key))
    }
    async fn commit(&self, key: &ConversationKey, commit: Commit<'_>) -> Result<CommitOutcome> {
        match (self.faults)("commit") {
            Fault::Pass => self.inner.commit(key, commit).await,
            Fault::Refuse => Err(injected("commit", "refused")),
            Fault::LoseReply => {
                let _ = self.inner.commit(key, commit).await;
                Err(injected("commit", "the reply was lost"))
            }
        }
    }
    async fn compare_and_set(
        &self,
        key: &ConversationKey,
        expected: u64,
        state: Bytes,
    ) -> Result<CasOutcome> {
        match (self.faults)("compare_and_set") {
            Fault::Pass => self.inner.compare_and_set(key, expected, state).await,
            Fault::Refuse => Err(injected("compare_and_set", "refused")),
            Fault::LoseReply => {
                let _ = self.inner.compare_and_set(key, expected, state).await;
                Err(injected("compare_and_set", "the reply was lost"))
            }
        }
    }
    async fn allocate_sequence(
        &self,
        key: &ConversationKey,
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        faulty!(
            self,
            "allocate_sequence",
            self.inner.allocate_sequence(key, counter, idempotency_id)
        )
    }
    async fn set_fields_then_allocate(
        &self,
        key: &ConversationKey,
        fields: &[(&str, &str)],
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        faulty!(
            self,
            "set_fields_then_allocate",
            self.inner
                .set_fields_then_allocate(key, fields, counter, idempotency_id)
        )
    }
    async fn load_with_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<(Option<Versioned>, Vec<Option<String>>)> {
        faulty!(
            self,
            "load_with_fields",
            self.inner.load_with_fields(key, names)
        )
    }
    async fn set_fields(&self, key: &ConversationKey, fields: &[(&str, &str)]) -> Result<()> {
        faulty!(self, "set_fields", self.inner.set_fields(key, fields))
    }
    async fn get_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<Vec<Option<String>>> {
        faulty!(self, "get_fields", self.inner.get_fields(key, names))
    }
    async fn raise_field(&self, key: &ConversationKey, field: &str, value: u64) -> Result<u64> {
        faulty!(
            self,
            "raise_field",
            self.inner.raise_field(key, field, value)
        )
    }
    async fn set_consent(&self, key: &ConversationKey, topic: &str, record: Bytes) -> Result<()> {
        match (self.faults)("set_consent") {
            Fault::Pass => self.inner.set_consent(key, topic, record).await,
            Fault::Refuse => Err(injected("set_consent", "refused")),
            Fault::LoseReply => {
                let _ = self.inner.set_consent(key, topic, record).await;
                Err(injected("set_consent", "the reply was lost"))
            }
        }
    }
    async fn consent(&self, key: &ConversationKey, topic: &str) -> Result<Option<Bytes>> {
        faulty!(self, "consent", self.inner.consent(key, topic))
    }
    async fn gate(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
    ) -> Result<GateDecision> {
        faulty!(self, "gate", self.inner.gate(key, stage, sequence, policy))
    }
    async fn gate_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        faulty!(
            self,
            "gate_claim",
            self.inner.gate_claim(key, stage, sequence, policy, token)
        )
    }
    async fn release_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        token: ClaimToken,
    ) -> Result<bool> {
        faulty!(
            self,
            "release_claim",
            self.inner.release_claim(key, stage, sequence, token)
        )
    }
    async fn complete(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        faulty!(self, "complete", self.inner.complete(key, stage, sequence))
    }
    async fn release(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        faulty!(self, "release", self.inner.release(key, stage, sequence))
    }
    async fn abandon(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        faulty!(self, "abandon", self.inner.abandon(key, stage, sequence))
    }
    async fn remember(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool> {
        faulty!(self, "remember", self.inner.remember(key, scope, id, ttl))
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
        faulty!(
            self,
            "remember_then_complete",
            self.inner
                .remember_then_complete(key, scope, id, ttl, stage, sequence)
        )
    }
    async fn is_remembered(&self, key: &ConversationKey, scope: &str, id: &str) -> Result<bool> {
        faulty!(
            self,
            "is_remembered",
            self.inner.is_remembered(key, scope, id)
        )
    }
    async fn append_transcript(&self, key: &ConversationKey, entry: Bytes) -> Result<()> {
        match (self.faults)("append_transcript") {
            Fault::Pass => self.inner.append_transcript(key, entry).await,
            Fault::Refuse => Err(injected("append_transcript", "refused")),
            Fault::LoseReply => {
                let _ = self.inner.append_transcript(key, entry).await;
                Err(injected("append_transcript", "the reply was lost"))
            }
        }
    }
    async fn transcript(&self, key: &ConversationKey, limit: usize) -> Result<Vec<Bytes>> {
        faulty!(self, "transcript", self.inner.transcript(key, limit))
    }
    async fn forget(&self, key: &ConversationKey) -> Result<u64> {
        faulty!(self, "forget", self.inner.forget(key))
    }
    async fn time_to_live(&self, key: &ConversationKey) -> Result<Option<Duration>> {
        faulty!(self, "time_to_live", self.inner.time_to_live(key))
    }
    async fn health(&self) -> Result<()> {
        faulty!(self, "health", self.inner.health())
    }
}
