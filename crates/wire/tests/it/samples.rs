//! One valid sample event per outbound kind, shared by the tests.

use parley_apple::model::Attachment;
use parley_proto::v1::{self as pb, OutboundKind, OutboundMessage, outbound_message::Kind};
use prost_types::Timestamp;

pub(crate) const BUSINESS: &str = "a884eddf-1b2c-4d3e-9f00-112233445566";
pub(crate) const CUSTOMER: &str = "urn:mbid:AQAAY8y2cX0Example";
pub(crate) const APPLE_ID: &str = "6d4f0b7a-0000-4000-8000-000000000001";
pub(crate) const CUSTOM_BID: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:ABCDE12345:com.example.delivery.MessagesExtension";

/// 2022-07-10T17:00:00Z.
pub(crate) const SLOT_START: i64 = 1_657_472_400;

pub(crate) fn event(kind: Kind) -> OutboundMessage {
    OutboundMessage {
        meta: Some(pb::EventMeta {
            event_id: "bot-0123456789abcdef0123456789abcdef".to_owned(),
            ..pb::EventMeta::default()
        }),
        apple_message_id: APPLE_ID.to_owned(),
        kind: Some(kind),
        ..OutboundMessage::default()
    }
}

pub(crate) fn common(request_identifier: &str) -> pb::InteractiveCommon {
    pb::InteractiveCommon {
        request_identifier: request_identifier.to_owned(),
        received_message: Some(pb::BubbleLayout {
            title: "Pick a fruit".to_owned(),
            subtitle: "Fresh today".to_owned(),
            style: pb::BubbleStyle::Large as i32,
            image_identifier: "0".to_owned(),
            ..pb::BubbleLayout::default()
        }),
        reply_message: Some(pb::BubbleLayout {
            title: "Your pick".to_owned(),
            style: pb::BubbleStyle::Small as i32,
            ..pb::BubbleLayout::default()
        }),
        images: vec![pb::InteractiveImage {
            identifier: "0".to_owned(),
            mime_type: "image/png".to_owned(),
            source: Some(pb::interactive_image::Source::Data(vec![
                0x89, b'P', b'N', b'G',
            ])),
        }],
        ..pb::InteractiveCommon::default()
    }
}

pub(crate) fn attachment_ref(name: &str, mime: &str) -> pb::AttachmentRef {
    pb::AttachmentRef {
        blob: Some(pb::BlobRef {
            store: "fs".to_owned(),
            key: format!("k/{name}"),
            sha256: "00".repeat(32),
            size_bytes: 10,
        }),
        mime_type: mime.to_owned(),
        size_bytes: 10,
        name: name.to_owned(),
    }
}

pub(crate) fn uploaded(name: &str, mime: &str) -> Attachment {
    Attachment::new(name, mime, 26).with_upload(
        "https://p45-content.icloud.com/M8A5/abc",
        "MDM0NjkyMTEzNDM2NzIxNTUzMjA",
        format!("00{}", "ab".repeat(32)),
        "AQIDBAUGBwgJCgsMDQ4PEBESExQ=",
    )
}

pub(crate) fn text(body: &str, attachments: usize) -> OutboundMessage {
    event(Kind::Text(pb::OutboundText {
        body: body.to_owned(),
        attachments: (0..attachments)
            .map(|i| attachment_ref(&format!("f{i}.png"), "image/png"))
            .collect(),
    }))
}

pub(crate) fn rich_link() -> OutboundMessage {
    event(Kind::RichLink(pb::RichLink {
        url: "https://example.com/order/42".to_owned(),
        title: "Your order".to_owned(),
        image: Some(pb::RichLinkImage {
            mime_type: "image/jpeg".to_owned(),
            source: Some(pb::rich_link_image::Source::Data(b"jpeg-bytes".to_vec())),
        }),
        video: None,
    }))
}

pub(crate) fn quick_reply(request_identifier: &str) -> OutboundMessage {
    event(Kind::QuickReply(pb::QuickReplyRequest {
        common: Some(pb::InteractiveCommon {
            request_identifier: request_identifier.to_owned(),
            ..pb::InteractiveCommon::default()
        }),
        summary_text: "What can I help you with?".to_owned(),
        items: vec![
            pb::QuickReplyItem {
                identifier: "1".to_owned(),
                title: "Watch our video".to_owned(),
            },
            pb::QuickReplyItem {
                identifier: "2".to_owned(),
                title: "Talk to an agent".to_owned(),
            },
        ],
    }))
}

pub(crate) fn list_item(identifier: &str, title: &str) -> pb::ListPickerItem {
    pb::ListPickerItem {
        identifier: identifier.to_owned(),
        title: title.to_owned(),
        ..pb::ListPickerItem::default()
    }
}

