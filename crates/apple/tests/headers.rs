//! Apple's HTTP headers: both capability header names, case, percent-encoding, unknown
//! values, required headers naming themselves, and `msp-agent` truncation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{HeaderMap, HeaderValue};
use parley_apple::HeaderError;
use parley_apple::headers::{
    Capabilities, Capability, DeviceAgent, InboundHeaders, MSP_AGENT_MAX_CHARS, OutboundHeaders,
    can_send, default_capabilities, truncate_msp_agent,
};
use parley_apple::model::InteractiveKind;

fn inbound(extra: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "id",
        HeaderValue::from_static("0a2f2b9e-4c35-4d5a-9d34-1f2c3b4a5d6e"),
    );
    h.insert(
        "source-id",
        HeaderValue::from_static("urn:mbid:AQAAY8y2cX0Example"),
    );
    h.insert(
        "destination-id",
        HeaderValue::from_static("a884eddf-1b2c-4d3e-9f00-112233445566"),
    );
    for (name, value) in extra {
        h.append(*name, HeaderValue::from_str(value).unwrap());
    }
    h
}

fn caps(list: &[Capability]) -> Capabilities {
    list.iter().cloned().collect()
}

#[test]
fn full_inbound_headers() {
    let h = inbound(&[
        ("device-agent", "iPhone OS"),
        ("capability-list", "QUICK,LIST,TIME,AUTH,AUTH2,FORM"),
    ]);
    let parsed = InboundHeaders::parse(&h).unwrap();
    assert_eq!(parsed.id, "0a2f2b9e-4c35-4d5a-9d34-1f2c3b4a5d6e");
    assert_eq!(parsed.source_id, "urn:mbid:AQAAY8y2cX0Example");
    assert_eq!(
        parsed.destination_id,
        "a884eddf-1b2c-4d3e-9f00-112233445566"
    );
    assert_eq!(parsed.device_agent, Some(DeviceAgent::IPhoneOs));
    assert_eq!(parsed.capabilities, caps(&Capability::KNOWN));
    // And back again (the simulator's side).
    let again = InboundHeaders::parse(&parsed.to_header_map().unwrap()).unwrap();
    assert_eq!(again, parsed);
}

#[test]
fn capability_list_and_the_older_capabilities_header() {
    let current = InboundHeaders::parse(&inbound(&[("capability-list", "LIST")])).unwrap();
    assert!(current.capabilities.contains(&Capability::List));
    let old = InboundHeaders::parse(&inbound(&[("capabilities", "auth")])).unwrap();
    assert_eq!(old.capabilities, caps(&[Capability::Auth]));
    let both = InboundHeaders::parse(&inbound(&[
        ("capability-list", "LIST"),
        ("capabilities", "auth"),
    ]))
    .unwrap();
    assert_eq!(
        both.capabilities,
        caps(&[Capability::Auth, Capability::List])
    );
    let none = InboundHeaders::parse(&inbound(&[])).unwrap();
    assert!(none.capabilities.is_empty(), "absent means none (tolerant)");
}

#[test]
fn header_names_are_case_insensitive() {
    // http::HeaderMap lowercases names on insertion, whatever the sender wrote.
    let mut h = HeaderMap::new();
    h.insert("ID", HeaderValue::from_static("x"));
    h.insert("Source-Id", HeaderValue::from_static("u"));
    h.insert("DESTINATION-ID", HeaderValue::from_static("b"));
    h.insert("Capability-List", HeaderValue::from_static("quick"));
    let parsed = InboundHeaders::parse(&h).unwrap();
    assert_eq!(parsed.capabilities, caps(&[Capability::Quick]));
}

#[test]
fn values_are_case_insensitive() {
    for v in [
        "quick,list",
        "QUICK,LIST",
        "Quick, List",
        " qUiCk ,LiSt ",
        "quick,,list,",
    ] {
        assert_eq!(
            Capabilities::parse(v).unwrap(),
            caps(&[Capability::Quick, Capability::List]),
            "{v:?}"
        );
    }
}

