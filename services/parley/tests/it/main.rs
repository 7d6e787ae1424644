//! The `parley` command's integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod e2e;
mod support;
mod up;
