//! The device's replies to interactive messages, as typed views ([`InteractiveReply`]).
//!
//! A reply arrives as `type: interactive` with the feature data in `interactiveData.data`,
//! `requestIdentifier`, `version` and `replyMessage` inside `data`, and `sessionIdentifier` at
//! `interactiveData` level. The exact reply schemas are mostly UNKNOWN (apple-mfb-api.md §12.6),
//! so these views are lenient: they read what is there and never fail.

use serde_json::Value;

use super::envelope::Message;
use super::interactive::{
    AuthenticationStatus, FormSelection, InteractiveData, InteractiveKind, ListPickerItem,
    MessageBubble, Payment, QuickReplyItem, Timeslot,
};

/// What every reply carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyContext {
    /// The `requestIdentifier` of the message answered.
    pub request_identifier: Option<String>,
    /// `sessionIdentifier`.
    pub session_identifier: Option<String>,
    /// The reply bubble (`data.replyMessage`, else `interactiveData.replyMessage`).
    pub reply_message: Option<MessageBubble>,
}

/// A device reply, by feature.
#[derive(Debug, Clone, PartialEq)]
pub enum InteractiveReply {
    /// List picker selection.
    ListPicker(ListPickerSelection),
    /// Time picker selection.
    TimePicker(TimePickerSelection),
    /// Quick reply selection.
    QuickReply(QuickReplySelection),
    /// Form answers.
    Form(FormReply),
    /// Apple Pay result.
    ApplePay(ApplePayResult),
    /// Authentication result.
    Authentication(AuthenticationReply),
    /// Custom iMessage app reply (opaque).
    IMessageApp(IMessageAppReply),
    /// A reply of a kind this crate does not know.
    Unknown(ReplyContext),
}

impl InteractiveReply {
    /// The common part.
    pub fn context(&self) -> &ReplyContext {
        match self {
            Self::ListPicker(r) => &r.context,
            Self::TimePicker(r) => &r.context,
            Self::QuickReply(r) => &r.context,
            Self::Form(r) => &r.context,
            Self::ApplePay(r) => &r.context,
            Self::Authentication(r) => &r.context,
            Self::IMessageApp(r) => &r.context,
            Self::Unknown(c) => c,
        }
    }
}

/// One selected list picker item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedListItem {
    /// Title of the section it is in.
    pub section_title: Option<String>,
    /// The item as echoed by the device.
    pub item: ListPickerItem,
}

/// A list picker reply.
///
/// UNKNOWN whether the reply's sections hold only the selected items or the whole list. If any
/// item carries `"selected": true`, only those are taken as selected; otherwise every item in
/// the reply is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPickerSelection {
    /// The common part.
    pub context: ReplyContext,
    /// The selected items, in reply order.
    pub selected: Vec<SelectedListItem>,
}

/// A time picker reply: the timeslot(s) in the reply's `event` (exact shape UNKNOWN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimePickerSelection {
    /// The common part.
    pub context: ReplyContext,
    /// `event.identifier`.
    pub event_identifier: Option<String>,
    /// `event.timezoneOffset`.
    pub timezone_offset: Option<i64>,
    /// The chosen timeslot(s).
    pub timeslots: Vec<Timeslot>,
}

/// A quick reply reply: `selectedIndex` (S10) and/or `selectedIdentifier` (exact keys UNKNOWN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReplySelection {
    /// The common part.
    pub context: ReplyContext,
    /// `selectedIndex`, if present and a number.
    pub selected_index: Option<u64>,
    /// `selectedIdentifier`, if present.
    pub selected_identifier: Option<String>,
    /// The chosen item, when the reply echoes the items: found by identifier, else by index.
    pub selected_item: Option<QuickReplyItem>,
}

impl QuickReplySelection {
    /// The chosen item's identifier, from `selectedIdentifier` or the resolved item.
    pub fn identifier(&self) -> Option<&str> {
        self.selected_identifier
            .as_deref()
            .or_else(|| self.selected_item.as_ref()?.identifier.as_deref())
    }
}

/// A form reply: `dynamic.selections`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormReply {
    /// The common part.
    pub context: ReplyContext,
    /// One entry per answered page.
    pub selections: Vec<FormSelection>,
}

/// An Apple Pay reply (shape UNKNOWN: `data.payment` is kept whole). The authorized payment
/// itself goes to the payment gateway URL, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplePayResult {
    /// The common part.
    pub context: ReplyContext,
    /// `data.payment` (boxed: it is large).
    pub payment: Option<Box<Payment>>,
}

/// An authentication reply: `authenticate {status, token}` (legacy), or an AUTH2 code if the
/// device sends one (UNKNOWN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationReply {
    /// The common part.
    pub context: ReplyContext,
    /// `authenticate.status`.
    pub status: Option<AuthenticationStatus>,
    /// `authenticate.token` (legacy: encrypted to the request's `responseEncryptionKey`).
    pub token: Option<String>,
    /// `authenticate.code` (AUTH2, speculative).
    pub code: Option<String>,
}

