//! One test per validation rule, inbound and outbound, each asserting the specific error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_apple::ModelError;
use parley_apple::model::{
    ApplePayConfig, Attachment, Form, FormItem, FormPage, FormPageType, IntOrString,
    InteractiveData, InteractiveDataRef, LineItem, ListPickerBuilder, ListPickerItem,
    ListPickerSection, MAX_ATTACHMENT_BYTES, MAX_IMESSAGE_APP_URL_BYTES, MAX_RICH_LINK_IMAGE_BYTES,
    Message, MessageType, OAuth2Request, Payment, PaymentEndpoints, PaymentRequest,
    QuickReplyBuilder, RichLinkData, TimePickerBuilder, Timeslot,
};

const BIZ: &str = "a884eddf-1b2c-4d3e-9f00-112233445566";
const USER: &str = "urn:mbid:AQAAY8y2cX0Example";
const KEY: &str = "00A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90";

fn missing(err: ModelError, field: &str) {
    match err {
        ModelError::MissingField { field: f } => assert_eq!(f, field),
        other => panic!("expected MissingField({field}), got {other:?}"),
    }
}

fn empty(err: ModelError, field: &str) {
    match err {
        ModelError::EmptyField { field: f } => assert_eq!(f, field),
        other => panic!("expected EmptyField({field}), got {other:?}"),
    }
}

fn uploaded(name: &str) -> Attachment {
    Attachment::new(name, "image/png", 1234).with_upload(
        "https://p45-content.icloud.com/M8/x",
        "owner",
        KEY,
        "gZ2hh2Hg2d0E0mi5vv0dixj6tTE=",
    )
}

fn inbound_attachment() -> Attachment {
    Attachment {
        name: None,
        mime_type: None,
        signature: Some("81d8a1".to_owned()),
        signature_base64: None,
        ..uploaded("x")
    }
}

fn inbound_text() -> Message {
    Message::text("id-1", USER, BIZ, "hello")
}

fn list_picker() -> Message {
    let data = ListPickerBuilder::new("req-1")
        .section(
            ListPickerSection::new("Fruit")
                .with_multiple_selection(true)
                .with_item(ListPickerItem::new("1", "Apple"))
                .with_item(ListPickerItem::new("2", "Pear")),
        )
        .section(ListPickerSection::new("Veg").with_item(ListPickerItem::new("3", "Carrot")))
        .build();
    Message::interactive("id-2", BIZ, USER, data)
}

fn time_picker() -> Message {
    let data = TimePickerBuilder::new("req-2", "Appointment")
        .timezone_offset(-420)
        .timeslot(Timeslot::new("0", "2022-07-10T17:00+0000", 3600))
        .timeslot(Timeslot::new("1", "2022-07-10T18:00+0000", 1800))
        .build();
    Message::interactive("id-3", BIZ, USER, data)
}

fn quick_reply() -> Message {
    let data = QuickReplyBuilder::new("req-3", "How can we help?")
        .item("1", "Order status")
        .item("2", "Agent")
        .build();
    Message::interactive("id-4", BIZ, USER, data)
}

fn form() -> Message {
    let mut first = FormPage::new("0", FormPageType::Select, "Plan");
    first.next_page_identifier = Some("1".to_owned());
    first.items = Some(vec![FormItem {
        identifier: Some("a".to_owned()),
        title: Some("Basic".to_owned()),
        next_page_identifier: Some("1".to_owned()),
        ..FormItem::default()
    }]);
    let mut last = FormPage::new("1", FormPageType::Input, "Email");
    last.submit_form = Some(true);
    Message::interactive(
        "id-5",
        BIZ,
        USER,
        InteractiveData::form("req-4", Form::message_forms(vec![first, last])),
    )
}

