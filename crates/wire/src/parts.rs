//! The parts of an [`OutboundMessage`]: `kind`, then each of `more`, each a message of its
//! own to Apple (docs/adr/0004-one-outbound-event-per-answer.md).
//!
//! [`expand`] turns an event into one single-message [`OutboundMessage`] per part, with the
//! event's envelope (meta, sender, headers, topic) and the part's own Apple message id: part 0
//! keeps `apple_message_id`, part i (i >= 1) gets [`part_apple_message_id`], derived from the
//! event id and i. A consumer that handles single messages handles each part as one.

use parley_proto::v1::{OutboundMessage, OutboundPart, outbound_message::Kind, outbound_part};
use parley_types::EventId;

/// The Apple message id of part `index` (>= 1) of the event `event_id`: a UUID derived from
/// both, so a redelivery sends each part under the id it had, and no two parts share one.
#[must_use]
pub fn part_apple_message_id(event_id: &EventId, index: u32) -> String {
    event_id.derived("part", index).apple_message_id()
}

/// The event's parts, in order: `kind` (part 0) then each of `more`, each as a single message
/// with the event's envelope and the part's Apple message id. An event without `more` is its
/// own one part (unchanged). A part without a kind stays without one (the consumer refuses
/// it as it would a single message without a kind).
#[must_use]
pub fn expand(event: &OutboundMessage) -> Vec<OutboundMessage> {
    let mut first = event.clone();
    let more = std::mem::take(&mut first.more);
    if more.is_empty() {
        return vec![first];
    }
    let event_id = event
        .meta
        .as_ref()
        .and_then(|m| EventId::new(m.event_id.clone()).ok());
    let mut parts = Vec::with_capacity(1 + more.len());
    for (i, part) in more.into_iter().enumerate() {
        let index = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let mut message = OutboundMessage {
            kind: part.kind.map(kind_of_part),
            ..first.clone()
        };
        message.apple_message_id = event_id
            .as_ref()
            .map(|id| part_apple_message_id(id, index))
            .unwrap_or_default();
        parts.push(message);
    }
    parts.insert(0, first);
    parts
}

/// Whether `kind` is a typing indicator (best effort as a part; no transcript entry).
#[must_use]
pub fn is_typing(kind: Option<&Kind>) -> bool {
    matches!(kind, Some(Kind::TypingStart(_) | Kind::TypingEnd(_)))
}

/// The event that sends `kinds` in order as one event (the first as `kind`, the rest as
/// `more`) with `envelope`'s other fields; `None` for no kinds.
#[must_use]
pub fn join(envelope: OutboundMessage, kinds: Vec<Kind>) -> Option<OutboundMessage> {
    let mut kinds = kinds.into_iter();
    let first = kinds.next()?;
    Some(OutboundMessage {
        kind: Some(first),
        more: kinds.map(part_of_kind).collect(),
        ..envelope
    })
}

/// A message kind as a part of `more`.
#[must_use]
pub fn part_of_kind(kind: Kind) -> OutboundPart {
    use outbound_part::Kind as P;
    let kind = match kind {
        Kind::Text(m) => P::Text(m),
        Kind::RichLink(m) => P::RichLink(m),
        Kind::QuickReply(m) => P::QuickReply(m),
        Kind::ListPicker(m) => P::ListPicker(m),
        Kind::TimePicker(m) => P::TimePicker(m),
        Kind::Form(m) => P::Form(m),
        Kind::ApplePay(m) => P::ApplePay(m),
        Kind::Authentication(m) => P::Authentication(m),
        Kind::ImessageApp(m) => P::ImessageApp(m),
        Kind::TypingStart(m) => P::TypingStart(m),
        Kind::TypingEnd(m) => P::TypingEnd(m),
        Kind::InteractiveDataRef(m) => P::InteractiveDataRef(m),
        Kind::RawInteractive(m) => P::RawInteractive(m),
    };
    OutboundPart { kind: Some(kind) }
}

/// A part of `more` as a message kind.
#[must_use]
pub fn kind_of_part(kind: outbound_part::Kind) -> Kind {
    use outbound_part::Kind as P;
    match kind {
        P::Text(m) => Kind::Text(m),
        P::RichLink(m) => Kind::RichLink(m),
        P::QuickReply(m) => Kind::QuickReply(m),
        P::ListPicker(m) => Kind::ListPicker(m),
        P::TimePicker(m) => Kind::TimePicker(m),
        P::Form(m) => Kind::Form(m),
        P::ApplePay(m) => Kind::ApplePay(m),
        P::Authentication(m) => Kind::Authentication(m),
        P::ImessageApp(m) => Kind::ImessageApp(m),
        P::TypingStart(m) => Kind::TypingStart(m),
        P::TypingEnd(m) => Kind::TypingEnd(m),
        P::InteractiveDataRef(m) => Kind::InteractiveDataRef(m),
        P::RawInteractive(m) => Kind::RawInteractive(m),
    }
}

#[cfg(test)]
mod tests {
    use parley_proto::v1::{EventMeta, OutboundText, TypingEnd, TypingStart};

    use super::*;

    fn text(body: &str) -> Kind {
        Kind::Text(OutboundText {
            body: body.into(),
            attachments: Vec::new(),
        })
    }

    #[test]
    fn an_event_expands_to_its_parts_in_order_with_distinct_stable_ids() {
        let envelope = OutboundMessage {
            meta: Some(EventMeta {
                event_id: "bot-1".into(),
                ..EventMeta::default()
            }),
            apple_message_id: "5b0e8a1c-0000-4000-8000-000000000004".into(),
            ..OutboundMessage::default()
        };
        let kinds = vec![
            Kind::TypingStart(TypingStart {}),
            text("Hello"),
            text("We open at 7."),
            Kind::TypingEnd(TypingEnd {}),
        ];
        let event = join(envelope.clone(), kinds.clone()).expect("kinds");
        assert_eq!(event.more.len(), 3);
        let parts = expand(&event);
        let got: Vec<Kind> = parts.iter().filter_map(|p| p.kind.clone()).collect();
        assert_eq!(got, kinds);
        assert_eq!(parts[0].apple_message_id, envelope.apple_message_id);
        let mut ids: Vec<&str> = parts.iter().map(|p| p.apple_message_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 4, "one Apple id per part");
        assert_eq!(expand(&event), parts, "the same ids every time");
        assert!(
            parts
                .iter()
                .all(|p| p.more.is_empty() && p.meta == envelope.meta)
        );
        assert!(is_typing(parts[0].kind.as_ref()) && !is_typing(parts[1].kind.as_ref()));
    }

    #[test]
    fn a_single_message_is_its_own_one_part() {
        let event = OutboundMessage {
            kind: Some(text("Hi")),
            ..OutboundMessage::default()
        };
        assert_eq!(expand(&event), vec![event]);
        assert!(join(OutboundMessage::default(), Vec::new()).is_none());
    }
}
