//! Outbound against real NATS, Redis and the Apple simulator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod faults;
mod gate;
mod harness;
mod late;
mod parts;
mod retries;
mod sending;
mod sent_record;
mod transcript;
