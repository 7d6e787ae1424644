//! Apple inbound fixtures → `InboundMessage`.

use parley_apple::headers::{Capabilities, DeviceAgent, InboundHeaders};
use parley_apple::model::Message;
use parley_proto::v1::{
    self as pb, AttachmentFailureReason, InboundAttachment, InboundMessage, inbound_attachment,
    inbound_message::Kind, interactive_reply::Reply,
};
use parley_wire::WireError;
use parley_wire::inbound::{ResolvedDataRef, language_tag, to_event};
use serde_json::{Value, json};

fn fixture(name: &str) -> Message {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let message = Message::parse(&bytes).unwrap();
    message.validate_inbound().unwrap();
    message
}

fn headers(message: &Message) -> InboundHeaders {
    InboundHeaders {
        id: message.id.clone().unwrap(),
        source_id: message.source_id.clone().unwrap(),
        destination_id: message.destination_id.clone().unwrap(),
        device_agent: Some(DeviceAgent::IPhoneOs),
        capabilities: Capabilities::parse("QUICK,LIST,TIME,AUTH2,FORM,HOLOGRAM").unwrap(),
    }
}

fn event(name: &str) -> InboundMessage {
    let message = fixture(name);
    to_event(&headers(&message), &message, vec![], None).unwrap()
}

fn reply(event: &InboundMessage) -> &pb::InteractiveReply {
    match &event.kind {
        Some(Kind::InteractiveReply(r)) => r,
        other => panic!("not an interactive reply: {other:?}"),
    }
}

fn raw(reply: &pb::InteractiveReply) -> Value {
    serde_json::from_str(&reply.raw_json).unwrap()
}

const BUILTIN_BID: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension";

#[test]
fn text_fills_every_envelope_field() {
    let e = event("text_inbound");
    assert_eq!(e.meta, None);
    assert_eq!(e.apple_message_id, "0a2f2b9e-4c35-4d5a-9d34-1f2c3b4a5d6e");
    assert_eq!(e.intent, "tech_question");
    assert_eq!(e.group, "general_support");
    assert_eq!(
        e.locale,
        Some(pb::Locale {
            apple: "en_US".to_owned(),
            language_tag: "en-US".to_owned()
        })
    );
    assert_eq!(
        e.device_agent,
        Some(pb::DeviceAgent {
            os: pb::DeviceOs::Ios as i32,
            raw: "iPhone OS".to_owned()
        })
    );
    let caps = e.capabilities.unwrap();
    assert_eq!(
        caps.capabilities,
        [
            pb::Capability::QuickReply,
            pb::Capability::ListPicker,
            pb::Capability::TimePicker,
            pb::Capability::AuthenticationV2,
            pb::Capability::Form,
        ]
        .map(|c| c as i32)
    );
    assert_eq!(caps.unrecognized, ["HOLOGRAM"]);
    assert_eq!(
        e.kind,
        Some(Kind::Text(pb::InboundText {
            body: "Hi, I need help with my order".to_owned(),
            attachments: vec![]
        }))
    );
}

#[test]
fn missing_device_agent_and_locale_stay_unset() {
    let message = fixture("typing_start");
    let mut h = headers(&message);
    h.device_agent = None;
    h.capabilities = Capabilities::new();
    let e = to_event(&h, &message, vec![], None).unwrap();
    assert_eq!(e.device_agent, None);
    assert_eq!(e.locale, None);
    assert_eq!(e.capabilities, Some(pb::DeviceCapabilities::default()));
    assert_eq!(e.kind, Some(Kind::TypingStart(pb::TypingStart {})));
}

#[test]
fn text_with_two_attachments_keeps_the_outcomes_in_order_and_drops_the_placeholders() {
    let message = fixture("attachments_inbound");
    let stored = InboundAttachment {
        outcome: Some(inbound_attachment::Outcome::Stored(pb::AttachmentRef {
            blob: Some(pb::BlobRef {
                store: "fs".to_owned(),
                key: "a/1".to_owned(),
                sha256: "ab".repeat(32),
                size_bytes: 67_481,
            }),
            mime_type: "image/jpeg".to_owned(),
            size_bytes: 67_481,
            name: "IMG_0001.jpeg".to_owned(),
        })),
    };
    let failed = InboundAttachment {
        outcome: Some(inbound_attachment::Outcome::Failed(pb::AttachmentFailure {
            name: "voice.caf".to_owned(),
            mime_type: "audio/x-caf".to_owned(),
            size_bytes: 12_000,
            reason: AttachmentFailureReason::Expired as i32,
            detail: "apple answered 404".to_owned(),
        })),
    };
    let e = to_event(
        &headers(&message),
        &message,
        vec![stored.clone(), failed.clone()],
        None,
    )
    .unwrap();
    assert_eq!(
        e.kind,
        Some(Kind::Text(pb::InboundText {
            body: "Here are the photos".to_owned(),
            attachments: vec![stored.clone(), failed],
        }))
    );

    // One outcome per attachment, no more, no less.
    let err = to_event(&headers(&message), &message, vec![stored], None).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::AttachmentCountMismatch {
                expected: 2,
                found: 1
            }
        ),
        "{err}"
    );
}