/// A custom iMessage app reply, kept opaque.
#[derive(Debug, Clone, PartialEq)]
pub struct IMessageAppReply {
    /// The common part.
    pub context: ReplyContext,
    /// The extension's bid.
    pub bid: Option<String>,
    /// `URL`, if present.
    pub url: Option<String>,
    /// `data` as raw JSON, if present.
    pub data: Option<Value>,
}

impl InteractiveData {
    /// Reads this interactive data as a device reply.
    pub fn reply(&self) -> InteractiveReply {
        let payload = self.data.as_ref();
        let context = ReplyContext {
            request_identifier: payload.and_then(|d| d.request_identifier.clone()),
            session_identifier: self.session_identifier.clone(),
            reply_message: payload
                .and_then(|d| d.reply_message.clone())
                .or_else(|| self.reply_message.clone()),
        };
        let Some(data) = payload else {
            return match self.kind() {
                InteractiveKind::IMessageApp => InteractiveReply::IMessageApp(IMessageAppReply {
                    context,
                    bid: self.bid.clone(),
                    url: self.url.clone(),
                    data: None,
                }),
                _ => InteractiveReply::Unknown(context),
            };
        };
        match self.kind() {
            InteractiveKind::ListPicker => {
                let sections = data
                    .list_picker
                    .as_ref()
                    .and_then(|l| l.sections.as_deref())
                    .unwrap_or(&[]);
                let all = sections.iter().flat_map(|s| {
                    s.items().iter().map(move |i| SelectedListItem {
                        section_title: s.title.clone(),
                        item: i.clone(),
                    })
                });
                let flagged = |i: &SelectedListItem| {
                    i.item.extra.get("selected").and_then(Value::as_bool) == Some(true)
                };
                let any_flagged = all.clone().any(|i| flagged(&i));
                let selected = all.filter(|i| !any_flagged || flagged(i)).collect();
                InteractiveReply::ListPicker(ListPickerSelection { context, selected })
            }
            InteractiveKind::TimePicker => {
                let event = data.event.as_ref();
                InteractiveReply::TimePicker(TimePickerSelection {
                    context,
                    event_identifier: event.and_then(|e| e.identifier.clone()),
                    timezone_offset: event.and_then(|e| e.timezone_offset),
                    timeslots: event.map(|e| e.timeslots().to_vec()).unwrap_or_default(),
                })
            }
            InteractiveKind::QuickReply => {
                let qr = data.quick_reply.as_ref();
                let selected_index = qr
                    .and_then(|q| q.selected_index.as_ref())
                    .and_then(|i| i.as_u64());
                let selected_identifier = qr.and_then(|q| q.selected_identifier.clone());
                let items = qr.map(|q| q.items()).unwrap_or(&[]);
                let selected_item = selected_identifier
                    .as_deref()
                    .and_then(|id| items.iter().find(|i| i.identifier.as_deref() == Some(id)))
                    .or_else(|| {
                        let i = usize::try_from(selected_index?).ok()?;
                        items.get(i)
                    })
                    .cloned();
                InteractiveReply::QuickReply(QuickReplySelection {
                    context,
                    selected_index,
                    selected_identifier,
                    selected_item,
                })
            }
            InteractiveKind::Form => InteractiveReply::Form(FormReply {
                context,
                selections: data
                    .dynamic
                    .as_ref()
                    .and_then(|f| f.selections.clone())
                    .unwrap_or_default(),
            }),
            InteractiveKind::ApplePay => InteractiveReply::ApplePay(ApplePayResult {
                context,
                payment: data.payment.clone().map(Box::new),
            }),
            InteractiveKind::Authentication => {
                let auth = data.authenticate.as_ref();
                InteractiveReply::Authentication(AuthenticationReply {
                    context,
                    status: auth.and_then(|a| a.status.clone()),
                    token: auth.and_then(|a| a.token.clone()),
                    code: auth.and_then(|a| a.code.clone()),
                })
            }
            InteractiveKind::IMessageApp => InteractiveReply::IMessageApp(IMessageAppReply {
                context,
                bid: self.bid.clone(),
                url: self.url.clone(),
                data: serde_json::to_value(data).ok(),
            }),
            InteractiveKind::Unknown => InteractiveReply::Unknown(context),
        }
    }
}

impl Message {
    /// Reads an inbound interactive message as a device reply. `None` when it carries no
    /// inline `interactiveData` (a reply over 10 KB arrives as `interactiveDataRef` and must be
    /// fetched and decoded first).
    pub fn interactive_reply(&self) -> Option<InteractiveReply> {
        self.interactive_data.as_ref().map(InteractiveData::reply)
    }
}
