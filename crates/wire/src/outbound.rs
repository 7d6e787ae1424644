//! `parley.v1` → Apple: renders an [`OutboundMessage`] as the Apple message to POST
//! ([`to_apple`]), its plain-text equivalent for a device that cannot show it
//! ([`to_apple_text_fallback`]), the request headers ([`headers`]) and the event's
//! [`OutboundKind`] ([`kind_of`]).
//!
//! Decisions:
//! - Every rendered message is checked with
//!   [`parley_apple::model::Message::validate_outbound`]; a broken rule is
//!   [`WireError::Invalid`]. The one exception is the legacy authentication request, whose
//!   client secret and per-request encryption key never travel on the bus: it is checked as if
//!   they were present, and the caller adds them with [`add_legacy_auth_secrets`] (which checks
//!   the message again).
//! - An empty `InteractiveCommon.request_identifier` is derived deterministically from the
//!   event id (or, without one, the Apple message id): the same event always renders the same
//!   `requestIdentifier`, a UUID-shaped (version 8) 128-bit FNV-1a hash.
//! - Time picker slots are written as Apple writes them, `2022-07-10T17:00+0000`, in UTC with
//!   minute precision (a start with seconds is [`WireError::InvalidTimeslot`], not moved);
//!   `timezoneOffset` carries `timezone_offset_minutes` unchanged.
//! - Images are sent inline as Base64; an image that is still a blob reference is
//!   [`WireError::UnresolvedBlob`]: the caller loads blobs first.
//! - Strings are copied as given (no trimming, no normalisation); an empty string or a zero
//!   number means "absent" and is left out of the JSON, except where Apple requires the key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use parley_apple::headers::OutboundHeaders;
use parley_apple::model::{
    self as apple, Attachment, BodyBuilder, Form, FormTemplate, IntOrString, InteractiveData,
    ListPickerBuilder, Message, OAuth2Request, QuickReplyBuilder, RichLinkData, SchemaVersion,
    TimePickerBuilder, Timeslot,
};
use parley_proto::v1::{
    self as pb, AuthenticationVersion, OutboundKind, OutboundMessage, outbound_message::Kind,
};

use crate::WireError;
use crate::capabilities::text_fallback;
use crate::time::format_apple;

/// Which Apple endpoint a rendered message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/message`: everything but authentication requests.
    Message,
    /// `POST /v1/authenticate`: authentication requests.
    Authenticate,
}

/// An Apple message ready to POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Where to POST it.
    pub endpoint: Endpoint,
    /// The message; its `id` is the event's `apple_message_id`.
    pub message: Message,
}

/// The template version written when a form request leaves `version` empty (the version S10
/// uses with `messageForms`; Apple's canonical value is not documented).
pub const DEFAULT_FORM_VERSION: &str = "1.2";

