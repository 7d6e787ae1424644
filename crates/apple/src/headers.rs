//! Apple's HTTP headers as typed values, on top of [`http::HeaderMap`] (apple-mfb-api.md
//! §3.2, §4.2).
//!
//! - Inbound (Apple → MSP `POST /message`): [`InboundHeaders`] — `id`, `source-id`,
//!   `destination-id`, `device-agent` ([`DeviceAgent`]) and the capabilities from
//!   `capability-list` or the older `capabilities` ([`Capabilities`]).
//! - Outbound (MSP → Apple `POST /v1/message`): [`OutboundHeaders`] — `id`, `Source-Id`,
//!   `Destination-Id`, `auto-reply`, `msp-agent` (truncated to the 64 characters Apple logs),
//!   `include-data-ref`.
//! - [`default_capabilities`]: what each device type supports, for the simulator.
//!
//! Header names are case-insensitive in HTTP; [`http::HeaderMap`] stores them lowercase, so
//! `Source-Id` goes on the wire as `source-id` (which HTTP/2 requires anyway). `Authorization`
//! is handled by the JWT module, not here.

use std::collections::BTreeSet;
use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::percent_decode_str;

use crate::HeaderError;
use crate::model::InteractiveKind;

/// `id`: the message id, equal to the body's `id` (both directions).
pub const ID: &str = "id";
/// `source-id`: the sender (opaque user id inbound, business id outbound as `Source-Id`).
pub const SOURCE_ID: &str = "source-id";
/// `destination-id`: the recipient (business id inbound, opaque user id outbound as
/// `Destination-Id`).
pub const DESTINATION_ID: &str = "destination-id";
/// `device-agent`: the OS of the user's device (inbound).
pub const DEVICE_AGENT: &str = "device-agent";
/// `capability-list`: what the user's device supports (inbound, current name).
pub const CAPABILITY_LIST: &str = "capability-list";
/// `capabilities`: the older name of `capability-list` (inbound).
pub const CAPABILITIES: &str = "capabilities";
/// `auto-reply`: `true` when a bot sends the message (outbound).
pub const AUTO_REPLY: &str = "auto-reply";
/// `msp-agent`: who sent the message; Apple logs the first 64 characters (outbound).
pub const MSP_AGENT: &str = "msp-agent";
/// `include-data-ref`: ask Apple to return a reusable `dataRef` (outbound).
pub const INCLUDE_DATA_REF: &str = "include-data-ref";

/// How much of `msp-agent` Apple logs, in characters.
pub const MSP_AGENT_MAX_CHARS: usize = 64;

/// Longest `id`, `source-id` or `destination-id` accepted. Not Apple's limit (none is
/// documented): ids are UUIDs and ~150-character opaque ids, so anything much longer is a
/// forgery or a bug.
pub const MAX_ID_HEADER_BYTES: usize = 512;

/// Longest `device-agent`, `capability-list`/`capabilities` or `msp-agent` value accepted
/// (this crate's sanity limit, not Apple's).
pub const MAX_OTHER_HEADER_BYTES: usize = 1024;

/// The OS of the user's device, from `device-agent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceAgent {
    /// `iPhone OS`.
    IPhoneOs,
    /// An iPad. UNKNOWN whether Apple sends a distinct value for iPads or `iPhone OS`;
    /// `iPad OS`/`iPadOS` are recognised in case it does.
    IPadOs,
    /// `Mac OS X`.
    MacOsX,
    /// `Watch OS`.
    WatchOs,
    /// `Apple TVOS`.
    AppleTvOs,
    /// Anything else, kept as sent (trimmed).
    Other(String),
}