fn apple_pay() -> Message {
    let payment = Payment {
        payment_request: Some(PaymentRequest {
            line_items: Some(vec![LineItem::new("Widget", "10.00")]),
            total: Some(LineItem::new("Store", "10.00")),
            apple_pay: Some(ApplePayConfig {
                merchant_identifier: Some("merchant.com.example".to_owned()),
                supported_networks: Some(vec!["visa".to_owned()]),
                merchant_capabilities: Some(vec!["supports3DS".to_owned()]),
                ..ApplePayConfig::default()
            }),
            merchant_name: Some("Store".to_owned()),
            country_code: Some("US".to_owned()),
            currency_code: Some("USD".to_owned()),
            ..PaymentRequest::default()
        }),
        merchant_session: Some(serde_json::Map::new()),
        endpoints: Some(PaymentEndpoints {
            payment_gateway_url: Some("https://pay.example.com/gw".to_owned()),
            ..PaymentEndpoints::default()
        }),
        ..Payment::default()
    };
    Message::interactive(
        "id-6",
        BIZ,
        USER,
        InteractiveData::apple_pay("req-5", payment),
    )
}

fn auth2() -> Message {
    let oauth = OAuth2Request::authorization_code(
        vec!["email".to_owned()],
        "state-1",
        "https://msp.example.com/cb",
    );
    Message::interactive(
        "id-7",
        BIZ,
        USER,
        InteractiveData::authentication("req-6", oauth),
    )
}

fn auth_legacy() -> Message {
    let oauth = OAuth2Request::legacy("token", vec!["email".to_owned()], "s", "secret", "BAAA");
    Message::interactive(
        "id-8",
        BIZ,
        USER,
        InteractiveData::authentication("req-7", oauth),
    )
}

fn imessage_app() -> Message {
    Message::interactive(
        "id-9",
        BIZ,
        USER,
        InteractiveData::imessage_app(
            "com.apple.messages.MSMessageExtensionBalloonPlugin:ABCDE12345:com.example.ext",
            "?a=1",
        ),
    )
}

fn rich_link() -> Message {
    Message::rich_link(
        "id-10",
        BIZ,
        USER,
        RichLinkData::new("https://www.example.com/x", "Example").with_image("AAAA", "image/png"),
    )
}

fn attachments_msg(n: usize) -> Message {
    let atts = (0..n).map(|i| uploaded(&format!("f{i}.png"))).collect();
    Message::text_with_attachments("id-11", BIZ, USER, "files: ", atts)
}

fn data_ref() -> InteractiveDataRef {
    InteractiveDataRef {
        bid: Some("com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension".to_owned()),
        url: Some("https://p45-content.icloud.com/idr".to_owned()),
        owner: Some("owner".to_owned()),
        size: Some(IntOrString::Int(12345)),
        key: Some(KEY.to_owned()),
        signature: Some("81d8".to_owned()),
        ..InteractiveDataRef::default()
    }
}

/// `data` of an interactive message, mutably.
fn payload(m: &mut Message) -> &mut parley_apple::model::InteractivePayload {
    m.interactive_data.as_mut().unwrap().data.as_mut().unwrap()
}

// ---------------------------------------------------------------- baselines

#[test]
fn baselines_are_valid() {
    inbound_text().validate_inbound().unwrap();
    for m in [
        inbound_text(),
        list_picker(),
        time_picker(),
        quick_reply(),
        form(),
        apple_pay(),
        auth2(),
        auth_legacy(),
        imessage_app(),
        rich_link(),
        attachments_msg(2),
        Message::typing_start("t", BIZ, USER),
        Message::typing_end("t", BIZ, USER),
        Message::interactive_ref("r", BIZ, USER, data_ref()),
    ] {
        m.validate_outbound()
            .unwrap_or_else(|e| panic!("{:?}: {e}", m.kind));
    }
    let mut m = inbound_text();
    m.attachments = Some(vec![inbound_attachment()]);
    m.validate_inbound().unwrap();
    let mut m = Message::interactive_ref("r", USER, BIZ, data_ref());
    m.source_id = None;
    m.validate_inbound().unwrap();
}

// ---------------------------------------------------------------- inbound

#[test]
fn inbound_v_missing() {
    let mut m = inbound_text();
    m.v = None;
    missing(m.validate_inbound().unwrap_err(), "v");
}

#[test]
fn inbound_v_not_one() {
    let mut m = inbound_text();
    m.v = Some(2);
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::UnsupportedVersion { found: 2 })
    ));
}

#[test]
fn inbound_id_missing() {
    let mut m = inbound_text();
    m.id = None;
    missing(m.validate_inbound().unwrap_err(), "id");
}