/// Renders an outbound event for `business` → `customer` (Apple's `sourceId` and
/// `destinationId`). `id` is `event.apple_message_id`, which must not be empty.
///
/// `uploaded` are the Apple attachment dictionaries the caller produced by encrypting and
/// uploading `text.attachments`, in order: one per attachment (a different count, or any for
/// another kind, is [`WireError::AttachmentCountMismatch`]). The text body keeps its U+FFFC
/// placeholders up to the number of attachments, drops extra ones and appends the missing ones
/// at the end, so it holds exactly one per attachment.
///
/// Per kind: rich link (image bytes as Base64), quick reply, list picker, time picker
/// (see the module docs for times), form (`messageForms` and version
/// [`DEFAULT_FORM_VERSION`] unless given; `startPageIdentifier` defaults to the first page),
/// Apple Pay (`merchant_session_json` must be a JSON object; empty leaves `merchantSession` out,
/// which Apple's rules refuse), authentication ([`Endpoint::Authenticate`]; AUTH2 code flow for
/// `V2` and unspecified, with `responseType` `code` unless given; the legacy flow for `LEGACY`,
/// see [`add_legacy_auth_secrets`]), iMessage app (`common.images` and `request_identifier` do
/// not apply and are ignored), typing start and end, reuse of an interactive data reference,
/// raw interactive (`interactive_data_json` parsed as `interactiveData`).
pub fn to_apple(
    event: &OutboundMessage,
    business: &str,
    customer: &str,
    uploaded: Vec<Attachment>,
) -> Result<Rendered, WireError> {
    let id = event.apple_message_id.as_str();
    if id.trim().is_empty() {
        return Err(WireError::MissingAppleMessageId);
    }
    let kind = event.kind.as_ref().ok_or(WireError::MissingKind)?;
    if !matches!(kind, Kind::Text(_)) && !uploaded.is_empty() {
        return Err(WireError::AttachmentCountMismatch {
            expected: 0,
            found: uploaded.len(),
        });
    }
    let interactive = |data: InteractiveData| Message::interactive(id, business, customer, data);
    let mut endpoint = Endpoint::Message;
    let mut legacy_auth = false;
    let message = match kind {
        Kind::Text(text) => {
            if uploaded.len() != text.attachments.len() {
                return Err(WireError::AttachmentCountMismatch {
                    expected: text.attachments.len(),
                    found: uploaded.len(),
                });
            }
            let mut m = Message::text(
                id,
                business,
                customer,
                text_body(&text.body, uploaded.len()),
            );
            if !uploaded.is_empty() {
                m.attachments = Some(uploaded);
            }
            m
        }
        Kind::RichLink(link) => Message::rich_link(id, business, customer, rich_link(link)?),
        Kind::QuickReply(q) => {
            let mut b = QuickReplyBuilder::new(
                request_identifier(q.common.as_ref(), event)?,
                q.summary_text.clone(),
            );
            for item in &q.items {
                b = b.item(item.identifier.clone(), item.title.clone());
            }
            interactive(with_common(b.build(), q.common.as_ref(), "quick_reply")?)
        }
        Kind::ListPicker(l) => {
            let mut b = ListPickerBuilder::new(request_identifier(l.common.as_ref(), event)?);
            let explicit_order = l.sections.iter().any(|s| s.order != 0);
            for s in &l.sections {
                b = b.section(list_section(s, explicit_order));
            }
            interactive(with_common(b.build(), l.common.as_ref(), "list_picker")?)
        }
        Kind::TimePicker(t) => {
            let event_pb = t.event.clone().unwrap_or_default();
            let mut b = TimePickerBuilder::new(
                request_identifier(t.common.as_ref(), event)?,
                event_pb.title.clone(),
            );
            if !event_pb.identifier.is_empty() {
                b = b.event_identifier(event_pb.identifier.clone());
            }
            if let Some(offset) = event_pb.timezone_offset_minutes {
                b = b.timezone_offset(i64::from(offset));
            }
            for (index, slot) in event_pb.timeslots.iter().enumerate() {
                let start_time = match &slot.start_time {
                    Some(ts) => Some(
                        format_apple(ts)
                            .map_err(|reason| WireError::InvalidTimeslot { index, reason })?,
                    ),
                    None => None,
                };
                b = b.timeslot(Timeslot {
                    identifier: Some(slot.identifier.clone()),
                    start_time,
                    duration: Some(i64::from(slot.duration_seconds)),
                    ..Timeslot::default()
                });
            }
            interactive(with_common(b.build(), t.common.as_ref(), "time_picker")?)
        }
        Kind::Form(f) => {
            let data =
                InteractiveData::form(request_identifier(f.common.as_ref(), event)?, form(f));
            interactive(with_common(data, f.common.as_ref(), "form")?)
        }
        Kind::ApplePay(p) => {
            let data = InteractiveData::apple_pay(
                request_identifier(p.common.as_ref(), event)?,
                payment(p)?,
            );
            interactive(with_common(data, p.common.as_ref(), "apple_pay")?)
        }
        Kind::Authentication(a) => {
            endpoint = Endpoint::Authenticate;
            legacy_auth = a.version() == AuthenticationVersion::Legacy;
            let data = InteractiveData::authentication(
                request_identifier(a.common.as_ref(), event)?,
                oauth2(a, legacy_auth),
            );
            interactive(with_common(data, a.common.as_ref(), "authentication")?)
        }
        Kind::ImessageApp(app) => interactive(imessage_app(app)?),
        Kind::TypingStart(_) => Message::typing_start(id, business, customer),
        Kind::TypingEnd(_) => Message::typing_end(id, business, customer),
        Kind::InteractiveDataRef(r) => {
            let reference = r.data_ref.as_ref().ok_or_else(|| WireError::MissingField {
                field: "interactive_data_ref.data_ref".to_owned(),
            })?;
            Message::interactive_ref(id, business, customer, data_ref(reference))
        }
        Kind::RawInteractive(raw) => {
            let data = serde_json::from_str::<InteractiveData>(&raw.interactive_data_json)
                .map_err(|e| WireError::InvalidJson {
                    field: "raw_interactive.interactive_data_json",
                    reason: e.to_string(),
                })?;
            interactive(data)
        }
    };
    if legacy_auth {
        // The secrets are added later by the caller; check everything else now.
        let mut probe = message.clone();
        set_legacy_secrets(&mut probe, "client-secret", "response-encryption-key");
        probe.validate_outbound()?;
    } else {
        message.validate_outbound()?;
    }
    Ok(Rendered { endpoint, message })
}