fn text_message(body: &str) -> Message {
    Message::text(
        "11111111-0000-4000-8000-000000000001",
        "urn:mbid:AQAAY8y2cX0Example",
        "a884eddf-1b2c-4d3e-9f00-112233445566",
        body,
    )
}

#[test]
fn tapbacks_become_reactions() {
    let cases: [(&str, pb::ReactionType, &str, bool, &str); 7] = [
        (
            "Loved “See you at 5”",
            pb::ReactionType::Love,
            "",
            false,
            "See you at 5",
        ),
        (
            "Liked \"Thanks\"",
            pb::ReactionType::Like,
            "",
            false,
            "Thanks",
        ),
        ("Laughed at “ha”", pb::ReactionType::Laugh, "", false, "ha"),
        (
            "Reacted 😀 to “Thanks”",
            pb::ReactionType::Emoji,
            "😀",
            false,
            "Thanks",
        ),
        (
            "Removed a heart from “Hi”",
            pb::ReactionType::Love,
            "",
            true,
            "Hi",
        ),
        (
            "Removed a 👍🏽 from “Ok”",
            pb::ReactionType::Emoji,
            "👍🏽",
            true,
            "Ok",
        ),
        (
            "Liked 1 Business Message",
            pb::ReactionType::Like,
            "",
            false,
            "",
        ),
    ];
    for (body, reaction_type, emoji, removed, excerpt) in cases {
        let message = text_message(body);
        let e = to_event(&headers(&message), &message, vec![], None).unwrap();
        assert_eq!(
            e.kind,
            Some(Kind::Reaction(pb::Reaction {
                r#type: reaction_type as i32,
                emoji: emoji.to_owned(),
                removed,
                target_excerpt: excerpt.to_owned(),
                raw_body: body.to_owned(),
            })),
            "{body}"
        );
    }
    // Ordinary words are not reactions.
    let message = text_message("Liked it, thanks");
    let e = to_event(&headers(&message), &message, vec![], None).unwrap();
    assert!(matches!(e.kind, Some(Kind::Text(_))));
}

#[test]
fn typing_and_close() {
    assert_eq!(
        event("typing_start").kind,
        Some(Kind::TypingStart(pb::TypingStart {}))
    );
    assert_eq!(
        event("typing_end").kind,
        Some(Kind::TypingEnd(pb::TypingEnd {}))
    );
    let close = event("close");
    assert_eq!(close.kind, Some(Kind::Close(pb::CustomerClose {})));
    assert_eq!(close.locale.unwrap().language_tag, "en-US");
}

#[test]
fn rich_link_and_unknown_types_have_no_inbound_event() {
    let mut message = text_message("x");
    message.kind = parley_apple::model::MessageType::RichLink;
    let err = to_event(&headers(&message), &message, vec![], None).unwrap_err();
    assert!(matches!(err, WireError::UnsupportedInboundType { ref found } if found == "richLink"));
    message.kind = parley_apple::model::MessageType::from_wire("hologram");
    let err = to_event(&headers(&message), &message, vec![], None).unwrap_err();
    assert!(matches!(err, WireError::UnsupportedInboundType { ref found } if found == "hologram"));
}

