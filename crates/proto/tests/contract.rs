//! Contract tests of `parley-proto`: the descriptor set is complete, every event round-trips,
//! event type names match the descriptors, and every element of the contract is documented.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use parley_proto::{EVENT_TYPES, Event, FILE_DESCRIPTOR_SET, v1};
use prost::Message;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    source_code_info::Location,
};

/// Every `.proto` file of the contract, as named in the descriptor set.
const CONTRACT_FILES: &[&str] = &[
    "parley/v1/agent.proto",
    "parley/v1/agent_task.proto",
    "parley/v1/bot.proto",
    "parley/v1/common.proto",
    "parley/v1/consent.proto",
    "parley/v1/conversation.proto",
    "parley/v1/dead_letter.proto",
    "parley/v1/delivery.proto",
    "parley/v1/inbound.proto",
    "parley/v1/interactive.proto",
    "parley/v1/notification.proto",
    "parley/v1/ordering.proto",
    "parley/v1/outbound.proto",
    "parley/v1/routing.proto",
];

/// Every top-level event and the file that defines it.
const EVENTS: &[(&str, &str)] = &[
    ("parley.v1.InboundMessage", "parley/v1/inbound.proto"),
    ("parley.v1.RoutingCommand", "parley/v1/routing.proto"),
    ("parley.v1.BotTask", "parley/v1/bot.proto"),
    ("parley.v1.AgentTask", "parley/v1/agent_task.proto"),
    ("parley.v1.OutboundMessage", "parley/v1/outbound.proto"),
    ("parley.v1.DeliveryResult", "parley/v1/delivery.proto"),
    (
        "parley.v1.ConversationEvent",
        "parley/v1/conversation.proto",
    ),
    ("parley.v1.ConsentEvent", "parley/v1/consent.proto"),
    ("parley.v1.DeadLetter", "parley/v1/dead_letter.proto"),
    ("parley.v1.OrderingNotice", "parley/v1/ordering.proto"),
];

fn descriptor_set() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

fn contract_files(fds: &FileDescriptorSet) -> Vec<&FileDescriptorProto> {
    fds.file
        .iter()
        .filter(|file| file.package() == "parley.v1")
        .collect()
}

/// Finds a top-level message by fully-qualified name (`parley.v1.Name`).
fn find_message<'a>(
    fds: &'a FileDescriptorSet,
    full_name: &str,
) -> Option<(&'a FileDescriptorProto, &'a DescriptorProto)> {
    fds.file.iter().find_map(|file| {
        file.message_type
            .iter()
            .find(|message| format!("{}.{}", file.package(), message.name()) == full_name)
            .map(|message| (file, message))
    })
}

#[test]
fn descriptor_set_contains_every_file() {
    let fds = descriptor_set();
    let names: BTreeSet<&str> = contract_files(&fds).iter().map(|f| f.name()).collect();
    let expected: BTreeSet<&str> = CONTRACT_FILES.iter().copied().collect();
    assert_eq!(names, expected);

    // And every file on disk is compiled (nothing forgotten by the build script).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/parley/v1");
    let on_disk: BTreeSet<String> = fs::read_dir(dir)
        .expect("proto dir")
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".proto"))
        .map(|name| format!("parley/v1/{name}"))
        .collect();
    let expected: BTreeSet<String> = CONTRACT_FILES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(on_disk, expected);
}

#[test]
fn descriptor_set_contains_every_event_with_meta_first() {
    let fds = descriptor_set();
    for (event, file) in EVENTS {
        let (defined_in, message) =
            find_message(&fds, event).unwrap_or_else(|| panic!("{event} missing"));
        assert_eq!(
            defined_in.name(),
            *file,
            "{event} defined in the wrong file"
        );
        let first = message
            .field
            .iter()
            .find(|field| field.number() == 1)
            .unwrap_or_else(|| panic!("{event} has no field 1"));
        assert_eq!(first.name(), "meta", "{event} field 1");
        assert_eq!(first.type_name(), ".parley.v1.EventMeta", "{event} field 1");
    }
}

#[test]
fn event_type_strings_match_descriptor_names() {
    let fds = descriptor_set();
    let expected: Vec<&str> = EVENTS.iter().map(|(event, _)| *event).collect();
    assert_eq!(EVENT_TYPES, expected.as_slice());
    for event in EVENT_TYPES {
        assert!(
            find_message(&fds, event).is_some(),
            "{event} not in descriptors"
        );
    }
    assert_eq!(v1::InboundMessage::TYPE, "parley.v1.InboundMessage");
    assert_eq!(v1::RoutingCommand::TYPE, "parley.v1.RoutingCommand");
    assert_eq!(v1::BotTask::TYPE, "parley.v1.BotTask");
    assert_eq!(v1::AgentTask::TYPE, "parley.v1.AgentTask");
    assert_eq!(v1::OutboundMessage::TYPE, "parley.v1.OutboundMessage");
    assert_eq!(v1::DeliveryResult::TYPE, "parley.v1.DeliveryResult");
    assert_eq!(v1::ConversationEvent::TYPE, "parley.v1.ConversationEvent");
    assert_eq!(v1::ConsentEvent::TYPE, "parley.v1.ConsentEvent");
    assert_eq!(v1::DeadLetter::TYPE, "parley.v1.DeadLetter");
    assert_eq!(v1::OrderingNotice::TYPE, "parley.v1.OrderingNotice");
}