/// Adds the legacy (`AUTH`) flow's client secret and per-request response encryption key
/// (Base64 of an uncompressed P-384 public point) to a rendered legacy authentication request,
/// then checks the message against Apple's rules. These never travel on the bus, so outbound
/// adds them from its configuration after [`to_apple`].
pub fn add_legacy_auth_secrets(
    rendered: &mut Rendered,
    client_secret: &str,
    response_encryption_key: &str,
) -> Result<(), WireError> {
    let is_legacy = rendered.endpoint == Endpoint::Authenticate
        && oauth2_mut(&mut rendered.message).is_some_and(|o| !o.is_authorization_code());
    if !is_legacy {
        return Err(WireError::NotLegacyAuthentication);
    }
    set_legacy_secrets(
        &mut rendered.message,
        client_secret,
        response_encryption_key,
    );
    rendered.message.validate_outbound()?;
    Ok(())
}

fn oauth2_mut(message: &mut Message) -> Option<&mut OAuth2Request> {
    message
        .interactive_data
        .as_mut()?
        .data
        .as_mut()?
        .authenticate
        .as_mut()?
        .oauth2
        .as_mut()
}

fn set_legacy_secrets(message: &mut Message, client_secret: &str, key: &str) {
    if let Some(o) = oauth2_mut(message) {
        o.client_secret = Some(client_secret.to_owned());
        o.response_encryption_key = Some(key.to_owned());
    }
}

/// The same event rendered as plain text (the body is [`text_fallback`], with any U+FFFC
/// removed so no attachment slot appears) for a device that cannot show the original, with the
/// same `id`. `None` when the kind has no text equivalent.
pub fn to_apple_text_fallback(
    event: &OutboundMessage,
    business: &str,
    customer: &str,
) -> Option<Result<Rendered, WireError>> {
    let text = text_fallback(event)?;
    Some(render_text(event, business, customer, &text))
}

fn render_text(
    event: &OutboundMessage,
    business: &str,
    customer: &str,
    text: &str,
) -> Result<Rendered, WireError> {
    let id = event.apple_message_id.as_str();
    if id.trim().is_empty() {
        return Err(WireError::MissingAppleMessageId);
    }
    let message = Message::text(id, business, customer, text_body(text, 0));
    message.validate_outbound()?;
    Ok(Rendered {
        endpoint: Endpoint::Message,
        message,
    })
}

/// The Apple request headers for an event (besides `Authorization`): `id`, `Source-Id`,
/// `Destination-Id`, `auto-reply` from `auto_reply`, and `msp-agent` from `msp_agent` when it
/// is not empty (trimmed and cut to the 64 characters Apple logs). `include-data-ref` is left
/// off: whether to ask for a reusable reference is the caller's choice.
pub fn headers(event: &OutboundMessage, business: &str, customer: &str) -> OutboundHeaders {
    let h = OutboundHeaders::new(event.apple_message_id.clone(), business, customer)
        .with_auto_reply(event.auto_reply);
    if event.msp_agent.trim().is_empty() {
        h
    } else {
        h.with_msp_agent(&event.msp_agent)
    }
}