#[test]
fn list_picker_reply() {
    let e = event("list_picker_reply");
    let r = reply(&e);
    assert_eq!(r.request_identifier, "0b9ef6f5-77a1-4f5c-a0a4-0e1d6a3f1a11");
    assert_eq!(r.session_identifier, "2f6f1c0e-session");
    assert_eq!(r.bid, BUILTIN_BID);
    assert!(!r.from_data_ref);
    let bubble = r.reply_message.as_ref().unwrap();
    assert_eq!(bubble.title, "Selected");
    assert_eq!(bubble.alternate_title, "Apple");
    assert_eq!(bubble.style, pb::BubbleStyle::Small as i32);
    assert_eq!(
        r.reply,
        Some(Reply::ListPicker(pb::ListPickerReply {
            sections: vec![pb::ListPickerSection {
                title: "Fruit".to_owned(),
                order: 0,
                multiple_selection: true,
                items: vec![pb::ListPickerItem {
                    identifier: "1".to_owned(),
                    title: "Apple".to_owned(),
                    subtitle: "Red and crunchy".to_owned(),
                    order: 0,
                    style: "default".to_owned(),
                    image_identifier: "0".to_owned(),
                }],
            }],
        }))
    );
    let raw = raw(r);
    assert_eq!(raw["bid"], BUILTIN_BID);
    assert_eq!(
        raw["data"]["listPicker"]["sections"][0]["items"][0]["title"],
        "Apple"
    );
}

#[test]
fn list_picker_reply_with_selected_flags_keeps_only_the_flagged_items() {
    let mut message = fixture("list_picker_reply");
    let mut value = message.to_value().unwrap();
    value["interactiveData"]["data"]["listPicker"]["sections"] = json!([
        {"title": "Fruit", "items": [
            {"identifier": "1", "title": "Apple", "selected": true},
            {"identifier": "2", "title": "Pear"}]},
        {"title": "Veg", "items": [{"identifier": "3", "title": "Carrot", "selected": false}]}
    ]);
    message = serde_json::from_value(value).unwrap();
    let e = to_event(&headers(&message), &message, vec![], None).unwrap();
    let Some(Reply::ListPicker(l)) = &reply(&e).reply else {
        panic!("not a list picker")
    };
    assert_eq!(l.sections.len(), 1);
    assert_eq!(l.sections[0].items.len(), 1);
    assert_eq!(l.sections[0].items[0].title, "Apple");
}

#[test]
fn time_picker_reply() {
    let e = event("time_picker_reply");
    let r = reply(&e);
    assert_eq!(r.request_identifier, "9f1ab8f4-2b5e-4c0e-8f0a-44c1c6a2b2b2");
    assert_eq!(
        r.reply,
        Some(Reply::TimePicker(pb::TimePickerReply {
            event: Some(pb::TimePickerEvent {
                identifier: "1".to_owned(),
                title: String::new(),
                timezone_offset_minutes: Some(-420),
                timeslots: vec![pb::TimeSlot {
                    identifier: "0".to_owned(),
                    start_time: Some(prost_types::Timestamp {
                        seconds: 1_657_472_400,
                        nanos: 0
                    }),
                    duration_seconds: 3_600,
                }],
            }),
        }))
    );
}

#[test]
fn quick_reply_reply_by_index_and_by_identifier() {
    let by_index = event("quick_reply_reply_index");
    assert_eq!(
        reply(&by_index).reply,
        Some(Reply::QuickReply(pb::QuickReplyReply {
            selected_index: Some(1),
            selected_identifier: "2".to_owned(),
            selected_title: "Talk to an agent".to_owned(),
        }))
    );
    let by_identifier = event("quick_reply_reply_identifier");
    assert_eq!(
        reply(&by_identifier).reply,
        Some(Reply::QuickReply(pb::QuickReplyReply {
            selected_index: None,
            selected_identifier: "3".to_owned(),
            selected_title: String::new(),
        }))
    );
}

#[test]
fn form_reply() {
    let e = event("form_reply");
    let r = reply(&e);
    assert_eq!(r.session_identifier, "form-session-1");
    assert_eq!(
        r.reply_message.as_ref().unwrap().alternate_title,
        "Form submitted"
    );
    let item = |identifier: &str, title: &str, value: &str, kind: &str| pb::FormSelectionItem {
        identifier: identifier.to_owned(),
        title: title.to_owned(),
        value: value.to_owned(),
        r#type: kind.to_owned(),
    };
    assert_eq!(
        r.reply,
        Some(Reply::Form(pb::FormReply {
            template: "messageForms".to_owned(),
            version: String::new(),
            selections: vec![
                pb::FormSelection {
                    page_identifier: "0".to_owned(),
                    title: "Plan".to_owned(),
                    subtitle: "Pick one".to_owned(),
                    items: vec![item("002", "Pro", "pro", "select")],
                },
                pb::FormSelection {
                    page_identifier: "1".to_owned(),
                    title: "Email".to_owned(),
                    subtitle: String::new(),
                    items: vec![item("1", "Email", "jane@example.com", "input")],
                },
            ],
        }))
    );
}

