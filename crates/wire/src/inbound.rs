//! Apple → `parley.v1`: builds the body of an [`InboundMessage`] from Apple's validated
//! message and headers ([`to_event`]).
//!
//! Decisions:
//! - `InboundText.body` is Apple's body with every U+FFFC OBJECT REPLACEMENT CHARACTER removed
//!   and nothing else changed (no trimming, no normalisation: right-to-left text, emoji and
//!   line breaks pass through byte for byte). The attachments keep the placeholders' order.
//! - A text without attachments whose body is a tapback
//!   ([`parley_apple::tapback::detect_tapback`]) becomes a `Reaction`, with the body kept
//!   exactly as sent in `raw_body`.
//! - `InteractiveReply.raw_json` is the `interactiveData` object serialised from Apple's model
//!   (which keeps unknown keys; `mspVersion` is written as `version`), or the decoded JSON
//!   exactly as ingest resolved it for a data reference, in both cases without credentials:
//!   `data.authenticate.token`/`code` (and similar keys) and
//!   `data.payment.paymentToken.paymentData` are removed, because the contract keeps
//!   credentials and payment tokens off the bus. Ingest reads them from Apple's message.
//! - Slot start times are read from Apple's `2022-07-10T17:00+0000` and close variants; a time
//!   that does not parse leaves `start_time` unset (it is still in `raw_json`).

use parley_apple::headers::InboundHeaders;
use parley_apple::model::{self as apple, InteractiveData, Message, MessageType, body_text};
use parley_apple::tapback::{Reaction as Tapback, TapbackTarget, detect_tapback};
use parley_proto::v1::{
    self as pb, AttachmentFailureReason, InboundAttachment, InboundMessage, inbound_message::Kind,
    interactive_reply::Reply,
};
use serde_json::Value;

use crate::WireError;
use crate::capabilities;
use crate::time::parse_apple;

/// What ingest resolved about an interactive data reference: the JSON of `interactiveData`
/// (downloaded, decrypted and passed through `decodePayload`), or why that failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedDataRef {
    /// The decoded interactive data. Either the `interactiveData` object itself or a message
    /// object holding it under `interactiveData`.
    Decoded(Value),
    /// Fetching or decoding failed.
    Failed {
        /// Why (same reasons as for attachments).
        reason: AttachmentFailureReason,
        /// A short explanation for operators (no secrets, no content).
        detail: String,
    },
}

/// Builds the inbound event body (everything but `meta`, which the caller fills) from Apple's
/// validated message and headers.
///
/// - `attachments`: the outcomes ingest produced for `message.attachments`, same order, one
///   per attachment (a different count is [`WireError::AttachmentCountMismatch`]). They go to
///   `InboundText.attachments`; other message types carry none.
/// - `data_ref`: the resolution of `interactiveDataRef`, required when the message carries
///   only a reference ([`WireError::UnresolvedDataRef`] otherwise) and ignored when it carries
///   inline data. A failed resolution becomes `data_ref_failure`, with the whole message as
///   `raw_json`.
/// - `text` becomes `InboundText` (see the module docs for U+FFFC) or, for a tapback,
///   `Reaction`; `typing_start`, `typing_end` and `close` their variants; `interactive` an
///   `InteractiveReply` with the typed reply. `richLink` and unknown types are
///   [`WireError::UnsupportedInboundType`].
/// - `apple_message_id` is the `id` header (the body's `id` when the header is empty);
///   capabilities and device agent come from the headers (`device_agent` unset without the
///   header); locale, intent and group from the body (`locale` unset when absent or empty).
pub fn to_event(
    headers: &InboundHeaders,
    message: &Message,
    attachments: Vec<InboundAttachment>,
    data_ref: Option<ResolvedDataRef>,
) -> Result<InboundMessage, WireError> {
    let declared = message.attachments().len();
    if attachments.len() != declared {
        return Err(WireError::AttachmentCountMismatch {
            expected: declared,
            found: attachments.len(),
        });
    }
    let kind = match &message.kind {
        MessageType::Text => text_or_reaction(message.body.as_deref().unwrap_or(""), attachments),
        MessageType::Interactive => Kind::InteractiveReply(interactive(message, data_ref)?),
        MessageType::TypingStart => Kind::TypingStart(pb::TypingStart {}),
        MessageType::TypingEnd => Kind::TypingEnd(pb::TypingEnd {}),
        MessageType::Close => Kind::Close(pb::CustomerClose {}),
        MessageType::RichLink | MessageType::Unknown(_) => {
            return Err(WireError::UnsupportedInboundType {
                found: message.kind.as_str().to_owned(),
            });
        }
    };
    let apple_message_id = if headers.id.trim().is_empty() {
        message.id.clone().unwrap_or_default()
    } else {
        headers.id.clone()
    };
    let locale = message
        .locale
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .map(|l| pb::Locale {
            apple: l.to_owned(),
            language_tag: language_tag(l).unwrap_or_default(),
        });
    Ok(InboundMessage {
        meta: None,
        apple_message_id,
        capabilities: Some(capabilities::to_proto(&headers.capabilities)),
        locale,
        intent: message.intent.clone().unwrap_or_default(),
        group: message.group.clone().unwrap_or_default(),
        device_agent: headers
            .device_agent
            .as_ref()
            .map(|a| capabilities::device_agent_to_proto(Some(a))),
        kind: Some(kind),
    })
}