/// The kind of an event, for delivery results (`OUTBOUND_KIND_UNSPECIFIED` without a kind).
pub fn kind_of(event: &OutboundMessage) -> OutboundKind {
    match &event.kind {
        None => OutboundKind::Unspecified,
        Some(Kind::Text(_)) => OutboundKind::Text,
        Some(Kind::RichLink(_)) => OutboundKind::RichLink,
        Some(Kind::QuickReply(_)) => OutboundKind::QuickReply,
        Some(Kind::ListPicker(_)) => OutboundKind::ListPicker,
        Some(Kind::TimePicker(_)) => OutboundKind::TimePicker,
        Some(Kind::Form(_)) => OutboundKind::Form,
        Some(Kind::ApplePay(_)) => OutboundKind::ApplePay,
        Some(Kind::Authentication(_)) => OutboundKind::Authentication,
        Some(Kind::ImessageApp(_)) => OutboundKind::ImessageApp,
        Some(Kind::TypingStart(_)) => OutboundKind::TypingStart,
        Some(Kind::TypingEnd(_)) => OutboundKind::TypingEnd,
        Some(Kind::InteractiveDataRef(_)) => OutboundKind::InteractiveDataRef,
        Some(Kind::RawInteractive(_)) => OutboundKind::RawInteractive,
    }
}

/// `Some(text)` unless empty.
fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// The body with exactly `attachments` placeholders: the first ones where the text puts them,
/// extra ones dropped, missing ones appended.
fn text_body(body: &str, attachments: usize) -> String {
    let mut b = BodyBuilder::new();
    for (i, piece) in body.split(apple::ATTACHMENT_PLACEHOLDER).enumerate() {
        if i > 0 && b.attachment_count() < attachments {
            b.attachment();
        }
        b.text(piece);
    }
    while b.attachment_count() < attachments {
        b.attachment();
    }
    b.build()
}

/// The request identifier: the one given, else a deterministic UUID derived from the event id
/// (or the Apple message id when the event has no id).
fn request_identifier(
    common: Option<&pb::InteractiveCommon>,
    event: &OutboundMessage,
) -> Result<String, WireError> {
    if let Some(given) = common
        .map(|c| c.request_identifier.as_str())
        .filter(|r| !r.trim().is_empty())
    {
        return Ok(given.to_owned());
    }
    let seed = event
        .meta
        .as_ref()
        .map(|m| m.event_id.as_str())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or(event.apple_message_id.as_str());
    if seed.trim().is_empty() {
        return Err(WireError::MissingRequestIdentifier);
    }
    Ok(derived_uuid("parley-wire/request-identifier", seed))
}

