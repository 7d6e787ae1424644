//! Round trip of every documented JSON layout (apple-mfb-api.md §5–§8 and the device replies)
//! through the model: parse, serialise, compare as `serde_json::Value` with the input (or,
//! for legacy spellings, with the `.expected.json` file in the current spelling).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use parley_apple::model::{
    Attachment, AuthenticationStatus, BodySegment, BubbleStyle, DataRefResponse, FormPageType,
    FormTemplate, IntOrString, InteractiveKind, InteractiveReply, MerchantSessionRequest, Message,
    MessageType, PaymentGatewayRequest, PaymentGatewayResponse, PaymentStatus, PaymentUpdateKind,
    PaymentUpdateRequest, PaymentUpdateResponse, SchemaVersion, TimePickerEvent,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(format!("{name}.json"))).unwrap()
}

fn expected(name: &str) -> Value {
    let path = dir().join(format!("{name}.expected.json"));
    let bytes = if path.exists() {
        std::fs::read(path).unwrap()
    } else {
        read(name)
    };
    serde_json::from_slice(&bytes).unwrap()
}

/// Parses a message fixture, checks that it serialises back to the expected JSON and that a
/// second pass is stable, and returns it.
fn message(name: &str) -> Message {
    let parsed = Message::parse(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back: Value = serde_json::from_slice(&parsed.to_vec().unwrap()).unwrap();
    assert_eq!(back, expected(name), "{name} did not round-trip");
    let again = Message::parse(&serde_json::to_vec(&back).unwrap()).unwrap();
    assert_eq!(again, parsed, "{name}: second pass differs");
    parsed
}

/// The same for any other wire type.
fn other<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let parsed: T = serde_json::from_slice(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, expected(name), "{name} did not round-trip");
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(again, parsed, "{name}: second pass differs");
    parsed
}

const MESSAGE_FIXTURES: &[&str] = &[
    "message_text_inbound",
    "message_typing_start",
    "message_typing_end",
    "message_close",
    "message_attachments_inbound",
    "message_attachment_outbound_current",
    "message_attachment_legacy_doc",
    "message_attachment_legacy_2016",
    "message_list_picker",
    "message_list_picker_reply",
    "message_time_picker",
    "message_time_picker_reply",
    "message_quick_reply",
    "message_quick_reply_reply_index",
    "message_quick_reply_reply_identifier",
    "message_rich_link",
    "message_rich_link_ref",
    "message_form",
    "message_form_template_form",
    "message_form_reply",
    "message_apple_pay",
    "message_auth2_request",
    "message_auth_legacy_request",
    "message_auth_legacy_reply",
    "message_imessage_app",
    "message_imessage_app_reply",
    "message_idr_inbound",
    "message_interactive_ref_reuse",
    "message_unknown_fields",
    "message_unknown_type",
    "message_both_versions",
];

const OTHER_FIXTURES: &[&str] = &[
    "data_ref_response",
    "payment_gateway_request",
    "payment_gateway_response",
    "payment_method_update",
    "shipping_contact_update",
    "shipping_method_update",
    "payment_update_response",
    "payment_update_response_empty",
    "merchant_session_request",
];

#[test]
fn every_fixture_is_covered() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".expected.json"))
        .map(|n| n.trim_end_matches(".json").to_owned())
        .collect();
    let listed: BTreeSet<String> = MESSAGE_FIXTURES
        .iter()
        .chain(OTHER_FIXTURES)
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_message_fixture_round_trips() {
    for name in MESSAGE_FIXTURES {
        message(name);
    }
}

#[test]
fn envelope_fields() {
    let m = message("message_text_inbound");
    assert_eq!(m.v, Some(1));
    assert_eq!(m.kind, MessageType::Text);
    assert_eq!(m.locale.as_deref(), Some("en_US"));
    assert_eq!(m.intent.as_deref(), Some("tech_question"));
    assert_eq!(m.group.as_deref(), Some("general_support"));
    assert!(m.extra.is_empty());
    m.validate_inbound().unwrap();

    for (name, kind) in [
        ("message_typing_start", MessageType::TypingStart),
        ("message_typing_end", MessageType::TypingEnd),
        ("message_close", MessageType::Close),
    ] {
        let m = message(name);
        assert_eq!(m.kind, kind);
        assert_eq!(m.body, None);
        m.validate_inbound().unwrap();
    }
}