#[test]
fn event_files_document_their_transport() {
    let fds = descriptor_set();
    for file in contract_files(&fds) {
        let header = file_header(file);
        if !file.service.is_empty() {
            // A gRPC API: its header names its transport and metadata instead.
            for needle in ["gRPC", "authorization", "traceparent"] {
                assert!(
                    header.contains(needle),
                    "{}: header comment lacks {needle}",
                    file.name()
                );
            }
            continue;
        }
        for needle in ["amb.", "Nats-Msg-Id", "traceparent", "Parley-Event-Type"] {
            assert!(
                header.contains(needle),
                "{}: header comment lacks {needle}",
                file.name()
            );
        }
    }
    for (event, file) in EVENTS {
        let file = fds.file.iter().find(|f| f.name() == *file).expect("file");
        assert!(
            file_header(file).contains(&format!("Parley-Event-Type: {event}")),
            "{}: header does not name {event}",
            file.name()
        );
    }
}

/// The comment above `syntax = "proto3";` (leading, or detached from it).
fn file_header(file: &FileDescriptorProto) -> String {
    let info = file.source_code_info.as_ref().expect("source info kept");
    info.location
        .iter()
        .filter(|location| location.path == [12])
        .flat_map(|location| {
            location
                .leading_detached_comments
                .iter()
                .cloned()
                .chain(location.leading_comments.clone())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// --- "comment everything" --------------------------------------------------------------

// Field numbers of descriptor.proto, used in `SourceCodeInfo.Location.path`.
const FILE_MESSAGE_TYPE: i32 = 4;
const FILE_ENUM_TYPE: i32 = 5;
/// `FileDescriptorProto.service` and `ServiceDescriptorProto.method` field numbers.
const FILE_SERVICE: i32 = 6;
const SERVICE_METHOD: i32 = 2;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED_TYPE: i32 = 3;
const MESSAGE_ENUM_TYPE: i32 = 4;
const MESSAGE_ONEOF_DECL: i32 = 8;
const ENUM_VALUE: i32 = 2;

#[test]
fn every_message_field_enum_and_value_has_a_leading_comment() {
    let fds = descriptor_set();
    let mut missing = Vec::new();
    let mut checked = 0_usize;
    for file in contract_files(&fds) {
        let info = file
            .source_code_info
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no source info", file.name()));
        let comments: BTreeMap<&[i32], &Location> = info
            .location
            .iter()
            .map(|location| (location.path.as_slice(), location))
            .collect();
        let mut check = |path: Vec<i32>, what: String| {
            checked += 1;
            let documented = comments
                .get(path.as_slice())
                .and_then(|location| location.leading_comments.as_deref())
                .is_some_and(|comment| !comment.trim().is_empty());
            if !documented {
                missing.push(format!("{}: {what}", file.name()));
            }
        };
        for (i, message) in file.message_type.iter().enumerate() {
            walk_message(
                message,
                vec![FILE_MESSAGE_TYPE, index(i)],
                message.name(),
                &mut check,
            );
        }
        for (i, enumeration) in file.enum_type.iter().enumerate() {
            walk_enum(
                enumeration,
                vec![FILE_ENUM_TYPE, index(i)],
                enumeration.name(),
                &mut check,
            );
        }
        for (i, service) in file.service.iter().enumerate() {
            check(
                vec![FILE_SERVICE, index(i)],
                format!("service {}", service.name()),
            );
            for (j, method) in service.method.iter().enumerate() {
                check(
                    vec![FILE_SERVICE, index(i), SERVICE_METHOD, index(j)],
                    format!("rpc {}.{}", service.name(), method.name()),
                );
            }
        }
    }
    assert!(checked > 500, "walked only {checked} elements");
    assert!(
        missing.is_empty(),
        "undocumented elements (add a leading `//` comment):\n{}",
        missing.join("\n")
    );
}

fn walk_message(
    message: &DescriptorProto,
    path: Vec<i32>,
    name: &str,
    check: &mut impl FnMut(Vec<i32>, String),
) {
    check(path.clone(), format!("message {name}"));
    for (i, field) in message.field.iter().enumerate() {
        check(
            [path.as_slice(), &[MESSAGE_FIELD, index(i)]].concat(),
            format!("field {name}.{}", field.name()),
        );
    }
    for (i, oneof) in message.oneof_decl.iter().enumerate() {
        // proto3 `optional` fields get a synthetic oneof with no source location of its own.
        let synthetic = message
            .field
            .iter()
            .any(|f| f.proto3_optional() && f.oneof_index == Some(index(i)));
        if !synthetic {
            check(
                [path.as_slice(), &[MESSAGE_ONEOF_DECL, index(i)]].concat(),
                format!("oneof {name}.{}", oneof.name()),
            );
        }
    }
    for (i, nested) in message.nested_type.iter().enumerate() {
        walk_message(
            nested,
            [path.as_slice(), &[MESSAGE_NESTED_TYPE, index(i)]].concat(),
            &format!("{name}.{}", nested.name()),
            check,
        );
    }
    for (i, nested) in message.enum_type.iter().enumerate() {
        walk_enum(
            nested,
            [path.as_slice(), &[MESSAGE_ENUM_TYPE, index(i)]].concat(),
            &format!("{name}.{}", nested.name()),
            check,
        );
    }
}

fn walk_enum(
    enumeration: &EnumDescriptorProto,
    path: Vec<i32>,
    name: &str,
    check: &mut impl FnMut(Vec<i32>, String),
) {
    check(path.clone(), format!("enum {name}"));
    for (i, value) in enumeration.value.iter().enumerate() {
        check(
            [path.as_slice(), &[ENUM_VALUE, index(i)]].concat(),
            format!("enum value {name}.{}", value.name()),
        );
    }
}

fn index(i: usize) -> i32 {
    i32::try_from(i).expect("small index")
}

// --- naming rules buf's DEFAULT lint would also enforce --------------------------------

#[test]
fn enum_values_are_prefixed_and_start_unspecified() {
    let fds = descriptor_set();
    for file in contract_files(&fds) {
        for enumeration in &file.enum_type {
            let prefix = upper_snake(enumeration.name());
            let first = enumeration.value.first().expect("enum has values");
            assert_eq!(first.number(), 0, "{}: first value", enumeration.name());
            assert_eq!(
                first.name(),
                format!("{prefix}_UNSPECIFIED"),
                "{}: zero value",
                enumeration.name()
            );
            for value in &enumeration.value {
                assert!(
                    value.name().starts_with(&format!("{prefix}_")),
                    "{} lacks prefix {prefix}_",
                    value.name()
                );
            }
        }
    }
}

fn upper_snake(pascal: &str) -> String {
    let chars: Vec<char> = pascal.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let boundary = i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|next| next.is_lowercase()));
        if boundary {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}

// --- round trips -----------------------------------------------------------------------

/// Encodes and decodes `event`, checks it is unchanged, and checks on the wire that every
/// top-level field of the event is set (so the fixture stays "fully populated" as fields are
/// added): every field outside a oneof, and exactly one field of each oneof.
fn round_trip<E: Event + std::fmt::Debug>(event: &E) {
    let bytes = event.encode_to_vec();
    let decoded = E::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(&decoded, event, "{} changed in a round trip", E::TYPE);
    assert_eq!(
        decoded.encode_to_vec(),
        bytes,
        "{} re-encodes differently",
        E::TYPE
    );
    assert!(decoded.meta().is_some(), "{} has no meta", E::TYPE);

    let fds = descriptor_set();
    let (_, message) = find_message(&fds, E::TYPE).expect("descriptor");
    let present = top_level_field_numbers(&bytes);
    for field in &message.field {
        if field.oneof_index.is_none() || field.proto3_optional() {
            assert!(
                present.contains(&field.number()),
                "{} fixture does not set field {}",
                E::TYPE,
                field.name()
            );
        }
    }
    for (i, oneof) in message.oneof_decl.iter().enumerate() {
        let set = message
            .field
            .iter()
            .filter(|f| f.oneof_index == Some(index(i)) && !f.proto3_optional())
            .filter(|f| present.contains(&f.number()))
            .count();
        if set > 0 {
            assert_eq!(set, 1, "{}.{} has {set} members set", E::TYPE, oneof.name());
        } else {
            let synthetic = message
                .field
                .iter()
                .any(|f| f.proto3_optional() && f.oneof_index == Some(index(i)));
            assert!(
                synthetic,
                "{} fixture does not set oneof {}",
                E::TYPE,
                oneof.name()
            );
        }
    }
}

/// The field numbers present at the top level of an encoded message.
fn top_level_field_numbers(mut bytes: &[u8]) -> BTreeSet<i32> {
    fn varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let (byte, rest) = bytes.split_first().expect("truncated varint");
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }
    let mut numbers = BTreeSet::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes);
        numbers.insert(i32::try_from(key >> 3).expect("field number"));
        let skip = match key & 7 {
            0 => {
                varint(&mut bytes);
                0
            }
            1 => 8,
            2 => usize::try_from(varint(&mut bytes)).expect("length"),
            5 => 4,
            other => panic!("unexpected wire type {other}"),
        };
        bytes = &bytes[skip..];
    }
    numbers
}

