//! Integration tests of the conversation store: one contract suite run against the embedded
//! store and a real `redis-server`, and a fault test that restarts Redis under load.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod contract;
mod faults;
mod pool;
mod support;
