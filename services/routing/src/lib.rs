//! Routing: the service that decides who answers a customer (the bot or a human agent).
//!
//! Routing will be the only writer of a conversation's lifecycle (new, with the bot, queued,
//! assigned, closed by the customer, resolved): it consumes `amb.inbound` and `amb.routing`,
//! forwards customer messages to the bot (`amb.bot`) or the assigned agent (`amb.agent`), and
//! reports every transition as a `parley.v1.ConversationEvent` on `amb.events.conversation`.
//! It owns the queues, skills, capacity-aware assignment, business hours and re-assignment
//! when an agent does not answer.
//!
//! This first part holds only the pure decision logic, with no I/O, no clock and no
//! randomness, so it is fully unit-tested:
//! - [`rules`]: the per-business routing rules (queues, business hours, intent and group
//!   matching), loaded from TOML and validated with errors that name the wrong setting;
//! - [`hours`]: business hours with a fixed UTC offset (or offset periods), holidays and the
//!   next opening time;
//! - [`escalation`]: Apple's trigger words `agent`, `support`, `help`;
//! - [`lifecycle`]: the conversation state machine as a reducer from (state, input) to
//!   (new state, effects).
//!
//! The state store (versioned compare-and-set in Redis), the assignment engine and the NATS
//! plumbing come later and call into these modules.

pub mod escalation;
pub mod hours;
pub mod lifecycle;
pub mod rules;