mod fixtures {
    //! One fully populated example of each event, also usable as documentation.

    use parley_proto::v1::*;
    use prost_types::{Duration, Timestamp};

    pub(crate) fn ts(seconds: i64) -> Timestamp {
        Timestamp {
            seconds,
            nanos: 500,
        }
    }

    pub(crate) fn key() -> ConversationKey {
        ConversationKey {
            business_id: "a884eddf-0000-4000-8000-000000000001".into(),
            opaque_id: "urn:mbid:AQAAYexample".into(),
        }
    }

    pub(crate) fn meta(event_id: &str, producer: &str) -> EventMeta {
        EventMeta {
            event_id: event_id.into(),
            conversation: Some(key()),
            sequence: 42,
            partition: 17,
            occurred_at: Some(ts(1_700_000_000)),
            published_at: Some(ts(1_700_000_001)),
            causation_id: "evt-cause".into(),
            schema_version: 1,
            producer: producer.into(),
        }
    }

    pub(crate) fn capabilities() -> DeviceCapabilities {
        DeviceCapabilities {
            capabilities: vec![
                Capability::QuickReply as i32,
                Capability::ListPicker as i32,
                Capability::TimePicker as i32,
                Capability::Authentication as i32,
                Capability::AuthenticationV2 as i32,
                Capability::Form as i32,
            ],
            unrecognized: vec!["FUTURE".into()],
        }
    }

