//! The `parley` command: the composition root of the platform, and the one crate allowed to
//! depend on every service crate.
//!
//! It owns the command line (`parley <service>` runs one service exactly as its own binary
//! does; `parley up` runs every service in one process over shared backends with the Apple
//! simulator and a demo business; `parley bench` measures the mesh against a baseline
//! measured in the same run), the demo business's files, and the mapping of the two
//! convenience variables `PARLEY_NATS_URL` / `PARLEY_REDIS_URL` onto the platform's
//! configuration.
//!
//! It must not hold business logic: every decision lives in the service crates, which it
//! only builds and runs. It must not read the environment outside the binary's `main` (the
//! variables are passed in) and never prints message bodies or opaque ids.

pub mod agent;
pub mod agent_client;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod demo_business;
pub mod dlq;
pub mod env;
mod error;
mod output;
pub mod services;
pub mod sim;
pub mod up;

pub use error::{Error, Result};
pub use output::say;