#[test]
fn inbound_id_empty() {
    let mut m = inbound_text();
    m.id = Some("  ".to_owned());
    empty(m.validate_inbound().unwrap_err(), "id");
}

#[test]
fn inbound_unknown_type() {
    let mut m = inbound_text();
    m.kind = MessageType::from_wire("reaction");
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::UnknownType { found }) if found == "reaction"
    ));
}

#[test]
fn inbound_text_without_body() {
    let mut m = inbound_text();
    m.body = None;
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::TextWithoutBody)
    ));
}

#[test]
fn inbound_tolerates_empty_body_missing_ids_and_extra_placeholders() {
    let mut m = inbound_text();
    m.body = Some(String::new());
    m.source_id = None;
    m.destination_id = None;
    m.validate_inbound().unwrap();
    // Two attachments, no placeholders: Apple's own doing, not refused inbound.
    m.attachments = Some(vec![inbound_attachment(), inbound_attachment()]);
    m.validate_inbound().unwrap();
}

#[test]
fn inbound_interactive_without_data() {
    let mut m = list_picker();
    m.interactive_data = None;
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::InteractiveWithoutData)
    ));
}

#[test]
fn inbound_rich_link_without_data() {
    let mut m = rich_link();
    m.rich_link_data = None;
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::RichLinkWithoutData)
    ));
}

#[test]
fn inbound_attachment_missing_fields() {
    type Clear = fn(&mut Attachment);
    let cases: [(&str, Clear); 3] = [
        ("url", |a| a.url = None),
        ("owner", |a| a.owner = None),
        ("key", |a| a.key = None),
    ];
    for (field, clear) in cases {
        let mut a = inbound_attachment();
        clear(&mut a);
        let mut m = inbound_text();
        m.attachments = Some(vec![inbound_attachment(), a]);
        match m.validate_inbound() {
            Err(ModelError::AttachmentMissingField { index: 1, field: f }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn inbound_attachment_without_any_signature() {
    let mut a = inbound_attachment();
    a.signature = None;
    let mut m = inbound_text();
    m.attachments = Some(vec![a.clone()]);
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::AttachmentMissingField {
            index: 0,
            field: "signature"
        })
    ));
    // Either spelling is enough.
    a.signature_base64 = Some("AQID".to_owned());
    m.attachments = Some(vec![a]);
    m.validate_inbound().unwrap();
}

#[test]
fn inbound_attachment_bad_key() {
    let mut a = inbound_attachment();
    a.key = Some("01".to_owned() + &KEY[2..]);
    let mut m = inbound_text();
    m.attachments = Some(vec![a]);
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::AttachmentBadKey { index: 0 })
    ));
}

#[test]
fn inbound_attachment_bad_size() {
    let mut a = inbound_attachment();
    a.size = Some("12kB".to_owned());
    let mut m = inbound_text();
    m.attachments = Some(vec![a]);
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::AttachmentBadSize { index: 0, value }) if value == "12kB"
    ));
}

#[test]
fn inbound_data_ref_missing_fields() {
    type Clear = fn(&mut InteractiveDataRef);
    let cases: [(&str, Clear); 5] = [
        ("interactiveDataRef.bid", |r| r.bid = None),
        ("interactiveDataRef.url", |r| r.url = None),
        ("interactiveDataRef.owner", |r| r.owner = None),
        ("interactiveDataRef.key", |r| r.key = None),
        ("interactiveDataRef.signature", |r| r.signature = None),
    ];
    for (field, clear) in cases {
        let mut r = data_ref();
        clear(&mut r);
        let m = Message::interactive_ref("r", USER, BIZ, r);
        missing(m.validate_inbound().unwrap_err(), field);
    }
}

#[test]
fn inbound_data_ref_bad_size() {
    let mut r = data_ref();
    r.size = Some(IntOrString::Text("big".to_owned()));
    let m = Message::interactive_ref("r", USER, BIZ, r);
    assert!(matches!(
        m.validate_inbound(),
        Err(ModelError::BadRefSize {
            field: "interactiveDataRef.size",
            ..
        })
    ));
    let mut r = data_ref();
    r.size = Some(IntOrString::Text("12345".to_owned()));
    Message::interactive_ref("r", USER, BIZ, r)
        .validate_inbound()
        .unwrap();
}