    pub(crate) fn locale() -> Locale {
        Locale {
            apple: "en_US".into(),
            language_tag: "en-US".into(),
        }
    }

    pub(crate) fn device() -> DeviceAgent {
        DeviceAgent {
            os: DeviceOs::Ios as i32,
            raw: "iPhone OS".into(),
        }
    }

    pub(crate) fn actor(kind: ActorKind, id: &str) -> Actor {
        Actor {
            kind: kind as i32,
            id: id.into(),
            display_name: "Ada".into(),
        }
    }

    pub(crate) fn attachment() -> AttachmentRef {
        AttachmentRef {
            blob: Some(BlobRef {
                store: "fs".into(),
                key: "att/0001".into(),
                sha256: "ab".repeat(32),
                size_bytes: 67_497,
            }),
            mime_type: "image/png".into(),
            size_bytes: 67_497,
            name: "image.png".into(),
        }
    }

    pub(crate) fn data_ref() -> InteractiveDataRef {
        InteractiveDataRef {
            bid: "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension".into(),
            url: "https://p1-content.icloud.com/abc".into(),
            owner: "owner".into(),
            size: 12_345,
            key: format!("00{}", "0f".repeat(32)),
            signature: "a1b2".into(),
            signature_base64: "obI=".into(),
            title: "Menu".into(),
            data_ref_sig: "sig".into(),
        }
    }

    pub(crate) fn common() -> InteractiveCommon {
        InteractiveCommon {
            request_identifier: "7f3c2a8e-0000-4000-8000-000000000002".into(),
            session_identifier: "session-1".into(),
            received_message: Some(BubbleLayout {
                title: "Pick a fruit".into(),
                subtitle: "Any one".into(),
                image_title: "Fruit".into(),
                image_subtitle: "Fresh".into(),
                secondary_subtitle: "Today".into(),
                tertiary_subtitle: "Only".into(),
                style: BubbleStyle::Large as i32,
                image_identifier: "0".into(),
                alternate_title: String::new(),
            }),
            reply_message: Some(BubbleLayout {
                title: "You picked".into(),
                style: BubbleStyle::Icon as i32,
                ..Default::default()
            }),
            images: vec![
                InteractiveImage {
                    identifier: "0".into(),
                    source: Some(interactive_image::Source::Data(vec![
                        0x89, b'P', b'N', b'G',
                    ])),
                    mime_type: "image/png".into(),
                },
                InteractiveImage {
                    identifier: "1".into(),
                    source: Some(interactive_image::Source::Blob(BlobRef {
                        store: "fs".into(),
                        key: "img/1".into(),
                        sha256: "cd".repeat(32),
                        size_bytes: 2048,
                    })),
                    mime_type: "image/jpeg".into(),
                },
            ],
            use_live_layout: Some(false),
        }
    }

    pub(crate) fn list_sections() -> Vec<ListPickerSection> {
        vec![ListPickerSection {
            title: "Fruit".into(),
            order: 1,
            multiple_selection: true,
            items: vec![ListPickerItem {
                identifier: "1".into(),
                title: "Apple".into(),
                subtitle: "Red".into(),
                order: 2,
                style: "default".into(),
                image_identifier: "0".into(),
            }],
        }]
    }

