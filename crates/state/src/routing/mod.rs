//! The agent pool routing needs: agents' presence, capacity, skills and load, the queues of
//! conversations waiting for them, and atomic assignment (see [`AgentPool`]).
//!
//! Redis layout, per business, all under the hash tag `{<business>}` so one script can
//! touch a business's agents and queues in one cluster slot (no time to live: presence
//! expiry is inside the record):
//!
//! - `{prefix}pool:{<business>}:agents`: hash agent id → JSON
//!   `{"s": status, "c": capacity, "x": expiry (server ms), "k": [skills]}`.
//! - `{prefix}pool:{<business>}:load`: hash agent id → number of conversations held.
//! - `{prefix}pool:{<business>}:assign`: hash conversation → agent id.
//! - `{prefix}pool:{<business>}:q:<queue>`: sorted set, score `-priority`, member
//!   `<enqueued_at_ms, 20 digits>:<conversation>`, so rank order is higher priority first,
//!   then older, then the lower conversation tag.
//! - `{prefix}pool:{<business>}:qe:<queue>`: hash conversation → JSON
//!   `{"m": sorted-set member, "k": [required skills]}`.
//!
//! The embedded backend keeps the same structures in memory under one lock.

mod embedded;
mod pool;
mod redis;

pub(crate) use embedded::PoolState;
pub use pool::{
    AgentPool, AgentState, Assignment, Declined, EnqueueOutcome, Presence, PresenceStatus,
    QueueChoice, QueueEntry,
};