// ---------------------------------------------------------------- outbound: envelope

#[test]
fn outbound_v_not_one() {
    let mut m = quick_reply();
    m.v = Some(0);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::UnsupportedVersion { found: 0 })
    ));
}

#[test]
fn outbound_id_missing() {
    let mut m = quick_reply();
    m.id = None;
    missing(m.validate_outbound().unwrap_err(), "id");
}

#[test]
fn outbound_source_id_missing() {
    let mut m = quick_reply();
    m.source_id = None;
    missing(m.validate_outbound().unwrap_err(), "sourceId");
}

#[test]
fn outbound_destination_id_empty() {
    let mut m = quick_reply();
    m.destination_id = Some(String::new());
    empty(m.validate_outbound().unwrap_err(), "destinationId");
}

#[test]
fn outbound_close_is_refused() {
    let m = Message::envelope(MessageType::Close, "c", BIZ, USER);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::CloseFromMsp)
    ));
}

#[test]
fn outbound_unknown_type() {
    let m = Message::envelope(MessageType::from_wire("poll"), "c", BIZ, USER);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::UnknownType { .. })
    ));
}

#[test]
fn outbound_text_without_body() {
    let mut m = Message::text("t", BIZ, USER, "x");
    m.body = None;
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::TextWithoutBody)
    ));
}

#[test]
fn outbound_text_with_empty_body() {
    let m = Message::text("t", BIZ, USER, "");
    empty(m.validate_outbound().unwrap_err(), "body");
}

// ---------------------------------------------------------------- outbound: attachments

#[test]
fn outbound_attachment_dictionary_must_be_complete() {
    type Clear = fn(&mut Attachment);
    let cases: [(&str, Clear); 7] = [
        ("name", |a| a.name = None),
        ("mimeType", |a| a.mime_type = None),
        ("size", |a| a.size = None),
        ("url", |a| a.url = None),
        ("owner", |a| a.owner = None),
        ("key", |a| a.key = None),
        ("signature-base64", |a| a.signature_base64 = None),
    ];
    for (field, clear) in cases {
        let mut m = attachments_msg(2);
        clear(&mut m.attachments.as_mut().unwrap()[1]);
        match m.validate_outbound() {
            Err(ModelError::AttachmentMissingField { index: 1, field: f }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn outbound_attachment_bad_size() {
    let mut m = attachments_msg(1);
    m.attachments.as_mut().unwrap()[0].size = Some("-1".to_owned());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::AttachmentBadSize { index: 0, .. })
    ));
}

#[test]
fn outbound_attachment_too_large() {
    let mut m = attachments_msg(1);
    m.attachments.as_mut().unwrap()[0].size = Some((MAX_ATTACHMENT_BYTES + 1).to_string());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::AttachmentTooLarge { index: 0, .. })
    ));
    m.attachments.as_mut().unwrap()[0].size = Some(MAX_ATTACHMENT_BYTES.to_string());
    m.validate_outbound().unwrap();
}

#[test]
fn outbound_attachment_bad_key() {
    let mut m = attachments_msg(1);
    m.attachments.as_mut().unwrap()[0].key = Some(KEY[..64].to_owned());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::AttachmentBadKey { index: 0 })
    ));
    // Lowercase hex is fine.
    m.attachments.as_mut().unwrap()[0].key = Some(KEY.to_ascii_lowercase());
    m.validate_outbound().unwrap();
}

#[test]
fn outbound_fewer_placeholders_than_attachments() {
    let mut m = attachments_msg(2);
    m.body = Some("files: \u{FFFC}".to_owned());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::AttachmentPlaceholderMismatch {
            placeholders: 1,
            attachments: 2
        })
    ));
    m.body = Some("no placeholders".to_owned());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::AttachmentPlaceholderMismatch {
            placeholders: 0,
            attachments: 2
        })
    ));
}

