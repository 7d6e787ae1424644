//! Device capability facts: Apple's `capability-list` and `device-agent` headers in both
//! directions, what each outbound message needs from the device ([`required`], [`can_show`]),
//! and the plain-text equivalent for a device that cannot show it ([`text_fallback`]).
//!
//! The facts come from Apple (apple-mfb-api.md §3.2, §6): quick reply needs `QUICK`, list
//! picker `LIST`, time picker `TIME`, forms `FORM` and an iPhone or iPad, authentication
//! `AUTH2` (or `AUTH` for the legacy flow); Apple Pay, rich links, text and typing work on every
//! device; a business's own iMessage app needs an iPhone or iPad.

use parley_apple::headers::{self, Capabilities, Capability as AppleCapability, DeviceAgent};
use parley_apple::model::{InteractiveData, InteractiveDataRef, InteractiveKind};
use parley_proto::v1::{
    self as pb, AuthenticationVersion, Capability, DeviceCapabilities, DeviceOs, OutboundMessage,
    outbound_message::Kind,
};

use crate::time::format_slot;

/// Apple header capabilities to proto: the six known tokens become `CAPABILITY_*` values (in
/// a stable order, without duplicates), anything else goes to `unrecognized` (upper-cased, as
/// the header parser keeps it).
pub fn to_proto(caps: &Capabilities) -> DeviceCapabilities {
    let mut out = DeviceCapabilities::default();
    for cap in caps {
        match capability_to_proto(cap) {
            Some(known) => out.capabilities.push(known as i32),
            None => out.unrecognized.push(cap.as_str().to_owned()),
        }
    }
    out
}

/// Proto to Apple capabilities (for the gate). `CAPABILITY_UNSPECIFIED` and numeric values
/// this build does not know are dropped; `unrecognized` tokens are read back as header tokens.
pub fn from_proto(caps: &DeviceCapabilities) -> Capabilities {
    let known = caps
        .capabilities
        .iter()
        .filter_map(|&value| Capability::try_from(value).ok())
        .filter_map(capability_from_proto);
    let unknown = caps
        .unrecognized
        .iter()
        .filter(|token| !token.trim().is_empty())
        .map(|token| AppleCapability::parse(token));
    known.chain(unknown).collect()
}

fn capability_to_proto(cap: &AppleCapability) -> Option<Capability> {
    match cap {
        AppleCapability::Quick => Some(Capability::QuickReply),
        AppleCapability::List => Some(Capability::ListPicker),
        AppleCapability::Time => Some(Capability::TimePicker),
        AppleCapability::Auth => Some(Capability::Authentication),
        AppleCapability::Auth2 => Some(Capability::AuthenticationV2),
        AppleCapability::Form => Some(Capability::Form),
        AppleCapability::Unknown(_) => None,
    }
}

fn capability_from_proto(cap: Capability) -> Option<AppleCapability> {
    match cap {
        Capability::Unspecified => None,
        Capability::QuickReply => Some(AppleCapability::Quick),
        Capability::ListPicker => Some(AppleCapability::List),
        Capability::TimePicker => Some(AppleCapability::Time),
        Capability::Authentication => Some(AppleCapability::Auth),
        Capability::AuthenticationV2 => Some(AppleCapability::Auth2),
        Capability::Form => Some(AppleCapability::Form),
    }
}

/// Apple device agent to proto: the OS family and the header value. `raw` is the value as the
/// header parser kept it: Apple's canonical spelling for a recognised agent (`iPhone OS`,
/// `iPad OS`, `Mac OS X`, `Watch OS`, `Apple TVOS`), the trimmed header value otherwise. `None`
/// (no header) gives `DEVICE_OS_UNSPECIFIED` with an empty `raw`. An iPad maps to
/// `DEVICE_OS_IOS` with `raw` `iPad OS`.
pub fn device_agent_to_proto(agent: Option<&DeviceAgent>) -> pb::DeviceAgent {
    let Some(agent) = agent else {
        return pb::DeviceAgent::default();
    };
    let os = match agent {
        DeviceAgent::IPhoneOs | DeviceAgent::IPadOs => DeviceOs::Ios,
        DeviceAgent::MacOsX => DeviceOs::Macos,
        DeviceAgent::WatchOs => DeviceOs::Watchos,
        DeviceAgent::AppleTvOs => DeviceOs::Tvos,
        DeviceAgent::Other(_) => DeviceOs::Other,
    };
    pb::DeviceAgent {
        os: os as i32,
        raw: agent.as_str().to_owned(),
    }
}

