//! Every outbound kind → Apple's wire JSON.

use parley_apple::model::{
    APPLE_BUSINESS_EXTENSION_BID, ATTACHMENT_PLACEHOLDER, placeholder_count,
};
use parley_proto::v1::{self as pb, OutboundKind, outbound_message::Kind};
use parley_wire::WireError;
use parley_wire::outbound::{
    Endpoint, Rendered, add_legacy_auth_secrets, headers, kind_of, to_apple, to_apple_text_fallback,
};
use serde_json::{Value, json};

use crate::samples::{self, APPLE_ID, BUSINESS, CUSTOM_BID, CUSTOMER};

fn render(event: &pb::OutboundMessage) -> Rendered {
    let r = to_apple(event, BUSINESS, CUSTOMER, vec![]).unwrap();
    r.message.validate_outbound().unwrap();
    r
}

fn json_of(r: &Rendered) -> Value {
    r.message.to_value().unwrap()
}

fn data(v: &Value) -> &Value {
    &v["interactiveData"]["data"]
}

#[test]
fn every_kind_renders_a_valid_message_with_the_envelope() {
    let all = samples::all();
    let kinds: std::collections::BTreeSet<i32> = all.iter().map(|(k, _, _)| *k as i32).collect();
    assert_eq!(kinds.len(), 13, "one sample per kind");
    for (kind, event, uploaded) in all {
        assert_eq!(kind_of(&event), kind);
        let r = to_apple(&event, BUSINESS, CUSTOMER, uploaded)
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        r.message.validate_outbound().unwrap();
        let v = json_of(&r);
        assert_eq!(v["v"], 1, "{kind:?}");
        assert_eq!(v["id"], APPLE_ID, "{kind:?}");
        assert_eq!(v["sourceId"], BUSINESS, "{kind:?}");
        assert_eq!(v["destinationId"], CUSTOMER, "{kind:?}");
        let expected_endpoint = if kind == OutboundKind::Authentication {
            Endpoint::Authenticate
        } else {
            Endpoint::Message
        };
        assert_eq!(r.endpoint, expected_endpoint, "{kind:?}");
    }
    assert_eq!(
        kind_of(&pb::OutboundMessage::default()),
        OutboundKind::Unspecified
    );
}

#[test]
fn text_with_attachments_has_one_placeholder_each() {
    let r = to_apple(
        &samples::text("Receipts attached", 2),
        BUSINESS,
        CUSTOMER,
        vec![
            samples::uploaded("f0.png", "image/png"),
            samples::uploaded("f1.png", "image/png"),
        ],
    )
    .unwrap();
    let v = json_of(&r);
    assert_eq!(v["type"], "text");
    let body = v["body"].as_str().unwrap();
    assert_eq!(body, "Receipts attached\u{fffc}\u{fffc}");
    assert_eq!(placeholder_count(body), 2);
    assert_eq!(v["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(v["attachments"][1]["name"], "f1.png");
    assert_eq!(v["attachments"][0]["size"], "26");

    // Placeholders the sender put stay where they are; extra ones go.
    let p = ATTACHMENT_PLACEHOLDER;
    let r = to_apple(
        &samples::text(&format!("{p}Front, back:{p}{p}{p}"), 2),
        BUSINESS,
        CUSTOMER,
        vec![
            samples::uploaded("f0.png", "image/png"),
            samples::uploaded("f1.png", "image/png"),
        ],
    )
    .unwrap();
    assert_eq!(
        r.message.body.as_deref(),
        Some(format!("{p}Front, back:{p}").as_str())
    );

    // Plain text without attachments has no placeholder and no attachments key.
    let r = render(&samples::text(&format!("Hi{p} there"), 0));
    let v = json_of(&r);
    assert_eq!(v["body"], "Hi there");
    assert!(v.get("attachments").is_none());
}

#[test]
fn attachment_counts_must_match() {
    let err = to_apple(&samples::text("x", 2), BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::AttachmentCountMismatch {
                expected: 2,
                found: 0
            }
        ),
        "{err}"
    );
    let err = to_apple(
        &samples::rich_link(),
        BUSINESS,
        CUSTOMER,
        vec![samples::uploaded("f0.png", "image/png")],
    )
    .unwrap_err();
    assert!(matches!(
        err,
        WireError::AttachmentCountMismatch {
            expected: 0,
            found: 1
        }
    ));
}

#[test]
fn empty_text_or_ids_are_errors() {
    let err = to_apple(&samples::text("", 0), BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(matches!(err, WireError::Invalid(_)), "{err}");
    let err = to_apple(&samples::text("hi", 0), "", CUSTOMER, vec![]).unwrap_err();
    assert!(matches!(err, WireError::Invalid(_)), "{err}");

    let mut event = samples::text("hi", 0);
    event.apple_message_id = String::new();
    let err = to_apple(&event, BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(matches!(err, WireError::MissingAppleMessageId), "{err}");
    assert_eq!(
        err.to_string(),
        "outbound event has an empty apple_message_id"
    );
    event.apple_message_id = "  ".to_owned();
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::MissingAppleMessageId)
    ));

    let mut event = samples::text("hi", 0);
    event.kind = None;
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::MissingKind)
    ));
}

