//! Capability mapping, `required`, `can_show` and `text_fallback`.

use parley_apple::headers::{Capabilities, Capability as AppleCapability, DeviceAgent};
use parley_proto::v1::{
    self as pb, AuthenticationVersion, Capability, DeviceCapabilities, OutboundKind,
    outbound_message::Kind,
};
use parley_wire::capabilities::{
    authentication_version, can_show, device_agent_from_proto, device_agent_to_proto, from_proto,
    required, text_fallback, to_proto,
};

use crate::samples;

const ALL: [Capability; 6] = [
    Capability::QuickReply,
    Capability::ListPicker,
    Capability::TimePicker,
    Capability::Authentication,
    Capability::AuthenticationV2,
    Capability::Form,
];

fn caps(list: &[Capability]) -> DeviceCapabilities {
    DeviceCapabilities {
        capabilities: list.iter().map(|&c| c as i32).collect(),
        unrecognized: vec![],
    }
}

fn agent(a: DeviceAgent) -> pb::DeviceAgent {
    device_agent_to_proto(Some(&a))
}

#[test]
fn capabilities_round_trip_with_an_unknown_token() {
    let header = Capabilities::parse("quick, LIST,TIME,AUTH%2CAUTH2,FORM,hologram").unwrap();
    let proto = to_proto(&header);
    assert_eq!(proto.capabilities, ALL.map(|c| c as i32));
    assert_eq!(proto.unrecognized, ["HOLOGRAM"]);
    assert_eq!(from_proto(&proto), header);
    assert_eq!(to_proto(&from_proto(&proto)), proto);

    for known in AppleCapability::KNOWN {
        let one: Capabilities = [known.clone()].into_iter().collect();
        let proto = to_proto(&one);
        assert_eq!(proto.capabilities.len(), 1, "{known}");
        assert!(proto.unrecognized.is_empty());
        assert_eq!(from_proto(&proto), one, "{known}");
    }
    assert_eq!(
        to_proto(&Capabilities::new()),
        DeviceCapabilities::default()
    );

    // Unspecified and numeric values this build does not know are dropped.
    let odd = DeviceCapabilities {
        capabilities: vec![0, 2, 99],
        unrecognized: vec![String::new(), "x".to_owned()],
    };
    let expected: Capabilities = [
        AppleCapability::List,
        AppleCapability::Unknown("X".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(from_proto(&odd), expected);
}

#[test]
fn device_agents_round_trip() {
    let cases = [
        (DeviceAgent::IPhoneOs, pb::DeviceOs::Ios, "iPhone OS"),
        (DeviceAgent::IPadOs, pb::DeviceOs::Ios, "iPad OS"),
        (DeviceAgent::MacOsX, pb::DeviceOs::Macos, "Mac OS X"),
        (DeviceAgent::WatchOs, pb::DeviceOs::Watchos, "Watch OS"),
        (DeviceAgent::AppleTvOs, pb::DeviceOs::Tvos, "Apple TVOS"),
        (
            DeviceAgent::Other("Vision OS".to_owned()),
            pb::DeviceOs::Other,
            "Vision OS",
        ),
    ];
    for (apple, os, raw) in cases {
        let proto = device_agent_to_proto(Some(&apple));
        assert_eq!(
            proto,
            pb::DeviceAgent {
                os: os as i32,
                raw: raw.to_owned()
            }
        );
        assert_eq!(device_agent_from_proto(&proto), Some(apple));
    }
    assert_eq!(device_agent_to_proto(None), pb::DeviceAgent::default());
    assert_eq!(device_agent_from_proto(&pb::DeviceAgent::default()), None);
    // The family decides when the raw value is missing or not recognised.
    let os_only = pb::DeviceAgent {
        os: pb::DeviceOs::Macos as i32,
        raw: String::new(),
    };
    assert_eq!(device_agent_from_proto(&os_only), Some(DeviceAgent::MacOsX));
    let odd_raw = pb::DeviceAgent {
        os: pb::DeviceOs::Ios as i32,
        raw: "Phone 99".to_owned(),
    };
    assert_eq!(
        device_agent_from_proto(&odd_raw),
        Some(DeviceAgent::IPhoneOs)
    );
}

#[test]
fn required_table() {
    use AuthenticationVersion::{Legacy, Unspecified, V2};
    let cases: Vec<(pb::OutboundMessage, Vec<Capability>)> = vec![
        (samples::text("hi", 0), vec![]),
        (samples::rich_link(), vec![]),
        (
            samples::event(Kind::TypingStart(pb::TypingStart {})),
            vec![],
        ),
        (samples::event(Kind::TypingEnd(pb::TypingEnd {})), vec![]),
        (samples::apple_pay(), vec![]),
        (samples::imessage_app(), vec![]),
        (samples::data_ref(), vec![]),
        (samples::quick_reply("r"), vec![Capability::QuickReply]),
        (samples::list_picker(), vec![Capability::ListPicker]),
        (samples::time_picker(), vec![Capability::TimePicker]),
        (samples::form(), vec![Capability::Form]),
        (
            samples::authentication(V2),
            vec![Capability::AuthenticationV2],
        ),
        (
            samples::authentication(Unspecified),
            vec![Capability::AuthenticationV2],
        ),
        (
            samples::authentication(Legacy),
            vec![Capability::Authentication],
        ),
        (
            samples::raw_interactive(
                samples::RAW_QUICK_REPLY,
                vec![
                    Capability::QuickReply,
                    Capability::Unspecified,
                    Capability::QuickReply,
                    Capability::Form,
                ],
            ),
            vec![Capability::QuickReply, Capability::Form],
        ),
        (pb::OutboundMessage::default(), vec![]),
    ];
    for (event, expected) in cases {
        assert_eq!(required(&event), expected, "{:?}", event.kind);
    }
}

#[test]
fn can_show_table() {
    use AuthenticationVersion::{Legacy, Unspecified, V2};
    let iphone = agent(DeviceAgent::IPhoneOs);
    let mac = agent(DeviceAgent::MacOsX);
    let everything = caps(&ALL);
    let nothing = caps(&[]);
    let auth_only = caps(&[Capability::Authentication]);
    let auth2_only = caps(&[Capability::AuthenticationV2]);
    let quick_only = caps(&[Capability::QuickReply]);
    let time_only = caps(&[Capability::TimePicker]);
    let form_only = caps(&[Capability::Form]);
    let watch = agent(DeviceAgent::WatchOs);
    let cases: Vec<(
        &str,
        pb::OutboundMessage,
        &DeviceCapabilities,
        Option<&pb::DeviceAgent>,
        bool,
    )> = vec![
        (
            "text, nothing",
            samples::text("hi", 0),
            &nothing,
            None,
            true,
        ),
        (
            "rich link, nothing",
            samples::rich_link(),
            &nothing,
            Some(&mac),
            true,
        ),
        (
            "apple pay, nothing",
            samples::apple_pay(),
            &nothing,
            Some(&mac),
            true,
        ),
        (
            "list, everything",
            samples::list_picker(),
            &everything,
            Some(&iphone),
            true,
        ),
        (
            "list, nothing",
            samples::list_picker(),
            &nothing,
            Some(&iphone),
            false,
        ),
        (
            "list, quick only",
            samples::list_picker(),
            &quick_only,
            None,
            false,
        ),
        (
            "quick, quick only",
            samples::quick_reply("r"),
            &quick_only,
            None,
            true,
        ),
        (
            "time, time",
            samples::time_picker(),
            &time_only,
            Some(&mac),
            true,
        ),
        (
            "form, iphone",
            samples::form(),
            &everything,
            Some(&iphone),
            true,
        ),
        ("form, mac", samples::form(), &everything, Some(&mac), false),
        ("form, no agent", samples::form(), &form_only, None, true),
        (
            "imessage, iphone",
            samples::imessage_app(),
            &nothing,
            Some(&iphone),
            true,
        ),
        (
            "imessage, watch",
            samples::imessage_app(),
            &everything,
            Some(&watch),
            false,
        ),
        (
            "auth2, auth2",
            samples::authentication(V2),
            &auth2_only,
            None,
            true,
        ),
        (
            "auth2, auth only",
            samples::authentication(V2),
            &auth_only,
            None,
            false,
        ),
        (
            "auth unspecified, auth only",
            samples::authentication(Unspecified),
            &auth_only,
            None,
            false,
        ),
        (
            "legacy, auth only",
            samples::authentication(Legacy),
            &auth_only,
            None,
            true,
        ),
        (
            "legacy, auth2 only",
            samples::authentication(Legacy),
            &auth2_only,
            None,
            false,
        ),
        (
            "data ref, builtin, mac",
            samples::data_ref(),
            &nothing,
            Some(&mac),
            true,
        ),
        (
            "raw quick, quick",
            samples::raw_interactive(samples::RAW_QUICK_REPLY, vec![Capability::QuickReply]),
            &quick_only,
            Some(&mac),
            true,
        ),
        (
            "raw quick, nothing",
            samples::raw_interactive(samples::RAW_QUICK_REPLY, vec![Capability::QuickReply]),
            &nothing,
            None,
            false,
        ),
        (
            "no kind",
            pb::OutboundMessage::default(),
            &everything,
            None,
            false,
        ),
    ];
    for (name, event, device, agent, expected) in cases {
        assert_eq!(can_show(&event, device, agent), expected, "{name}");
    }

    // A raw message requiring a capability value this build does not know is refused.
    let mut raw = samples::raw_interactive(samples::RAW_QUICK_REPLY, vec![]);
    if let Some(Kind::RawInteractive(r)) = &mut raw.kind {
        r.required_capabilities = vec![99];
    }
    assert!(!can_show(&raw, &everything, None));
    // A reused reference to a business's own iMessage app needs an iPhone or iPad.
    let mut custom_ref = samples::data_ref();
    if let Some(Kind::InteractiveDataRef(r)) = &mut custom_ref.kind {
        r.data_ref.as_mut().unwrap().bid = samples::CUSTOM_BID.to_owned();
    }
    assert!(!can_show(&custom_ref, &everything, Some(&mac)));
    assert!(can_show(&custom_ref, &nothing, Some(&iphone)));
}

#[test]
fn having_the_required_capabilities_is_enough_on_an_iphone() {
    let iphone = agent(DeviceAgent::IPhoneOs);
    for (kind, event, _) in samples::all() {
        let needed = caps(&required(&event));
        assert!(can_show(&event, &needed, Some(&iphone)), "{kind:?}");
        if !needed.capabilities.is_empty() {
            assert!(!can_show(&event, &caps(&[]), Some(&iphone)), "{kind:?}");
        }
    }
}

#[test]
fn authentication_version_prefers_auth2() {
    assert_eq!(
        authentication_version(&caps(&ALL)),
        AuthenticationVersion::V2
    );
    assert_eq!(
        authentication_version(&caps(&[Capability::Authentication])),
        AuthenticationVersion::Legacy
    );
    assert_eq!(
        authentication_version(&caps(&[Capability::Form])),
        AuthenticationVersion::Unspecified
    );
}

#[test]
fn list_picker_fallback_numbers_every_item() {
    let text = text_fallback(&samples::list_picker()).unwrap();
    assert_eq!(
        text,
        "Pick a fruit\nFresh today\n\nFruit\n1. Apple — Red and crunchy\n2. Pear\n\nVegetables\n3. Carrot\n\nReply with one or more numbers."
    );
    // The device without LIST gets it instead.
    assert!(!can_show(
        &samples::list_picker(),
        &caps(&[Capability::QuickReply]),
        None
    ));
}

#[test]
fn quick_reply_and_time_picker_fallbacks() {
    assert_eq!(
        text_fallback(&samples::quick_reply("r")).unwrap(),
        "What can I help you with?\n\n1. Watch our video\n2. Talk to an agent\n\nReply with a number."
    );
    assert_eq!(
        text_fallback(&samples::time_picker()).unwrap(),
        "Store visit\n\n1. 2022-07-10 10:00–11:00 (UTC-07:00)\n2. 2022-07-10 12:00–12:30 (UTC-07:00)\n\nReply with a number."
    );
    let mut utc = samples::time_picker();
    if let Some(Kind::TimePicker(t)) = &mut utc.kind {
        let event = t.event.as_mut().unwrap();
        event.timezone_offset_minutes = None;
        event.title = String::new();
        event.timeslots[1].start_time = None;
    }
    assert_eq!(
        text_fallback(&utc).unwrap(),
        "Pick a fruit\n\n1. 2022-07-10 17:00–18:00 (UTC)\n2. 1\n\nReply with a number."
    );
}

#[test]
fn fallback_table() {
    use AuthenticationVersion::V2;
    let none = [
        ("text", samples::text("hi", 0)),
        ("rich link", samples::rich_link()),
        ("form", samples::form()),
        ("apple pay", samples::apple_pay()),
        ("authentication", samples::authentication(V2)),
        ("imessage app", samples::imessage_app()),
        (
            "typing",
            samples::event(Kind::TypingStart(pb::TypingStart {})),
        ),
        ("data ref", samples::data_ref()),
        (
            "raw",
            samples::raw_interactive(samples::RAW_QUICK_REPLY, vec![Capability::QuickReply]),
        ),
        ("no kind", pb::OutboundMessage::default()),
    ];
    for (name, event) in none {
        assert_eq!(text_fallback(&event), None, "{name}");
    }
    let mut empty = samples::list_picker();
    if let Some(Kind::ListPicker(l)) = &mut empty.kind {
        l.sections.iter_mut().for_each(|s| s.items.clear());
    }
    assert_eq!(text_fallback(&empty), None, "a picker with no choices");
    for (kind, event, _) in samples::all() {
        let has = text_fallback(&event).is_some();
        let expected = matches!(
            kind,
            OutboundKind::QuickReply | OutboundKind::ListPicker | OutboundKind::TimePicker
        );
        assert_eq!(has, expected, "{kind:?}");
    }
}

#[test]
fn fallback_keeps_right_to_left_titles_untouched() {
    let arabic = "\u{200f}تفاح أحمر 🍎";
    let hebrew = "תפוח\u{202b}ירוק\u{202c}";
    let mut event = samples::list_picker();
    if let Some(Kind::ListPicker(l)) = &mut event.kind {
        l.sections[0].items[0].title = arabic.to_owned();
        l.sections[0].items[0].subtitle = String::new();
        l.sections[0].items[1].title = hebrew.to_owned();
        l.sections[1].items[0].title = String::new();
    }
    let text = text_fallback(&event).unwrap();
    assert!(text.contains(&format!("1. {arabic}\n")), "{text}");
    assert!(text.contains(&format!("2. {hebrew}\n")), "{text}");
    assert!(
        text.contains("3. 3\n"),
        "an empty title shows the identifier: {text}"
    );
}
