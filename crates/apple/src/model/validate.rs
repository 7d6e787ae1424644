//! Apple's rules for each direction: [`Message::validate_inbound`] (what an Apple → MSP
//! message must satisfy for the MSP to act on it) and [`Message::validate_outbound`] (what
//! Apple would reject, or silently drop, from an MSP).
//!
//! Both return the first rule broken. Where Apple's behaviour is UNKNOWN the rule is left out
//! (tolerant) and the choice is noted next to the check.

use super::attachment::{Attachment, MAX_ATTACHMENT_BYTES, placeholder_count};
use super::common::IntOrString;
use super::envelope::{ENVELOPE_VERSION, Message, MessageType};
use super::interactive::{
    Authenticate, Form, InteractiveData, InteractiveDataRef, InteractiveKind, InteractivePayload,
    ListPicker, MAX_FORM_PAGE_IDENTIFIER_CHARS, MAX_IMESSAGE_APP_URL_BYTES, Payment, QuickReply,
    TimePickerEvent, is_apple_business_bid,
};
use super::rich_link::{MAX_RICH_LINK_IMAGE_BYTES, RichLinkData};
use crate::ModelError;

type Result<T = ()> = std::result::Result<T, ModelError>;

impl Message {
    /// Checks what an Apple → MSP message must satisfy:
    /// - `v` is 1;
    /// - `id` is present and non-empty;
    /// - `type` is one Apple documents;
    /// - `text` has a `body` (it may be empty: tolerant);
    /// - `interactive` has `interactiveData` or `interactiveDataRef`;
    /// - `richLink` (not expected inbound, tolerated) has `richLinkData` or `richLinkDataRef`;
    /// - every attachment can be fetched and decrypted: `url`, `owner`, a well-formed `key`, a
    ///   `signature` or `signature-base64`, and a numeric `size` if one is given (`name` and
    ///   `mimeType` are not required: tolerant);
    /// - an `interactiveDataRef` has what retrieval needs: `bid`, `url`, `owner`, `key`, a
    ///   signature, and a numeric `size` if given.
    ///
    /// Not checked: `sourceId`/`destinationId` (the headers carry them and are checked there),
    /// U+FFFC placeholders against attachments (Apple ignores extras either way).
    pub fn validate_inbound(&self) -> Result {
        check_version(self.v)?;
        require_str(self.id.as_deref(), "id")?;
        match &self.kind {
            MessageType::Unknown(found) => {
                return Err(ModelError::UnknownType {
                    found: found.clone(),
                });
            }
            MessageType::Text if self.body.is_none() => return Err(ModelError::TextWithoutBody),
            MessageType::Interactive
                if self.interactive_data.is_none() && self.interactive_data_ref.is_none() =>
            {
                return Err(ModelError::InteractiveWithoutData);
            }
            MessageType::RichLink
                if self.rich_link_data.is_none() && self.rich_link_data_ref.is_none() =>
            {
                return Err(ModelError::RichLinkWithoutData);
            }
            _ => {}
        }
        for (index, a) in self.attachments().iter().enumerate() {
            check_attachment_inbound(index, a)?;
        }
        if let Some(r) = &self.interactive_data_ref {
            check_data_ref_inbound(r)?;
        }
        Ok(())
    }