#[test]
fn rich_link() {
    let v = json_of(&render(&samples::rich_link()));
    assert_eq!(v["type"], "richLink");
    let link = &v["richLinkData"];
    assert_eq!(link["url"], "https://example.com/order/42");
    assert_eq!(link["title"], "Your order");
    assert_eq!(link["assets"]["image"]["data"], "anBlZy1ieXRlcw==");
    assert_eq!(link["assets"]["image"]["mimeType"], "image/jpeg");

    let mut event = samples::rich_link();
    if let Some(Kind::RichLink(l)) = &mut event.kind {
        l.image = Some(pb::RichLinkImage {
            mime_type: "image/jpeg".to_owned(),
            source: Some(pb::rich_link_image::Source::Blob(pb::BlobRef::default())),
        });
        l.video = Some(pb::RichLinkVideo {
            url: "https://example.com/v.mp4".to_owned(),
            mime_type: "video/mp4".to_owned(),
        });
    }
    let err = to_apple(&event, BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(
        matches!(err, WireError::UnresolvedBlob { ref field } if field == "rich_link.image"),
        "{err}"
    );
    if let Some(Kind::RichLink(l)) = &mut event.kind {
        l.image = None;
    }
    let v = json_of(&render(&event));
    assert_eq!(
        v["richLinkData"]["assets"]["video"]["url"],
        "https://example.com/v.mp4"
    );

    if let Some(Kind::RichLink(l)) = &mut event.kind {
        l.url = "myapp://order".to_owned();
    }
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::Invalid(_))
    ));
}

#[test]
fn quick_reply() {
    let v = json_of(&render(&samples::quick_reply(
        "c2b0b5a8-1c3e-4a9b-9d7e-55d2e7f3c3c3",
    )));
    assert_eq!(v["type"], "interactive");
    assert_eq!(v["interactiveData"]["bid"], APPLE_BUSINESS_EXTENSION_BID);
    let d = data(&v);
    assert_eq!(d["version"], "1.0");
    assert_eq!(
        d["requestIdentifier"],
        "c2b0b5a8-1c3e-4a9b-9d7e-55d2e7f3c3c3"
    );
    assert_eq!(d["quick-reply"]["summaryText"], "What can I help you with?");
    assert_eq!(
        d["quick-reply"]["items"],
        json!([{"identifier": "1", "title": "Watch our video"}, {"identifier": "2", "title": "Talk to an agent"}])
    );
}