/// Proto to Apple device agent: `None` if `os` is unspecified and `raw` is empty. A `raw`
/// value Apple's parser recognises wins (so `iPad OS` stays an iPad); otherwise the `os` family
/// decides, and an unknown family keeps `raw` as [`DeviceAgent::Other`].
pub fn device_agent_from_proto(agent: &pb::DeviceAgent) -> Option<DeviceAgent> {
    let raw = agent.raw.trim();
    let os = DeviceOs::try_from(agent.os).unwrap_or(DeviceOs::Other);
    if os == DeviceOs::Unspecified && raw.is_empty() {
        return None;
    }
    if !raw.is_empty() {
        let parsed = DeviceAgent::parse(raw);
        if !matches!(parsed, DeviceAgent::Other(_)) {
            return Some(parsed);
        }
    }
    Some(match os {
        DeviceOs::Ios => DeviceAgent::IPhoneOs,
        DeviceOs::Macos => DeviceAgent::MacOsX,
        DeviceOs::Watchos => DeviceAgent::WatchOs,
        DeviceOs::Tvos => DeviceAgent::AppleTvOs,
        DeviceOs::Unspecified | DeviceOs::Other => DeviceAgent::Other(raw.to_owned()),
    })
}

/// The authentication flow to use for a device: `AUTH2` when it announces it, else the legacy
/// `AUTH`, else unspecified (the device supports neither). Outbound uses it to settle
/// `AuthenticationRequest.version` before rendering: an unspecified version renders as AUTH2.
pub fn authentication_version(caps: &DeviceCapabilities) -> AuthenticationVersion {
    let has = |c: Capability| caps.capabilities.contains(&(c as i32));
    if has(Capability::AuthenticationV2) {
        AuthenticationVersion::V2
    } else if has(Capability::Authentication) {
        AuthenticationVersion::Legacy
    } else {
        AuthenticationVersion::Unspecified
    }
}

/// The capabilities a device must have to show this outbound message, without duplicates:
/// - none for text, rich link, typing, Apple Pay, an iMessage app (which needs an iPhone or
///   iPad instead, see [`can_show`]) and a reused interactive data reference (its content is
///   not known here);
/// - `QUICK_REPLY`, `LIST_PICKER`, `TIME_PICKER`, `FORM` for those kinds;
/// - `AUTHENTICATION` for a legacy authentication request, `AUTHENTICATION_V2` for AUTH2 and
///   for an unspecified version (which [`crate::outbound::to_apple`] renders as AUTH2);
/// - for a raw interactive message, its `required_capabilities` (unspecified and unknown
///   numeric values left out; [`can_show`] refuses unknown values);
/// - none for an event without a kind.
pub fn required(message: &OutboundMessage) -> Vec<Capability> {
    match &message.kind {
        None
        | Some(
            Kind::Text(_)
            | Kind::RichLink(_)
            | Kind::TypingStart(_)
            | Kind::TypingEnd(_)
            | Kind::ApplePay(_)
            | Kind::ImessageApp(_)
            | Kind::InteractiveDataRef(_),
        ) => Vec::new(),
        Some(Kind::QuickReply(_)) => vec![Capability::QuickReply],
        Some(Kind::ListPicker(_)) => vec![Capability::ListPicker],
        Some(Kind::TimePicker(_)) => vec![Capability::TimePicker],
        Some(Kind::Form(_)) => vec![Capability::Form],
        Some(Kind::Authentication(request)) => match request.version() {
            AuthenticationVersion::Legacy => vec![Capability::Authentication],
            AuthenticationVersion::V2 | AuthenticationVersion::Unspecified => {
                vec![Capability::AuthenticationV2]
            }
        },
        Some(Kind::RawInteractive(raw)) => {
            let mut out = Vec::new();
            for cap in raw
                .required_capabilities
                .iter()
                .filter_map(|&v| Capability::try_from(v).ok())
                .filter(|&c| c != Capability::Unspecified)
            {
                if !out.contains(&cap) {
                    out.push(cap);
                }
            }
            out
        }
    }
}

