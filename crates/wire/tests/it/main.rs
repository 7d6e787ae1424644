//! Tests of `parley-wire` through its public API: Apple inbound fixtures to events, every
//! outbound kind to Apple's wire JSON, capability facts and text fallbacks, and property tests
//! that no input panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capabilities;
mod inbound;
mod outbound;
mod proptests;
mod samples;