#[test]
fn an_empty_request_identifier_is_derived_from_the_event_id() {
    let event = samples::quick_reply("");
    let first = json_of(&render(&event));
    let again = json_of(&render(&event));
    let id = data(&first)["requestIdentifier"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(data(&again)["requestIdentifier"], id.as_str());
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);

    let mut other = event.clone();
    other.meta.as_mut().unwrap().event_id = "bot-other".to_owned();
    let other_id = json_of(&render(&other));
    assert_ne!(data(&other_id)["requestIdentifier"], id.as_str());

    // Without an event id, the Apple message id seeds it.
    let mut no_meta = event;
    no_meta.meta = None;
    let v = json_of(&render(&no_meta));
    assert_ne!(data(&v)["requestIdentifier"], id.as_str());
    assert_eq!(data(&v)["requestIdentifier"].as_str().unwrap().len(), 36);
}

#[test]
fn list_picker() {
    let v = json_of(&render(&samples::list_picker()));
    let i = &v["interactiveData"];
    assert_eq!(i["receivedMessage"]["title"], "Pick a fruit");
    assert_eq!(i["receivedMessage"]["style"], "large");
    assert_eq!(i["receivedMessage"]["imageIdentifier"], "0");
    assert_eq!(
        i["replyMessage"],
        json!({"title": "Your pick", "style": "small"})
    );
    let d = data(&v);
    assert_eq!(
        d["images"],
        json!([{"identifier": "0", "data": "iVBORw=="}])
    );
    let sections = &d["listPicker"]["sections"];
    assert_eq!(sections[0]["title"], "Fruit");
    assert_eq!(sections[0]["order"], 0);
    assert_eq!(sections[0]["multipleSelection"], true);
    assert_eq!(
        sections[0]["items"][0],
        json!({"identifier": "1", "title": "Apple", "subtitle": "Red and crunchy", "order": 0, "style": "default", "imageIdentifier": "0"})
    );
    assert_eq!(sections[0]["items"][1]["order"], 1);
    assert_eq!(sections[1]["order"], 1);
    assert_eq!(sections[1]["items"][0]["title"], "Carrot");

    // Explicit orders are kept.
    let mut event = samples::list_picker();
    if let Some(Kind::ListPicker(l)) = &mut event.kind {
        l.sections[0].order = 5;
        l.sections[0].items[0].order = 9;
    }
    let v = json_of(&render(&event));
    assert_eq!(data(&v)["listPicker"]["sections"][0]["order"], 5);
    assert_eq!(data(&v)["listPicker"]["sections"][1]["order"], 0);
    assert_eq!(
        data(&v)["listPicker"]["sections"][0]["items"][0]["order"],
        9
    );
}