#[test]
fn inbound_attachments_and_body_slots() {
    let m = message("message_attachments_inbound");
    m.validate_inbound().unwrap();
    assert_eq!(m.attachments().len(), 2);
    assert_eq!(m.attachments()[0].size_bytes(), Some(67497));
    assert!(m.attachments()[1].signature_base64.is_some());
    assert_eq!(
        m.body_segments(),
        vec![
            BodySegment::Text("Here are the photos"),
            BodySegment::Attachment(0),
            BodySegment::Attachment(1)
        ]
    );
}

#[test]
fn outbound_attachment_current_set_validates() {
    let m = message("message_attachment_outbound_current");
    m.validate_outbound().unwrap();
}

#[test]
fn legacy_attachment_keys_map_to_the_current_set() {
    let doc = message("message_attachment_legacy_doc");
    let a = &doc.attachments()[0];
    assert_eq!(a.mime_type.as_deref(), Some("image/png"));
    assert_eq!(a.size.as_deref(), Some("67497"));
    assert!(a.key_is_well_formed());
    assert!(a.url.as_deref().unwrap().starts_with("https://"));
    assert_eq!(a.owner.as_deref(), Some("MDM0NjkyMTEzNDM2NzIxNTUzMjA"));
    assert!(
        a.extra.is_empty(),
        "legacy keys must not linger: {:?}",
        a.extra
    );
    doc.validate_outbound().unwrap();

    let old = message("message_attachment_legacy_2016");
    let a = &old.attachments()[0];
    assert_eq!(
        a.size.as_deref(),
        Some("20480"),
        "numeric file-size becomes a string"
    );
    assert_eq!(
        a.signature.as_deref(),
        Some("81d8a1d7a3e16f1ed04c6b1ebc9bfc1d8b0f7a6c5d")
    );
    assert!(a.extra.is_empty());
    old.validate_inbound().unwrap();
}

#[test]
fn both_spellings_present_keeps_the_legacy_one() {
    let a: Attachment = serde_json::from_value(json!({
        "mimeType": "image/png", "mime-type": "image/jpeg", "size": 1, "file-size": "1"
    }))
    .unwrap();
    assert_eq!(a.mime_type.as_deref(), Some("image/png"));
    assert_eq!(a.extra.get("mime-type"), Some(&json!("image/jpeg")));
    assert_eq!(a.extra.get("file-size"), None, "equal duplicate dropped");
    assert_eq!(a.size.as_deref(), Some("1"));
}

#[test]
fn list_picker_and_its_reply() {
    let m = message("message_list_picker");
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::ListPicker));
    let data = m.interactive_data.as_ref().unwrap();
    let payload = data.data.as_ref().unwrap();
    assert_eq!(
        payload.version,
        Some(SchemaVersion::v1_0()),
        "mspVersion read as version"
    );
    assert!(!payload.extra.contains_key("mspVersion"));
    let sections = payload
        .list_picker
        .as_ref()
        .unwrap()
        .sections
        .as_ref()
        .unwrap();
    assert_eq!(sections.len(), 2);
    assert_eq!(sections[0].multiple_selection, Some(true));
    assert_eq!(
        sections[0].items()[1].image_identifier.as_deref(),
        Some("1")
    );
    assert_eq!(
        data.received_message.as_ref().unwrap().style,
        Some(BubbleStyle::Icon)
    );
    assert_eq!(data.use_live_layout, Some(true));
    m.validate_outbound().unwrap();

    let r = message("message_list_picker_reply");
    r.validate_inbound().unwrap();
    let Some(InteractiveReply::ListPicker(sel)) = r.interactive_reply() else {
        panic!("not a list picker reply");
    };
    assert_eq!(
        sel.context.request_identifier.as_deref(),
        Some("0b9ef6f5-77a1-4f5c-a0a4-0e1d6a3f1a11")
    );
    assert_eq!(
        sel.context.session_identifier.as_deref(),
        Some("2f6f1c0e-session")
    );
    assert_eq!(
        sel.context
            .reply_message
            .as_ref()
            .unwrap()
            .alternate_title
            .as_deref(),
        Some("Apple")
    );
    assert_eq!(sel.selected.len(), 1);
    assert_eq!(sel.selected[0].section_title.as_deref(), Some("Fruit"));
    assert_eq!(sel.selected[0].item.identifier.as_deref(), Some("1"));
}