#[test]
fn apple_pay_reply_without_the_payment_data() {
    let e = event("apple_pay_reply");
    let r = reply(&e);
    assert_eq!(
        r.reply,
        Some(Reply::ApplePay(pb::ApplePayReply {
            status: pb::ApplePayStatus::Success as i32,
            raw_status: "STATUS_SUCCESS".to_owned(),
            payment_method_display_name: "Visa 1234".to_owned(),
            payment_method_network: "Visa".to_owned(),
            payment_method_type: "debit".to_owned(),
            transaction_identifier: "TX-42".to_owned(),
        }))
    );
    let raw = raw(r);
    assert_eq!(
        raw["data"]["payment"]["paymentToken"]["transactionIdentifier"],
        "TX-42"
    );
    assert!(
        raw["data"]["payment"]["paymentToken"]
            .get("paymentData")
            .is_none()
    );
    assert!(!r.raw_json.contains("c2VjcmV0"));
}

#[test]
fn authentication_replies_carry_no_credentials() {
    let legacy = event("auth_legacy_reply");
    let r = reply(&legacy);
    assert_eq!(
        r.reply,
        Some(Reply::Authentication(pb::AuthenticationReply {
            version: pb::AuthenticationVersion::Legacy as i32,
            status: pb::AuthenticationStatus::Authenticated as i32,
            raw_status: "authenticated".to_owned(),
            state: String::new(),
            credential_ref: String::new(),
        }))
    );
    assert!(
        !r.raw_json.contains("BHx0ZW5jcnlwdGVkLXRva2Vu"),
        "{}",
        r.raw_json
    );
    assert_eq!(raw(r)["data"]["authenticate"]["status"], "authenticated");

    let v2 = event("auth2_reply");
    let r = reply(&v2);
    assert_eq!(
        r.reply,
        Some(Reply::Authentication(pb::AuthenticationReply {
            version: pb::AuthenticationVersion::V2 as i32,
            status: pb::AuthenticationStatus::Failed as i32,
            raw_status: "failed".to_owned(),
            state: "xyz".to_owned(),
            credential_ref: String::new(),
        }))
    );
    assert!(!r.raw_json.contains("auth-code-secret"), "{}", r.raw_json);
    assert_eq!(v2.locale.unwrap().language_tag, "fr-FR");
}

#[test]
fn imessage_app_reply() {
    let e = event("imessage_app_reply");
    let r = reply(&e);
    assert_eq!(
        r.bid,
        "com.apple.messages.MSMessageExtensionBalloonPlugin:ABCDE12345:com.example.delivery.MessagesExtension"
    );
    assert_eq!(
        r.reply,
        Some(Reply::ImessageApp(pb::IMessageAppReply {
            url:
                "?name=samplepackage&deliveryDate=28-01-2017&replyMessage=WW91ciBkZWxpdmVyeQ%3D%3D"
                    .to_owned(),
            app_id: 0,
            app_name: String::new(),
        }))
    );
    assert_eq!(raw(r)["data"]["$archiver"], "NSKeyedArchiver");
}

#[test]
fn unrecognized_reply_lists_the_data_keys() {
    let e = event("unknown_reply");
    let r = reply(&e);
    assert_eq!(r.request_identifier, "77777777-bbbb-4bbb-8ccc-ddddeeeeffff");
    assert_eq!(
        r.reply,
        Some(Reply::Unrecognized(pb::UnrecognizedReply {
            data_keys: vec![
                "futureFeature".to_owned(),
                "requestIdentifier".to_owned(),
                "version".to_owned()
            ],
        }))
    );
    assert_eq!(raw(r)["data"]["futureFeature"]["x"], 1);
}

fn decoded_list_picker() -> Value {
    json!({
        "bid": BUILTIN_BID,
        "data": {
            "mspVersion": "1.0",
            "requestIdentifier": "0b9ef6f5-77a1-4f5c-a0a4-0e1d6a3f1a11",
            "replyMessage": {"title": "Selected", "alternateTitle": "Pear"},
            "listPicker": {"sections": [{"title": "Fruit", "items": [{"identifier": "2", "title": "Pear"}]}]}
        }
    })
}