    /// Checks what Apple would reject (or silently drop) from an MSP:
    /// - `v` is 1; `id`, `sourceId` and `destinationId` are present and non-empty;
    /// - `type` is documented and is not `close` (inbound only);
    /// - `text` has a non-empty `body`;
    /// - every attachment dictionary is complete in the current key set (`name`, `mimeType`,
    ///   `size`, `url`, `owner`, `key`, `signature-base64`), `size` is numeric and ≤ 100 MB,
    ///   `key` is `00` + 64 hex digits;
    /// - a `text` body has at least one U+FFFC per attachment: Apple ignores extra
    ///   placeholders and extra array items, so extra placeholders pass, but an attachment
    ///   without a placeholder would never be shown and is reported;
    /// - `interactive`: data or a reference; `bid`; for Apple's built-in extension `data`
    ///   with `version` (or `mspVersion`), `requestIdentifier` and a feature key, and the
    ///   feature's own rules (list picker: ≥ 1 section, each with ≥ 1 item with
    ///   identifier and title; time picker: ≥ 1 timeslot, each with identifier, startTime and a
    ///   positive duration; quick reply: ≥ 1 item with identifier and title; form: ≥ 1 page,
    ///   page ids present and < 20 characters, page references resolve; Apple Pay: payment
    ///   request with total, currency and country codes and merchant id, merchant session,
    ///   gateway URL; authentication: `oauth2` with `responseType`, plus `redirectURI` for
    ///   AUTH2 or `responseEncryptionKey` for the legacy flow); for a custom iMessage app
    ///   `URL` or `data`, `URL` ≤ 64 KB; a reused reference has `bid`, `url` and `owner`;
    /// - `richLink`: data or a reference; an absolute http(s) `url`; an inline image
    ///   ≤ 200 kB.
    pub fn validate_outbound(&self) -> Result {
        check_version(self.v)?;
        require_str(self.id.as_deref(), "id")?;
        require_str(self.source_id.as_deref(), "sourceId")?;
        require_str(self.destination_id.as_deref(), "destinationId")?;
        match &self.kind {
            MessageType::Close => return Err(ModelError::CloseFromMsp),
            MessageType::Unknown(found) => {
                return Err(ModelError::UnknownType {
                    found: found.clone(),
                });
            }
            MessageType::Text => match self.body.as_deref() {
                None => return Err(ModelError::TextWithoutBody),
                Some("") => return Err(empty("body")),
                Some(_) => {}
            },
            MessageType::Interactive => check_interactive_outbound(self)?,
            MessageType::RichLink => check_rich_link_outbound(self)?,
            MessageType::TypingStart | MessageType::TypingEnd => {}
        }
        let attachments = self.attachments();
        for (index, a) in attachments.iter().enumerate() {
            check_attachment_outbound(index, a)?;
        }
        if self.kind == MessageType::Text && !attachments.is_empty() {
            let placeholders = self.body.as_deref().map_or(0, placeholder_count);
            if placeholders < attachments.len() {
                return Err(ModelError::AttachmentPlaceholderMismatch {
                    placeholders,
                    attachments: attachments.len(),
                });
            }
        }
        Ok(())
    }
}

fn missing(field: impl Into<String>) -> ModelError {
    ModelError::MissingField {
        field: field.into(),
    }
}

fn empty(field: impl Into<String>) -> ModelError {
    ModelError::EmptyField {
        field: field.into(),
    }
}

/// A required string: present, and not empty or whitespace.
fn require_str(value: Option<&str>, field: &str) -> Result {
    match value {
        None => Err(missing(field)),
        Some(v) if v.trim().is_empty() => Err(empty(field)),
        Some(_) => Ok(()),
    }
}

fn check_version(v: Option<u64>) -> Result {
    match v {
        None => Err(missing("v")),
        Some(ENVELOPE_VERSION) => Ok(()),
        Some(found) => Err(ModelError::UnsupportedVersion { found }),
    }
}

fn attachment_field(index: usize, value: Option<&str>, field: &'static str) -> Result {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(()),
        _ => Err(ModelError::AttachmentMissingField { index, field }),
    }
}

fn attachment_size(index: usize, a: &Attachment) -> Result<Option<u64>> {
    match a.size.as_deref() {
        None => Ok(None),
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(ModelError::AttachmentBadSize {
                index,
                value: s.to_owned(),
            }),
        },
    }
}

fn attachment_key(index: usize, a: &Attachment) -> Result {
    attachment_field(index, a.key.as_deref(), "key")?;
    if a.key_is_well_formed() {
        Ok(())
    } else {
        Err(ModelError::AttachmentBadKey { index })
    }
}

