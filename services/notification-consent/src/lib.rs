//! Parley's notification-consent service: the single writer of customers' consent to
//! business-initiated notifications.
//!
//! It owns:
//! - the keywords customers type (`unsubscribe`, `spam`, `stop`, `end`, `subscribe`, and a
//!   business's own words), read from `amb.inbound` in each conversation's order whoever
//!   answers it, with a confirmation in the customer's language ([`inbound`]);
//! - the notification API for business backends (send a notification, record consent
//!   collected elsewhere, look consent up; [`notify`]) over HTTP/JSON ([`http`]) and gRPC
//!   ([`grpc`]), with Apple's disclosure text before a disclosure topic's first notification
//!   and the business's quiet hours;
//! - the consent record per conversation and topic in the store, and the audit trail:
//!   a `parley.v1.ConsentEvent` on `amb.events.consent` per change ([`ledger`]).
//!
//! It must not decide conversations (routing and the bot do) or talk to Apple (outbound
//! does, and its gate checks consent and closed conversations again as the last gate).

mod error;
pub mod grpc;
pub mod http;
pub mod inbound;
pub mod keywords;
pub mod ledger;
pub mod notify;
pub mod policy;
pub mod service;

pub use error::{Error, Result};
pub use policy::{APPLE_DISCLOSURE, Policies, Policy, QuietHours};
pub use service::{
    ConsentArgs, ConsentConfig, ConsentParts, Listen, NotificationConsent, configure,
    consumer_spec, run, run_process,
};