#[test]
fn list_picker_errors() {
    let mut event = samples::list_picker();
    if let Some(Kind::ListPicker(l)) = &mut event.kind {
        l.sections.clear();
    }
    let err = to_apple(&event, BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(matches!(err, WireError::Invalid(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "the rendered message breaks apple's rules: list picker has no sections"
    );

    let mut event = samples::list_picker();
    if let Some(Kind::ListPicker(l)) = &mut event.kind {
        l.common.as_mut().unwrap().images[0].source =
            Some(pb::interactive_image::Source::Blob(pb::BlobRef::default()));
    }
    let err = to_apple(&event, BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(
        matches!(err, WireError::UnresolvedBlob { ref field } if field == "list_picker.common.images[0]"),
        "{err}"
    );
}

#[test]
fn time_picker() {
    let v = json_of(&render(&samples::time_picker()));
    let e = &data(&v)["event"];
    assert_eq!(e["identifier"], "1");
    assert_eq!(e["title"], "Store visit");
    assert_eq!(e["timezoneOffset"], -420);
    assert_eq!(
        e["timeslots"],
        json!([
            {"identifier": "0", "startTime": "2022-07-10T17:00+0000", "duration": 3600},
            {"identifier": "1", "startTime": "2022-07-10T19:00+0000", "duration": 1800}
        ])
    );

    let mut event = samples::time_picker();
    if let Some(Kind::TimePicker(t)) = &mut event.kind {
        let slot = &mut t.event.as_mut().unwrap().timeslots[1];
        slot.start_time.as_mut().unwrap().seconds += 30;
    }
    let err = to_apple(&event, BUSINESS, CUSTOMER, vec![]).unwrap_err();
    assert!(
        matches!(err, WireError::InvalidTimeslot { index: 1, .. }),
        "{err}"
    );

    let mut event = samples::time_picker();
    if let Some(Kind::TimePicker(t)) = &mut event.kind {
        t.event.as_mut().unwrap().timeslots[0].duration_seconds = 0;
    }
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::Invalid(_))
    ));
}

#[test]
fn form() {
    let v = json_of(&render(&samples::form()));
    let f = &data(&v)["dynamic"];
    assert_eq!(f["template"], "messageForms");
    assert_eq!(f["version"], "1.2");
    assert_eq!(f["private"], false);
    assert_eq!(f["data"]["startPageIdentifier"], "0");
    assert_eq!(f["data"]["showSummary"], true);
    assert_eq!(
        f["data"]["splash"],
        json!({"header": "Sign up", "splashtext": "Two questions", "buttonTitle": "Continue", "imageIdentifier": "0"})
    );
    let pages = &f["data"]["pages"];
    assert_eq!(pages[0]["type"], "select");
    assert_eq!(pages[0]["nextPageIdentifier"], "1");
    assert_eq!(
        pages[0]["items"][1],
        json!({"identifier": "002", "title": "Pro", "value": "pro"})
    );
    assert_eq!(pages[1]["type"], "input");
    assert_eq!(pages[1]["submitForm"], true);
    assert_eq!(
        pages[1]["options"],
        json!({"required": true, "inputType": "singleline", "keyboardType": "emailAddress", "maximumCharacterCount": 250, "placeholder": "you@example.com"})
    );

    let mut event = samples::form();
    if let Some(Kind::Form(f)) = &mut event.kind {
        f.template = "form".to_owned();
        f.version = "1.1".to_owned();
        f.start_page_identifier = "1".to_owned();
    }
    let v = json_of(&render(&event));
    assert_eq!(data(&v)["dynamic"]["template"], "form");
    assert_eq!(data(&v)["dynamic"]["version"], "1.1");
    assert_eq!(data(&v)["dynamic"]["data"]["startPageIdentifier"], "1");

    let mut event = samples::form();
    if let Some(Kind::Form(f)) = &mut event.kind {
        f.pages[0].next_page_identifier = "nowhere".to_owned();
    }
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::Invalid(_))
    ));
}