fn check_attachment_inbound(index: usize, a: &Attachment) -> Result {
    attachment_field(index, a.url.as_deref(), "url")?;
    attachment_field(index, a.owner.as_deref(), "owner")?;
    attachment_key(index, a)?;
    let has_sig = [a.signature.as_deref(), a.signature_base64.as_deref()]
        .into_iter()
        .flatten()
        .any(|s| !s.trim().is_empty());
    if !has_sig {
        return Err(ModelError::AttachmentMissingField {
            index,
            field: "signature",
        });
    }
    attachment_size(index, a)?;
    Ok(())
}

fn check_attachment_outbound(index: usize, a: &Attachment) -> Result {
    attachment_field(index, a.name.as_deref(), "name")?;
    attachment_field(index, a.mime_type.as_deref(), "mimeType")?;
    attachment_field(index, a.size.as_deref(), "size")?;
    attachment_field(index, a.url.as_deref(), "url")?;
    attachment_field(index, a.owner.as_deref(), "owner")?;
    attachment_key(index, a)?;
    attachment_field(index, a.signature_base64.as_deref(), "signature-base64")?;
    if let Some(size) = attachment_size(index, a)?
        && size > MAX_ATTACHMENT_BYTES
    {
        return Err(ModelError::AttachmentTooLarge {
            index,
            size,
            max: MAX_ATTACHMENT_BYTES,
        });
    }
    Ok(())
}

fn check_ref_size(size: Option<&IntOrString>, field: &'static str) -> Result {
    match size {
        Some(s @ IntOrString::Text(t)) if s.as_u64().is_none() => Err(ModelError::BadRefSize {
            field,
            value: t.clone(),
        }),
        _ => Ok(()),
    }
}

fn check_data_ref_inbound(r: &InteractiveDataRef) -> Result {
    require_str(r.bid.as_deref(), "interactiveDataRef.bid")?;
    require_str(r.url.as_deref(), "interactiveDataRef.url")?;
    require_str(r.owner.as_deref(), "interactiveDataRef.owner")?;
    require_str(r.key.as_deref(), "interactiveDataRef.key")?;
    if r.signature.is_none() && r.signature_base64.is_none() {
        return Err(missing("interactiveDataRef.signature"));
    }
    check_ref_size(r.size.as_ref(), "interactiveDataRef.size")
}

fn check_interactive_outbound(m: &Message) -> Result {
    match (&m.interactive_data, &m.interactive_data_ref) {
        (None, None) => Err(ModelError::InteractiveWithoutData),
        (None, Some(r)) => {
            // Reusing a `dataRef`: Apple's sample sends it back exactly as returned. Which keys
            // Apple checks is UNKNOWN; only what identifies the stored asset is required.
            require_str(r.bid.as_deref(), "interactiveDataRef.bid")?;
            require_str(r.url.as_deref(), "interactiveDataRef.url")?;
            require_str(r.owner.as_deref(), "interactiveDataRef.owner")?;
            check_ref_size(r.size.as_ref(), "interactiveDataRef.size")
        }
        (Some(d), _) => check_interactive_data(d),
    }
}

const DATA: &str = "interactiveData.data";

fn check_interactive_data(d: &InteractiveData) -> Result {
    require_str(d.bid.as_deref(), "interactiveData.bid")?;
    let builtin = d.bid.as_deref().is_some_and(is_apple_business_bid);
    if builtin {
        let Some(payload) = &d.data else {
            return Err(missing(DATA));
        };
        if payload.version.is_none() {
            return Err(missing(format!("{DATA}.version")));
        }
        require_str(
            payload.request_identifier.as_deref(),
            "interactiveData.data.requestIdentifier",
        )?;
        if payload.feature().is_none() {
            return Err(ModelError::NoInteractiveFeature);
        }
    } else {
        // A custom iMessage app: its data travels in `URL` (or, tolerantly, `data`).
        if d.data.is_none() && d.url.is_none() {
            return Err(missing("interactiveData.URL"));
        }
        if let Some(url) = &d.url
            && url.len() > MAX_IMESSAGE_APP_URL_BYTES
        {
            return Err(ModelError::IMessageAppUrlTooLarge {
                len: url.len(),
                max: MAX_IMESSAGE_APP_URL_BYTES,
            });
        }
    }
    if let Some(payload) = &d.data {
        check_feature(payload)?;
    }
    Ok(())
}