impl DeviceAgent {
    /// Reads a `device-agent` value. Matching ignores case and spaces and accepts a trailing
    /// version (`iPhone OS 17.4`), since the exact format beyond Apple's four names is UNKNOWN.
    pub fn parse(value: &str) -> Self {
        let trimmed = value.trim();
        let norm: String = trimmed
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let table: [(&str, DeviceAgent); 9] = [
            ("iphoneos", Self::IPhoneOs),
            ("ipados", Self::IPadOs),
            ("ipad", Self::IPadOs),
            ("macosx", Self::MacOsX),
            ("macos", Self::MacOsX),
            ("watchos", Self::WatchOs),
            ("appletvos", Self::AppleTvOs),
            ("tvos", Self::AppleTvOs),
            ("ios", Self::IPhoneOs),
        ];
        table
            .into_iter()
            .find(|(prefix, _)| norm.starts_with(prefix))
            .map_or_else(|| Self::Other(trimmed.to_owned()), |(_, agent)| agent)
    }

    /// The value as Apple writes it (`iPad OS` is this crate's choice; see [`Self::IPadOs`]).
    pub fn as_str(&self) -> &str {
        match self {
            Self::IPhoneOs => "iPhone OS",
            Self::IPadOs => "iPad OS",
            Self::MacOsX => "Mac OS X",
            Self::WatchOs => "Watch OS",
            Self::AppleTvOs => "Apple TVOS",
            Self::Other(s) => s,
        }
    }

    /// Whether the device can show forms and custom iMessage apps ("only on iPhone and
    /// iPad"). An unrecognised agent is given the benefit of the doubt (it may be a new name
    /// for an iPhone or iPad).
    pub fn supports_forms_and_imessage_apps(&self) -> bool {
        matches!(self, Self::IPhoneOs | Self::IPadOs | Self::Other(_))
    }

    /// Whether this device type can show `kind`, ignoring the capability list: forms and
    /// iMessage apps need an iPhone or iPad; everything else depends on the capability list.
    pub fn allows(&self, kind: InteractiveKind) -> bool {
        match kind {
            InteractiveKind::Form | InteractiveKind::IMessageApp => {
                self.supports_forms_and_imessage_apps()
            }
            _ => true,
        }
    }
}

impl fmt::Display for DeviceAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value of `capability-list`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// `QUICK`: quick reply.
    Quick,
    /// `LIST`: list picker.
    List,
    /// `TIME`: time picker.
    Time,
    /// `AUTH`: legacy authentication.
    Auth,
    /// `AUTH2`: authentication, code flow.
    Auth2,
    /// `FORM`: forms.
    Form,
    /// A value this crate does not know, kept uppercased (values are case-insensitive).
    Unknown(String),
}

impl Capability {
    /// Reads one value, case-insensitively (surrounding whitespace ignored).
    pub fn parse(token: &str) -> Self {
        let upper = token.trim().to_ascii_uppercase();
        match upper.as_str() {
            "QUICK" => Self::Quick,
            "LIST" => Self::List,
            "TIME" => Self::Time,
            "AUTH" => Self::Auth,
            "AUTH2" => Self::Auth2,
            "FORM" => Self::Form,
            _ => Self::Unknown(upper),
        }
    }

    /// The canonical (uppercase) spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Quick => "QUICK",
            Self::List => "LIST",
            Self::Time => "TIME",
            Self::Auth => "AUTH",
            Self::Auth2 => "AUTH2",
            Self::Form => "FORM",
            Self::Unknown(s) => s,
        }
    }

    /// The six values Apple documents.
    pub const KNOWN: [Capability; 6] = [
        Self::Quick,
        Self::List,
        Self::Time,
        Self::Auth,
        Self::Auth2,
        Self::Form,
    ];
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of capabilities a user's device announced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities(BTreeSet<Capability>);

impl Capabilities {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one header value: comma-separated, case-insensitive, percent-encoded or not
    /// (`AUTH%2CLIST` = `AUTH,LIST`). Empty entries are skipped; unknown values are kept.
    /// Fails only if the percent-decoded bytes are not UTF-8.
    pub fn parse(value: &str) -> Result<Self, HeaderError> {
        let mut set = Self::new();
        set.extend_from(value, CAPABILITY_LIST)?;
        Ok(set)
    }