#[test]
fn percent_encoded_values() {
    assert_eq!(
        Capabilities::parse("AUTH%2CLIST").unwrap(),
        caps(&[Capability::Auth, Capability::List])
    );
    assert_eq!(
        Capabilities::parse("AUTH%2CLIST%2CTIME%2CFORM%2CQUICK%2CAUTH2").unwrap(),
        caps(&Capability::KNOWN)
    );
    assert_eq!(
        Capabilities::parse("auth%2clist%20").unwrap(),
        caps(&[Capability::Auth, Capability::List])
    );
    assert_eq!(
        Capabilities::parse("%51UICK").unwrap(),
        caps(&[Capability::Quick]),
        "any character may be encoded"
    );
    let h = inbound(&[("capability-list", "AUTH%2CLIST")]);
    assert_eq!(
        InboundHeaders::parse(&h).unwrap().capabilities,
        caps(&[Capability::Auth, Capability::List])
    );
}

#[test]
fn percent_decoding_to_invalid_utf8_names_the_header() {
    let h = inbound(&[("capability-list", "LIST%FF")]);
    assert_eq!(
        InboundHeaders::parse(&h),
        Err(HeaderError::NotUtf8 {
            name: "capability-list"
        })
    );
}

#[test]
fn unknown_values_are_kept() {
    let c = Capabilities::parse("LIST,APPLEPAY2,future-thing").unwrap();
    assert!(c.contains(&Capability::List));
    assert!(c.contains(&Capability::Unknown("APPLEPAY2".to_owned())));
    assert!(c.contains(&Capability::Unknown("FUTURE-THING".to_owned())));
    assert_eq!(c.len(), 3);
    assert_eq!(c.to_header_value(), "LIST,APPLEPAY2,FUTURE-THING");
}

#[test]
fn missing_required_headers_name_the_header() {
    for name in ["id", "source-id", "destination-id"] {
        let mut h = inbound(&[]);
        h.remove(name);
        assert_eq!(
            InboundHeaders::parse(&h),
            Err(HeaderError::Missing { name }),
            "{name}"
        );
        assert!(
            InboundHeaders::parse(&h)
                .unwrap_err()
                .to_string()
                .contains(name)
        );
    }
}

#[test]
fn empty_too_long_and_non_utf8_headers_name_the_header() {
    let mut h = inbound(&[]);
    h.insert("source-id", HeaderValue::from_static("   "));
    assert_eq!(
        InboundHeaders::parse(&h),
        Err(HeaderError::Empty { name: "source-id" })
    );

    let mut h = inbound(&[]);
    h.insert("id", HeaderValue::from_str(&"a".repeat(513)).unwrap());
    assert!(matches!(
        InboundHeaders::parse(&h),
        Err(HeaderError::TooLong {
            name: "id",
            len: 513,
            ..
        })
    ));

    let mut h = inbound(&[]);
    h.insert(
        "destination-id",
        HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
    );
    assert_eq!(
        InboundHeaders::parse(&h),
        Err(HeaderError::NotUtf8 {
            name: "destination-id"
        })
    );
}

#[test]
fn device_agents() {
    let cases = [
        ("iPhone OS", DeviceAgent::IPhoneOs),
        ("Mac OS X", DeviceAgent::MacOsX),
        ("Watch OS", DeviceAgent::WatchOs),
        ("Apple TVOS", DeviceAgent::AppleTvOs),
        ("iPad OS", DeviceAgent::IPadOs),
        ("iPadOS", DeviceAgent::IPadOs),
        ("iphone os 17.4", DeviceAgent::IPhoneOs),
        ("Vision OS", DeviceAgent::Other("Vision OS".to_owned())),
    ];
    for (value, expected) in cases {
        assert_eq!(DeviceAgent::parse(value), expected, "{value}");
    }
    let h = inbound(&[("device-agent", "Mac OS X")]);
    assert_eq!(
        InboundHeaders::parse(&h).unwrap().device_agent,
        Some(DeviceAgent::MacOsX)
    );
    assert_eq!(
        InboundHeaders::parse(&inbound(&[])).unwrap().device_agent,
        None
    );
}

#[test]
fn default_capability_sets() {
    assert_eq!(
        default_capabilities(&DeviceAgent::IPhoneOs),
        caps(&Capability::KNOWN)
    );
    assert_eq!(
        default_capabilities(&DeviceAgent::IPadOs),
        caps(&Capability::KNOWN)
    );
    let mac = default_capabilities(&DeviceAgent::MacOsX);
    assert!(!mac.contains(&Capability::Form));
    assert!(mac.contains(&Capability::Auth2));
    let watch = default_capabilities(&DeviceAgent::WatchOs);
    assert!(!watch.contains(&Capability::Form));
    assert!(!watch.contains(&Capability::Auth2));
    assert!(watch.len() < mac.len());
    assert!(default_capabilities(&DeviceAgent::AppleTvOs).is_empty());
}

