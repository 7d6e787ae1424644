//! No input panics: arbitrary strings (RTL, emoji, placeholders, control characters) in every
//! title and body, arbitrary timestamps, arbitrary inbound bodies and locales.

use parley_apple::headers::{Capabilities, InboundHeaders};
use parley_apple::model::{Message, body_text};
use parley_proto::v1::{self as pb, inbound_message::Kind as InKind, outbound_message::Kind};
use parley_wire::capabilities::{can_show, required, text_fallback};
use parley_wire::inbound::{language_tag, to_event};
use parley_wire::outbound::{Endpoint, to_apple, to_apple_text_fallback};
use proptest::prelude::*;

use crate::samples::{self, BUSINESS, CUSTOMER};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(String::new()),
        Just("\u{200f}مرحبا بك في متجرنا".to_owned()),
        Just("שלום \u{202b}עולם\u{202c}".to_owned()),
        Just("👩‍👩‍👧‍👦🏳️‍🌈 ok".to_owned()),
        Just("\u{fffc}\u{fffc}x\u{fffc}".to_owned()),
        Just("Loved “hi”".to_owned()),
        "[\\p{Arabic}\\p{Hebrew} \u{200e}\u{200f}\u{fffc}]{0,40}",
    ]
}

fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    prop_oneof![
        Just(None),
        (any::<i64>(), any::<i32>())
            .prop_map(|(seconds, nanos)| Some(prost_types::Timestamp { seconds, nanos })),
        (-100_000_000_i64..100_000_000).prop_map(|m| Some(prost_types::Timestamp {
            seconds: m * 60,
            nanos: 0
        })),
    ]
}

fn no_panic(event: &pb::OutboundMessage, attachments: usize) {
    let uploaded = (0..attachments)
        .map(|i| samples::uploaded(&format!("f{i}"), "image/png"))
        .collect();
    // Whatever renders passes Apple's rules (a legacy authentication request still lacks the
    // secrets the caller adds, so only the /message endpoint is checked here).
    if let Ok(r) = to_apple(event, BUSINESS, CUSTOMER, uploaded)
        && r.endpoint == Endpoint::Message
    {
        r.message.validate_outbound().unwrap();
    }
    let _ = text_fallback(event);
    if let Some(Ok(r)) = to_apple_text_fallback(event, BUSINESS, CUSTOMER) {
        r.message.validate_outbound().unwrap();
    }
    let _ = required(event);
    let _ = can_show(event, &pb::DeviceCapabilities::default(), None);
}

