//! Integration tests of the bus: one contract suite run against the embedded backend and a
//! real `nats-server -js`, fault tests that kill NATS, and trace propagation across NATS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    missing_docs,
    unreachable_pub
)]

mod contract;
mod faults;
mod pull_loop;
mod support;
mod trace;
