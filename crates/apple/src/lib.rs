//! Apple's Messages for Business MSP REST API, both directions.
//!
//! It owns everything about Apple's wire protocol: the typed model of every message and
//! interactive payload ([`model`]), Apple's HTTP headers ([`headers`]), the JWT scheme
//! ([`jwt`]), webhook body decoding with limits ([`body`]), attachment and legacy
//! authentication cryptography ([`crypto`]), tapback detection ([`tapback`]) and a client for
//! Apple's endpoints ([`client`]).
//!
//! It must not know about Parley's events, the bus or the store: services translate between
//! this model and `parley.v1` contracts. It never reads the environment; the client's base URL
//! and secrets are passed in.

pub mod body;
pub mod client;
pub mod crypto;
pub mod headers;
pub mod jwt;
pub mod model;
pub mod tapback;

mod error;

pub use error::{Error, HeaderError, ModelError};