#[test]
fn what_may_be_sent() {
    let mac = DeviceAgent::MacOsX;
    let mac_caps = default_capabilities(&mac);
    assert!(can_send(InteractiveKind::ListPicker, &mac_caps, Some(&mac)));
    assert!(!can_send(InteractiveKind::Form, &mac_caps, Some(&mac)));
    assert!(!can_send(
        InteractiveKind::IMessageApp,
        &mac_caps,
        Some(&mac)
    ));
    assert!(can_send(
        InteractiveKind::ApplePay,
        &Capabilities::new(),
        Some(&mac)
    ));
    let iphone = DeviceAgent::IPhoneOs;
    assert!(can_send(
        InteractiveKind::IMessageApp,
        &default_capabilities(&iphone),
        Some(&iphone)
    ));
    assert!(can_send(
        InteractiveKind::Authentication,
        &caps(&[Capability::Auth2]),
        None
    ));
    assert!(!can_send(
        InteractiveKind::QuickReply,
        &caps(&[Capability::List]),
        None
    ));
}

#[test]
fn outbound_headers() {
    let out = OutboundHeaders::new("id-1", "biz", "urn:mbid:u")
        .with_auto_reply(true)
        .with_msp_agent("Parley bot")
        .with_include_data_ref(true);
    let h = out.to_header_map().unwrap();
    assert_eq!(h["id"], "id-1");
    assert_eq!(h["Source-Id"], "biz");
    assert_eq!(h["destination-id"], "urn:mbid:u");
    assert_eq!(h["auto-reply"], "true");
    assert_eq!(h["msp-agent"], "Parley bot");
    assert_eq!(h["include-data-ref"], "true");
    assert_eq!(OutboundHeaders::parse(&h).unwrap(), out);

    let bare = OutboundHeaders::new("id-2", "biz", "u")
        .to_header_map()
        .unwrap();
    assert_eq!(bare.len(), 3);
    let parsed = OutboundHeaders::parse(&bare).unwrap();
    assert_eq!(parsed.auto_reply, None);
    assert!(!parsed.include_data_ref);
}

#[test]
fn outbound_headers_reject_bad_values() {
    let mut h = OutboundHeaders::new("i", "b", "u").to_header_map().unwrap();
    h.insert("auto-reply", HeaderValue::from_static("yes"));
    assert!(matches!(
        OutboundHeaders::parse(&h),
        Err(HeaderError::Invalid {
            name: "auto-reply",
            ..
        })
    ));
    let mut h = OutboundHeaders::new("i", "b", "u").to_header_map().unwrap();
    h.remove("source-id");
    assert_eq!(
        OutboundHeaders::parse(&h),
        Err(HeaderError::Missing { name: "source-id" })
    );
    let bad = OutboundHeaders::new("i\nj", "b", "u");
    assert!(matches!(
        bad.to_header_map(),
        Err(HeaderError::Invalid { name: "id", .. })
    ));
}

#[test]
fn msp_agent_is_truncated_to_64_characters_on_a_char_boundary() {
    let ascii = "a".repeat(100);
    assert_eq!(truncate_msp_agent(&ascii).len(), MSP_AGENT_MAX_CHARS);
    let short = "Agent Smith";
    assert_eq!(truncate_msp_agent(short), short);
    let exact = "b".repeat(64);
    assert_eq!(truncate_msp_agent(&exact), exact);
    // 63 ASCII + multi-byte characters: the cut falls after the 64th character, never inside one.
    let mixed = format!("{}é日本🙂", "x".repeat(63));
    let cut = truncate_msp_agent(&mixed);
    assert_eq!(cut.chars().count(), 64);
    assert_eq!(cut, format!("{}é", "x".repeat(63)));
    let emoji = "🙂".repeat(70);
    assert_eq!(truncate_msp_agent(&emoji).chars().count(), 64);
    assert_eq!(truncate_msp_agent(&emoji).len(), 64 * 4);

    let out =
        OutboundHeaders::new("i", "b", "u").with_msp_agent(&format!("{}é日本", "x".repeat(63)));
    let h = out.to_header_map().unwrap();
    assert_eq!(
        std::str::from_utf8(h["msp-agent"].as_bytes()).unwrap(),
        format!("{}é", "x".repeat(63))
    );
}