#[test]
fn time_picker_and_its_reply() {
    let m = message("message_time_picker");
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::TimePicker));
    let event: &TimePickerEvent = m
        .interactive_data
        .as_ref()
        .unwrap()
        .data
        .as_ref()
        .unwrap()
        .event
        .as_ref()
        .unwrap();
    assert_eq!(event.timezone_offset, Some(-420));
    assert_eq!(event.timeslots()[0].duration, Some(3600));
    m.validate_outbound().unwrap();

    let r = message("message_time_picker_reply");
    let Some(InteractiveReply::TimePicker(sel)) = r.interactive_reply() else {
        panic!("not a time picker reply");
    };
    assert_eq!(sel.timeslots.len(), 1);
    assert_eq!(sel.timeslots[0].identifier.as_deref(), Some("0"));
    assert_eq!(sel.timezone_offset, Some(-420));
}

#[test]
fn quick_reply_and_both_reply_shapes() {
    let m = message("message_quick_reply");
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::QuickReply));
    m.validate_outbound().unwrap();

    let by_index = message("message_quick_reply_reply_index");
    let Some(InteractiveReply::QuickReply(sel)) = by_index.interactive_reply() else {
        panic!("not a quick reply reply");
    };
    assert_eq!(sel.selected_index, Some(1));
    assert_eq!(
        sel.identifier(),
        Some("2"),
        "index resolved against the echoed items"
    );

    let by_id = message("message_quick_reply_reply_identifier");
    let Some(InteractiveReply::QuickReply(sel)) = by_id.interactive_reply() else {
        panic!("not a quick reply reply");
    };
    assert_eq!(sel.selected_index, None);
    assert_eq!(sel.identifier(), Some("3"));
}

#[test]
fn rich_link_inline_and_ref() {
    let m = message("message_rich_link");
    m.validate_outbound().unwrap();
    let link = m.rich_link_data.as_ref().unwrap();
    let assets = link.assets.as_ref().unwrap();
    assert_eq!(
        assets.image.as_ref().unwrap().mime_type.as_deref(),
        Some("image/jpeg")
    );
    assert_eq!(
        assets.video.as_ref().unwrap().url.as_deref(),
        Some("https://www.example.com/products/widget.mp4")
    );

    let r = message("message_rich_link_ref");
    r.validate_outbound().unwrap();
    assert_eq!(
        r.rich_link_data_ref.as_ref().unwrap().size,
        Some(IntOrString::Int(2048))
    );
}

#[test]
fn forms_both_templates_and_reply() {
    let m = message("message_form");
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::Form));
    m.validate_outbound().unwrap();
    let form = m
        .interactive_data
        .as_ref()
        .unwrap()
        .data
        .as_ref()
        .unwrap()
        .dynamic
        .as_ref()
        .unwrap();
    assert_eq!(form.template, Some(FormTemplate::MessageForms));
    let types: Vec<_> = form
        .pages()
        .iter()
        .map(|p| p.page_type.clone().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            FormPageType::Select,
            FormPageType::Input,
            FormPageType::DatePicker,
            FormPageType::Picker
        ]
    );
    let splash = form.data.as_ref().unwrap().splash.as_ref().unwrap();
    assert_eq!(splash.splash_text.as_deref(), Some("It takes a minute"));
    assert_eq!(
        form.pages()[1]
            .options
            .as_ref()
            .unwrap()
            .maximum_character_count,
        Some(250)
    );

    let f = message("message_form_template_form");
    f.validate_outbound().unwrap();
    assert_eq!(f.interactive_kind(), Some(InteractiveKind::Form));

    let r = message("message_form_reply");
    let Some(InteractiveReply::Form(reply)) = r.interactive_reply() else {
        panic!("not a form reply");
    };
    assert_eq!(reply.selections.len(), 2);
    let item = &reply.selections[1].items.as_ref().unwrap()[0];
    assert_eq!(item.value.as_deref(), Some("jane@example.com"));
    assert_eq!(item.item_type.as_deref(), Some("input"));
}