#[test]
fn outbound_extra_placeholders_are_ignored_like_apple_does() {
    let mut m = attachments_msg(1);
    m.body = Some("\u{FFFC}\u{FFFC}\u{FFFC}".to_owned());
    m.validate_outbound().unwrap();
}

// ---------------------------------------------------------------- outbound: interactive

#[test]
fn outbound_interactive_without_data() {
    let mut m = quick_reply();
    m.interactive_data = None;
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::InteractiveWithoutData)
    ));
}

#[test]
fn outbound_interactive_bid_missing() {
    let mut m = quick_reply();
    m.interactive_data.as_mut().unwrap().bid = None;
    missing(m.validate_outbound().unwrap_err(), "interactiveData.bid");
}

#[test]
fn outbound_builtin_without_data() {
    let mut m = quick_reply();
    m.interactive_data.as_mut().unwrap().data = None;
    missing(m.validate_outbound().unwrap_err(), "interactiveData.data");
}

#[test]
fn outbound_version_missing() {
    let mut m = quick_reply();
    payload(&mut m).version = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.version",
    );
}

#[test]
fn outbound_request_identifier_missing() {
    let mut m = quick_reply();
    payload(&mut m).request_identifier = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.requestIdentifier",
    );
}

#[test]
fn outbound_request_identifier_empty() {
    let mut m = quick_reply();
    payload(&mut m).request_identifier = Some(String::new());
    empty(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.requestIdentifier",
    );
}

#[test]
fn outbound_no_feature_key() {
    let mut m = quick_reply();
    payload(&mut m).quick_reply = None;
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::NoInteractiveFeature)
    ));
}

#[test]
fn outbound_list_picker_without_sections() {
    let mut m = list_picker();
    payload(&mut m).list_picker.as_mut().unwrap().sections = Some(vec![]);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::ListPickerWithoutSections)
    ));
    payload(&mut m).list_picker.as_mut().unwrap().sections = None;
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::ListPickerWithoutSections)
    ));
}

#[test]
fn outbound_list_section_without_items() {
    let mut m = list_picker();
    payload(&mut m)
        .list_picker
        .as_mut()
        .unwrap()
        .sections
        .as_mut()
        .unwrap()[1]
        .items = Some(vec![]);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::ListSectionWithoutItems { section: 1 })
    ));
}

#[test]
fn outbound_list_item_without_identifier() {
    let mut m = list_picker();
    payload(&mut m)
        .list_picker
        .as_mut()
        .unwrap()
        .sections
        .as_mut()
        .unwrap()[0]
        .items
        .as_mut()
        .unwrap()[1]
        .identifier = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.listPicker.sections[0].items[1].identifier",
    );
}

#[test]
fn outbound_time_picker_without_timeslots() {
    let mut m = time_picker();
    payload(&mut m).event.as_mut().unwrap().timeslots = Some(vec![]);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::TimePickerWithoutTimeslots)
    ));
}

#[test]
fn outbound_timeslot_duration_must_be_positive() {
    for duration in [Some(0), Some(-60), None] {
        let mut m = time_picker();
        payload(&mut m)
            .event
            .as_mut()
            .unwrap()
            .timeslots
            .as_mut()
            .unwrap()[1]
            .duration = duration;
        match m.validate_outbound() {
            Err(ModelError::InvalidTimeslotDuration {
                index: 1,
                duration: d,
            }) => {
                assert_eq!(d, duration);
            }
            other => panic!("{duration:?}: {other:?}"),
        }
    }
}

#[test]
fn outbound_timeslot_without_start_time() {
    let mut m = time_picker();
    payload(&mut m)
        .event
        .as_mut()
        .unwrap()
        .timeslots
        .as_mut()
        .unwrap()[0]
        .start_time = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.event.timeslots[0].startTime",
    );
}

#[test]
fn outbound_quick_reply_without_items() {
    let mut m = quick_reply();
    payload(&mut m).quick_reply.as_mut().unwrap().items = Some(vec![]);
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::QuickReplyWithoutItems)
    ));
}

#[test]
fn outbound_quick_reply_item_without_title() {
    let mut m = quick_reply();
    payload(&mut m)
        .quick_reply
        .as_mut()
        .unwrap()
        .items
        .as_mut()
        .unwrap()[0]
        .title = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.quick-reply.items[0].title",
    );
}