    fn extend_from(&mut self, value: &str, name: &'static str) -> Result<(), HeaderError> {
        let decoded = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| HeaderError::NotUtf8 { name })?;
        self.0.extend(
            decoded
                .split(',')
                .filter(|t| !t.trim().is_empty())
                .map(Capability::parse),
        );
        Ok(())
    }

    /// Reads `capability-list` and `capabilities` (all values of both, merged). Neither
    /// present gives the empty set: Apple marks `capability-list` required, but refusing the
    /// message would lose the user's text, so the tolerant reading is "supports nothing
    /// optional".
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, HeaderError> {
        let mut set = Self::new();
        for name in [CAPABILITY_LIST, CAPABILITIES] {
            for value in headers.get_all(name) {
                let text = header_text(value, name)?;
                check_len(name, text, MAX_OTHER_HEADER_BYTES)?;
                set.extend_from(text, name)?;
            }
        }
        Ok(set)
    }

    /// Whether the set holds `capability`.
    pub fn contains(&self, capability: &Capability) -> bool {
        self.0.contains(capability)
    }

    /// Adds a capability.
    pub fn insert(&mut self, capability: Capability) -> bool {
        self.0.insert(capability)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many capabilities the set holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The capabilities, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = &Capability> {
        self.0.iter()
    }

    /// The value for a `capability-list` header: canonical spellings joined by commas.
    pub fn to_header_value(&self) -> String {
        self.0
            .iter()
            .map(Capability::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether the flags allow sending `kind`: list picker needs `LIST`, time picker `TIME`,
    /// quick reply `QUICK`, forms `FORM`, authentication `AUTH` or `AUTH2`. Apple Pay and
    /// iMessage apps have no flag (always true here; iMessage apps also need an iPhone or
    /// iPad, see [`DeviceAgent::allows`]). Unknown kinds are refused.
    pub fn allows(&self, kind: InteractiveKind) -> bool {
        match kind {
            InteractiveKind::ListPicker => self.contains(&Capability::List),
            InteractiveKind::TimePicker => self.contains(&Capability::Time),
            InteractiveKind::QuickReply => self.contains(&Capability::Quick),
            InteractiveKind::Form => self.contains(&Capability::Form),
            InteractiveKind::Authentication => {
                self.contains(&Capability::Auth) || self.contains(&Capability::Auth2)
            }
            InteractiveKind::ApplePay | InteractiveKind::IMessageApp => true,
            InteractiveKind::Unknown => false,
        }
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Capabilities {
    type Item = &'a Capability;
    type IntoIter = std::collections::btree_set::Iter<'a, Capability>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Whether `kind` may be sent to a device with these capabilities and this agent (both the
/// flags and the device-type rule must allow it; an absent agent is not held against it).
pub fn can_send(
    kind: InteractiveKind,
    capabilities: &Capabilities,
    agent: Option<&DeviceAgent>,
) -> bool {
    capabilities.allows(kind) && agent.is_none_or(|a| a.allows(kind))
}

/// The capabilities the simulator announces for a device type:
/// - iPhone and iPad: all six (`QUICK, LIST, TIME, AUTH, AUTH2, FORM`);
/// - Mac: all but `FORM` (forms and iMessage apps are iPhone/iPad only, §3.2);
/// - Watch: `QUICK, LIST, TIME` — a conservative guess, as Apple documents no Watch support
///   matrix: no authentication or forms;
/// - Apple TV and anything else: none.
pub fn default_capabilities(agent: &DeviceAgent) -> Capabilities {
    use Capability::{Auth, Auth2, List, Quick, Time};
    match agent {
        DeviceAgent::IPhoneOs | DeviceAgent::IPadOs => Capability::KNOWN.into_iter().collect(),
        DeviceAgent::MacOsX => [Quick, List, Time, Auth, Auth2].into_iter().collect(),
        DeviceAgent::WatchOs => [Quick, List, Time].into_iter().collect(),
        DeviceAgent::AppleTvOs | DeviceAgent::Other(_) => Capabilities::new(),
    }
}

/// `value` cut to the first [`MSP_AGENT_MAX_CHARS`] characters (never inside a character).
pub fn truncate_msp_agent(value: &str) -> &str {
    match value.char_indices().nth(MSP_AGENT_MAX_CHARS) {
        Some((at, _)) => &value[..at],
        None => value,
    }
}

fn header_text<'a>(value: &'a HeaderValue, name: &'static str) -> Result<&'a str, HeaderError> {
    std::str::from_utf8(value.as_bytes()).map_err(|_| HeaderError::NotUtf8 { name })
}

fn check_len(name: &'static str, value: &str, max: usize) -> Result<(), HeaderError> {
    if value.len() > max {
        Err(HeaderError::TooLong {
            name,
            len: value.len(),
            max,
        })
    } else {
        Ok(())
    }
}

/// The first value of `name`, trimmed, or `None` if absent. Errors if it is not UTF-8 or is
/// longer than `max`.
fn optional<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
    max: usize,
) -> Result<Option<&'a str>, HeaderError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = header_text(value, name)?;
    check_len(name, text, max)?;
    Ok(Some(text.trim()))
}

/// The first value of `name`: present, UTF-8, non-empty after trimming, at most `max` bytes.
fn required(headers: &HeaderMap, name: &'static str, max: usize) -> Result<String, HeaderError> {
    match optional(headers, name, max)? {
        None => Err(HeaderError::Missing { name }),
        Some("") => Err(HeaderError::Empty { name }),
        Some(v) => Ok(v.to_owned()),
    }
}

/// Reads `true`/`false` (case-insensitive).
fn optional_bool(headers: &HeaderMap, name: &'static str) -> Result<Option<bool>, HeaderError> {
    match optional(headers, name, MAX_OTHER_HEADER_BYTES)? {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(HeaderError::Invalid {
            name,
            reason: format!("expected true or false, got {v:?}"),
        }),
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) -> Result<(), HeaderError> {
    let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| HeaderError::Invalid {
        name,
        reason: "contains a character not allowed in an http header".to_owned(),
    })?;
    headers.insert(HeaderName::from_static(name), value);
    Ok(())
}

/// The headers of an inbound (Apple → MSP) `POST /message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundHeaders {
    /// `id`.
    pub id: String,
    /// `source-id`: the opaque user id.
    pub source_id: String,
    /// `destination-id`: the business id.
    pub destination_id: String,
    /// `device-agent`. Apple says it is in every request; its absence is tolerated (`None`).
    pub device_agent: Option<DeviceAgent>,
    /// From `capability-list` and/or `capabilities` (empty if neither is present).
    pub capabilities: Capabilities,
}

impl InboundHeaders {
    /// Reads the headers. `id`, `source-id` and `destination-id` are required.
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        Ok(Self {
            id: required(headers, ID, MAX_ID_HEADER_BYTES)?,
            source_id: required(headers, SOURCE_ID, MAX_ID_HEADER_BYTES)?,
            destination_id: required(headers, DESTINATION_ID, MAX_ID_HEADER_BYTES)?,
            device_agent: optional(headers, DEVICE_AGENT, MAX_OTHER_HEADER_BYTES)?
                .filter(|v| !v.is_empty())
                .map(DeviceAgent::parse),
            capabilities: Capabilities::from_headers(headers)?,
        })
    }

    /// Writes the headers (the simulator's side), with the capabilities in
    /// `capability-list`. Fails if a value cannot be put in an HTTP header.
    pub fn to_header_map(&self) -> Result<HeaderMap, HeaderError> {
        let mut h = HeaderMap::new();
        insert(&mut h, ID, &self.id)?;
        insert(&mut h, SOURCE_ID, &self.source_id)?;
        insert(&mut h, DESTINATION_ID, &self.destination_id)?;
        if let Some(agent) = &self.device_agent {
            insert(&mut h, DEVICE_AGENT, agent.as_str())?;
        }
        insert(
            &mut h,
            CAPABILITY_LIST,
            &self.capabilities.to_header_value(),
        )?;
        Ok(h)
    }
}

/// The headers of an outbound (MSP → Apple) `POST /v1/message` (besides `Authorization` and
/// `Content-Type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundHeaders {
    /// `id`, equal to the body's `id`.
    pub id: String,
    /// `Source-Id`: the business id.
    pub source_id: String,
    /// `Destination-Id`: the opaque user id.
    pub destination_id: String,
    /// `auto-reply`: true when a bot sends the message.
    pub auto_reply: Option<bool>,
    /// `msp-agent`, already truncated to 64 characters.
    pub msp_agent: Option<String>,
    /// `include-data-ref: true` when set.
    pub include_data_ref: bool,
}