#[test]
fn apple_pay_message() {
    let m = message("message_apple_pay");
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::ApplePay));
    m.validate_outbound().unwrap();
    let payment = m
        .interactive_data
        .as_ref()
        .unwrap()
        .data
        .as_ref()
        .unwrap()
        .payment
        .as_ref()
        .unwrap();
    assert_eq!(
        payment.merchant_session.as_ref().unwrap().get("nonce"),
        Some(&json!("abcd1234"))
    );
    let req = payment.payment_request.as_ref().unwrap();
    assert_eq!(req.total.as_ref().unwrap().amount.as_deref(), Some("10.80"));
    assert_eq!(
        req.shipping_methods.as_ref().unwrap()[0]
            .identifier
            .as_deref(),
        Some("std")
    );
}

#[test]
fn apple_pay_callbacks_and_responses() {
    let g: PaymentGatewayRequest = other("payment_gateway_request");
    let pay = g.payment.as_ref().unwrap();
    assert_eq!(
        pay.payment_token
            .as_ref()
            .unwrap()
            .payment_method
            .as_ref()
            .unwrap()
            .network
            .as_deref(),
        Some("Visa")
    );
    assert_eq!(
        pay.billing_contact
            .as_ref()
            .unwrap()
            .extra
            .get("subLocality"),
        Some(&json!(""))
    );

    let ok: PaymentGatewayResponse = other("payment_gateway_response");
    assert_eq!(ok, PaymentGatewayResponse::success());
    assert_eq!(ok.status, Some(PaymentStatus::Success));

    let m: PaymentUpdateRequest = other("payment_method_update");
    assert_eq!(m.kind(), Some(PaymentUpdateKind::PaymentMethod));
    let c: PaymentUpdateRequest = other("shipping_contact_update");
    assert_eq!(c.kind(), Some(PaymentUpdateKind::ShippingContact));
    let s: PaymentUpdateRequest = other("shipping_method_update");
    assert_eq!(s.kind(), Some(PaymentUpdateKind::ShippingMethod));

    let r: PaymentUpdateResponse = other("payment_update_response");
    assert_eq!(
        r.new_total.as_ref().unwrap().amount.as_deref(),
        Some("19.99")
    );
    let empty: PaymentUpdateResponse = other("payment_update_response_empty");
    assert_eq!(empty, PaymentUpdateResponse::no_change());
    assert_eq!(serde_json::to_value(&empty).unwrap(), json!({}));

    let session: MerchantSessionRequest = other("merchant_session_request");
    assert_eq!(
        session,
        MerchantSessionRequest::messaging(
            "merchant.com.example.store",
            "pay.example.com",
            "Example Store",
            "https://pay.example.com/paymentGateway"
        )
    );
}

#[test]
fn authentication_requests_and_reply() {
    let a2 = message("message_auth2_request");
    assert_eq!(a2.interactive_kind(), Some(InteractiveKind::Authentication));
    a2.validate_outbound().unwrap();
    let oauth = a2
        .interactive_data
        .as_ref()
        .unwrap()
        .data
        .as_ref()
        .unwrap()
        .authenticate
        .as_ref()
        .unwrap()
        .oauth2
        .as_ref()
        .unwrap();
    assert!(oauth.is_authorization_code());
    assert_eq!(
        oauth.redirect_uri.as_deref(),
        Some("https://msp.example.com/oauth/callback")
    );

    let legacy = message("message_auth_legacy_request");
    legacy.validate_outbound().unwrap();

    let reply = message("message_auth_legacy_reply");
    let Some(InteractiveReply::Authentication(r)) = reply.interactive_reply() else {
        panic!("not an authentication reply");
    };
    assert_eq!(r.status, Some(AuthenticationStatus::Authenticated));
    assert_eq!(r.token.as_deref(), Some("BHx0ZW5jcnlwdGVkLXRva2Vu"));
}

#[test]
fn imessage_app_and_opaque_reply() {
    let m = message("message_imessage_app");
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::IMessageApp));
    m.validate_outbound().unwrap();
    assert_eq!(
        m.interactive_data.as_ref().unwrap().app_id,
        Some(IntOrString::Int(123_456_789))
    );

    let r = message("message_imessage_app_reply");
    let Some(InteractiveReply::IMessageApp(reply)) = r.interactive_reply() else {
        panic!("not an iMessage app reply");
    };
    assert!(
        reply
            .url
            .as_deref()
            .unwrap()
            .contains("deliveryDate=28-01-2017")
    );
    assert!(reply.data.unwrap().get("$objects").is_some());
}

