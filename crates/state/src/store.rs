//! The store trait both backends fulfil.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parley_types::{ConversationKey, Sequence};

use crate::{ClaimToken, GateDecision, GatePolicy, Result};

/// A conversation's state blob with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// Starts at 1 with the first write and grows by one with each.
    pub version: u64,
    /// The encoded state (routing's `parley.v1.ConversationState`).
    pub state: Bytes,
}

/// What [`ConversationStore::gate_claim_reading`] reads besides the gate's decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct GateRead<'a> {
    /// The versioned state.
    pub state: bool,
    /// Named facts (as [`ConversationStore::get_fields`]).
    pub fields: &'a [&'a str],
    /// A de-duplication record to look for: (scope, id), as
    /// [`ConversationStore::is_remembered`].
    pub remembered: Option<(&'a str, &'a str)>,
}

/// What [`ConversationStore::gate_claim_reading`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateReadout {
    /// The state, when asked for and there is one.
    pub state: Option<Versioned>,
    /// The facts asked for, in order, `None` for those never set.
    pub fields: Vec<Option<String>>,
    /// Whether the de-duplication record asked for exists.
    pub remembered: bool,
}

/// What a compare-and-set did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// Written; the new version.
    Applied {
        /// The version now stored.
        version: u64,
    },
    /// Someone else wrote first; reload and try again.
    Conflict {
        /// The version stored.
        current: u64,
    },
}

/// A compare-and-set with what must be written with it, atomically (see
/// [`ConversationStore::commit`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit<'a> {
    /// The version the writer read.
    pub expected: u64,
    /// The new state.
    pub state: Bytes,
    /// Counters to draw the next number of, one entry per number, in order (a counter may
    /// appear more than once).
    pub allocate: Vec<&'a str>,
    /// The field that keeps the numbers drawn, comma-separated in `allocate`'s order (for a
    /// writer that republishes after a crash); `None` keeps them nowhere.
    pub sequences_field: Option<&'a str>,
    /// Fields to set (as [`ConversationStore::set_fields`]).
    pub fields: Vec<(&'a str, String)>,
    /// A transcript entry to append.
    pub transcript: Option<Bytes>,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Everything was written.
    Applied {
        /// The version now stored.
        version: u64,
        /// The numbers drawn, in `Commit::allocate`'s order.
        sequences: Vec<Sequence>,
    },
    /// Someone else wrote first: nothing was written, no number was drawn.
    Conflict {
        /// The version stored.
        current: u64,
    },
}