pub(crate) fn list_picker() -> OutboundMessage {
    event(Kind::ListPicker(pb::ListPickerRequest {
        common: Some(common("0b9ef6f5-77a1-4f5c-a0a4-0e1d6a3f1a11")),
        sections: vec![
            pb::ListPickerSection {
                title: "Fruit".to_owned(),
                multiple_selection: true,
                items: vec![
                    pb::ListPickerItem {
                        subtitle: "Red and crunchy".to_owned(),
                        image_identifier: "0".to_owned(),
                        ..list_item("1", "Apple")
                    },
                    list_item("2", "Pear"),
                ],
                ..pb::ListPickerSection::default()
            },
            pb::ListPickerSection {
                title: "Vegetables".to_owned(),
                items: vec![list_item("3", "Carrot")],
                ..pb::ListPickerSection::default()
            },
        ],
    }))
}

pub(crate) fn time_picker() -> OutboundMessage {
    event(Kind::TimePicker(pb::TimePickerRequest {
        common: Some(common("9f1ab8f4-2b5e-4c0e-8f0a-44c1c6a2b2b2")),
        event: Some(pb::TimePickerEvent {
            identifier: "1".to_owned(),
            title: "Store visit".to_owned(),
            timezone_offset_minutes: Some(-420),
            timeslots: vec![
                pb::TimeSlot {
                    identifier: "0".to_owned(),
                    start_time: Some(Timestamp {
                        seconds: SLOT_START,
                        nanos: 0,
                    }),
                    duration_seconds: 3_600,
                },
                pb::TimeSlot {
                    identifier: "1".to_owned(),
                    start_time: Some(Timestamp {
                        seconds: SLOT_START + 7_200,
                        nanos: 0,
                    }),
                    duration_seconds: 1_800,
                },
            ],
        }),
    }))
}

pub(crate) fn form() -> OutboundMessage {
    event(Kind::Form(pb::FormRequest {
        common: Some(common("f3e2d1c0-aaaa-4bbb-8ccc-ddddeeeeffff")),
        splash: Some(pb::FormSplash {
            header: "Sign up".to_owned(),
            text: "Two questions".to_owned(),
            button_title: "Continue".to_owned(),
            image_identifier: "0".to_owned(),
        }),
        show_summary: true,
        pages: vec![
            pb::FormPage {
                page_identifier: "0".to_owned(),
                r#type: pb::FormPageType::Select as i32,
                title: "Plan".to_owned(),
                next_page_identifier: "1".to_owned(),
                items: vec![
                    pb::FormItem {
                        identifier: "001".to_owned(),
                        title: "Basic".to_owned(),
                        value: "basic".to_owned(),
                        ..pb::FormItem::default()
                    },
                    pb::FormItem {
                        identifier: "002".to_owned(),
                        title: "Pro".to_owned(),
                        value: "pro".to_owned(),
                        ..pb::FormItem::default()
                    },
                ],
                ..pb::FormPage::default()
            },
            pb::FormPage {
                page_identifier: "1".to_owned(),
                r#type: pb::FormPageType::Input as i32,
                title: "Email".to_owned(),
                submit_form: true,
                options: Some(pb::FormPageOptions {
                    required: true,
                    input_type: pb::FormInputType::SingleLine as i32,
                    keyboard_type: "emailAddress".to_owned(),
                    maximum_character_count: 250,
                    placeholder: "you@example.com".to_owned(),
                    ..pb::FormPageOptions::default()
                }),
                ..pb::FormPage::default()
            },
        ],
        ..pb::FormRequest::default()
    }))
}

pub(crate) fn apple_pay() -> OutboundMessage {
    let item = |label: &str, amount: &str| pb::ApplePayLineItem {
        label: label.to_owned(),
        amount: amount.to_owned(),
        r#type: pb::ApplePayLineItemType::Final as i32,
    };
    event(Kind::ApplePay(pb::ApplePayRequest {
        common: Some(common("a1b2c3d4-aaaa-4bbb-8ccc-ddddeeeeffff")),
        payment_request: Some(pb::ApplePayPaymentRequest {
            line_items: vec![item("Shirt", "10.00")],
            total: Some(item("Example Store", "10.00")),
            merchant: Some(pb::ApplePayMerchant {
                merchant_identifier: "merchant.com.example".to_owned(),
                supported_networks: vec!["visa".to_owned(), "masterCard".to_owned()],
                merchant_capabilities: vec!["supports3DS".to_owned()],
            }),
            merchant_name: "Example Store".to_owned(),
            country_code: "US".to_owned(),
            currency_code: "USD".to_owned(),
            ..pb::ApplePayPaymentRequest::default()
        }),
        merchant_session_json:
            r#"{"epochTimestamp": 1, "merchantSessionIdentifier": "SSH1", "signature": "abc"}"#
                .to_owned(),
        endpoints: Some(pb::ApplePayEndpoints {
            payment_gateway_url: "https://pay.example.com/gateway".to_owned(),
            fallback_url: "https://pay.example.com/fallback".to_owned(),
            ..pb::ApplePayEndpoints::default()
        }),
    }))
}