#[test]
fn interactive_by_data_ref_decoded() {
    let message = fixture("idr_inbound");
    for value in [
        decoded_list_picker(),
        json!({"v": 1, "type": "interactive", "interactiveData": decoded_list_picker()}),
    ] {
        let e = to_event(
            &headers(&message),
            &message,
            vec![],
            Some(ResolvedDataRef::Decoded(value)),
        )
        .unwrap();
        let r = reply(&e);
        assert!(r.from_data_ref);
        assert_eq!(r.bid, BUILTIN_BID);
        assert_eq!(r.request_identifier, "0b9ef6f5-77a1-4f5c-a0a4-0e1d6a3f1a11");
        assert_eq!(
            raw(r),
            decoded_list_picker(),
            "raw_json is the decoded data as is"
        );
        let Some(Reply::ListPicker(l)) = &r.reply else {
            panic!("not a list picker: {:?}", r.reply)
        };
        assert_eq!(l.sections[0].items[0].title, "Pear");
    }

    // Decoded JSON that does not fit the model is kept, unrecognised, rather than lost.
    let odd = json!({"data": {"listPicker": "not an object", "requestIdentifier": 5}});
    let e = to_event(
        &headers(&message),
        &message,
        vec![],
        Some(ResolvedDataRef::Decoded(odd.clone())),
    )
    .unwrap();
    let r = reply(&e);
    assert!(r.from_data_ref);
    assert_eq!(raw(r), odd);
    assert_eq!(
        r.reply,
        Some(Reply::Unrecognized(pb::UnrecognizedReply {
            data_keys: vec!["listPicker".to_owned(), "requestIdentifier".to_owned()]
        }))
    );
}

#[test]
fn interactive_by_data_ref_failed() {
    let message = fixture("idr_inbound");
    let e = to_event(
        &headers(&message),
        &message,
        vec![],
        Some(ResolvedDataRef::Failed {
            reason: AttachmentFailureReason::DecryptionFailed,
            detail: "bad key".to_owned(),
        }),
    )
    .unwrap();
    let r = reply(&e);
    assert!(!r.from_data_ref);
    assert_eq!(r.bid, BUILTIN_BID);
    let Some(Reply::DataRefFailure(f)) = &r.reply else {
        panic!("not a data ref failure: {:?}", r.reply)
    };
    assert_eq!(f.reason, AttachmentFailureReason::DecryptionFailed as i32);
    assert_eq!(f.detail, "bad key");
    let data_ref = f.data_ref.as_ref().unwrap();
    assert_eq!(
        data_ref.url,
        "https://p45-content.icloud.com/M8A5B1C2D3E4F5/idr"
    );
    assert_eq!(data_ref.size, 12_345);
    assert_eq!(data_ref.title, "Selected");
    assert_eq!(
        raw(r)["interactiveDataRef"]["owner"],
        "MDM0NjkyMTEzNDM2NzIxNTUzMjA"
    );

    let err = to_event(&headers(&message), &message, vec![], None).unwrap_err();
    assert!(matches!(err, WireError::UnresolvedDataRef), "{err}");
}

#[test]
fn locales_become_language_tags() {
    let mut message = fixture("text_rtl");
    let e = to_event(&headers(&message), &message, vec![], None).unwrap();
    assert_eq!(
        e.locale,
        Some(pb::Locale {
            apple: "ar_SA".to_owned(),
            language_tag: "ar-SA".to_owned()
        })
    );
    message.locale = Some("not a locale!".to_owned());
    let e = to_event(&headers(&message), &message, vec![], None).unwrap();
    assert_eq!(
        e.locale,
        Some(pb::Locale {
            apple: "not a locale!".to_owned(),
            language_tag: String::new()
        })
    );
    for (apple, tag) in [
        ("en_US", Some("en-US")),
        ("ar_SA", Some("ar-SA")),
        ("EN_us", Some("en-US")),
        ("en", Some("en")),
        ("zh_Hans_CN", Some("zh-Hans-CN")),
        ("zh-hant-TW", Some("zh-Hant-TW")),
        ("es_419", Some("es-419")),
        ("en_US_POSIX", Some("en-US-posix")),
        ("de_DE@calendar=gregorian", Some("de-DE")),
        ("fr_FR.UTF-8", Some("fr-FR")),
        ("", None),
        ("e", None),
        ("en__US", None),
        ("en_USA1", None),
        ("ar_SA_", None),
        ("日本_JP", None),
    ] {
        assert_eq!(language_tag(apple).as_deref(), tag, "{apple:?}");
    }
}

#[test]
fn right_to_left_body_passes_through_byte_identical() {
    let message = fixture("text_rtl");
    let sent = message.body.clone().unwrap();
    let e = to_event(&headers(&message), &message, vec![], None).unwrap();
    let Some(Kind::Text(text)) = e.kind else {
        panic!("not text")
    };
    assert_eq!(text.body.as_bytes(), sent.as_bytes());
    assert!(text.body.starts_with('\u{200f}'));
    assert!(text.body.ends_with("  "));
}