    pub(crate) fn inbound() -> InboundMessage {
        InboundMessage {
            meta: Some(meta("in-1", "ingest")),
            apple_message_id: "2d0c7a55-0000-4000-8000-000000000003".into(),
            capabilities: Some(capabilities()),
            locale: Some(locale()),
            intent: "tech_question".into(),
            group: "general_support".into(),
            device_agent: Some(device()),
            kind: Some(inbound_message::Kind::Text(InboundText {
                body: "Here \u{fffc} and \u{fffc}".into(),
                attachments: vec![
                    InboundAttachment {
                        outcome: Some(inbound_attachment::Outcome::Stored(attachment())),
                    },
                    InboundAttachment {
                        outcome: Some(inbound_attachment::Outcome::Failed(AttachmentFailure {
                            name: "voice.caf".into(),
                            mime_type: "audio/x-caf".into(),
                            size_bytes: 1024,
                            reason: AttachmentFailureReason::SizeMismatch as i32,
                            detail: "got 1000 bytes, expected 1024".into(),
                        })),
                    },
                ],
            })),
        }
    }

    /// Inbound examples of every other kind, for the round trip too.
    pub(crate) fn inbound_variants() -> Vec<InboundMessage> {
        use inbound_message::Kind;
        use interactive_reply::Reply;
        let reply = |reply: Reply| {
            Kind::InteractiveReply(InteractiveReply {
                request_identifier: "7f3c2a8e-0000-4000-8000-000000000002".into(),
                session_identifier: "session-1".into(),
                bid: data_ref().bid,
                reply_message: Some(BubbleLayout {
                    title: "Done".into(),
                    alternate_title: "Done (alt)".into(),
                    ..Default::default()
                }),
                raw_json: r#"{"data":{}}"#.into(),
                from_data_ref: true,
                reply: Some(reply),
            })
        };
        let kinds = vec![
            reply(Reply::ListPicker(ListPickerReply {
                sections: list_sections(),
            })),
            reply(Reply::TimePicker(TimePickerReply {
                event: Some(TimePickerEvent {
                    identifier: "1".into(),
                    title: "Visit".into(),
                    timezone_offset_minutes: Some(-420),
                    timeslots: vec![TimeSlot {
                        identifier: "0".into(),
                        start_time: Some(ts(1_700_003_600)),
                        duration_seconds: 3600,
                    }],
                }),
            })),
            reply(Reply::QuickReply(QuickReplyReply {
                selected_index: Some(0),
                selected_identifier: "1".into(),
                selected_title: "Watch our video".into(),
            })),
            reply(Reply::Form(FormReply {
                template: "messageForms".into(),
                version: "1.2".into(),
                selections: vec![FormSelection {
                    page_identifier: "0".into(),
                    title: "Email".into(),
                    subtitle: "We reply there".into(),
                    items: vec![FormSelectionItem {
                        identifier: String::new(),
                        title: "Email".into(),
                        value: "ada@example.com".into(),
                        r#type: "input".into(),
                    }],
                }],
            })),
            reply(Reply::ApplePay(ApplePayReply {
                status: ApplePayStatus::Success as i32,
                raw_status: "STATUS_SUCCESS".into(),
                payment_method_display_name: "Visa 1234".into(),
                payment_method_network: "Visa".into(),
                payment_method_type: "credit".into(),
                transaction_identifier: "tx-1".into(),
            })),
            reply(Reply::Authentication(AuthenticationReply {
                version: AuthenticationVersion::V2 as i32,
                status: AuthenticationStatus::Authenticated as i32,
                raw_status: "authenticated".into(),
                state: "state-1".into(),
                credential_ref: "secret/1".into(),
            })),
            reply(Reply::ImessageApp(IMessageAppReply {
                url: "?name=pkg".into(),
                app_id: 123_456_789,
                app_name: "Package Delivery".into(),
            })),
            reply(Reply::Unrecognized(UnrecognizedReply {
                data_keys: vec!["future-feature".into()],
            })),
            reply(Reply::DataRefFailure(DataRefFailure {
                data_ref: Some(data_ref()),
                reason: AttachmentFailureReason::Expired as i32,
                detail: "gone".into(),
            })),
            Kind::TypingStart(TypingStart {}),
            Kind::TypingEnd(TypingEnd {}),
            Kind::Close(CustomerClose {}),
            Kind::Reaction(Reaction {
                r#type: ReactionType::Emoji as i32,
                emoji: "\u{1f600}".into(),
                removed: true,
                target_excerpt: "Your order shipped".into(),
                raw_body: "Reacted \u{1f600} to \u{201c}Your order shipped\u{201d}".into(),
            }),
        ];
        kinds
            .into_iter()
            .map(|kind| InboundMessage {
                kind: Some(kind),
                ..inbound()
            })
            .collect()
    }