fn check_feature(p: &InteractivePayload) -> Result {
    match p.feature() {
        Some(InteractiveKind::ListPicker) => {
            p.list_picker.as_ref().map_or(Ok(()), check_list_picker)
        }
        Some(InteractiveKind::TimePicker) => p.event.as_ref().map_or(Ok(()), check_time_picker),
        Some(InteractiveKind::QuickReply) => {
            p.quick_reply.as_ref().map_or(Ok(()), check_quick_reply)
        }
        Some(InteractiveKind::Form) => p.dynamic.as_ref().map_or(Ok(()), check_form),
        Some(InteractiveKind::ApplePay) => p.payment.as_ref().map_or(Ok(()), check_payment),
        Some(InteractiveKind::Authentication) => {
            p.authenticate.as_ref().map_or(Ok(()), check_authenticate)
        }
        _ => Ok(()),
    }
}

fn check_list_picker(l: &ListPicker) -> Result {
    let sections = l.sections.as_deref().unwrap_or(&[]);
    if sections.is_empty() {
        return Err(ModelError::ListPickerWithoutSections);
    }
    for (si, section) in sections.iter().enumerate() {
        if section.items().is_empty() {
            return Err(ModelError::ListSectionWithoutItems { section: si });
        }
        for (ii, item) in section.items().iter().enumerate() {
            let at = format!("{DATA}.listPicker.sections[{si}].items[{ii}]");
            require_str(item.identifier.as_deref(), &format!("{at}.identifier"))?;
            require_str(item.title.as_deref(), &format!("{at}.title"))?;
        }
    }
    Ok(())
}

fn check_time_picker(e: &TimePickerEvent) -> Result {
    if e.timeslots().is_empty() {
        return Err(ModelError::TimePickerWithoutTimeslots);
    }
    for (index, slot) in e.timeslots().iter().enumerate() {
        let at = format!("{DATA}.event.timeslots[{index}]");
        require_str(slot.identifier.as_deref(), &format!("{at}.identifier"))?;
        require_str(slot.start_time.as_deref(), &format!("{at}.startTime"))?;
        match slot.duration {
            Some(d) if d > 0 => {}
            duration => return Err(ModelError::InvalidTimeslotDuration { index, duration }),
        }
    }
    Ok(())
}

fn check_quick_reply(q: &QuickReply) -> Result {
    // Apple's minimum and maximum item counts are UNKNOWN; only "at least one" is enforced.
    if q.items().is_empty() {
        return Err(ModelError::QuickReplyWithoutItems);
    }
    for (i, item) in q.items().iter().enumerate() {
        let at = format!("{DATA}.quick-reply.items[{i}]");
        require_str(item.identifier.as_deref(), &format!("{at}.identifier"))?;
        require_str(item.title.as_deref(), &format!("{at}.title"))?;
    }
    Ok(())
}

fn check_form(f: &Form) -> Result {
    // Which template name Apple requires is UNKNOWN, so `template` is not checked.
    let pages = f.pages();
    if pages.is_empty() {
        return Err(ModelError::FormWithoutPages);
    }
    let mut ids = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let field = format!("{DATA}.dynamic.data.pages[{i}].pageIdentifier");
        require_str(page.page_identifier.as_deref(), &field)?;
        let id = page.page_identifier.as_deref().unwrap_or_default();
        let len = id.chars().count();
        if len >= MAX_FORM_PAGE_IDENTIFIER_CHARS {
            return Err(ModelError::FormPageIdentifierTooLong {
                page_identifier: id.to_owned(),
                len,
            });
        }
        ids.push(id);
    }
    let resolve = |field: String, target: Option<&str>| match target {
        Some(t) if !ids.contains(&t) => Err(ModelError::FormUnknownPage {
            field,
            identifier: t.to_owned(),
        }),
        _ => Ok(()),
    };
    let start = f
        .data
        .as_ref()
        .and_then(|d| d.start_page_identifier.as_deref());
    resolve(format!("{DATA}.dynamic.data.startPageIdentifier"), start)?;
    for (i, page) in pages.iter().enumerate() {
        let at = format!("{DATA}.dynamic.data.pages[{i}]");
        resolve(
            format!("{at}.nextPageIdentifier"),
            page.next_page_identifier.as_deref(),
        )?;
        for (j, item) in page.items.iter().flatten().enumerate() {
            resolve(
                format!("{at}.items[{j}].nextPageIdentifier"),
                item.next_page_identifier.as_deref(),
            )?;
        }
    }
    Ok(())
}