/// An Apple locale (`en_US`, `zh_Hans_CN`, `en_US_POSIX`, `de_DE@calendar=gregorian`,
/// `fr_FR.UTF-8`) as a BCP 47 language tag (`en-US`, `zh-Hans-CN`, `en-US-posix`, `de-DE`,
/// `fr-FR`): `_` becomes `-`, the language is lower-cased, a script title-cased, a region
/// upper-cased, variants lower-cased; ICU keywords (`@…`) and an encoding (`.…`) are dropped.
/// `None` when the text does not have that shape.
pub fn language_tag(locale: &str) -> Option<String> {
    let core = locale.trim().split(['@', '.']).next().unwrap_or_default();
    let mut parts = core.split(['_', '-']);
    let language = parts
        .next()
        .filter(|l| (2..=3).contains(&l.len()) || (5..=8).contains(&l.len()))?;
    if !language.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut tag = language.to_ascii_lowercase();
    // 0: after the language, 1: after a script, 2: after a region, 3: in the variants.
    let mut stage = 0;
    for part in parts {
        let alpha = part.bytes().all(|b| b.is_ascii_alphabetic());
        let digits = part.bytes().all(|b| b.is_ascii_digit());
        let alnum = part.bytes().all(|b| b.is_ascii_alphanumeric());
        let len = part.len();
        tag.push('-');
        if stage == 0 && len == 4 && alpha {
            let mut chars = part.chars();
            tag.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            tag.push_str(&chars.as_str().to_ascii_lowercase());
            stage = 1;
        } else if stage <= 1 && ((len == 2 && alpha) || (len == 3 && digits)) {
            tag.push_str(&part.to_ascii_uppercase());
            stage = 2;
        } else if alnum
            && ((5..=8).contains(&len)
                || (len == 4 && part.bytes().next().is_some_and(|b| b.is_ascii_digit())))
        {
            tag.push_str(&part.to_ascii_lowercase());
            stage = 3;
        } else {
            return None;
        }
    }
    Some(tag)
}