    pub(crate) fn routing() -> RoutingCommand {
        RoutingCommand {
            meta: Some(meta("rt-1", "agent-gateway")),
            issued_by: Some(actor(ActorKind::Agent, "agent-7")),
            command: Some(routing_command::Command::Transfer(TransferConversation {
                from_agent_id: "agent-7".into(),
                target: Some(transfer_conversation::Target::ToQueue("billing".into())),
                skills: vec!["billing".into(), "es".into()],
                note: "needs a refund".into(),
            })),
        }
    }

    pub(crate) fn bot() -> BotTask {
        BotTask {
            meta: Some(meta("bot-1", "routing")),
            context: Some(BotContext {
                bot_id: "faq".into(),
                intent: "tech_question".into(),
                group: "general_support".into(),
                locale: Some(locale()),
                capabilities: Some(capabilities()),
                device_agent: Some(device()),
                new_conversation: true,
                within_business_hours: true,
                agents_available: true,
            }),
            task: Some(bot_task::Task::EscalationUpdate(EscalationUpdate {
                status: EscalationStatus::OutsideBusinessHours as i32,
                queue: "general".into(),
                position: 3,
                estimated_wait: Some(Duration {
                    seconds: 600,
                    nanos: 0,
                }),
                next_opening_at: Some(ts(1_700_030_000)),
            })),
        }
    }

    pub(crate) fn agent() -> AgentTask {
        AgentTask {
            meta: Some(meta("ag-1", "routing")),
            agent_id: "agent-7".into(),
            assignment_id: "asg-1".into(),
            task: Some(agent_task::Task::NewAssignment(NewAssignment {
                context: Some(AgentConversationContext {
                    intent: "tech_question".into(),
                    group: "general_support".into(),
                    locale: Some(locale()),
                    capabilities: Some(capabilities()),
                    device_agent: Some(device()),
                    conversation_started_at: Some(ts(1_699_999_000)),
                    reopen_count: 1,
                }),
                queue: "general".into(),
                reason: EscalationReason::TriggerWord as i32,
                skills: vec!["billing".into()],
                summary: "customer asks about a refund".into(),
                requires_accept: true,
                offer_expires_at: Some(ts(1_700_000_060)),
                previous_agent_id: "agent-3".into(),
                transfer_note: "over to you".into(),
                response_target_seconds: 300,
            })),
        }
    }

    pub(crate) fn outbound() -> OutboundMessage {
        OutboundMessage {
            meta: Some(meta("out-1", "bot")),
            apple_message_id: "5b0e8a1c-0000-4000-8000-000000000004".into(),
            sender: Some(actor(ActorKind::Bot, "faq")),
            auto_reply: true,
            msp_agent: "faq-bot".into(),
            business_initiated: true,
            notification_topic: "orders".into(),
            more: vec![OutboundPart {
                kind: Some(outbound_part::Kind::TypingEnd(TypingEnd {})),
            }],
            kind: Some(outbound_message::Kind::ListPicker(ListPickerRequest {
                common: Some(common()),
                sections: list_sections(),
            })),
        }
    }