#[test]
fn apple_pay() {
    let v = json_of(&render(&samples::apple_pay()));
    let p = &data(&v)["payment"];
    assert_eq!(
        p["merchantSession"],
        json!({"epochTimestamp": 1, "merchantSessionIdentifier": "SSH1", "signature": "abc"})
    );
    assert_eq!(
        p["paymentRequest"]["total"],
        json!({"label": "Example Store", "amount": "10.00", "type": "final"})
    );
    assert_eq!(p["paymentRequest"]["currencyCode"], "USD");
    assert_eq!(p["paymentRequest"]["countryCode"], "US");
    assert_eq!(
        p["paymentRequest"]["applePay"]["merchantIdentifier"],
        "merchant.com.example"
    );
    assert_eq!(
        p["paymentRequest"]["applePay"]["supportedNetworks"],
        json!(["visa", "masterCard"])
    );
    assert_eq!(
        p["endpoints"]["paymentGatewayUrl"],
        "https://pay.example.com/gateway"
    );
    assert_eq!(
        p["endpoints"]["fallbackUrl"],
        "https://pay.example.com/fallback"
    );

    for bad in ["{not json", "[1, 2]", "\"session\""] {
        let mut event = samples::apple_pay();
        if let Some(Kind::ApplePay(p)) = &mut event.kind {
            p.merchant_session_json = bad.to_owned();
        }
        let err = to_apple(&event, BUSINESS, CUSTOMER, vec![]).unwrap_err();
        assert!(
            matches!(
                err,
                WireError::InvalidJson {
                    field: "apple_pay.merchant_session_json",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
    // Without a merchant session Apple would refuse it.
    let mut event = samples::apple_pay();
    if let Some(Kind::ApplePay(p)) = &mut event.kind {
        p.merchant_session_json = String::new();
    }
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::Invalid(_))
    ));
}

#[test]
fn authentication_v2_goes_to_authenticate() {
    for version in [
        pb::AuthenticationVersion::V2,
        pb::AuthenticationVersion::Unspecified,
    ] {
        let r = render(&samples::authentication(version));
        assert_eq!(r.endpoint, Endpoint::Authenticate);
        let v = json_of(&r);
        assert_eq!(v["type"], "interactive");
        assert_eq!(
            data(&v)["authenticate"]["oauth2"],
            json!({"responseType": "code", "scope": ["profile", "orders"], "state": "xyz", "redirectURI": "https://parley.example.com/oauth/callback"})
        );
    }
    let mut r = render(&samples::authentication(pb::AuthenticationVersion::V2));
    assert!(matches!(
        add_legacy_auth_secrets(&mut r, "s", "k"),
        Err(WireError::NotLegacyAuthentication)
    ));
}

#[test]
fn legacy_authentication_gets_its_secrets_from_the_caller() {
    let mut r = to_apple(
        &samples::authentication(pb::AuthenticationVersion::Legacy),
        BUSINESS,
        CUSTOMER,
        vec![],
    )
    .unwrap();
    assert_eq!(r.endpoint, Endpoint::Authenticate);
    // Until the secrets are added, Apple's rules are not met.
    assert!(r.message.validate_outbound().is_err());
    let v = json_of(&r);
    assert_eq!(data(&v)["authenticate"]["oauth2"]["responseType"], "token");
    assert!(
        data(&v)["authenticate"]["oauth2"]
            .get("clientSecret")
            .is_none()
    );

    add_legacy_auth_secrets(&mut r, "client-secret-1", "BASE64KEY").unwrap();
    r.message.validate_outbound().unwrap();
    let v = json_of(&r);
    assert_eq!(
        data(&v)["authenticate"]["oauth2"]["clientSecret"],
        "client-secret-1"
    );
    assert_eq!(
        data(&v)["authenticate"]["oauth2"]["responseEncryptionKey"],
        "BASE64KEY"
    );
    assert!(matches!(
        add_legacy_auth_secrets(&mut r, "", ""),
        Err(WireError::Invalid(_))
    ));

    let mut event = samples::authentication(pb::AuthenticationVersion::Legacy);
    if let Some(Kind::Authentication(a)) = &mut event.kind {
        a.response_type = String::new();
    }
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::Invalid(_))
    ));
}

#[test]
fn imessage_app() {
    let v = json_of(&render(&samples::imessage_app()));
    let i = &v["interactiveData"];
    assert_eq!(i["bid"], CUSTOM_BID);
    assert_eq!(i["URL"], "?name=samplepackage&deliveryDate=27-01-2017");
    assert_eq!(i["appId"], 123_456_789);
    assert_eq!(i["appName"], "Package Delivery");
    assert_eq!(i["appIcon"], "aWNvbg==");
    assert_eq!(i["useLiveLayout"], false);
    assert_eq!(i["receivedMessage"]["title"], "Your package");
    assert!(i.get("data").is_none());
}

#[test]
fn typing() {
    for (kind, wire) in [
        (Kind::TypingStart(pb::TypingStart {}), "typing_start"),
        (Kind::TypingEnd(pb::TypingEnd {}), "typing_end"),
    ] {
        let v = json_of(&render(&samples::event(kind)));
        assert_eq!(v["type"], wire);
        assert!(v.get("body").is_none());
    }
}

