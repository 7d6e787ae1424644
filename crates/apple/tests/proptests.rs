//! Property tests: generated messages round-trip, capability parsing is insensitive to case
//! and percent-encoding, and nothing panics on arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_apple::headers::{Capabilities, Capability};
use parley_apple::model::{
    ATTACHMENT_PLACEHOLDER, Attachment, BodyBuilder, BodySegment, Extra, IntOrString,
    InteractiveData, InteractiveImage, InteractivePayload, ListPicker, ListPickerItem,
    ListPickerSection, Message, MessageBubble, MessageType, QuickReply, QuickReplyItem,
    RichLinkData, SchemaVersion, TimePickerEvent, Timeslot, split_body,
};
use parley_apple::tapback::detect_tapback;
use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;
use serde_json::Value;

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9 _.:-]{0,12}",
        ".{0,8}",
        Just("\u{FFFC}".to_owned()),
        Just("“quoted” \"json\" \\ \n\t".to_owned()),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::Array),
                btree_map("[a-z]{1,5}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Unknown keys: prefixed so they never collide with a known field or a legacy spelling.
fn extra() -> BoxedStrategy<Extra> {
    btree_map("x-[a-z]{1,6}", json_value(), 0..3)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}

fn message_type() -> BoxedStrategy<MessageType> {
    prop_oneof![
        Just(MessageType::Text),
        Just(MessageType::Interactive),
        Just(MessageType::TypingStart),
        Just(MessageType::TypingEnd),
        Just(MessageType::Close),
        Just(MessageType::RichLink),
        "[a-z]{1,10}"
            .prop_map(|s| MessageType::from_wire(&s))
            .prop_filter("known", |t| !t.is_known()),
    ]
    .boxed()
}

fn int_or_string() -> BoxedStrategy<IntOrString> {
    prop_oneof![
        any::<u64>().prop_map(IntOrString::Int),
        text().prop_map(IntOrString::Text)
    ]
    .boxed()
}

fn attachment() -> BoxedStrategy<Attachment> {
    (
        (of(text()), of(text()), of(text()), of(text())),
        (of(text()), of(text()), of(text()), of(text())),
        extra(),
    )
        .prop_map(
            |((name, mime_type, size, key), (url, owner, signature, signature_base64), extra)| {
                Attachment {
                    name,
                    mime_type,
                    size,
                    key,
                    url,
                    owner,
                    signature,
                    signature_base64,
                    extra,
                }
            },
        )
        .boxed()
}

fn bubble() -> BoxedStrategy<MessageBubble> {
    (of(text()), of(text()), of(text()), of(text()), extra())
        .prop_map(
            |(title, subtitle, style, image_identifier, extra)| MessageBubble {
                title,
                subtitle,
                style: style.map(|s| s.as_str().into()),
                image_identifier,
                extra,
                ..MessageBubble::default()
            },
        )
        .boxed()
}

fn list_picker() -> BoxedStrategy<ListPicker> {
    let item = (
        of(text()),
        of(text()),
        of(any::<i64>()),
        of(text()),
        extra(),
    )
        .prop_map(
            |(identifier, title, order, image_identifier, extra)| ListPickerItem {
                identifier,
                title,
                order,
                image_identifier,
                extra,
                ..ListPickerItem::default()
            },
        );
    let section = (of(text()), of(any::<bool>()), of(vec(item, 0..3)), extra()).prop_map(
        |(title, multiple_selection, items, extra)| ListPickerSection {
            title,
            multiple_selection,
            items,
            extra,
            ..ListPickerSection::default()
        },
    );
    (of(vec(section, 0..3)), extra())
        .prop_map(|(sections, extra)| ListPicker { sections, extra })
        .boxed()
}

fn time_picker() -> BoxedStrategy<TimePickerEvent> {
    let slot = (of(text()), of(text()), of(any::<i64>()), extra()).prop_map(
        |(identifier, start_time, duration, extra)| Timeslot {
            identifier,
            start_time,
            duration,
            extra,
        },
    );
    (of(text()), of(any::<i64>()), of(vec(slot, 0..3)), extra())
        .prop_map(
            |(title, timezone_offset, timeslots, extra)| TimePickerEvent {
                title,
                timezone_offset,
                timeslots,
                extra,
                ..TimePickerEvent::default()
            },
        )
        .boxed()
}

fn quick_reply() -> BoxedStrategy<QuickReply> {
    let item =
        (of(text()), of(text()), extra()).prop_map(|(identifier, title, extra)| QuickReplyItem {
            identifier,
            title,
            extra,
        });
    (
        of(text()),
        of(vec(item, 0..4)),
        of(int_or_string()),
        of(text()),
        extra(),
    )
        .prop_map(
            |(summary_text, items, selected_index, selected_identifier, extra)| QuickReply {
                summary_text,
                items,
                selected_index,
                selected_identifier,
                extra,
            },
        )
        .boxed()
}

fn version() -> BoxedStrategy<SchemaVersion> {
    prop_oneof![
        text().prop_map(SchemaVersion::Text),
        any::<i64>().prop_map(|n| SchemaVersion::Number(n.into())),
    ]
    .boxed()
}

fn payload() -> BoxedStrategy<InteractivePayload> {
    let images = vec(
        (of(text()), of(text()), extra()).prop_map(|(identifier, data, extra)| InteractiveImage {
            identifier,
            data,
            extra,
        }),
        0..2,
    );
    (
        (of(version()), of(text()), of(images)),
        (of(list_picker()), of(time_picker()), of(quick_reply())),
        (of(bubble()), extra()),
    )
        .prop_map(
            |(
                (version, request_identifier, images),
                (list_picker, event, quick_reply),
                (reply_message, extra),
            )| InteractivePayload {
                version,
                request_identifier,
                images,
                list_picker,
                event,
                quick_reply,
                reply_message,
                extra,
                ..InteractivePayload::default()
            },
        )
        .boxed()
}

fn interactive() -> BoxedStrategy<InteractiveData> {
    (
        (of(text()), of(payload()), of(bubble()), of(bubble())),
        (
            of(text()),
            of(any::<bool>()),
            of(int_or_string()),
            of(text()),
        ),
        extra(),
    )
        .prop_map(
            |(
                (bid, data, received_message, reply_message),
                (session_identifier, use_live_layout, app_id, url),
                extra,
            )| InteractiveData {
                bid,
                data,
                received_message,
                reply_message,
                session_identifier,
                use_live_layout,
                app_id,
                url,
                extra,
                ..InteractiveData::default()
            },
        )
        .boxed()
}

fn rich_link() -> BoxedStrategy<RichLinkData> {
    (of(text()), of(text()), of((text(), text())), extra())
        .prop_map(|(url, title, image, extra)| {
            let mut link = RichLinkData {
                url,
                title,
                assets: None,
                extra,
            };
            if let Some((data, mime)) = image {
                link = link.with_image(data, mime);
            }
            link
        })
        .boxed()
}

fn message() -> BoxedStrategy<Message> {
    (
        (
            of(any::<u64>()),
            of(text()),
            message_type(),
            of(text()),
            of(text()),
        ),
        (of(text()), of(text()), of(vec(attachment(), 0..3))),
        (
            of(interactive()),
            of(rich_link()),
            of(text()),
            of(text()),
            extra(),
        ),
    )
        .prop_map(
            |(
                (v, id, kind, source_id, destination_id),
                (locale, body, attachments),
                (interactive_data, rich_link_data, intent, group, extra),
            )| {
                let mut m = Message::envelope(kind, "", "", "");
                m.v = v;
                m.id = id;
                m.source_id = source_id;
                m.destination_id = destination_id;
                m.locale = locale;
                m.body = body;
                m.attachments = attachments;
                m.interactive_data = interactive_data;
                m.rich_link_data = rich_link_data;
                m.intent = intent;
                m.group = group;
                m.extra = extra;
                m
            },
        )
        .boxed()
}

/// Renders a capability token with random case and random percent-encoding per character.
fn render_token(token: &str, mask: &[(bool, bool, bool)]) -> String {
    token
        .chars()
        .zip(mask.iter().cycle())
        .map(|(c, &(upper, encode, lower_hex))| {
            let c = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            if encode {
                let hex = format!("%{:02X}", c as u32);
                if lower_hex { hex.to_lowercase() } else { hex }
            } else {
                c.to_string()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_messages_round_trip(m in message()) {
        let bytes = m.to_vec().unwrap();
        let back = Message::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        // Validation never panics, whatever the content.
        let _ = back.validate_inbound();
        let _ = back.validate_outbound();
        let _ = back.interactive_reply();
        let _ = back.interactive_kind();
    }

    #[test]
    fn capabilities_ignore_case_and_percent_encoding(
        picks in vec(
            prop_oneof![
                proptest::sample::select(Capability::KNOWN.to_vec()).prop_map(|c| c.as_str().to_owned()),
                "[A-Z0-9]{1,8}",
            ],
            0..8,
        ),
        mask in vec((any::<bool>(), any::<bool>(), any::<bool>()), 1..8),
        separators in vec(proptest::sample::select(vec![",", "%2C", "%2c", " , ", ",,"]), 8),
        padding in proptest::sample::select(vec!["", " ", "%20"]),
    ) {
        let mut value = String::from(padding);
        for (i, token) in picks.iter().enumerate() {
            if i > 0 {
                value.push_str(separators[i % separators.len()]);
            }
            value.push_str(&render_token(token, &mask));
        }
        value.push_str(padding);
        let expected: Capabilities = picks.iter().map(|t| Capability::parse(t)).collect();
        prop_assert_eq!(Capabilities::parse(&value).unwrap(), expected, "{}", value);
    }

    #[test]
    fn detect_tapback_never_panics(s in any::<String>()) {
        let _ = detect_tapback(&s);
    }

    #[test]
    fn detect_tapback_never_panics_on_near_misses(
        prefix in proptest::sample::select(vec![
            "Liked ", "Loved ", "Laughed at ", "Reacted ", "Removed ", "Removed a ", "Removed a like from ",
        ]),
        middle in ".{0,6}",
        open in proptest::sample::select(vec!["“", "\"", "", "”"]),
        inner in ".{0,6}",
        close in proptest::sample::select(vec!["”", "\"", "", "“"]),
    ) {
        let body = format!("{prefix}{middle}{open}{inner}{close}");
        if let Some(t) = detect_tapback(&body)
            && let Some(q) = t.quoted_text()
        {
            prop_assert!(body.contains(q));
        }
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in vec(any::<u8>(), 0..512)) {
        let _ = Message::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_json_shaped_input(
        fields in btree_map(
            proptest::sample::select(vec![
                "v", "id", "type", "body", "attachments", "interactiveData", "interactiveDataRef",
                "richLinkData", "richLinkDataRef", "locale", "intent",
            ]),
            json_value(),
            0..6,
        ),
        kind in proptest::sample::select(vec!["text", "interactive", "close", "richLink", "zzz"]),
    ) {
        let mut obj: serde_json::Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        obj.entry("type").or_insert_with(|| Value::from(kind));
        let bytes = serde_json::to_vec(&Value::Object(obj)).unwrap();
        if let Ok(m) = Message::parse(&bytes) {
            let _ = m.validate_inbound();
            let _ = m.validate_outbound();
            let _ = m.interactive_reply();
        }
    }

    #[test]
    fn body_builder_and_split_agree(
        parts in vec(prop_oneof![text().prop_map(Some), Just(None)], 0..8),
    ) {
        let mut b = BodyBuilder::new();
        for p in &parts {
            match p {
                Some(t) => { b.text(t); }
                None => { b.attachment(); }
            }
        }
        let body = b.build();
        let slots: Vec<usize> = split_body(&body)
            .into_iter()
            .filter_map(|s| match s {
                BodySegment::Attachment(n) => Some(n),
                BodySegment::Text(t) => {
                    assert!(!t.is_empty() && !t.contains(ATTACHMENT_PLACEHOLDER));
                    None
                }
            })
            .collect();
        prop_assert_eq!(slots, (0..b.attachment_count()).collect::<Vec<_>>());
        let rebuilt: String = split_body(&body)
            .into_iter()
            .map(|s| match s {
                BodySegment::Text(t) => t.to_owned(),
                BodySegment::Attachment(_) => ATTACHMENT_PLACEHOLDER.to_string(),
            })
            .collect();
        prop_assert_eq!(rebuilt, body);
    }
}