    /// Outbound examples of every other kind, for the round trip too.
    pub(crate) fn outbound_variants() -> Vec<OutboundMessage> {
        use outbound_message::Kind;
        let kinds = vec![
            Kind::Text(OutboundText {
                body: "Your invoice \u{fffc}".into(),
                attachments: vec![attachment()],
            }),
            Kind::RichLink(RichLink {
                url: "https://example.com/order/1".into(),
                title: "Your order".into(),
                image: Some(RichLinkImage {
                    source: Some(rich_link_image::Source::Data(vec![1, 2, 3])),
                    mime_type: "image/jpeg".into(),
                }),
                video: Some(RichLinkVideo {
                    url: "https://example.com/v.mp4".into(),
                    mime_type: "video/mp4".into(),
                }),
            }),
            Kind::QuickReply(QuickReplyRequest {
                common: Some(common()),
                summary_text: "What can I help you with?".into(),
                items: vec![QuickReplyItem {
                    identifier: "1".into(),
                    title: "Watch our video".into(),
                }],
            }),
            Kind::TimePicker(TimePickerRequest {
                common: Some(common()),
                event: Some(TimePickerEvent {
                    identifier: "1".into(),
                    title: "Visit".into(),
                    timezone_offset_minutes: None,
                    timeslots: vec![TimeSlot {
                        identifier: "0".into(),
                        start_time: Some(ts(1_700_003_600)),
                        duration_seconds: 1800,
                    }],
                }),
            }),
            Kind::Form(FormRequest {
                common: Some(common()),
                template: "messageForms".into(),
                version: "1.2".into(),
                private: true,
                splash: Some(FormSplash {
                    header: "Sign up".into(),
                    text: "Two questions".into(),
                    button_title: "Continue".into(),
                    image_identifier: "1".into(),
                }),
                start_page_identifier: "0".into(),
                show_summary: true,
                pages: vec![FormPage {
                    page_identifier: "0".into(),
                    r#type: FormPageType::Input as i32,
                    title: "Email".into(),
                    subtitle: "We reply there".into(),
                    next_page_identifier: "1".into(),
                    submit_form: false,
                    multiple_selection: false,
                    items: vec![FormItem {
                        identifier: "001".into(),
                        title: "Work".into(),
                        value: "work".into(),
                        image_identifier: "1".into(),
                        next_page_identifier: "2".into(),
                    }],
                    options: Some(FormPageOptions {
                        required: true,
                        input_type: FormInputType::SingleLine as i32,
                        keyboard_type: "emailAddress".into(),
                        text_content_type: "emailAddress".into(),
                        maximum_character_count: 250,
                        regex: ".+@.+".into(),
                        date_format: "MM/dd/yyyy".into(),
                        minimum_date: "01/01/2000".into(),
                        maximum_date: "12/31/2030".into(),
                        placeholder: "you@example.com".into(),
                    }),
                }],
            }),
            Kind::ApplePay(ApplePayRequest {
                common: Some(common()),
                payment_request: Some(ApplePayPaymentRequest {
                    line_items: vec![ApplePayLineItem {
                        label: "Shirt".into(),
                        amount: "10.00".into(),
                        r#type: ApplePayLineItemType::Final as i32,
                    }],
                    total: Some(ApplePayLineItem {
                        label: "Total".into(),
                        amount: "10.28".into(),
                        r#type: ApplePayLineItemType::Pending as i32,
                    }),
                    merchant: Some(ApplePayMerchant {
                        merchant_identifier: "merchant.com.example".into(),
                        supported_networks: vec!["visa".into(), "masterCard".into()],
                        merchant_capabilities: vec!["supports3DS".into()],
                    }),
                    merchant_name: "Example".into(),
                    country_code: "US".into(),
                    currency_code: "USD".into(),
                    required_billing_contact_fields: vec!["post".into()],
                    required_shipping_contact_fields: vec!["email".into()],
                    shipping_methods: vec![ApplePayShippingMethod {
                        label: "Standard".into(),
                        detail: "3 days".into(),
                        amount: "0.28".into(),
                        identifier: "std".into(),
                    }],
                }),
                merchant_session_json: "{}".into(),
                endpoints: Some(ApplePayEndpoints {
                    payment_gateway_url: "https://pay.example.com/gw".into(),
                    fallback_url: "https://pay.example.com/fb".into(),
                    order_tracking_url: "https://pay.example.com/ot".into(),
                    payment_method_update_url: "https://pay.example.com/pm".into(),
                    shipping_contact_update_url: "https://pay.example.com/sc".into(),
                    shipping_method_update_url: "https://pay.example.com/sm".into(),
                }),
            }),
            Kind::Authentication(AuthenticationRequest {
                common: Some(common()),
                version: AuthenticationVersion::V2 as i32,
                response_type: "code".into(),
                scope: vec!["profile".into()],
                state: "state-1".into(),
                redirect_uri: "https://parley.example.com/oauth".into(),
            }),
            Kind::ImessageApp(IMessageAppMessage {
                common: Some(common()),
                bid: "com.apple.messages.MSMessageExtensionBalloonPlugin:TEAM:com.example.ext"
                    .into(),
                app_id: 123_456_789,
                app_name: "Package Delivery".into(),
                app_icon: Some(InteractiveImage {
                    identifier: "icon".into(),
                    source: Some(interactive_image::Source::Data(vec![1])),
                    mime_type: "image/png".into(),
                }),
                url: "?name=pkg&deliveryDate=27-01-2017".into(),
            }),
            Kind::TypingStart(TypingStart {}),
            Kind::TypingEnd(TypingEnd {}),
            Kind::InteractiveDataRef(InteractiveDataRefMessage {
                data_ref: Some(data_ref()),
            }),
            Kind::RawInteractive(RawInteractive {
                interactive_data_json: r#"{"bid":"x","data":{}}"#.into(),
                required_capabilities: vec![Capability::Form as i32],
            }),
        ];
        kinds
            .into_iter()
            .map(|kind| OutboundMessage {
                kind: Some(kind),
                ..outbound()
            })
            .collect()
    }

    pub(crate) fn delivery() -> DeliveryResult {
        DeliveryResult {
            meta: Some(meta("dl-1", "outbound")),
            outbound_event_id: "out-1".into(),
            apple_message_id: "5b0e8a1c-0000-4000-8000-000000000004".into(),
            sender: Some(actor(ActorKind::Notification, "crm")),
            kind: OutboundKind::Text as i32,
            notification_topic: "orders".into(),
            attempt: 2,
            outcome: Some(delivery_result::Outcome::Refused(Refused {
                reason: RefusalReason::CapabilityMissing as i32,
                missing_capabilities: vec![Capability::Form as i32],
                detail: "forms need iPhone or iPad".into(),
            })),
        }
    }