#[test]
fn interactive_data_ref_reuse() {
    let v = json_of(&render(&samples::data_ref()));
    assert_eq!(v["type"], "interactive");
    assert!(v.get("interactiveData").is_none());
    let r = &v["interactiveDataRef"];
    assert_eq!(r["url"], "https://p45-content.icloud.com/M8A5/ref");
    assert_eq!(r["size"], 12_345);
    assert_eq!(r["dataRefSig"], "sig-1");
    assert!(r.get("key").is_none());

    let event = samples::event(Kind::InteractiveDataRef(pb::InteractiveDataRefMessage {
        data_ref: None,
    }));
    assert!(matches!(
        to_apple(&event, BUSINESS, CUSTOMER, vec![]),
        Err(WireError::MissingField { .. })
    ));
}

#[test]
fn raw_interactive() {
    let v = json_of(&render(&samples::raw_interactive(
        samples::RAW_QUICK_REPLY,
        vec![],
    )));
    assert_eq!(data(&v)["quick-reply"]["items"][1]["title"], "No");
    assert_eq!(
        data(&v)["futureKey"],
        true,
        "unknown keys are sent as given"
    );

    for bad in ["", "{", "[]", "42", "{\"bid\": 5}"] {
        let err = to_apple(
            &samples::raw_interactive(bad, vec![]),
            BUSINESS,
            CUSTOMER,
            vec![],
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                WireError::InvalidJson {
                    field: "raw_interactive.interactive_data_json",
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    // Valid JSON that breaks Apple's rules.
    let err = to_apple(
        &samples::raw_interactive(
            &format!(
                r#"{{"bid": "{APPLE_BUSINESS_EXTENSION_BID}", "data": {{"version": "1.0"}}}}"#
            ),
            vec![],
        ),
        BUSINESS,
        CUSTOMER,
        vec![],
    )
    .unwrap_err();
    assert!(matches!(err, WireError::Invalid(_)), "{err}");
}

#[test]
fn text_fallback_rendering() {
    let r = to_apple_text_fallback(&samples::list_picker(), BUSINESS, CUSTOMER)
        .unwrap()
        .unwrap();
    assert_eq!(r.endpoint, Endpoint::Message);
    r.message.validate_outbound().unwrap();
    let v = json_of(&r);
    assert_eq!(v["type"], "text");
    assert_eq!(v["id"], APPLE_ID);
    let body = v["body"].as_str().unwrap();
    for title in ["Apple", "Pear", "Carrot"] {
        assert!(body.contains(title), "{body}");
    }
    assert!(to_apple_text_fallback(&samples::form(), BUSINESS, CUSTOMER).is_none());

    let mut event = samples::quick_reply("r");
    event.apple_message_id = String::new();
    assert!(matches!(
        to_apple_text_fallback(&event, BUSINESS, CUSTOMER),
        Some(Err(WireError::MissingAppleMessageId))
    ));
}

#[test]
fn request_headers() {
    let mut event = samples::text("hi", 0);
    event.auto_reply = true;
    event.msp_agent = format!("  {}  ", "b".repeat(70));
    let h = headers(&event, BUSINESS, CUSTOMER);
    assert_eq!(h.id, APPLE_ID);
    assert_eq!(h.source_id, BUSINESS);
    assert_eq!(h.destination_id, CUSTOMER);
    assert_eq!(h.auto_reply, Some(true));
    assert_eq!(h.msp_agent, Some("b".repeat(64)));
    assert!(!h.include_data_ref);
    event.msp_agent = String::new();
    event.auto_reply = false;
    let h = headers(&event, BUSINESS, CUSTOMER);
    assert_eq!(h.auto_reply, Some(false));
    assert_eq!(h.msp_agent, None);
}