/// Whether a device with `caps` (and `agent`, when known) can show the message: it has every
/// capability [`required`] lists, and its device type allows the feature (forms and iMessage
/// apps need an iPhone or iPad; an unknown agent is given the benefit of the doubt, as
/// [`parley_apple::headers::DeviceAgent::allows`] does). Interactive kinds with an Apple
/// feature go through [`parley_apple::headers::can_send`]. An event without a kind, and a raw
/// interactive message requiring a capability value this build does not know, cannot be shown.
pub fn can_show(
    message: &OutboundMessage,
    caps: &DeviceCapabilities,
    agent: Option<&pb::DeviceAgent>,
) -> bool {
    let apple_caps = from_proto(caps);
    let apple_agent = agent.and_then(device_agent_from_proto);
    let agent = apple_agent.as_ref();
    let agent_allows = |kind: InteractiveKind| agent.is_none_or(|a| a.allows(kind));
    let has_all = |needed: &[Capability]| {
        needed
            .iter()
            .all(|&c| capability_from_proto(c).is_some_and(|apple| apple_caps.contains(&apple)))
    };
    let Some(kind) = &message.kind else {
        return false;
    };
    match kind {
        Kind::Text(_) | Kind::RichLink(_) | Kind::TypingStart(_) | Kind::TypingEnd(_) => true,
        Kind::QuickReply(_) => headers::can_send(InteractiveKind::QuickReply, &apple_caps, agent),
        Kind::ListPicker(_) => headers::can_send(InteractiveKind::ListPicker, &apple_caps, agent),
        Kind::TimePicker(_) => headers::can_send(InteractiveKind::TimePicker, &apple_caps, agent),
        Kind::Form(_) => headers::can_send(InteractiveKind::Form, &apple_caps, agent),
        Kind::ApplePay(_) => headers::can_send(InteractiveKind::ApplePay, &apple_caps, agent),
        Kind::ImessageApp(_) => headers::can_send(InteractiveKind::IMessageApp, &apple_caps, agent),
        Kind::Authentication(_) => {
            has_all(&required(message)) && agent_allows(InteractiveKind::Authentication)
        }
        Kind::InteractiveDataRef(r) => {
            let bid = r
                .data_ref
                .as_ref()
                .map(|d| d.bid.clone())
                .filter(|b| !b.is_empty());
            let reference = InteractiveDataRef {
                bid,
                ..InteractiveDataRef::default()
            };
            agent_allows(reference.kind())
        }
        Kind::RawInteractive(raw) => {
            let all_known = raw
                .required_capabilities
                .iter()
                .all(|&v| Capability::try_from(v).is_ok());
            let feature = serde_json::from_str::<InteractiveData>(&raw.interactive_data_json)
                .map(|d| d.kind())
                .ok();
            all_known && has_all(&required(message)) && feature.is_none_or(agent_allows)
        }
    }
}