fn form_pages(m: &mut Message) -> &mut Vec<FormPage> {
    payload(m)
        .dynamic
        .as_mut()
        .unwrap()
        .data
        .as_mut()
        .unwrap()
        .pages
        .as_mut()
        .unwrap()
}

#[test]
fn outbound_form_without_pages() {
    let mut m = form();
    form_pages(&mut m).clear();
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::FormWithoutPages)
    ));
}

#[test]
fn outbound_form_page_without_identifier() {
    let mut m = form();
    form_pages(&mut m)[1].page_identifier = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.dynamic.data.pages[1].pageIdentifier",
    );
}

#[test]
fn outbound_form_page_identifier_too_long() {
    let mut m = form();
    let nineteen = "p".repeat(19);
    form_pages(&mut m)[1].page_identifier = Some(nineteen.clone());
    form_pages(&mut m)[0].next_page_identifier = Some(nineteen.clone());
    form_pages(&mut m)[0].items.as_mut().unwrap()[0].next_page_identifier = Some(nineteen);
    m.validate_outbound().unwrap();
    form_pages(&mut m)[1].page_identifier = Some("é".repeat(20));
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::FormPageIdentifierTooLong { len: 20, .. })
    ));
}

#[test]
fn outbound_form_unknown_start_page() {
    let mut m = form();
    payload(&mut m)
        .dynamic
        .as_mut()
        .unwrap()
        .data
        .as_mut()
        .unwrap()
        .start_page_identifier = Some("9".to_owned());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::FormUnknownPage { field, identifier })
            if field.ends_with("startPageIdentifier") && identifier == "9"
    ));
}

#[test]
fn outbound_form_unknown_next_page() {
    let mut m = form();
    form_pages(&mut m)[0].items.as_mut().unwrap()[0].next_page_identifier = Some("x".to_owned());
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::FormUnknownPage { field, .. })
            if field == "interactiveData.data.dynamic.data.pages[0].items[0].nextPageIdentifier"
    ));
}

#[test]
fn outbound_apple_pay_required_parts() {
    type Clear = fn(&mut Payment);
    let cases: [(&str, Clear); 7] = [
        ("interactiveData.data.payment.paymentRequest", |p| {
            p.payment_request = None;
        }),
        ("interactiveData.data.payment.paymentRequest.total", |p| {
            p.payment_request.as_mut().unwrap().total = None;
        }),
        (
            "interactiveData.data.payment.paymentRequest.currencyCode",
            |p| {
                p.payment_request.as_mut().unwrap().currency_code = None;
            },
        ),
        (
            "interactiveData.data.payment.paymentRequest.countryCode",
            |p| {
                p.payment_request.as_mut().unwrap().country_code = None;
            },
        ),
        (
            "interactiveData.data.payment.paymentRequest.applePay.merchantIdentifier",
            |p| p.payment_request.as_mut().unwrap().apple_pay = None,
        ),
        ("interactiveData.data.payment.merchantSession", |p| {
            p.merchant_session = None;
        }),
        (
            "interactiveData.data.payment.endpoints.paymentGatewayUrl",
            |p| {
                p.endpoints = None;
            },
        ),
    ];
    for (field, clear) in cases {
        let mut m = apple_pay();
        clear(payload(&mut m).payment.as_mut().unwrap());
        missing(m.validate_outbound().unwrap_err(), field);
    }
}

#[test]
fn outbound_authentication_without_oauth2() {
    let mut m = auth2();
    payload(&mut m).authenticate.as_mut().unwrap().oauth2 = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.authenticate.oauth2",
    );
}

#[test]
fn outbound_authentication_without_response_type() {
    let mut m = auth2();
    payload(&mut m)
        .authenticate
        .as_mut()
        .unwrap()
        .oauth2
        .as_mut()
        .unwrap()
        .response_type = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.authenticate.oauth2.responseType",
    );
}

#[test]
fn outbound_auth2_without_redirect_uri() {
    let mut m = auth2();
    payload(&mut m)
        .authenticate
        .as_mut()
        .unwrap()
        .oauth2
        .as_mut()
        .unwrap()
        .redirect_uri = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.authenticate.oauth2.redirectURI",
    );
}