fn text_or_reaction(body: &str, attachments: Vec<InboundAttachment>) -> Kind {
    if attachments.is_empty()
        && let Some(tapback) = detect_tapback(body)
    {
        let (reaction_type, emoji) = match tapback.reaction() {
            Tapback::Loved => (pb::ReactionType::Love, String::new()),
            Tapback::Liked => (pb::ReactionType::Like, String::new()),
            Tapback::Disliked => (pb::ReactionType::Dislike, String::new()),
            Tapback::Laughed => (pb::ReactionType::Laugh, String::new()),
            Tapback::Emphasized => (pb::ReactionType::Emphasize, String::new()),
            Tapback::Questioned => (pb::ReactionType::Question, String::new()),
            Tapback::Emoji(e) => (pb::ReactionType::Emoji, e.clone()),
        };
        let target_excerpt = match &tapback.target {
            TapbackTarget::Quoted(text) => text.clone(),
            TapbackTarget::BusinessMessages(_) | TapbackTarget::Item(_) => String::new(),
        };
        return Kind::Reaction(pb::Reaction {
            r#type: reaction_type as i32,
            emoji,
            removed: tapback.is_removal(),
            target_excerpt,
            raw_body: body.to_owned(),
        });
    }
    Kind::Text(pb::InboundText {
        body: body_text(body),
        attachments,
    })
}

fn interactive(
    message: &Message,
    data_ref: Option<ResolvedDataRef>,
) -> Result<pb::InteractiveReply, WireError> {
    if let Some(data) = &message.interactive_data {
        let mut value = serde_json::to_value(data).map_err(WireError::Serialize)?;
        redact_credentials(&mut value);
        return Ok(reply_from_data(data, value.to_string(), false));
    }
    let Some(reference) = &message.interactive_data_ref else {
        return Err(WireError::MissingInteractiveData);
    };
    match data_ref {
        None => Err(WireError::UnresolvedDataRef),
        Some(ResolvedDataRef::Decoded(value)) => {
            let object = match value {
                Value::Object(mut map) => match map.remove("interactiveData") {
                    Some(inner @ Value::Object(_)) => inner,
                    Some(other) => {
                        map.insert("interactiveData".to_owned(), other);
                        Value::Object(map)
                    }
                    None => Value::Object(map),
                },
                other => other,
            };
            let mut redacted = object.clone();
            redact_credentials(&mut redacted);
            let raw_json = redacted.to_string();
            match serde_json::from_value::<InteractiveData>(object.clone()) {
                Ok(mut data) => {
                    if data.bid.is_none() {
                        data.bid.clone_from(&reference.bid);
                    }
                    Ok(reply_from_data(&data, raw_json, true))
                }
                Err(_) => Ok(pb::InteractiveReply {
                    bid: reference.bid.clone().unwrap_or_default(),
                    raw_json,
                    from_data_ref: true,
                    reply: Some(Reply::Unrecognized(pb::UnrecognizedReply {
                        data_keys: object_keys(object.get("data")),
                    })),
                    ..pb::InteractiveReply::default()
                }),
            }
        }
        Some(ResolvedDataRef::Failed { reason, detail }) => Ok(pb::InteractiveReply {
            bid: reference.bid.clone().unwrap_or_default(),
            raw_json: serde_json::to_string(message).map_err(WireError::Serialize)?,
            from_data_ref: false,
            reply: Some(Reply::DataRefFailure(pb::DataRefFailure {
                data_ref: Some(data_ref_to_proto(reference)),
                reason: reason as i32,
                detail,
            })),
            ..pb::InteractiveReply::default()
        }),
    }
}

/// Keys under `data.authenticate` that hold a credential (the legacy flow's encrypted access
/// token, an AUTH2 code), and under `data.payment.paymentToken` the payment data.
const CREDENTIAL_KEYS: &[&str] = &[
    "token",
    "code",
    "accessToken",
    "access_token",
    "authorizationCode",
    "authorization_code",
    "refreshToken",
    "refresh_token",
    "idToken",
    "id_token",
];

/// Removes credentials from an `interactiveData` JSON value before it goes on the bus as
/// `raw_json`: the contract says credentials and payment tokens never travel there (ingest
/// reads them from Apple's message itself).
fn redact_credentials(value: &mut Value) {
    let Some(data) = value.get_mut("data") else {
        return;
    };
    if let Some(Value::Object(auth)) = data.get_mut("authenticate") {
        for key in CREDENTIAL_KEYS {
            auth.remove(*key);
        }
    }
    if let Some(Value::Object(token)) = data
        .get_mut("payment")
        .and_then(|p| p.get_mut("paymentToken"))
    {
        token.remove("paymentData");
    }
}