pub(crate) fn authentication(version: pb::AuthenticationVersion) -> OutboundMessage {
    let legacy = version == pb::AuthenticationVersion::Legacy;
    event(Kind::Authentication(pb::AuthenticationRequest {
        common: Some(common("4d5e6f70-aaaa-4bbb-8ccc-ddddeeeeffff")),
        version: version as i32,
        response_type: if legacy {
            "token".to_owned()
        } else {
            String::new()
        },
        scope: vec!["profile".to_owned(), "orders".to_owned()],
        state: "xyz".to_owned(),
        redirect_uri: if legacy {
            String::new()
        } else {
            "https://parley.example.com/oauth/callback".to_owned()
        },
    }))
}

pub(crate) fn imessage_app() -> OutboundMessage {
    event(Kind::ImessageApp(pb::IMessageAppMessage {
        common: Some(pb::InteractiveCommon {
            received_message: Some(pb::BubbleLayout {
                title: "Your package".to_owned(),
                ..pb::BubbleLayout::default()
            }),
            use_live_layout: Some(false),
            ..pb::InteractiveCommon::default()
        }),
        bid: CUSTOM_BID.to_owned(),
        app_id: 123_456_789,
        app_name: "Package Delivery".to_owned(),
        app_icon: Some(pb::InteractiveImage {
            identifier: "icon".to_owned(),
            mime_type: "image/png".to_owned(),
            source: Some(pb::interactive_image::Source::Data(b"icon".to_vec())),
        }),
        url: "?name=samplepackage&deliveryDate=27-01-2017".to_owned(),
    }))
}

pub(crate) fn data_ref() -> OutboundMessage {
    event(Kind::InteractiveDataRef(pb::InteractiveDataRefMessage {
        data_ref: Some(pb::InteractiveDataRef {
            bid: "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension".to_owned(),
            url: "https://p45-content.icloud.com/M8A5/ref".to_owned(),
            owner: "MDM0NjkyMTEzNDM2NzIxNTUzMjA".to_owned(),
            size: 12_345,
            signature: "81d8a1d7".to_owned(),
            title: "Pick a fruit".to_owned(),
            data_ref_sig: "sig-1".to_owned(),
            ..pb::InteractiveDataRef::default()
        }),
    }))
}

pub(crate) fn raw_interactive(json: &str, required: Vec<pb::Capability>) -> OutboundMessage {
    event(Kind::RawInteractive(pb::RawInteractive {
        interactive_data_json: json.to_owned(),
        required_capabilities: required.into_iter().map(|c| c as i32).collect(),
    }))
}

pub(crate) const RAW_QUICK_REPLY: &str = r#"{
  "bid": "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension",
  "data": {"version": "1.0", "requestIdentifier": "r-1",
           "quick-reply": {"summaryText": "Yes?", "items": [{"identifier": "y", "title": "Yes"}, {"identifier": "n", "title": "No"}]},
           "futureKey": true}
}"#;

/// One sample per outbound kind, with its expected kind, and the attachments to pass.
pub(crate) fn all() -> Vec<(OutboundKind, OutboundMessage, Vec<Attachment>)> {
    vec![
        (
            OutboundKind::Text,
            text("Receipts attached", 2),
            vec![
                uploaded("f0.png", "image/png"),
                uploaded("f1.png", "image/png"),
            ],
        ),
        (OutboundKind::RichLink, rich_link(), vec![]),
        (OutboundKind::QuickReply, quick_reply(""), vec![]),
        (OutboundKind::ListPicker, list_picker(), vec![]),
        (OutboundKind::TimePicker, time_picker(), vec![]),
        (OutboundKind::Form, form(), vec![]),
        (OutboundKind::ApplePay, apple_pay(), vec![]),
        (
            OutboundKind::Authentication,
            authentication(pb::AuthenticationVersion::V2),
            vec![],
        ),
        (OutboundKind::ImessageApp, imessage_app(), vec![]),
        (
            OutboundKind::TypingStart,
            event(Kind::TypingStart(pb::TypingStart {})),
            vec![],
        ),
        (
            OutboundKind::TypingEnd,
            event(Kind::TypingEnd(pb::TypingEnd {})),
            vec![],
        ),
        (OutboundKind::InteractiveDataRef, data_ref(), vec![]),
        (
            OutboundKind::RawInteractive,
            raw_interactive(RAW_QUICK_REPLY, vec![pb::Capability::QuickReply]),
            vec![],
        ),
    ]
}