/// A UUID-shaped (version 8, RFC 9562 variant) 128-bit FNV-1a hash of `domain` NUL `seed`.
fn derived_uuid(domain: &str, seed: &str) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for byte in domain.bytes().chain([0]).chain(seed.bytes()) {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    let hash = (hash & !(0xf_u128 << 76)) | (0x8_u128 << 76);
    let hash = (hash & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    let hex = format!("{hash:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Bytes of an image that must be inline.
fn inline_image(
    source: Option<&pb::interactive_image::Source>,
    field: impl FnOnce() -> String,
) -> Result<String, WireError> {
    match source {
        Some(pb::interactive_image::Source::Data(bytes)) => Ok(BASE64.encode(bytes)),
        Some(pb::interactive_image::Source::Blob(_)) => {
            Err(WireError::UnresolvedBlob { field: field() })
        }
        None => Err(WireError::MissingField { field: field() }),
    }
}

fn bubble(layout: Option<&pb::BubbleLayout>) -> Option<apple::MessageBubble> {
    let b = layout?;
    let style = match b.style() {
        pb::BubbleStyle::Unspecified => None,
        pb::BubbleStyle::Icon => Some(apple::BubbleStyle::Icon),
        pb::BubbleStyle::Small => Some(apple::BubbleStyle::Small),
        pb::BubbleStyle::Large => Some(apple::BubbleStyle::Large),
    };
    let bubble = apple::MessageBubble {
        title: non_empty(&b.title),
        subtitle: non_empty(&b.subtitle),
        image_title: non_empty(&b.image_title),
        image_subtitle: non_empty(&b.image_subtitle),
        secondary_subtitle: non_empty(&b.secondary_subtitle),
        tertiary_subtitle: non_empty(&b.tertiary_subtitle),
        style,
        image_identifier: non_empty(&b.image_identifier),
        alternate_title: non_empty(&b.alternate_title),
        extra: apple::Extra::new(),
    };
    (bubble != apple::MessageBubble::default()).then_some(bubble)
}

/// Applies the interactive envelope: bubbles, session, live layout and (when the data has a
/// `data` object) the images.
fn with_common(
    mut data: InteractiveData,
    common: Option<&pb::InteractiveCommon>,
    kind: &str,
) -> Result<InteractiveData, WireError> {
    let Some(c) = common else {
        return Ok(data);
    };
    data.received_message = bubble(c.received_message.as_ref());
    data.reply_message = bubble(c.reply_message.as_ref());
    data.session_identifier = non_empty(&c.session_identifier);
    data.use_live_layout = c.use_live_layout;
    if let Some(payload) = data.data.as_mut()
        && !c.images.is_empty()
    {
        let images = c
            .images
            .iter()
            .enumerate()
            .map(|(i, image)| {
                let bytes = inline_image(image.source.as_ref(), || {
                    format!("{kind}.common.images[{i}]")
                })?;
                Ok(apple::InteractiveImage::new(
                    image.identifier.clone(),
                    bytes,
                ))
            })
            .collect::<Result<Vec<_>, WireError>>()?;
        payload.images = Some(images);
    }
    Ok(data)
}

fn rich_link(link: &pb::RichLink) -> Result<RichLinkData, WireError> {
    let mut data = RichLinkData {
        url: Some(link.url.clone()),
        title: non_empty(&link.title),
        ..RichLinkData::default()
    };
    if let Some(image) = &link.image {
        let bytes = match &image.source {
            Some(pb::rich_link_image::Source::Data(bytes)) => BASE64.encode(bytes),
            Some(pb::rich_link_image::Source::Blob(_)) => {
                return Err(WireError::UnresolvedBlob {
                    field: "rich_link.image".to_owned(),
                });
            }
            None => {
                return Err(WireError::MissingField {
                    field: "rich_link.image.source".to_owned(),
                });
            }
        };
        data = data.with_image(bytes, image.mime_type.clone());
    }
    if let Some(video) = link.video.as_ref().filter(|v| !v.url.is_empty()) {
        data = data.with_video(video.mime_type.clone(), video.url.clone());
    }
    Ok(data)
}

/// Orders as given when any is set; otherwise left for the builder to number by position.
fn list_section(s: &pb::ListPickerSection, explicit_order: bool) -> apple::ListPickerSection {
    let explicit_item_order = s.items.iter().any(|i| i.order != 0);
    let items = s
        .items
        .iter()
        .map(|i| apple::ListPickerItem {
            identifier: Some(i.identifier.clone()),
            title: Some(i.title.clone()),
            subtitle: non_empty(&i.subtitle),
            order: explicit_item_order.then_some(i64::from(i.order)),
            style: Some(non_empty(&i.style).unwrap_or_else(|| "default".to_owned())),
            image_identifier: non_empty(&i.image_identifier),
            extra: apple::Extra::new(),
        })
        .collect();
    apple::ListPickerSection {
        title: non_empty(&s.title),
        order: explicit_order.then_some(i64::from(s.order)),
        multiple_selection: Some(s.multiple_selection),
        items: Some(items),
        extra: apple::Extra::new(),
    }
}

fn form(f: &pb::FormRequest) -> Form {
    let pages = f.pages.iter().map(form_page).collect();
    let mut form = Form::message_forms(pages);
    if !f.template.is_empty() {
        form.template = Some(FormTemplate::from_wire(&f.template));
    }
    form.version = Some(SchemaVersion::from(if f.version.is_empty() {
        DEFAULT_FORM_VERSION
    } else {
        f.version.as_str()
    }));
    form.private = Some(f.private);
    if let Some(data) = form.data.as_mut() {
        if !f.start_page_identifier.is_empty() {
            data.start_page_identifier = Some(f.start_page_identifier.clone());
        }
        data.show_summary = Some(f.show_summary);
        data.splash = f.splash.as_ref().map(|s| apple::FormSplash {
            header: non_empty(&s.header),
            splash_text: non_empty(&s.text),
            button_title: non_empty(&s.button_title),
            image_identifier: non_empty(&s.image_identifier),
            extra: apple::Extra::new(),
        });
    }
    form
}

fn form_page(p: &pb::FormPage) -> apple::FormPage {
    let page_type = match p.r#type() {
        pb::FormPageType::Unspecified => None,
        pb::FormPageType::Select => Some(apple::FormPageType::Select),
        pb::FormPageType::Picker => Some(apple::FormPageType::Picker),
        pb::FormPageType::DatePicker => Some(apple::FormPageType::DatePicker),
        pb::FormPageType::Input => Some(apple::FormPageType::Input),
    };
    let items: Vec<apple::FormItem> = p
        .items
        .iter()
        .map(|i| apple::FormItem {
            identifier: Some(i.identifier.clone()),
            title: Some(i.title.clone()),
            value: non_empty(&i.value),
            image_identifier: non_empty(&i.image_identifier),
            next_page_identifier: non_empty(&i.next_page_identifier),
            extra: apple::Extra::new(),
        })
        .collect();
    apple::FormPage {
        page_identifier: Some(p.page_identifier.clone()),
        page_type,
        title: Some(p.title.clone()),
        subtitle: non_empty(&p.subtitle),
        next_page_identifier: non_empty(&p.next_page_identifier),
        submit_form: Some(p.submit_form),
        multiple_selection: Some(p.multiple_selection),
        items: (!items.is_empty()).then_some(items),
        options: p.options.as_ref().map(form_options),
        extra: apple::Extra::new(),
    }
}

fn form_options(o: &pb::FormPageOptions) -> apple::FormOptions {
    let mut extra = apple::Extra::new();
    if !o.placeholder.is_empty() {
        extra.insert(
            "placeholder".to_owned(),
            serde_json::Value::String(o.placeholder.clone()),
        );
    }
    apple::FormOptions {
        required: Some(o.required),
        input_type: match o.input_type() {
            pb::FormInputType::Unspecified => None,
            pb::FormInputType::SingleLine => Some("singleline".to_owned()),
            pb::FormInputType::MultiLine => Some("multiline".to_owned()),
        },
        keyboard_type: non_empty(&o.keyboard_type),
        text_content_type: non_empty(&o.text_content_type),
        maximum_character_count: (o.maximum_character_count != 0)
            .then_some(i64::from(o.maximum_character_count)),
        regex: non_empty(&o.regex),
        date_format: non_empty(&o.date_format),
        minimum_date: non_empty(&o.minimum_date),
        maximum_date: non_empty(&o.maximum_date),
        extra,
    }
}

fn line_item(item: &pb::ApplePayLineItem) -> apple::LineItem {
    apple::LineItem {
        label: Some(item.label.clone()),
        amount: Some(item.amount.clone()),
        item_type: match item.r#type() {
            pb::ApplePayLineItemType::Unspecified => None,
            pb::ApplePayLineItemType::Final => Some("final".to_owned()),
            pb::ApplePayLineItemType::Pending => Some("pending".to_owned()),
        },
        extra: apple::Extra::new(),
    }
}

fn non_empty_list(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

fn payment(p: &pb::ApplePayRequest) -> Result<apple::Payment, WireError> {
    let merchant_session = if p.merchant_session_json.trim().is_empty() {
        None
    } else {
        Some(
            serde_json::from_str::<apple::Extra>(&p.merchant_session_json).map_err(|e| {
                WireError::InvalidJson {
                    field: "apple_pay.merchant_session_json",
                    reason: e.to_string(),
                }
            })?,
        )
    };
    let payment_request = p.payment_request.as_ref().map(|r| apple::PaymentRequest {
        line_items: (!r.line_items.is_empty())
            .then(|| r.line_items.iter().map(line_item).collect()),
        total: r.total.as_ref().map(line_item),
        apple_pay: r.merchant.as_ref().map(|m| apple::ApplePayConfig {
            merchant_identifier: Some(m.merchant_identifier.clone()),
            supported_networks: non_empty_list(&m.supported_networks),
            merchant_capabilities: non_empty_list(&m.merchant_capabilities),
            extra: apple::Extra::new(),
        }),
        merchant_name: non_empty(&r.merchant_name),
        country_code: Some(r.country_code.clone()),
        currency_code: Some(r.currency_code.clone()),
        required_billing_contact_fields: non_empty_list(&r.required_billing_contact_fields),
        required_shipping_contact_fields: non_empty_list(&r.required_shipping_contact_fields),
        shipping_methods: (!r.shipping_methods.is_empty()).then(|| {
            r.shipping_methods
                .iter()
                .map(|s| apple::ShippingMethod {
                    label: Some(s.label.clone()),
                    detail: non_empty(&s.detail),
                    amount: Some(s.amount.clone()),
                    identifier: Some(s.identifier.clone()),
                    extra: apple::Extra::new(),
                })
                .collect()
        }),
        extra: apple::Extra::new(),
    });
    let endpoints = p.endpoints.as_ref().map(|e| apple::PaymentEndpoints {
        payment_gateway_url: Some(e.payment_gateway_url.clone()),
        fallback_url: non_empty(&e.fallback_url),
        order_tracking_url: non_empty(&e.order_tracking_url),
        payment_method_update_url: non_empty(&e.payment_method_update_url),
        shipping_contact_update_url: non_empty(&e.shipping_contact_update_url),
        shipping_method_update_url: non_empty(&e.shipping_method_update_url),
        extra: apple::Extra::new(),
    });
    Ok(apple::Payment {
        payment_request,
        merchant_session,
        endpoints,
        extra: apple::Extra::new(),
    })
}

fn oauth2(a: &pb::AuthenticationRequest, legacy: bool) -> OAuth2Request {
    let response_type = match non_empty(&a.response_type) {
        Some(given) => given,
        None if legacy => String::new(),
        None => "code".to_owned(),
    };
    OAuth2Request {
        response_type: Some(response_type),
        scope: Some(a.scope.clone()),
        state: non_empty(&a.state),
        redirect_uri: non_empty(&a.redirect_uri),
        client_secret: None,
        response_encryption_key: None,
        extra: apple::Extra::new(),
    }
}

fn imessage_app(app: &pb::IMessageAppMessage) -> Result<InteractiveData, WireError> {
    let mut data = InteractiveData {
        bid: Some(app.bid.clone()),
        url: non_empty(&app.url),
        app_id: (app.app_id != 0).then_some(IntOrString::Int(app.app_id)),
        app_name: non_empty(&app.app_name),
        ..InteractiveData::default()
    };
    if let Some(icon) = &app.app_icon {
        data.app_icon = Some(inline_image(icon.source.as_ref(), || {
            "imessage_app.app_icon".to_owned()
        })?);
    }
    with_common(data, app.common.as_ref(), "imessage_app")
}

fn data_ref(r: &pb::InteractiveDataRef) -> apple::InteractiveDataRef {
    apple::InteractiveDataRef {
        bid: non_empty(&r.bid),
        url: non_empty(&r.url),
        owner: non_empty(&r.owner),
        size: (r.size != 0).then_some(IntOrString::Int(r.size)),
        key: non_empty(&r.key),
        signature: non_empty(&r.signature),
        signature_base64: non_empty(&r.signature_base64),
        title: non_empty(&r.title),
        data_ref_sig: non_empty(&r.data_ref_sig),
        extra: apple::Extra::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_uuids_are_stable_and_uuid_shaped() {
        let a = derived_uuid("d", "event-1");
        assert_eq!(a, derived_uuid("d", "event-1"));
        assert_ne!(a, derived_uuid("d", "event-2"));
        assert_ne!(a, derived_uuid("e", "event-1"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'8', "{a}");
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{a}");
    }

    #[test]
    fn text_body_has_one_placeholder_per_attachment() {
        let p = apple::ATTACHMENT_PLACEHOLDER;
        assert_eq!(text_body("hi", 2), format!("hi{p}{p}"));
        assert_eq!(text_body(&format!("a{p}b"), 2), format!("a{p}b{p}"));
        assert_eq!(text_body(&format!("a{p}b{p}{p}"), 1), format!("a{p}b"));
        assert_eq!(text_body(&format!("a{p}b"), 0), "ab");
        assert_eq!(text_body("", 1), p.to_string());
    }
}