impl OutboundHeaders {
    /// The required headers only.
    pub fn new(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            source_id: business.into(),
            destination_id: customer.into(),
            auto_reply: None,
            msp_agent: None,
            include_data_ref: false,
        }
    }

    /// Sets `auto-reply`.
    #[must_use]
    pub fn with_auto_reply(mut self, auto_reply: bool) -> Self {
        self.auto_reply = Some(auto_reply);
        self
    }

    /// Sets `msp-agent`, truncated to the first 64 characters (Apple logs no more).
    #[must_use]
    pub fn with_msp_agent(mut self, agent: &str) -> Self {
        self.msp_agent = Some(truncate_msp_agent(agent.trim()).to_owned());
        self
    }

    /// Sets `include-data-ref: true`.
    #[must_use]
    pub fn with_include_data_ref(mut self, include: bool) -> Self {
        self.include_data_ref = include;
        self
    }

    /// Writes the headers into `headers` (replacing any with the same names).
    pub fn apply(&self, headers: &mut HeaderMap) -> Result<(), HeaderError> {
        check_len(ID, &self.id, MAX_ID_HEADER_BYTES)?;
        check_len(SOURCE_ID, &self.source_id, MAX_ID_HEADER_BYTES)?;
        check_len(DESTINATION_ID, &self.destination_id, MAX_ID_HEADER_BYTES)?;
        insert(headers, ID, &self.id)?;
        insert(headers, SOURCE_ID, &self.source_id)?;
        insert(headers, DESTINATION_ID, &self.destination_id)?;
        if let Some(auto) = self.auto_reply {
            insert(headers, AUTO_REPLY, if auto { "true" } else { "false" })?;
        }
        if let Some(agent) = &self.msp_agent {
            insert(headers, MSP_AGENT, truncate_msp_agent(agent))?;
        }
        if self.include_data_ref {
            insert(headers, INCLUDE_DATA_REF, "true")?;
        }
        Ok(())
    }

    /// The headers as a new map.
    pub fn to_header_map(&self) -> Result<HeaderMap, HeaderError> {
        let mut h = HeaderMap::new();
        self.apply(&mut h)?;
        Ok(h)
    }

    /// Reads the headers (the simulator's side). `id`, `Source-Id` and `Destination-Id` are
    /// required; `auto-reply` and `include-data-ref` must be `true` or `false` if present;
    /// `msp-agent` is kept whole (Apple would log its first 64 characters).
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        Ok(Self {
            id: required(headers, ID, MAX_ID_HEADER_BYTES)?,
            source_id: required(headers, SOURCE_ID, MAX_ID_HEADER_BYTES)?,
            destination_id: required(headers, DESTINATION_ID, MAX_ID_HEADER_BYTES)?,
            auto_reply: optional_bool(headers, AUTO_REPLY)?,
            msp_agent: optional(headers, MSP_AGENT, MAX_OTHER_HEADER_BYTES)?.map(str::to_owned),
            include_data_ref: optional_bool(headers, INCLUDE_DATA_REF)?.unwrap_or(false),
        })
    }
}
