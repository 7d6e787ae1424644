//! The conversation's transcript: one typed [`TranscriptEntry`] per message of either
//! direction, as the agent console shows it.
//!
//! - [`from_inbound`]: a customer's message (routing writes it when it applies the message).
//! - [`from_outbound`]: a business's message (outbound writes it once Apple accepted it).
//!
//! An entry holds who wrote it, when, a readable text and Apple's message id, and nothing
//! else: never the conversation key (so never the customer's opaque id), never Apple's raw
//! JSON (`InteractiveReply.raw_json`), attachment or data reference locators and keys,
//! credentials or payment data. Typing indicators are not messages and have no entry. The
//! fixed words are English (the console translates by the author kind and shows the text as
//! the customer or the business wrote it).

use parley_proto::v1::{
    Actor, ActorKind, ApplePayStatus, AuthenticationStatus, FailureCause, InboundAttachment,
    InboundMessage, OutboundMessage, ReactionType, RefusalReason, TranscriptDelivery,
    TranscriptEntry, delivery_result, inbound_attachment, inbound_message,
    interactive_reply::Reply, outbound_message,
};

/// The entry for a customer's message received at `at`, or `None` for typing indicators
/// (and an event without a kind). A close is a system line: the customer closed the
/// conversation.
pub fn from_inbound(
    message: &InboundMessage,
    at: prost_types::Timestamp,
) -> Option<TranscriptEntry> {
    let customer = || Actor {
        kind: ActorKind::Customer as i32,
        ..Actor::default()
    };
    let (author, text) = match message.kind.as_ref()? {
        inbound_message::Kind::Text(text) => {
            let mut lines = Vec::with_capacity(1 + text.attachments.len());
            if !text.body.is_empty() {
                lines.push(text.body.clone());
            }
            lines.extend(text.attachments.iter().map(inbound_attachment_line));
            (customer(), lines.join("\n"))
        }
        inbound_message::Kind::Reaction(reaction) => (customer(), reaction_text(reaction)),
        inbound_message::Kind::InteractiveReply(reply) => (customer(), interactive_text(reply)),
        inbound_message::Kind::Close(_) => (
            Actor {
                kind: ActorKind::System as i32,
                ..Actor::default()
            },
            "The customer closed the conversation.".to_owned(),
        ),
        inbound_message::Kind::TypingStart(_) | inbound_message::Kind::TypingEnd(_) => {
            return None;
        }
    };
    let attachments = match message.kind.as_ref() {
        Some(inbound_message::Kind::Text(text)) => text
            .attachments
            .iter()
            .filter_map(|a| match a.outcome.as_ref() {
                Some(inbound_attachment::Outcome::Stored(stored)) => Some(stored.clone()),
                Some(inbound_attachment::Outcome::Failed(_)) | None => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(TranscriptEntry {
        author: Some(author),
        at: Some(at),
        text,
        message_id: message.apple_message_id.clone(),
        attachments,
        ..TranscriptEntry::default()
    })
}

/// The entry for a business's message Apple accepted at `at`, or `None` for typing
/// indicators (and an event without a kind). The author is the event's sender (a message
/// without one is Parley's own, a system line).
pub fn from_outbound(
    message: &OutboundMessage,
    at: prost_types::Timestamp,
) -> Option<TranscriptEntry> {
    use outbound_message::Kind;
    let text = match message.kind.as_ref()? {
        Kind::TypingStart(_) | Kind::TypingEnd(_) => return None,
        Kind::Text(text) => {
            let mut lines = Vec::with_capacity(1 + text.attachments.len());
            if !text.body.is_empty() {
                lines.push(text.body.clone());
            }
            lines.extend(
                text.attachments
                    .iter()
                    .map(|a| attachment_line(&a.name, &a.mime_type, a.size_bytes)),
            );
            lines.join("\n")
        }
        Kind::RichLink(link) => {
            if link.title.is_empty() {
                link.url.clone()
            } else {
                format!("{}\n{}", link.title, link.url)
            }
        }
        Kind::QuickReply(q) => {
            let choices: Vec<&str> = q
                .items
                .iter()
                .map(|i| or_identifier(&i.title, &i.identifier))
                .collect();
            offered(
                "Quick reply",
                &[q.summary_text.as_str(), received_title(q.common.as_ref())],
                &choices,
            )
        }
        Kind::ListPicker(l) => {
            let sections: Vec<&str> = l.sections.iter().map(|s| s.title.as_str()).collect();
            let choices: Vec<&str> = l
                .sections
                .iter()
                .flat_map(|s| s.items.iter())
                .map(|i| or_identifier(&i.title, &i.identifier))
                .collect();
            let mut header = vec![received_title(l.common.as_ref())];
            header.extend(sections);
            offered("List picker", &header, &choices)
        }
        Kind::TimePicker(t) => {
            let event = t.event.clone().unwrap_or_default();
            let slots: Vec<String> = event
                .timeslots
                .iter()
                .map(|s| {
                    s.start_time
                        .as_ref()
                        .map_or_else(|| s.identifier.clone(), ToString::to_string)
                })
                .collect();
            let slots: Vec<&str> = slots.iter().map(String::as_str).collect();
            offered(
                "Time picker",
                &[event.title.as_str(), received_title(t.common.as_ref())],
                &slots,
            )
        }
        Kind::Form(form) => {
            let title = received_title(form.common.as_ref());
            let splash = form.splash.as_ref().map_or("", |s| s.header.as_str());
            labelled("Form", &[title, splash])
        }
        Kind::ApplePay(pay) => {
            labelled("Apple Pay request", &[received_title(pay.common.as_ref())])
        }
        Kind::Authentication(auth) => {
            labelled("Sign-in request", &[received_title(auth.common.as_ref())])
        }
        Kind::ImessageApp(app) => labelled(
            "iMessage app",
            &[received_title(app.common.as_ref()), app.app_name.as_str()],
        ),
        Kind::InteractiveDataRef(reference) => labelled(
            "Interactive message",
            &[reference.data_ref.as_ref().map_or("", |r| r.title.as_str())],
        ),
        Kind::RawInteractive(_) => "[Interactive message]".to_owned(),
    };
    let author = message.sender.clone().unwrap_or_else(|| Actor {
        kind: ActorKind::System as i32,
        ..Actor::default()
    });
    Some(TranscriptEntry {
        author: Some(author),
        at: Some(at),
        text,
        message_id: message.apple_message_id.clone(),
        delivery: TranscriptDelivery::Sent as i32,
        delivery_detail: String::new(),
        attachments: match message.kind.as_ref() {
            Some(Kind::Text(text)) => text.attachments.clone(),
            _ => Vec::new(),
        },
    })
}

/// The entry for a business message whose final outcome is `outcome` (at `at`): sent, or a
/// reply that was refused or failed, with why in a few fixed words (never Apple's text, which
/// may quote the request). `None` for typing indicators, retry notices, notifications that
/// were not sent (a customer who never opted in has no conversation to show them in) and a
/// bot's reply dropped because a human took over (not a message the customer missed).
pub fn from_outbound_outcome(
    message: &OutboundMessage,
    at: prost_types::Timestamp,
    outcome: &delivery_result::Outcome,
) -> Option<TranscriptEntry> {
    let (delivery, detail) = delivery_of(outcome, message.business_initiated)?;
    let mut entry = from_outbound(message, at)?;
    entry.delivery = delivery as i32;
    entry.delivery_detail = detail.to_owned();
    Some(entry)
}

/// What a business message's outcome means to the agent who sent it: sent, or refused or
/// failed with why in a few fixed words. `None` where the transcript shows nothing (see
/// [`from_outbound_outcome`]).
pub fn delivery_of(
    outcome: &delivery_result::Outcome,
    business_initiated: bool,
) -> Option<(TranscriptDelivery, &'static str)> {
    use delivery_result::Outcome;
    let (delivery, detail) = match outcome {
        Outcome::Sent(_) => (TranscriptDelivery::Sent, ""),
        Outcome::Retrying(_) => return None,
        _ if business_initiated => return None,
        Outcome::Refused(refused) => {
            let why = match RefusalReason::try_from(refused.reason).unwrap_or_default() {
                RefusalReason::BotNotOwner => return None,
                RefusalReason::ConversationClosed => "the customer closed the conversation",
                RefusalReason::NoConsent => "the customer did not opt in",
                RefusalReason::CapabilityMissing => "the customer's device cannot show it",
                RefusalReason::CustomerUnreachable => "the customer cannot be reached",
                RefusalReason::Unspecified => "refused",
            };
            (TranscriptDelivery::Refused, why)
        }
        Outcome::Failed(failed) => {
            let why = match FailureCause::try_from(failed.cause).unwrap_or_default() {
                FailureCause::BadRequest | FailureCause::InvalidMessage => {
                    "Apple refused the message"
                }
                FailureCause::Unauthorized => "Apple refused Parley's credentials",
                FailureCause::UnknownDestination => "Apple does not know the customer",
                FailureCause::AttachmentUpload => "an attachment could not be uploaded",
                FailureCause::Network
                | FailureCause::Timeout
                | FailureCause::ServerError
                | FailureCause::RateLimited
                | FailureCause::CircuitOpen => "Apple could not be reached in time",
                FailureCause::Unspecified => "sending failed",
            };
            (TranscriptDelivery::Failed, why)
        }
    };
    Some((delivery, detail))
}

fn received_title(common: Option<&parley_proto::v1::InteractiveCommon>) -> &str {
    common
        .and_then(|c| c.received_message.as_ref())
        .map_or("", |b| b.title.as_str())
}

fn or_identifier<'a>(title: &'a str, identifier: &'a str) -> &'a str {
    if title.trim().is_empty() {
        identifier
    } else {
        title
    }
}

/// `[label: header — header]` then one line with the choices offered, separated by ` / `
/// (the customer saw the interactive message, not a text: no numbering, no instructions).
fn offered(label: &str, header: &[&str], choices: &[&str]) -> String {
    let first = labelled(label, header);
    if choices.is_empty() {
        first
    } else {
        format!("{first}\n{}", choices.join(" / "))
    }
}

/// `[label: part — part]`, leaving out empty parts and repeats (a quick reply's summary is
/// often its prompt too); `[label]` when nothing is left.
fn labelled(label: &str, parts: &[&str]) -> String {
    let mut kept: Vec<&str> = Vec::with_capacity(parts.len());
    for part in parts {
        if !part.trim().is_empty() && !kept.contains(part) {
            kept.push(part);
        }
    }
    let parts = kept;
    if parts.is_empty() {
        format!("[{label}]")
    } else {
        format!("[{label}: {}]", parts.join(" — "))
    }
}

fn attachment_line(name: &str, mime_type: &str, size_bytes: u64) -> String {
    let name = if name.is_empty() { "unnamed" } else { name };
    if mime_type.is_empty() {
        format!("[Attachment: {name}, {size_bytes} bytes]")
    } else {
        format!("[Attachment: {name}, {mime_type}, {size_bytes} bytes]")
    }
}

fn inbound_attachment_line(attachment: &InboundAttachment) -> String {
    match attachment.outcome.as_ref() {
        Some(inbound_attachment::Outcome::Stored(a)) => {
            attachment_line(&a.name, &a.mime_type, a.size_bytes)
        }
        Some(inbound_attachment::Outcome::Failed(f)) => {
            let name = if f.name.is_empty() {
                "unnamed"
            } else {
                &f.name
            };
            format!("[Attachment not received: {name}]")
        }
        None => "[Attachment not received]".to_owned(),
    }
}

fn reaction_text(reaction: &parley_proto::v1::Reaction) -> String {
    let verb = match ReactionType::try_from(reaction.r#type).unwrap_or_default() {
        ReactionType::Love => "Loved",
        ReactionType::Like => "Liked",
        ReactionType::Dislike => "Disliked",
        ReactionType::Laugh => "Laughed at",
        ReactionType::Emphasize => "Emphasized",
        ReactionType::Question => "Questioned",
        ReactionType::Emoji => "Reacted",
        ReactionType::Unspecified => "Reacted to",
    };
    let verb = if reaction.r#type == ReactionType::Emoji as i32 && !reaction.emoji.is_empty() {
        format!("Reacted {}", reaction.emoji)
    } else {
        verb.to_owned()
    };
    let target = if reaction.target_excerpt.is_empty() {
        "a message".to_owned()
    } else {
        format!("“{}”", reaction.target_excerpt)
    };
    if reaction.removed {
        format!("[Removed a reaction ({verb}) from {target}]")
    } else {
        format!("[{verb} {target}]")
    }
}

fn interactive_text(reply: &parley_proto::v1::InteractiveReply) -> String {
    let bubble = reply
        .reply_message
        .as_ref()
        .map_or("", |b| b.title.as_str());
    match reply.reply.as_ref() {
        Some(Reply::ListPicker(picked)) => {
            let items: Vec<&str> = picked
                .sections
                .iter()
                .flat_map(|s| s.items.iter())
                .map(|i| {
                    if i.title.is_empty() {
                        i.identifier.as_str()
                    } else {
                        i.title.as_str()
                    }
                })
                .collect();
            if items.is_empty() {
                labelled("Picked", &[bubble])
            } else {
                format!("[Picked: {}]", items.join(", "))
            }
        }
        Some(Reply::TimePicker(picked)) => {
            let slots: Vec<String> = picked
                .event
                .as_ref()
                .map(|e| {
                    e.timeslots
                        .iter()
                        .map(|s| {
                            s.start_time
                                .as_ref()
                                .map_or_else(|| s.identifier.clone(), ToString::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if slots.is_empty() {
                labelled("Picked a time", &[bubble])
            } else {
                format!("[Picked a time: {}]", slots.join(", "))
            }
        }
        Some(Reply::QuickReply(q)) => {
            let title = if q.selected_title.is_empty() {
                q.selected_identifier.as_str()
            } else {
                q.selected_title.as_str()
            };
            labelled("Picked", &[title])
        }
        Some(Reply::Form(form)) => {
            let answers: Vec<String> = form
                .selections
                .iter()
                .map(|s| {
                    let values: Vec<&str> = s
                        .items
                        .iter()
                        .map(|i| {
                            if i.value.is_empty() {
                                i.title.as_str()
                            } else {
                                i.value.as_str()
                            }
                        })
                        .collect();
                    format!("{}: {}", s.title, values.join(", "))
                })
                .collect();
            if answers.is_empty() {
                "[Form sent]".to_owned()
            } else {
                format!("[Form sent]\n{}", answers.join("\n"))
            }
        }
        Some(Reply::ApplePay(pay)) => {
            let status = match ApplePayStatus::try_from(pay.status).unwrap_or_default() {
                ApplePayStatus::Success => "paid",
                ApplePayStatus::Failure => "failed",
                ApplePayStatus::Cancelled => "cancelled",
                ApplePayStatus::Other | ApplePayStatus::Unspecified => "other outcome",
            };
            format!("[Apple Pay: {status}]")
        }
        Some(Reply::Authentication(auth)) => {
            let status = match AuthenticationStatus::try_from(auth.status).unwrap_or_default() {
                AuthenticationStatus::Authenticated => "signed in",
                AuthenticationStatus::Failed => "failed",
                AuthenticationStatus::Other | AuthenticationStatus::Unspecified => "other outcome",
            };
            format!("[Sign-in: {status}]")
        }
        Some(Reply::ImessageApp(app)) => labelled("iMessage app reply", &[app.app_name.as_str()]),
        Some(Reply::Unrecognized(_)) => labelled("Interactive reply", &[bubble]),
        Some(Reply::DataRefFailure(_)) => {
            "[An interactive reply that could not be received]".to_owned()
        }
        None => labelled("Interactive reply", &[bubble]),
    }
}

#[cfg(test)]
mod tests {
    use parley_proto::v1::{
        AttachmentRef, BlobRef, BubbleLayout, CustomerClose, DataRefFailure, EventMeta,
        InboundText, InteractiveCommon, InteractiveDataRef, InteractiveReply, ListPickerItem,
        ListPickerReply, ListPickerRequest, ListPickerSection, OutboundText, QuickReplyItem,
        QuickReplyRequest, TypingStart,
    };

    use super::*;

    const OPAQUE: &str = "urn:mbid:AQAAY3VzdG9tZXI";

    fn at() -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }
    }

    fn meta() -> Option<EventMeta> {
        Some(EventMeta {
            conversation: Some(parley_proto::v1::ConversationKey {
                business_id: "biz".into(),
                opaque_id: OPAQUE.into(),
            }),
            ..EventMeta::default()
        })
    }

    fn inbound(kind: inbound_message::Kind) -> InboundMessage {
        InboundMessage {
            meta: meta(),
            apple_message_id: "m-1".into(),
            kind: Some(kind),
            ..InboundMessage::default()
        }
    }

    #[test]
    fn a_customer_text_with_attachments_is_the_body_and_one_line_each() {
        let entry = from_inbound(
            &inbound(inbound_message::Kind::Text(InboundText {
                body: "مرحبا".into(),
                attachments: vec![InboundAttachment {
                    outcome: Some(inbound_attachment::Outcome::Stored(AttachmentRef {
                        blob: Some(BlobRef {
                            key: format!("inbound/biz/{OPAQUE}/0"),
                            ..BlobRef::default()
                        }),
                        mime_type: "image/png".into(),
                        size_bytes: 3,
                        name: "cup.png".into(),
                    })),
                }],
            })),
            at(),
        )
        .unwrap();
        assert_eq!(entry.author.unwrap().kind, ActorKind::Customer as i32);
        assert_eq!(
            entry.text,
            "مرحبا\n[Attachment: cup.png, image/png, 3 bytes]"
        );
        assert_eq!(entry.message_id, "m-1");
        assert_eq!(entry.at, Some(at()));
    }

    #[test]
    fn a_quick_reply_whose_summary_is_its_prompt_says_it_once() {
        let item = |title: &str| QuickReplyItem {
            identifier: title.to_lowercase(),
            title: title.into(),
        };
        let message = OutboundMessage {
            kind: Some(outbound_message::Kind::QuickReply(QuickReplyRequest {
                common: Some(InteractiveCommon {
                    received_message: Some(BubbleLayout {
                        title: "Anything else?".into(),
                        ..BubbleLayout::default()
                    }),
                    ..InteractiveCommon::default()
                }),
                summary_text: "Anything else?".into(),
                items: vec![item("Yes"), item("No")],
            })),
            ..OutboundMessage::default()
        };
        let entry = from_outbound(&message, at()).unwrap();
        assert_eq!(entry.text, "[Quick reply: Anything else?]\nYes / No");
    }

    #[test]
    fn a_failed_data_reference_keeps_no_json_key_or_url() {
        let reply = InteractiveReply {
            raw_json: format!(r#"{{"sourceId":"{OPAQUE}"}}"#),
            reply: Some(Reply::DataRefFailure(DataRefFailure {
                data_ref: Some(InteractiveDataRef {
                    url: "https://apple.example/secret".into(),
                    key: "00aa".into(),
                    ..InteractiveDataRef::default()
                }),
                ..DataRefFailure::default()
            })),
            ..InteractiveReply::default()
        };
        let entry = from_inbound(
            &inbound(inbound_message::Kind::InteractiveReply(reply)),
            at(),
        )
        .unwrap();
        let shown = format!("{entry:?}");
        for secret in [OPAQUE, "apple.example", "00aa", "sourceId"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn a_list_pick_names_the_items_and_a_close_is_a_system_line() {
        let reply = InteractiveReply {
            reply_message: Some(BubbleLayout {
                title: "Thanks".into(),
                ..BubbleLayout::default()
            }),
            reply: Some(Reply::ListPicker(ListPickerReply {
                sections: vec![ListPickerSection {
                    items: vec![ListPickerItem {
                        identifier: "s1".into(),
                        title: "Main Street".into(),
                        ..ListPickerItem::default()
                    }],
                    ..ListPickerSection::default()
                }],
            })),
            ..InteractiveReply::default()
        };
        let picked = from_inbound(
            &inbound(inbound_message::Kind::InteractiveReply(reply)),
            at(),
        )
        .unwrap();
        assert_eq!(picked.text, "[Picked: Main Street]");
        let closed = from_inbound(
            &inbound(inbound_message::Kind::Close(CustomerClose {})),
            at(),
        )
        .unwrap();
        assert_eq!(closed.author.unwrap().kind, ActorKind::System as i32);
        assert!(
            from_inbound(
                &inbound(inbound_message::Kind::TypingStart(TypingStart {})),
                at()
            )
            .is_none()
        );
    }

    #[test]
    fn a_business_message_keeps_its_sender_and_renders_pickers() {
        let sender = Actor {
            kind: ActorKind::Agent as i32,
            id: "agent-7".into(),
            display_name: "Sam".into(),
        };
        let text = OutboundMessage {
            apple_message_id: "out-1".into(),
            sender: Some(sender.clone()),
            kind: Some(outbound_message::Kind::Text(OutboundText {
                body: "On my way".into(),
                attachments: Vec::new(),
            })),
            ..OutboundMessage::default()
        };
        let entry = from_outbound(&text, at()).unwrap();
        assert_eq!(entry.author, Some(sender));
        assert_eq!(entry.text, "On my way");
        assert_eq!(entry.message_id, "out-1");
        let picker = OutboundMessage {
            kind: Some(outbound_message::Kind::ListPicker(ListPickerRequest {
                sections: vec![ListPickerSection {
                    items: vec![ListPickerItem {
                        identifier: "s1".into(),
                        title: "Main Street".into(),
                        ..ListPickerItem::default()
                    }],
                    ..ListPickerSection::default()
                }],
                ..ListPickerRequest::default()
            })),
            ..OutboundMessage::default()
        };
        let entry = from_outbound(&picker, at()).unwrap();
        assert_eq!(entry.author.unwrap().kind, ActorKind::System as i32);
        assert_eq!(entry.text, "[List picker]\nMain Street");
        let typing = OutboundMessage {
            kind: Some(outbound_message::Kind::TypingStart(TypingStart {})),
            ..OutboundMessage::default()
        };
        assert!(from_outbound(&typing, at()).is_none());
    }

    #[test]
    fn a_refused_or_failed_reply_says_why_in_fixed_words_and_a_notification_is_left_out() {
        use parley_proto::v1::{Failed, Refused, Retrying};
        let reply = OutboundMessage {
            apple_message_id: "out-2".into(),
            kind: Some(outbound_message::Kind::Text(OutboundText {
                body: "Hello?".into(),
                attachments: Vec::new(),
            })),
            ..OutboundMessage::default()
        };
        let refused = |reason: RefusalReason| {
            delivery_result::Outcome::Refused(Refused {
                reason: reason as i32,
                missing_capabilities: Vec::new(),
                detail: format!("closed {OPAQUE}"),
            })
        };
        let entry =
            from_outbound_outcome(&reply, at(), &refused(RefusalReason::ConversationClosed))
                .unwrap();
        assert_eq!(entry.delivery, TranscriptDelivery::Refused as i32);
        assert_eq!(
            entry.delivery_detail,
            "the customer closed the conversation"
        );
        let failed = delivery_result::Outcome::Failed(Failed {
            cause: FailureCause::BadRequest as i32,
            http_status: 400,
            detail: format!("400 for {OPAQUE}"),
            ..Failed::default()
        });
        let entry = from_outbound_outcome(&reply, at(), &failed).unwrap();
        assert_eq!(entry.delivery, TranscriptDelivery::Failed as i32);
        assert!(!format!("{entry:?}").contains(OPAQUE));
        assert!(
            from_outbound_outcome(&reply, at(), &refused(RefusalReason::BotNotOwner)).is_none(),
            "a bot's reply dropped for a human is no line"
        );
        assert!(
            from_outbound_outcome(
                &reply,
                at(),
                &delivery_result::Outcome::Retrying(Retrying::default())
            )
            .is_none()
        );
        let notification = OutboundMessage {
            business_initiated: true,
            ..reply
        };
        assert!(
            from_outbound_outcome(&notification, at(), &refused(RefusalReason::NoConsent))
                .is_none()
        );
        let sent = from_outbound_outcome(
            &notification,
            at(),
            &delivery_result::Outcome::Sent(parley_proto::v1::Sent { data_ref: None }),
        )
        .unwrap();
        assert_eq!(sent.delivery, TranscriptDelivery::Sent as i32);
    }
}