fn check_payment(p: &Payment) -> Result {
    const AT: &str = "interactiveData.data.payment";
    let Some(req) = &p.payment_request else {
        return Err(missing(format!("{AT}.paymentRequest")));
    };
    if req.total.is_none() {
        return Err(missing(format!("{AT}.paymentRequest.total")));
    }
    require_str(
        req.currency_code.as_deref(),
        "interactiveData.data.payment.paymentRequest.currencyCode",
    )?;
    require_str(
        req.country_code.as_deref(),
        "interactiveData.data.payment.paymentRequest.countryCode",
    )?;
    require_str(
        req.apple_pay
            .as_ref()
            .and_then(|a| a.merchant_identifier.as_deref()),
        "interactiveData.data.payment.paymentRequest.applePay.merchantIdentifier",
    )?;
    if p.merchant_session.is_none() {
        return Err(missing(format!("{AT}.merchantSession")));
    }
    require_str(
        p.endpoints
            .as_ref()
            .and_then(|e| e.payment_gateway_url.as_deref()),
        "interactiveData.data.payment.endpoints.paymentGatewayUrl",
    )
}

fn check_authenticate(a: &Authenticate) -> Result {
    const AT: &str = "interactiveData.data.authenticate.oauth2";
    let Some(o) = &a.oauth2 else {
        return Err(missing(AT));
    };
    require_str(o.response_type.as_deref(), &format!("{AT}.responseType"))?;
    if o.is_authorization_code() {
        require_str(o.redirect_uri.as_deref(), &format!("{AT}.redirectURI"))
    } else {
        require_str(
            o.response_encryption_key.as_deref(),
            &format!("{AT}.responseEncryptionKey"),
        )
    }
}

fn check_rich_link_outbound(m: &Message) -> Result {
    match (&m.rich_link_data, &m.rich_link_data_ref) {
        (None, None) => Err(ModelError::RichLinkWithoutData),
        (Some(link), _) => check_rich_link(link),
        (None, Some(r)) => check_ref_size(r.size.as_ref(), "richLinkDataRef.size"),
    }
}

fn check_rich_link(link: &RichLinkData) -> Result {
    let url = link.url.as_deref();
    require_str(url, "richLinkData.url")?;
    let url = url.unwrap_or_default();
    if !is_http_url(url) {
        return Err(ModelError::InvalidRichLinkUrl {
            url: url.to_owned(),
        });
    }
    let image = link
        .assets
        .as_ref()
        .and_then(|a| a.image.as_ref())
        .and_then(|i| i.data.as_deref());
    if let Some(data) = image {
        let bytes = base64_decoded_len(data);
        if bytes > MAX_RICH_LINK_IMAGE_BYTES {
            return Err(ModelError::RichLinkImageTooLarge {
                bytes,
                max: MAX_RICH_LINK_IMAGE_BYTES,
            });
        }
    }
    Ok(())
}

/// Whether `url` is an absolute `http://` or `https://` URL with a host and no whitespace.
pub(crate) fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty() && !url.chars().any(char::is_whitespace)
}

/// The decoded size of Base64 text, estimated from its length (whitespace and padding
/// ignored), so that an oversized image is caught without decoding it.
fn base64_decoded_len(data: &str) -> usize {
    let chars = data
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .count();
    chars / 4 * 3 + (chars % 4).saturating_sub(1)
}
