//! The notification-consent service against real NATS and Redis: keywords from
//! `amb.inbound`, the notification API, the audit trail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod api;
mod grpc;
mod harness;
mod keywords;
mod kill;