#[test]
fn interactive_data_refs() {
    let m = message("message_idr_inbound");
    m.validate_inbound().unwrap();
    assert_eq!(
        m.interactive_reply(),
        None,
        "a reference must be fetched first"
    );
    assert_eq!(m.interactive_kind(), Some(InteractiveKind::Unknown));
    let r = m.interactive_data_ref.as_ref().unwrap();
    assert_eq!(r.size.as_ref().and_then(IntOrString::as_u64), Some(12345));

    let reuse = message("message_interactive_ref_reuse");
    reuse.validate_outbound().unwrap();
    assert_eq!(
        reuse
            .interactive_data_ref
            .as_ref()
            .unwrap()
            .data_ref_sig
            .as_deref(),
        Some("MEUCIQDexample")
    );

    let resp: DataRefResponse = other("data_ref_response");
    assert_eq!(resp.data_ref, reuse.interactive_data_ref);
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let m = message("message_unknown_fields");
    assert_eq!(
        m.extra.get("x-envelope-future"),
        Some(&json!({"nested": [1, 2, {"deep": true}]}))
    );
    let d = m.interactive_data.as_ref().unwrap();
    assert_eq!(d.extra.get("x-interactive-future"), Some(&json!("kept")));
    assert_eq!(
        d.received_message
            .as_ref()
            .unwrap()
            .extra
            .get("x-bubble-future"),
        Some(&json!(7))
    );
    let p = d.data.as_ref().unwrap();
    assert_eq!(p.extra.get("x-data-future"), Some(&Value::Null));
    assert_eq!(
        p.images.as_ref().unwrap()[0].extra.get("x-image-future"),
        Some(&json!("png"))
    );
    let lp = p.list_picker.as_ref().unwrap();
    assert_eq!(lp.extra.get("x-list-future"), Some(&json!(false)));
    let section = &lp.sections.as_ref().unwrap()[0];
    assert_eq!(section.extra.get("x-section-future"), Some(&json!(1.5)));
    assert_eq!(
        section.items()[0].extra.get("x-item-future"),
        Some(&json!([]))
    );
    assert_eq!(
        m.attachments()[0].extra.get("x-attachment-future"),
        Some(&json!("z"))
    );
}

#[test]
fn unknown_type_is_kept_and_refused_by_validation() {
    let m = message("message_unknown_type");
    assert_eq!(m.kind, MessageType::Unknown("reaction".to_owned()));
    assert!(m.extra.contains_key("reaction"));
    assert!(m.validate_inbound().is_err());
}

#[test]
fn version_and_msp_version_together() {
    let m = message("message_both_versions");
    let p = m.interactive_data.as_ref().unwrap().data.as_ref().unwrap();
    assert_eq!(p.version, Some(SchemaVersion::v1_0()));
    assert_eq!(p.extra.get("mspVersion"), Some(&json!("1.1")));
}

#[test]
fn msp_version_alone_is_written_as_version() {
    let raw = json!({"v": 1, "id": "i", "type": "interactive", "interactiveData": {
        "bid": "b", "data": {"mspVersion": "1.0", "requestIdentifier": "r"}}});
    let m = Message::parse(&serde_json::to_vec(&raw).unwrap()).unwrap();
    let out = m.to_value().unwrap();
    assert_eq!(out["interactiveData"]["data"]["version"], json!("1.0"));
    assert!(out["interactiveData"]["data"].get("mspVersion").is_none());
}

#[test]
fn numeric_version_is_kept_as_a_number() {
    let raw = json!({"v": 1, "type": "interactive", "interactiveData": {"data": {"version": 1.0}}});
    let m = Message::parse(&serde_json::to_vec(&raw).unwrap()).unwrap();
    assert_eq!(m.to_value().unwrap(), raw);
}

#[test]
fn parse_accepts_a_byte_order_mark_and_reports_bad_json() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(&read("message_typing_start"));
    assert_eq!(
        Message::parse(&bytes).unwrap().kind,
        MessageType::TypingStart
    );
    assert!(matches!(
        Message::parse(b"{\"v\":1"),
        Err(parley_apple::ModelError::Json(_))
    ));
    assert!(
        matches!(
            Message::parse(b"{\"v\":1,\"id\":\"x\"}"),
            Err(parley_apple::ModelError::Json(_))
        ),
        "type is required to parse"
    );
}
