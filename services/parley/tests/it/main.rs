//! The `parley` command's integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod answer;
mod console;
mod dlq;
mod e2e;
mod hot;
mod late;
mod late_reply;
mod mesh;
mod processes;
mod redis_kill;
mod support;
mod trace;
mod up;
