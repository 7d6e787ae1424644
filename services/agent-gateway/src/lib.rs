//! Agent gateway: live agents work on conversations over gRPC (`parley.v1.AgentGateway`).
//!
//! It authenticates agents (per-agent tokens from the agents file, stored hashed, each scoped
//! to one business) into sessions kept in Redis; checks every call against the session's
//! business; turns agents' commands into `OutboundMessage`s on `amb.outbound` and
//! `RoutingCommand`s on `amb.routing`, refusing replies the customer's device cannot show;
//! keeps presence alive in the agent pool while heartbeats arrive; and writes every
//! `AgentTask` from `amb.agent` into a durable per-agent Redis stream that each connection
//! tails from the agent's cursor, so an agent can reconnect to any replica without losing
//! events. See [`store`] for the Redis keys.
//!
//! Details an agent client relies on:
//!
//! - Sessions are random 256-bit tokens kept in Redis (only their SHA-256) with their expiry
//!   (12 h by default), so every replica accepts every session; an in-memory table would
//!   break as soon as an agent's calls reach two replicas. `SignOut` deletes the caller's
//!   session; `RevokeSessions` (the agent itself, or a supervisor for any agent of the
//!   business) raises the agent's session generation so every older session is refused, and
//!   open connections of a dead session end with UNAUTHENTICATED within a second.
//! - Conversation references are random 128-bit ids stored in Redis under the business's
//!   keys; a reference never resolves under another business (NOT_FOUND for unary calls,
//!   `COMMAND_ERROR_NOT_ALLOWED` for commands). Accept, replies, typing, transfer and
//!   resolve also need the agent to hold the conversation (routing's
//!   `ConversationState.assigned_agent_id` or the agent pool's assignment, whose tag is
//!   `ConversationKey::hash_tag()` or the opaque id): an agent accepts what was offered to
//!   it, not any queued conversation. `GetTranscript` needs the agent to hold it, to have
//!   been offered it (within the retention) or to be a supervisor (`role = "supervisor"`),
//!   and is PERMISSION_DENIED otherwise. `SetPresence` declares at most the agent's
//!   `max_capacity`.
//! - Cursors: every logged event (assignment, unassignment, customer message, delivery) has
//!   a cursor that grows by one per event of the agent; `Welcome` and `CommandResult` are not
//!   logged and carry cursor 0 (a client keeps its last non-zero cursor and sends it in
//!   `Hello`). `AckCursor` is accepted and not stored: the client's `Hello` cursor rules.
//! - Ordering: replicas share the durable `agent-gateway` consumer; a conversation's tasks
//!   are applied in `EventMeta.sequence` order through the store's gate (stage
//!   `agent-gateway`), so producers of `amb.agent` must sequence them (0 skips the gate).
//! - Delivery results: the gateway's own durable consumer of `amb.events.delivery`
//!   (`agent-gateway-delivery`) writes the outcome of each reply an agent sent through it
//!   (sent, refused with the reason, retrying, failed) to that agent's log as a
//!   `ReplyDelivery` carrying the reply's `command_id`; others' results are left alone.
//! - Transcript system lines: a third durable consumer (`agent-gateway-conversation`) of
//!   `amb.events.conversation` writes routing's lifecycle changes (queued with the place,
//!   assigned, transferred, handed back to the bot, resolved, reopened) to the transcript as
//!   `ACTOR_KIND_SYSTEM` entries whose message id is the event's.
//! - Presence lives three heartbeat intervals (10 s each by default) in the agent pool; a
//!   dead connection simply stops refreshing it.
//!
//! It must not decide routing (routing does) nor talk to Apple (outbound does).

pub mod agents;
mod attachments;
mod console;
mod delivery;
mod desk;
mod grpc;
mod handler;
mod service;
pub mod store;
mod system_lines;

pub use agents::{Agents, token_sha256};
pub use attachments::MAX_UPLOAD_BYTES;
pub use console::ConsoleOptions;
pub use delivery::delivery_consumer_spec;
pub use desk::GatewayOptions;
pub use grpc::GatewayService;
pub use service::{AgentGatewayService, GatewayArgs, GatewayParts, Listen, consumer_spec, run};
pub use system_lines::conversation_consumer_spec;