/// An equivalent plain-text rendering for a device that cannot show the message, where one
/// exists:
/// - quick reply: the summary text, then the item titles numbered from 1, then
///   `Reply with a number.`;
/// - list picker: the received bubble's title (and subtitle), then each section's title and
///   its items numbered from 1 across sections (`title — subtitle`), then
///   `Reply with a number.` (`Reply with one or more numbers.` when a section allows several);
/// - time picker: the event title (else the received bubble's title), then the slots numbered
///   from 1 as `2022-07-10 10:00–11:00 (UTC-07:00)`, in the event's `timezone_offset_minutes`
///   when set, in UTC otherwise (a slot without a usable time is shown by its identifier);
/// - `None` for forms, authentication, Apple Pay, iMessage apps, reused data references and raw
///   interactive messages (no faithful text equivalent), for kinds every device shows (text,
///   rich link, typing), and for a picker with no choices.
///
/// Titles are copied untouched (right-to-left text, emoji and line breaks included); an empty
/// item title is replaced by the item's identifier so no choice is blank. The fixed words are
/// English: the event carries no locale.
pub fn text_fallback(message: &OutboundMessage) -> Option<String> {
    match message.kind.as_ref()? {
        Kind::QuickReply(q) => {
            let header = [q.summary_text.as_str(), received_title(q.common.as_ref())];
            let choices = q
                .items
                .iter()
                .map(|i| choice(&i.title, "", &i.identifier))
                .collect();
            numbered(&header, vec![(String::new(), choices)], false)
        }
        Kind::ListPicker(l) => {
            let received = l.common.as_ref().and_then(|c| c.received_message.as_ref());
            let header = [
                received.map_or("", |b| b.title.as_str()),
                received.map_or("", |b| b.subtitle.as_str()),
            ];
            let groups = l
                .sections
                .iter()
                .map(|s| {
                    let items = s
                        .items
                        .iter()
                        .map(|i| choice(&i.title, &i.subtitle, &i.identifier))
                        .collect();
                    (s.title.clone(), items)
                })
                .collect();
            let multiple = l.sections.iter().any(|s| s.multiple_selection);
            numbered(&header, groups, multiple)
        }
        Kind::TimePicker(t) => {
            let event = t.event.clone().unwrap_or_default();
            let title = if event.title.trim().is_empty() {
                received_title(t.common.as_ref())
            } else {
                event.title.as_str()
            };
            let slots = event
                .timeslots
                .iter()
                .map(|slot| {
                    slot.start_time
                        .as_ref()
                        .and_then(|start| {
                            format_slot(start, slot.duration_seconds, event.timezone_offset_minutes)
                        })
                        .unwrap_or_else(|| choice("", "", &slot.identifier))
                })
                .collect();
            numbered(&[title], vec![(String::new(), slots)], false)
        }
        Kind::Text(_)
        | Kind::RichLink(_)
        | Kind::Form(_)
        | Kind::ApplePay(_)
        | Kind::Authentication(_)
        | Kind::ImessageApp(_)
        | Kind::TypingStart(_)
        | Kind::TypingEnd(_)
        | Kind::InteractiveDataRef(_)
        | Kind::RawInteractive(_) => None,
    }
}

fn received_title(common: Option<&pb::InteractiveCommon>) -> &str {
    common
        .and_then(|c| c.received_message.as_ref())
        .map_or("", |b| b.title.as_str())
}

/// One choice's text: its title (`title — subtitle` when there is a subtitle), or its
/// identifier when the title is empty.
fn choice(title: &str, subtitle: &str, identifier: &str) -> String {
    let title = if title.trim().is_empty() {
        identifier
    } else {
        title
    };
    if subtitle.trim().is_empty() {
        title.to_owned()
    } else {
        format!("{title} — {subtitle}")
    }
}

/// Header lines, then groups of numbered choices (each with an optional heading), then the
/// prompt. `None` when there is no choice at all.
fn numbered(header: &[&str], groups: Vec<(String, Vec<String>)>, multiple: bool) -> Option<String> {
    if groups.iter().all(|(_, items)| items.is_empty()) {
        return None;
    }
    let mut lines: Vec<String> = Vec::new();
    for line in header {
        if !line.trim().is_empty() && !lines.iter().any(|l| l == line) {
            lines.push((*line).to_owned());
        }
    }
    let mut n = 0_usize;
    for (heading, items) in groups {
        if items.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(String::new());
        }
        if !heading.trim().is_empty() {
            lines.push(heading);
        }
        for item in items {
            n += 1;
            lines.push(format!("{n}. {item}"));
        }
    }
    lines.push(String::new());
    lines.push(
        if multiple {
            "Reply with one or more numbers."
        } else {
            "Reply with a number."
        }
        .to_owned(),
    );
    Some(lines.join("\n"))
}