#[test]
fn outbound_legacy_auth_without_encryption_key() {
    let mut m = auth_legacy();
    payload(&mut m)
        .authenticate
        .as_mut()
        .unwrap()
        .oauth2
        .as_mut()
        .unwrap()
        .response_encryption_key = None;
    missing(
        m.validate_outbound().unwrap_err(),
        "interactiveData.data.authenticate.oauth2.responseEncryptionKey",
    );
}

#[test]
fn outbound_imessage_app_without_url() {
    let mut m = imessage_app();
    m.interactive_data.as_mut().unwrap().url = None;
    missing(m.validate_outbound().unwrap_err(), "interactiveData.URL");
}

#[test]
fn outbound_imessage_app_url_too_large() {
    let mut m = imessage_app();
    m.interactive_data.as_mut().unwrap().url =
        Some(format!("?d={}", "x".repeat(MAX_IMESSAGE_APP_URL_BYTES)));
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::IMessageAppUrlTooLarge { .. })
    ));
}

#[test]
fn outbound_reused_ref_needs_bid_url_owner() {
    type Clear = fn(&mut InteractiveDataRef);
    let cases: [(&str, Clear); 3] = [
        ("interactiveDataRef.bid", |r| r.bid = None),
        ("interactiveDataRef.url", |r| r.url = None),
        ("interactiveDataRef.owner", |r| r.owner = None),
    ];
    for (field, clear) in cases {
        let mut r = data_ref();
        clear(&mut r);
        let m = Message::interactive_ref("r", BIZ, USER, r);
        missing(m.validate_outbound().unwrap_err(), field);
    }
}

// ---------------------------------------------------------------- outbound: rich link

#[test]
fn outbound_rich_link_without_data() {
    let mut m = rich_link();
    m.rich_link_data = None;
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::RichLinkWithoutData)
    ));
}

#[test]
fn outbound_rich_link_without_url() {
    let mut m = rich_link();
    m.rich_link_data.as_mut().unwrap().url = None;
    missing(m.validate_outbound().unwrap_err(), "richLinkData.url");
}

#[test]
fn outbound_rich_link_url_must_be_http() {
    for bad in [
        "ftp://example.com/x",
        "www.example.com",
        "myapp://open",
        "https://",
        "https:// example.com",
    ] {
        let mut m = rich_link();
        m.rich_link_data.as_mut().unwrap().url = Some(bad.to_owned());
        assert!(
            matches!(m.validate_outbound(), Err(ModelError::InvalidRichLinkUrl { url }) if url == bad),
            "{bad}"
        );
    }
    for good in ["http://example.com", "HTTPS://Example.com/a?b#c"] {
        let mut m = rich_link();
        m.rich_link_data.as_mut().unwrap().url = Some(good.to_owned());
        m.validate_outbound().unwrap();
    }
}

#[test]
fn outbound_rich_link_image_too_large() {
    let mut m = rich_link();
    // 4 Base64 characters = 3 bytes.
    let just_fits = "A".repeat(MAX_RICH_LINK_IMAGE_BYTES / 3 * 4);
    m.rich_link_data =
        Some(RichLinkData::new("https://e.com", "t").with_image(just_fits, "image/png"));
    m.validate_outbound().unwrap();
    let too_big = "A".repeat((MAX_RICH_LINK_IMAGE_BYTES / 3 + 1) * 4);
    m.rich_link_data =
        Some(RichLinkData::new("https://e.com", "t").with_image(too_big, "image/png"));
    assert!(matches!(
        m.validate_outbound(),
        Err(ModelError::RichLinkImageTooLarge { .. })
    ));
}

#[test]
fn error_messages_are_lowercase_one_liners() {
    let errors = [
        ModelError::TextWithoutBody,
        ModelError::CloseFromMsp,
        ModelError::MissingField {
            field: "interactiveData.bid".to_owned(),
        },
        ModelError::AttachmentPlaceholderMismatch {
            placeholders: 0,
            attachments: 1,
        },
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.contains('\n'));
        assert!(s.chars().next().unwrap().is_lowercase(), "{s}");
    }
}
