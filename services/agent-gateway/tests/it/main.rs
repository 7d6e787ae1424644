//! The agent gateway against real NATS and Redis, agents as tonic clients.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod auth;
mod harness;
mod health;
mod in_process;
mod isolation;
mod presence;
mod reconnect;
mod replies;
mod workflow;
