//! The last gate before Apple: what must not be sent, decided from what the store knows about
//! the customer and the message.

use parley_apple::headers::{Capabilities, DeviceAgent};
use parley_proto::v1::{
    ActorKind, Capability, ConsentEvent, ConsentStatus, OutboundMessage, RefusalReason,
};
use parley_wire::capabilities;

/// What the store knows about the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CustomerFacts {
    /// Sequence of the last `close`.
    pub(crate) closed_at: u64,
    /// Sequence of the last message.
    pub(crate) active_at: u64,
    /// Set past `active_at` when Apple said the customer cannot be reached.
    pub(crate) unreachable_at: u64,
    /// `capability-list` as ingest recorded it (`None` if never recorded).
    pub(crate) capabilities: Option<String>,
    /// `device-agent` as ingest recorded it.
    pub(crate) device_agent: Option<String>,
    /// Routing's lifecycle says a human agent owns the conversation or it waits for one
    /// (read only for bot messages).
    pub(crate) human_owns: bool,
}

impl CustomerFacts {
    pub(crate) fn closed(&self) -> bool {
        self.closed_at > self.active_at
    }

    pub(crate) fn unreachable(&self) -> bool {
        self.unreachable_at > self.active_at
    }
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Send as produced.
    Send,
    /// The device cannot show it; send the equivalent text instead.
    SendAsText,
    /// Do not send.
    Refuse {
        reason: RefusalReason,
        missing: Vec<Capability>,
        detail: String,
    },
}

fn refuse(reason: RefusalReason, detail: impl Into<String>) -> Verdict {
    Verdict::Refuse {
        reason,
        missing: Vec::new(),
        detail: detail.into(),
    }
}

/// Decides. `consent` is the record for the message's topic, if any.
pub(crate) fn decide(
    event: &OutboundMessage,
    facts: &CustomerFacts,
    consent: Option<&ConsentEvent>,
) -> Verdict {
    if facts.closed() {
        return refuse(
            RefusalReason::ConversationClosed,
            "the customer closed the conversation; nothing is sent until they write again",
        );
    }
    if facts.unreachable() {
        return refuse(
            RefusalReason::CustomerUnreachable,
            "Apple reported the customer unreachable; nothing is sent until they write again",
        );
    }
    let from_bot = event
        .sender
        .as_ref()
        .is_some_and(|s| s.kind == ActorKind::Bot as i32);
    if from_bot && facts.human_owns {
        return refuse(
            RefusalReason::BotNotOwner,
            "a human agent owns the conversation; the bot's reply is dropped",
        );
    }
    if event.business_initiated {
        let opted_in = consent.is_some_and(|c| c.status == ConsentStatus::OptedIn as i32);
        if !opted_in {
            return refuse(
                RefusalReason::NoConsent,
                format!(
                    "no recorded opt-in for notification topic {:?}",
                    event.notification_topic
                ),
            );
        }
    }
    // A device whose capabilities were never recorded is not refused: Parley cannot know, and
    // Apple itself accepts the message (UNKNOWN how an old device shows it).
    let Some(recorded) = facts.capabilities.as_deref() else {
        return Verdict::Send;
    };
    let parsed = Capabilities::parse(recorded).unwrap_or_default();
    let proto_caps = capabilities::to_proto(&parsed);
    let agent = facts
        .device_agent
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(DeviceAgent::parse);
    let proto_agent = capabilities::device_agent_to_proto(agent.as_ref());
    if capabilities::can_show(event, &proto_caps, Some(&proto_agent)) {
        return Verdict::Send;
    }
    if capabilities::text_fallback(event).is_some() {
        return Verdict::SendAsText;
    }
    let missing = capabilities::required(event)
        .into_iter()
        .filter(|c| !proto_caps.capabilities.contains(&(*c as i32)))
        .collect::<Vec<_>>();
    Verdict::Refuse {
        reason: RefusalReason::CapabilityMissing,
        detail: format!(
            "the customer's device cannot show this message and it has no text equivalent (missing {missing:?})"
        ),
        missing,
    }
}