proptest! {
    #[test]
    fn outbound_text_never_panics(body in text(), attachments in 0_usize..3) {
        let event = samples::text(&body, attachments);
        no_panic(&event, attachments);
        if let Ok(r) = to_apple(&event, BUSINESS, CUSTOMER, (0..attachments).map(|i| samples::uploaded(&format!("f{i}"), "image/png")).collect()) {
            let sent = r.message.body.unwrap_or_default();
            prop_assert_eq!(parley_apple::model::placeholder_count(&sent), attachments);
            prop_assert_eq!(body_text(&sent), body_text(&body));
        }
    }

    #[test]
    fn pickers_never_panic_and_fallbacks_keep_every_title(
        titles in proptest::collection::vec(text(), 1..5),
        summary in text(),
        section in text(),
        event_title in text(),
        starts in proptest::collection::vec(timestamp(), 1..4),
        offset in proptest::option::of(any::<i32>()),
    ) {
        let mut list = samples::list_picker();
        if let Some(Kind::ListPicker(l)) = &mut list.kind {
            l.sections[0].title = section;
            l.sections[0].items = titles
                .iter()
                .enumerate()
                .map(|(i, t)| samples::list_item(&i.to_string(), t))
                .collect();
            l.common.as_mut().unwrap().received_message.as_mut().unwrap().title = summary.clone();
        }
        no_panic(&list, 0);
        let fallback = text_fallback(&list).unwrap();
        for t in titles.iter().filter(|t| !t.trim().is_empty()) {
            prop_assert!(fallback.contains(t.as_str()), "{t:?} missing from {fallback:?}");
        }

        let mut quick = samples::quick_reply("");
        if let Some(Kind::QuickReply(q)) = &mut quick.kind {
            q.summary_text = summary;
            q.items = titles
                .iter()
                .enumerate()
                .map(|(i, t)| pb::QuickReplyItem { identifier: i.to_string(), title: t.clone() })
                .collect();
        }
        no_panic(&quick, 0);
        let fallback = text_fallback(&quick).unwrap();
        for t in titles.iter().filter(|t| !t.trim().is_empty()) {
            prop_assert!(fallback.contains(t.as_str()));
        }

        let mut time = samples::time_picker();
        if let Some(Kind::TimePicker(t)) = &mut time.kind {
            let e = t.event.as_mut().unwrap();
            e.title = event_title;
            e.timezone_offset_minutes = offset;
            e.timeslots = starts
                .iter()
                .enumerate()
                .map(|(i, s)| pb::TimeSlot { identifier: i.to_string(), start_time: *s, duration_seconds: u32::try_from(i).unwrap_or(0) * 4_000_000 })
                .collect();
        }
        no_panic(&time, 0);
        prop_assert!(text_fallback(&time).is_some());
    }

    #[test]
    fn other_kinds_never_panic(s in text(), t in text(), u in text()) {
        let mut link = samples::rich_link();
        if let Some(Kind::RichLink(l)) = &mut link.kind {
            l.url = s.clone();
            l.title = t.clone();
        }
        no_panic(&link, 0);

        let mut form = samples::form();
        if let Some(Kind::Form(f)) = &mut form.kind {
            f.pages[0].title = s.clone();
            f.pages[0].page_identifier = t.clone();
            f.template = u.clone();
            f.version = s.clone();
        }
        no_panic(&form, 0);

        let mut pay = samples::apple_pay();
        if let Some(Kind::ApplePay(p)) = &mut pay.kind {
            p.merchant_session_json = s.clone();
        }
        no_panic(&pay, 0);

        let mut auth = samples::authentication(pb::AuthenticationVersion::Legacy);
        if let Some(Kind::Authentication(a)) = &mut auth.kind {
            a.response_type = s.clone();
            a.state = t.clone();
        }
        no_panic(&auth, 0);

        let mut app = samples::imessage_app();
        if let Some(Kind::ImessageApp(a)) = &mut app.kind {
            a.bid = s.clone();
            a.url = t.clone();
        }
        no_panic(&app, 0);

        no_panic(&samples::raw_interactive(&s, vec![]), 0);

        let mut any_id = samples::quick_reply(&t);
        any_id.apple_message_id = u;
        no_panic(&any_id, 0);
    }

    #[test]
    fn inbound_text_never_panics_and_keeps_the_text(body in text(), locale in text()) {
        let message = Message::text("m-1", CUSTOMER, BUSINESS, body.clone()).with_locale(locale.clone());
        let headers = InboundHeaders {
            id: "m-1".to_owned(),
            source_id: CUSTOMER.to_owned(),
            destination_id: BUSINESS.to_owned(),
            device_agent: None,
            capabilities: Capabilities::new(),
        };
        let e = to_event(&headers, &message, vec![], None).unwrap();
        match e.kind {
            Some(InKind::Text(t)) => prop_assert_eq!(t.body, body_text(&body)),
            Some(InKind::Reaction(r)) => prop_assert_eq!(r.raw_body, body),
            other => prop_assert!(false, "unexpected {:?}", other),
        }
        let _ = language_tag(&locale);
    }

    #[test]
    fn inbound_time_picker_replies_never_panic(start in text(), offset in any::<i64>(), duration in any::<i64>()) {
        let json = serde_json::json!({
            "v": 1, "id": "m-2", "type": "interactive",
            "interactiveData": {
                "bid": parley_apple::model::APPLE_BUSINESS_EXTENSION_BID,
                "data": {"version": "1.0", "requestIdentifier": "r",
                         "event": {"timezoneOffset": offset, "timeslots": [{"identifier": "0", "startTime": start, "duration": duration}]}}
            }
        });
        let message: Message = serde_json::from_value(json).unwrap();
        let headers = InboundHeaders {
            id: "m-2".to_owned(),
            source_id: CUSTOMER.to_owned(),
            destination_id: BUSINESS.to_owned(),
            device_agent: None,
            capabilities: Capabilities::new(),
        };
        prop_assert!(to_event(&headers, &message, vec![], None).is_ok());
    }
}
