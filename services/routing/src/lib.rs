//! Routing: the service that decides who answers a customer (the bot or a human agent).
//!
//! Routing is the only writer of a conversation's lifecycle (new, with the bot, queued,
//! assigned, closed by the customer, resolved): it consumes `amb.inbound` and `amb.routing`,
//! forwards customer messages to the bot (`amb.bot`) or the assigned agent (`amb.agent`), and
//! reports every transition as a `parley.v1.ConversationEvent` on `amb.events.conversation`.
//! It owns the queues, skills, capacity-aware assignment, business hours and re-assignment
//! when an agent does not answer.
//!
//! The decision logic is pure (no I/O, no clock, no randomness) and fully unit-tested:
//! - [`rules`]: the per-business routing rules (queues, business hours, intent and group
//!   matching), loaded from TOML and validated with errors that name the wrong setting;
//! - [`hours`]: business hours with a fixed UTC offset (or offset periods), holidays and the
//!   next opening time;
//! - [`escalation`]: Apple's trigger words `agent`, `support`, `help`;
//! - [`lifecycle`]: the conversation state machine as a reducer from (state, input) to
//!   (new state, effects).
//!
//! The service around them:
//! - [`config`]: the rules directory (`<dir>/<business_id>.toml`, built-in default);
//! - the consumers of `amb.inbound` (durable `routing`, through the in-order gate, stage
//!   `routing`) and `amb.routing` (durable `routing-commands`), which load the
//!   `ConversationState`, reduce, publish the effects with ids derived from the cause and the
//!   effect's content (a redelivery republishes the same ids), compare-and-set the new state,
//!   then update the agent pool (after the write, so no replica assigns a conversation whose
//!   queued state is not stored yet);
//! - assignment through the pool's atomic `assign_next` after an enqueue, when capacity is
//!   freed and every tick; re-queueing when an agent misses the response target (the agent
//!   is then set away); repair of a pool holding the state does not record after
//!   `reconcile_after` (a replica died between the two writes).

mod assign;
pub mod config;
mod effects;
pub mod escalation;
mod handler;
pub mod hours;
pub mod lifecycle;
mod outbox;
pub mod rules;
mod service;

pub use config::{ConfigError, DEFAULT_RULES, RoutingConfig, default_rules, load_rules};
pub use handler::STAGE_ROUTING;
pub use service::{
    INBOUND_ACK_WAIT, Routing, RoutingArgs, RoutingParts, check_gate, command_consumer_spec,
    inbound_consumer_spec, run,
};
