//! Names of the per-conversation facts services share through the store (see
//! [`crate::ConversationStore::set_fields`]). Each has one writer.

/// Written by ingest: the sequence of the customer's last `close` (a monotonic mark).
pub const CUSTOMER_CLOSED_AT: &str = "customer_closed_at";
/// Written by ingest: the sequence of the customer's last message other than typing or
/// close. The conversation is closed while [`CUSTOMER_CLOSED_AT`] is the greater.
pub const CUSTOMER_ACTIVE_AT: &str = "customer_active_at";
/// Written by ingest: the device's capabilities as Apple's `capability-list` value.
pub const DEVICE_CAPABILITIES: &str = "device_capabilities";
/// Written by ingest: the device's `device-agent`.
pub const DEVICE_AGENT: &str = "device_agent";
/// Written by outbound: set to one past [`CUSTOMER_ACTIVE_AT`] when Apple answered 404 (the
/// customer cannot be reached); the customer's next message clears it.
pub const CUSTOMER_UNREACHABLE_AT: &str = "customer_unreachable_at";
/// The store scope of Apple message ids ingest has published.
pub const SCOPE_APPLE_RECEIVED: &str = "apple";
/// The store scope of outbound event ids Apple accepted.
pub const SCOPE_SENT: &str = "sent";
/// The counter of inbound sequences (allocated by ingest).
pub const COUNTER_INBOUND: &str = "inbound";
/// The counter of outbound sequences (allocated by each producer of `amb.outbound`).
pub const COUNTER_OUTBOUND: &str = "outbound";
/// The gate stage of outbound.
pub const STAGE_OUTBOUND: &str = "outbound";
