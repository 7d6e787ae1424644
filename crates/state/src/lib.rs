//! The conversation store: everything Parley keeps per conversation, keyed by business id and
//! opaque id.
//!
//! It owns versioned compare-and-set of conversation state, the per-conversation sequence
//! and the "apply strictly in order" gate each stage passes events through, de-duplication
//! records that outlive JetStream's window, the capped transcript, retention (every write
//! refreshes the conversation's time to live) and erasure of everything of one opaque id.
//!
//! Two backends implement [`ConversationStore`]: Redis ([`RedisStore`], Lua scripts over
//! hash-tagged keys so one conversation lives in one cluster slot) and in-process
//! ([`EmbeddedStore`]). One contract test suite runs against both.
//!
//! It stores bytes: it must not decode conversation state or hold routing policy. The
//! [`routing`] module adds the mechanism routing assigns through ([`AgentPool`], implemented
//! by both backends): presence, capacity, skills, queues and atomic assignment; the rules
//! that choose queues and skills stay in the routing service.

mod embedded;
mod error;
pub mod facts;
mod gate;
#[cfg(feature = "testing")]
pub mod intercept;
mod keys;
mod redis_store;
pub mod routing;
mod settings;
mod store;

pub use embedded::EmbeddedStore;
pub use error::{Error, Result};
pub use gate::{ClaimToken, GateDecision, GatePolicy, MAX_HOLES, Skipped, WaitReason};
pub use keys::ConversationKeys;
pub use redis_store::{RedisStore, RedisStoreOptions, TTL_SLACK_PERCENT};
pub use routing::{
    AgentPool, AgentState, Assignment, Declined, EnqueueOutcome, Presence, PresenceStatus,
    QueueChoice, QueueEntry,
};
pub use settings::StoreSettings;
pub use store::{
    CasOutcome, Commit, CommitOutcome, ConversationStore, GateRead, GateReadout, Versioned,
};