    pub(crate) fn conversation() -> ConversationEvent {
        ConversationEvent {
            meta: Some(meta("cv-1", "routing")),
            previous_state: LifecycleState::Queued as i32,
            state: LifecycleState::Assigned as i32,
            snapshot: Some(ConversationState {
                key: Some(key()),
                partition: 17,
                lifecycle: LifecycleState::Assigned as i32,
                queue: "general".into(),
                skills: vec!["billing".into()],
                assigned_agent_id: "agent-7".into(),
                assignment_id: "asg-1".into(),
                offered_agent_id: "agent-8".into(),
                bot_id: "faq".into(),
                intent: "tech_question".into(),
                group: "general_support".into(),
                locale: Some(locale()),
                capabilities: Some(capabilities()),
                device_agent: Some(device()),
                last_inbound_sequence: 12,
                last_routing_sequence: 4,
                version: 9,
                reopen_count: 1,
                created_at: Some(ts(1_699_999_000)),
                updated_at: Some(ts(1_700_000_000)),
                state_entered_at: Some(ts(1_700_000_000)),
                last_customer_message_at: Some(ts(1_699_999_900)),
                last_business_message_at: Some(ts(1_699_999_950)),
                ended_at: Some(ts(1_699_000_000)),
                handoff_summary: "asked for a refund".into(),
                handoff_note: "needs the order number".into(),
                previous_agent_id: "agent-3".into(),
                declined: vec![DeclinedBy {
                    agent_id: "agent-5".into(),
                    until: Some(ts(1_700_000_300)),
                }],
            }),
            actor: Some(actor(ActorKind::Agent, "agent-7")),
            transition: Some(conversation_event::Transition::Assigned(Assigned {
                agent_id: "agent-7".into(),
                assignment_id: "asg-1".into(),
                queue: "general".into(),
                previous_agent_id: "agent-3".into(),
            })),
        }
    }

    pub(crate) fn consent() -> ConsentEvent {
        ConsentEvent {
            meta: Some(meta("cs-1", "notification-consent")),
            topic: "orders".into(),
            status: ConsentStatus::OptedOut as i32,
            source: ConsentSource::Keyword as i32,
            audit: Some(ConsentAudit {
                actor: Some(actor(ActorKind::Customer, "")),
                evidence_event_id: "in-9".into(),
                keyword: "stop".into(),
                disclosure_text: "We will send important notifications related to your account status or transactions. Send 'Unsubscribe' to manage your message preferences.".into(),
                request_id: "req-1".into(),
                note: "keyword".into(),
            }),
            change: Some(consent_event::Change::OptedOut(OptOut { all_topics: true })),
        }
    }

    pub(crate) fn dead_letter() -> DeadLetter {
        DeadLetter {
            meta: Some(meta("dlq-1", "routing")),
            consumer: "routing".into(),
            original_subject: "amb.inbound.17".into(),
            original_event_type: "parley.v1.InboundMessage".into(),
            original_stream_sequence: 1234,
            payload: vec![0x0a, 0x00],
            headers: vec![NatsHeader {
                name: "Nats-Msg-Id".into(),
                value: "in-1".into(),
            }],
            reason: DeadLetterReason::DecodeFailed as i32,
            detail: "invalid wire type".into(),
            delivery_count: 5,
        }
    }
}

#[test]
fn every_event_round_trips_fully_populated() {
    round_trip(&fixtures::inbound());
    round_trip(&fixtures::routing());
    round_trip(&fixtures::bot());
    round_trip(&fixtures::agent());
    round_trip(&fixtures::outbound());
    round_trip(&fixtures::delivery());
    round_trip(&fixtures::conversation());
    round_trip(&fixtures::consent());
    round_trip(&fixtures::dead_letter());
    round_trip(&v1::OrderingNotice {
        meta: Some(fixtures::meta("on-1", "routing")),
        stage: "routing".into(),
        sequence: 7,
        kind: v1::OrderingKind::AppliedLate as i32,
        attempts: 2,
    });
}

#[test]
fn every_inbound_and_outbound_kind_round_trips() {
    for event in fixtures::inbound_variants() {
        round_trip(&event);
    }
    for event in fixtures::outbound_variants() {
        round_trip(&event);
    }
    // Embedded events keep their own metadata.
    let task = v1::BotTask {
        task: Some(v1::bot_task::Task::CustomerMessage(fixtures::inbound())),
        ..fixtures::bot()
    };
    round_trip(&task);
    let task = v1::AgentTask {
        task: Some(v1::agent_task::Task::Delivery(fixtures::delivery())),
        ..fixtures::agent()
    };
    round_trip(&task);
}

#[test]
fn event_meta_is_exposed_by_the_trait() {
    let event = fixtures::inbound();
    let meta = event.meta().expect("meta");
    assert_eq!(meta.event_id, "in-1");
    assert_eq!(meta.sequence, 42);
    assert_eq!(meta.partition, 17);
    assert!(v1::DeadLetter::default().meta().is_none());
}