/// The proto form of an Apple interactive data reference.
pub(crate) fn data_ref_to_proto(r: &apple::InteractiveDataRef) -> pb::InteractiveDataRef {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    pb::InteractiveDataRef {
        bid: s(&r.bid),
        url: s(&r.url),
        owner: s(&r.owner),
        size: r
            .size
            .as_ref()
            .and_then(apple::IntOrString::as_u64)
            .unwrap_or(0),
        key: s(&r.key),
        signature: s(&r.signature),
        signature_base64: s(&r.signature_base64),
        title: s(&r.title),
        data_ref_sig: s(&r.data_ref_sig),
    }
}

fn object_keys(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn reply_from_data(
    data: &InteractiveData,
    raw_json: String,
    from_data_ref: bool,
) -> pb::InteractiveReply {
    let reply = data.reply();
    let context = reply.context();
    let payload = data.data.as_ref();
    let typed = match &reply {
        apple::InteractiveReply::ListPicker(_) => Reply::ListPicker(list_picker(payload)),
        apple::InteractiveReply::TimePicker(_) => Reply::TimePicker(time_picker(payload)),
        apple::InteractiveReply::QuickReply(q) => Reply::QuickReply(pb::QuickReplyReply {
            selected_index: q.selected_index.and_then(|i| u32::try_from(i).ok()),
            selected_identifier: q.identifier().unwrap_or_default().to_owned(),
            selected_title: q
                .selected_item
                .as_ref()
                .and_then(|i| i.title.clone())
                .unwrap_or_default(),
        }),
        apple::InteractiveReply::Form(f) => {
            let form = payload.and_then(|p| p.dynamic.as_ref());
            Reply::Form(pb::FormReply {
                template: form
                    .and_then(|f| f.template.as_ref())
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                version: form
                    .and_then(|f| f.version.as_ref())
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                selections: f.selections.iter().map(form_selection).collect(),
            })
        }
        apple::InteractiveReply::ApplePay(_) => Reply::ApplePay(apple_pay(payload)),
        apple::InteractiveReply::Authentication(a) => {
            let (status, raw_status) = match &a.status {
                None => (pb::AuthenticationStatus::Unspecified, String::new()),
                Some(apple::AuthenticationStatus::Authenticated) => (
                    pb::AuthenticationStatus::Authenticated,
                    "authenticated".to_owned(),
                ),
                Some(apple::AuthenticationStatus::Failed) => {
                    (pb::AuthenticationStatus::Failed, "failed".to_owned())
                }
                Some(apple::AuthenticationStatus::Unknown(s)) if s.trim().is_empty() => {
                    (pb::AuthenticationStatus::Unspecified, s.clone())
                }
                Some(apple::AuthenticationStatus::Unknown(s)) => {
                    (pb::AuthenticationStatus::Other, s.clone())
                }
            };
            let version = if a.token.is_some() {
                pb::AuthenticationVersion::Legacy
            } else if a.code.is_some() {
                pb::AuthenticationVersion::V2
            } else {
                pb::AuthenticationVersion::Unspecified
            };
            let value = payload.and_then(|p| serde_json::to_value(p).ok());
            let state = first_str(
                value.as_ref(),
                &[
                    &["authenticate", "state"],
                    &["authenticate", "oauth2", "state"],
                    &["state"],
                ],
            );
            Reply::Authentication(pb::AuthenticationReply {
                version: version as i32,
                status: status as i32,
                raw_status,
                state,
                credential_ref: String::new(),
            })
        }
        apple::InteractiveReply::IMessageApp(m) => Reply::ImessageApp(pb::IMessageAppReply {
            url: m.url.clone().unwrap_or_default(),
            app_id: data
                .app_id
                .as_ref()
                .and_then(apple::IntOrString::as_u64)
                .unwrap_or(0),
            app_name: data.app_name.clone().unwrap_or_default(),
        }),
        apple::InteractiveReply::Unknown(_) => Reply::Unrecognized(pb::UnrecognizedReply {
            data_keys: object_keys(payload.and_then(|p| serde_json::to_value(p).ok()).as_ref()),
        }),
    };
    pb::InteractiveReply {
        request_identifier: context.request_identifier.clone().unwrap_or_default(),
        session_identifier: context.session_identifier.clone().unwrap_or_default(),
        bid: data.bid.clone().unwrap_or_default(),
        reply_message: context.reply_message.as_ref().map(bubble_to_proto),
        raw_json,
        from_data_ref,
        reply: Some(typed),
    }
}

/// The proto form of an Apple bubble.
pub(crate) fn bubble_to_proto(b: &apple::MessageBubble) -> pb::BubbleLayout {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let style = match &b.style {
        Some(apple::BubbleStyle::Icon) => pb::BubbleStyle::Icon,
        Some(apple::BubbleStyle::Small) => pb::BubbleStyle::Small,
        Some(apple::BubbleStyle::Large) => pb::BubbleStyle::Large,
        Some(apple::BubbleStyle::Unknown(_)) | None => pb::BubbleStyle::Unspecified,
    };
    pb::BubbleLayout {
        title: s(&b.title),
        subtitle: s(&b.subtitle),
        image_title: s(&b.image_title),
        image_subtitle: s(&b.image_subtitle),
        secondary_subtitle: s(&b.secondary_subtitle),
        tertiary_subtitle: s(&b.tertiary_subtitle),
        style: style as i32,
        image_identifier: s(&b.image_identifier),
        alternate_title: s(&b.alternate_title),
    }
}

/// An order from the wire (`i64`) as the contract's `u32`: negatives become 0, too large
/// values `u32::MAX`.
fn order(value: Option<i64>) -> u32 {
    value.map_or(0, |v| u32::try_from(v.max(0)).unwrap_or(u32::MAX))
}

/// The sections of a list picker reply with the selected items: the items flagged
/// `"selected": true` when any item is, every item otherwise (as
/// [`parley_apple::model::ListPickerSelection`] reads it). Empty sections are left out.
fn list_picker(payload: Option<&apple::InteractivePayload>) -> pb::ListPickerReply {
    let sections = payload
        .and_then(|p| p.list_picker.as_ref())
        .and_then(|l| l.sections.as_deref())
        .unwrap_or(&[]);
    let flagged =
        |i: &apple::ListPickerItem| i.extra.get("selected").and_then(Value::as_bool) == Some(true);
    let any_flagged = sections.iter().flat_map(|s| s.items()).any(flagged);
    let sections = sections
        .iter()
        .filter_map(|s| {
            let items: Vec<pb::ListPickerItem> = s
                .items()
                .iter()
                .filter(|i| !any_flagged || flagged(i))
                .map(|i| pb::ListPickerItem {
                    identifier: i.identifier.clone().unwrap_or_default(),
                    title: i.title.clone().unwrap_or_default(),
                    subtitle: i.subtitle.clone().unwrap_or_default(),
                    order: order(i.order),
                    style: i.style.clone().unwrap_or_default(),
                    image_identifier: i.image_identifier.clone().unwrap_or_default(),
                })
                .collect();
            (!items.is_empty()).then(|| pb::ListPickerSection {
                title: s.title.clone().unwrap_or_default(),
                order: order(s.order),
                multiple_selection: s.multiple_selection.unwrap_or(false),
                items,
            })
        })
        .collect();
    pb::ListPickerReply { sections }
}

fn time_picker(payload: Option<&apple::InteractivePayload>) -> pb::TimePickerReply {
    let Some(event) = payload.and_then(|p| p.event.as_ref()) else {
        return pb::TimePickerReply { event: None };
    };
    pb::TimePickerReply {
        event: Some(pb::TimePickerEvent {
            identifier: event.identifier.clone().unwrap_or_default(),
            title: event.title.clone().unwrap_or_default(),
            timezone_offset_minutes: event.timezone_offset.and_then(|o| i32::try_from(o).ok()),
            timeslots: event
                .timeslots()
                .iter()
                .map(|slot| pb::TimeSlot {
                    identifier: slot.identifier.clone().unwrap_or_default(),
                    start_time: slot.start_time.as_deref().and_then(parse_apple),
                    duration_seconds: slot
                        .duration
                        .map_or(0, |d| u32::try_from(d.max(0)).unwrap_or(u32::MAX)),
                })
                .collect(),
        }),
    }
}

fn form_selection(s: &apple::FormSelection) -> pb::FormSelection {
    pb::FormSelection {
        page_identifier: s.page_identifier.clone().unwrap_or_default(),
        title: s.title.clone().unwrap_or_default(),
        subtitle: s.subtitle.clone().unwrap_or_default(),
        items: s
            .items
            .iter()
            .flatten()
            .map(|i| pb::FormSelectionItem {
                identifier: i.identifier.clone().unwrap_or_default(),
                title: i.title.clone().unwrap_or_default(),
                value: i.value.clone().unwrap_or_default(),
                r#type: i.item_type.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// The first string found at one of `paths` in `value` (numbers are written as text), or
/// empty.
fn first_str(value: Option<&Value>, paths: &[&[&str]]) -> String {
    let Some(value) = value else {
        return String::new();
    };
    for path in paths {
        let found = path.iter().try_fold(value, |v, key| v.get(key));
        match found {
            Some(Value::String(s)) if !s.is_empty() => return s.clone(),
            Some(Value::Number(n)) => return n.to_string(),
            _ => {}
        }
    }
    String::new()
}

/// An Apple Pay reply. Apple does not document its shape (apple-mfb-api.md §6.7), so the
/// status and payment method are looked up where the payment gateway callback puts them
/// (`payment.paymentToken.paymentMethod`, `payment.paymentToken.transactionIdentifier`) and
/// in the obvious places (`payment.status`, `status`, `payment.paymentMethod`).
fn apple_pay(payload: Option<&apple::InteractivePayload>) -> pb::ApplePayReply {
    let value = payload.and_then(|p| serde_json::to_value(p).ok());
    let value = value.as_ref();
    let raw_status = first_str(
        value,
        &[
            &["payment", "status"],
            &["payment", "paymentStatus"],
            &["status"],
            &["paymentStatus"],
        ],
    );
    let method = |key: &str| {
        first_str(
            value,
            &[
                &["payment", "paymentToken", "paymentMethod", key],
                &["payment", "paymentMethod", key],
                &["paymentMethod", key],
            ],
        )
    };
    pb::ApplePayReply {
        status: apple_pay_status(&raw_status) as i32,
        payment_method_display_name: method("displayName"),
        payment_method_network: method("network"),
        payment_method_type: method("type"),
        transaction_identifier: first_str(
            value,
            &[
                &["payment", "paymentToken", "transactionIdentifier"],
                &["payment", "transactionIdentifier"],
                &["transactionIdentifier"],
            ],
        ),
        raw_status,
    }
}

/// `STATUS_SUCCESS` / `success` → success, `STATUS_FAILURE` / `failure` / `failed` → failure,
/// `STATUS_CANCELLED` / `cancelled` / `canceled` → cancelled (case-insensitive, with or
/// without `STATUS_`); empty → unspecified; anything else → other.
fn apple_pay_status(raw: &str) -> pb::ApplePayStatus {
    let upper = raw.trim().to_ascii_uppercase();
    let word = upper.strip_prefix("STATUS_").unwrap_or(&upper);
    match word {
        "" => pb::ApplePayStatus::Unspecified,
        "SUCCESS" | "SUCCEEDED" => pb::ApplePayStatus::Success,
        "FAILURE" | "FAILED" => pb::ApplePayStatus::Failure,
        "CANCELLED" | "CANCELED" => pb::ApplePayStatus::Cancelled,
        _ => pb::ApplePayStatus::Other,
    }
}
