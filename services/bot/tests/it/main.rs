//! The bot's tests: the phrasing table, the answers (pure), the knowledge file's validation,
//! and the service against real NATS and Redis.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod answers;
mod conversation;
#[path = "../../examples/external_bot.rs"]
mod example;
mod external;
mod fixtures;
mod flaky;
mod harness;
mod interactive;
mod kill;
mod knowledge;
mod phrasing;
mod service;
