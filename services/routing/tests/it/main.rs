//! Routing against real NATS and Redis.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod capacity;
mod commands;
mod handback;
mod harness;
mod late;
mod lifecycle;
mod order;
mod outbox;
mod recovery;
mod scale;
mod transcript;