/// Per-conversation storage. Every write keeps all of the conversation's keys for at least
/// 99 % of the retention after it, and at most the whole retention (the embedded store
/// refreshes on every write; Redis moves the keys' shared expiry only when more than
/// [`TTL_SLACK_PERCENT`](crate::TTL_SLACK_PERCENT) % of it was used up, so most writes do not touch every key).
#[async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    /// The state and its version, or `None` if the conversation has none (or expired).
    async fn load(&self, key: &ConversationKey) -> Result<Option<Versioned>>;

    /// A compare-and-set that, only if it applies, also draws sequence numbers, sets fields
    /// and appends a transcript entry, all or nothing. A writer whose effects depend on its
    /// state (routing) keeps them in a field with the state, so a losing attempt leaves
    /// nothing anywhere and a crash after the write loses nothing.
    ///
    /// The default is the parts one after another (not atomic); both backends override it.
    async fn commit(&self, key: &ConversationKey, commit: Commit<'_>) -> Result<CommitOutcome> {
        let version = match self
            .compare_and_set(key, commit.expected, commit.state)
            .await?
        {
            CasOutcome::Conflict { current } => return Ok(CommitOutcome::Conflict { current }),
            CasOutcome::Applied { version } => version,
        };
        let mut sequences = Vec::with_capacity(commit.allocate.len());
        for counter in &commit.allocate {
            sequences.push(self.allocate_sequence(key, counter, None).await?);
        }
        let mut fields: Vec<(&str, String)> = commit.fields;
        let joined = sequences
            .iter()
            .map(|s| s.get().to_string())
            .collect::<Vec<_>>()
            .join(",");
        if let Some(name) = commit.sequences_field {
            fields.push((name, joined));
        }
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        if !pairs.is_empty() {
            self.set_fields(key, &pairs).await?;
        }
        if let Some(entry) = commit.transcript {
            self.append_transcript(key, entry).await?;
        }
        Ok(CommitOutcome::Applied { version, sequences })
    }

    /// Writes `state` if the stored version is `expected` (0 = nothing stored yet).
    async fn compare_and_set(
        &self,
        key: &ConversationKey,
        expected: u64,
        state: Bytes,
    ) -> Result<CasOutcome>;

    /// Allocates the next number (1, 2, 3, …) of the conversation's `counter` (for example
    /// `inbound` at ingest, `outbound` for replies). With an `idempotency_id`, asking again
    /// for the same id returns the same number (a retried request does not burn one and
    /// leave a gap); the most recent ids per conversation are remembered.
    async fn allocate_sequence(
        &self,
        key: &ConversationKey,
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence>;

    /// Sets `fields` (as [`set_fields`](Self::set_fields)), then allocates as
    /// [`allocate_sequence`](Self::allocate_sequence) does, never the number without the
    /// fields: a writer that records "this number may be taken" before taking it (the
    /// bot's cursor) needs both in that order. Backends that can do it in one atomic step
    /// (Redis: one script, one round trip) override this; the default does the two in turn.
    async fn set_fields_then_allocate(
        &self,
        key: &ConversationKey,
        fields: &[(&str, &str)],
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        self.set_fields(key, fields).await?;
        self.allocate_sequence(key, counter, idempotency_id).await
    }

    /// Unless `(scope, id)` is remembered (as [`is_remembered`](Self::is_remembered): then
    /// `None`, changing nothing), [`set_fields_then_allocate`](Self::set_fields_then_allocate)
    /// and raises the numeric fact `raise` (if given) to the number allocated, as
    /// [`raise_field`](Self::raise_field) would: one round trip where the backend allows it
    /// (one script over Redis). Ingest checks that a message is new, numbers it and records
    /// the customer's facts and marks this way.
    async fn allocate_recording(
        &self,
        key: &ConversationKey,
        unless_remembered: Option<(&str, &str)>,
        fields: &[(&str, &str)],
        counter: &str,
        idempotency_id: Option<&str>,
        raise: Option<&str>,
    ) -> Result<Option<Sequence>> {
        if let Some((scope, id)) = unless_remembered
            && self.is_remembered(key, scope, id).await?
        {
            return Ok(None);
        }
        let sequence = self
            .set_fields_then_allocate(key, fields, counter, idempotency_id)
            .await?;
        if let Some(field) = raise {
            self.raise_field(key, field, sequence.get()).await?;
        }
        Ok(Some(sequence))
    }

    /// The state (as [`load`](Self::load)) and named facts (as
    /// [`get_fields`](Self::get_fields)) read together: one round trip where the backend
    /// can (Redis: one `HMGET` of the conversation's hash); the default reads them in turn.
    async fn load_with_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<(Option<Versioned>, Vec<Option<String>>)> {
        let state = self.load(key).await?;
        let fields = self.get_fields(key, names).await?;
        Ok((state, fields))
    }

    /// Sets small named facts about the conversation (device capabilities, …), kept apart
    /// from the versioned state so their owner can write them without a compare-and-set.
    async fn set_fields(&self, key: &ConversationKey, fields: &[(&str, &str)]) -> Result<()>;

    /// Reads named facts, `None` for those never set.
    async fn get_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<Vec<Option<String>>>;

    /// Raises a numeric fact to `value` if it is lower (a monotonic mark such as "the last
    /// sequence at which the customer closed"); returns the value now stored.
    async fn raise_field(&self, key: &ConversationKey, field: &str, value: u64) -> Result<u64>;

    /// Records the consent for one notification topic (an encoded record).
    async fn set_consent(&self, key: &ConversationKey, topic: &str, record: Bytes) -> Result<()>;

    /// The consent recorded for one notification topic.
    async fn consent(&self, key: &ConversationKey, topic: &str) -> Result<Option<Bytes>>;

    /// Asks `stage`'s gate whether `sequence` may be applied now (see the `gate` module).
    async fn gate(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
    ) -> Result<GateDecision>;

    /// [`gate`](Self::gate), a claim it grants held under `token`, so that the caller can
    /// drop it with [`release_claim`](Self::release_claim) even if this call's reply is lost
    /// (a timeout after the gate ran). Both backends keep the token; the default ignores it.
    async fn gate_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        let _ = token;
        self.gate(key, stage, sequence, policy).await
    }

    /// For an event the stage has nothing to do for: asks the gate as
    /// [`gate_claim`](Self::gate_claim) and, if it may apply, records it applied at once (as
    /// [`complete`](Self::complete)), keeping the stage's order. One round trip where the
    /// backend can (Redis: one script); the default makes the two calls. An error may come
    /// after the claim was granted: release it by `token`.
    async fn gate_pass(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        let decision = self.gate_claim(key, stage, sequence, policy, token).await?;
        if matches!(decision, GateDecision::Apply { .. }) {
            self.complete(key, stage, sequence).await?;
        }
        Ok(decision)
    }

    /// [`gate_claim`](Self::gate_claim), and what the stage reads next, in the same round
    /// trip where the backend can (Redis: one script): the state, named facts and whether a
    /// de-duplication record exists, as [`GateRead`] asks. They are read whatever the gate
    /// decides. The default makes the calls one after the other. An error may come after
    /// the claim was granted: release it by `token`, as after any failed claim.
    async fn gate_claim_reading(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
        read: &GateRead<'_>,
    ) -> Result<(GateDecision, GateReadout)> {
        let decision = self.gate_claim(key, stage, sequence, policy, token).await?;
        let (state, fields) = match (read.state, read.fields.is_empty()) {
            (true, _) => self.load_with_fields(key, read.fields).await?,
            (false, false) => (None, self.get_fields(key, read.fields).await?),
            (false, true) => (None, Vec::new()),
        };
        let remembered = match read.remembered {
            Some((scope, id)) => self.is_remembered(key, scope, id).await?,
            None => false,
        };
        Ok((
            decision,
            GateReadout {
                state,
                fields,
                remembered,
            },
        ))
    }

    /// Drops `stage`'s claim on `sequence` only if it is held under `token`; whether one was
    /// dropped. Idempotent, so safe to retry after an error or a lost reply, and safe to call
    /// when the caller does not know whether it holds the claim: a claim granted to another
    /// worker (after this one's lease lapsed) is left alone. Both backends check the token;
    /// the default drops the claim as [`release`](Self::release) does.
    async fn release_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        token: ClaimToken,
    ) -> Result<bool> {
        let _ = token;
        self.release(key, stage, sequence).await.map(|()| true)
    }

    /// Records that `stage` applied `sequence` and drops its claim.
    async fn complete(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()>;

    /// Sets `fields` (as [`set_fields`](Self::set_fields)), then completes `stage`'s
    /// `sequence` (as [`complete`](Self::complete)): one round trip where the backend allows
    /// it (one script over Redis), for a stage that records a fact with its completion.
    async fn set_fields_then_complete(
        &self,
        key: &ConversationKey,
        fields: &[(&str, &str)],
        stage: &str,
        sequence: Sequence,
    ) -> Result<()> {
        self.set_fields(key, fields).await?;
        self.complete(key, stage, sequence).await
    }

    /// Drops `stage`'s claim on `sequence` without applying it (the effect failed and will be
    /// retried).
    async fn release(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()>;

    /// Moves `stage` past `sequence` without applying it, because its event is being
    /// dead-lettered: the sequence becomes a hole (a replay is applied late), the claim and
    /// the attempt count are dropped, and the conversation's next event may apply.
    async fn abandon(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()>;

    /// Records `id` in `scope` for `ttl`; `true` if it was not recorded already.
    async fn remember(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool>;

    /// Records `id` in `scope` (as [`remember`](Self::remember)), then records that `stage`
    /// applied `sequence` (as [`complete`](Self::complete)); `true` if `id` was not
    /// recorded already. Redis does both in one script (atomic, one round trip); the default
    /// does them in turn.
    async fn remember_then_complete(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
        stage: &str,
        sequence: Sequence,
    ) -> Result<bool> {
        let added = self.remember(key, scope, id, ttl).await?;
        self.complete(key, stage, sequence).await?;
        Ok(added)
    }

    /// Whether `id` is recorded in `scope` and not expired.
    async fn is_remembered(&self, key: &ConversationKey, scope: &str, id: &str) -> Result<bool>;

    /// Appends an entry to the transcript, dropping the oldest past the cap.
    async fn append_transcript(&self, key: &ConversationKey, entry: Bytes) -> Result<()>;

    /// The newest `limit` transcript entries, oldest first.
    async fn transcript(&self, key: &ConversationKey, limit: usize) -> Result<Vec<Bytes>>;

    /// Deletes everything kept for the conversation (right to be forgotten); returns how many
    /// keys existed.
    async fn forget(&self, key: &ConversationKey) -> Result<u64>;

    /// How long the conversation's record has left to live, if it exists.
    async fn time_to_live(&self, key: &ConversationKey) -> Result<Option<Duration>>;

    /// Checks the backend answers (for `/readyz`).
    async fn health(&self) -> Result<()>;
}
