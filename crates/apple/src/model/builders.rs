//! Builders for outbound interactive messages: each produces an [`InteractiveData`] with
//! Apple's built-in `bid`, `version: "1.0"` and the given `requestIdentifier`, ready for
//! [`crate::model::Message::interactive`].
//!
//! ```
//! use parley_apple::model::{ListPickerBuilder, ListPickerItem, ListPickerSection, Message, MessageBubble};
//! let data = ListPickerBuilder::new("6d4f0b7a-0000-4000-8000-000000000001")
//!     .received_message(MessageBubble::new("Pick a fruit"))
//!     .reply_message(MessageBubble::new("Your pick"))
//!     .section(ListPickerSection::new("Fruit").with_item(ListPickerItem::new("1", "Apple")))
//!     .build();
//! let msg = Message::interactive("id-1", "biz", "urn:mbid:user", data);
//! assert!(msg.validate_outbound().is_ok());
//! ```

use super::interactive::{
    Authenticate, Form, InteractiveData, InteractiveImage, InteractivePayload, ListPicker,
    ListPickerSection, MessageBubble, OAuth2Request, Payment, QuickReply, QuickReplyItem,
    TimePickerEvent, Timeslot,
};

/// The parts every builder shares.
#[derive(Debug, Clone, Default)]
struct Common {
    received: Option<MessageBubble>,
    reply: Option<MessageBubble>,
    session: Option<String>,
    images: Vec<InteractiveImage>,
}

impl Common {
    fn finish(self, mut payload: InteractivePayload) -> InteractiveData {
        if !self.images.is_empty() {
            payload.images = Some(self.images);
        }
        let mut data = InteractiveData::builtin(payload);
        data.received_message = self.received;
        data.reply_message = self.reply;
        data.session_identifier = self.session;
        data
    }
}

macro_rules! common_setters {
    () => {
        /// Sets `receivedMessage`, the bubble shown when the message arrives.
        #[must_use]
        pub fn received_message(mut self, bubble: MessageBubble) -> Self {
            self.common.received = Some(bubble);
            self
        }

        /// Sets `replyMessage`, the bubble shown once the user answers.
        #[must_use]
        pub fn reply_message(mut self, bubble: MessageBubble) -> Self {
            self.common.reply = Some(bubble);
            self
        }

        /// Sets `sessionIdentifier`.
        #[must_use]
        pub fn session_identifier(mut self, session: impl Into<String>) -> Self {
            self.common.session = Some(session.into());
            self
        }

        /// Adds an entry to `data.images`.
        #[must_use]
        pub fn image(mut self, image: InteractiveImage) -> Self {
            self.common.images.push(image);
            self
        }
    };
}

/// Builds a list picker (capability `LIST`).
#[derive(Debug, Clone)]
pub struct ListPickerBuilder {
    request_identifier: String,
    sections: Vec<ListPickerSection>,
    common: Common,
}

impl ListPickerBuilder {
    /// A list picker with no sections yet.
    pub fn new(request_identifier: impl Into<String>) -> Self {
        Self {
            request_identifier: request_identifier.into(),
            sections: Vec::new(),
            common: Common::default(),
        }
    }

    common_setters!();

    /// Appends a section.
    #[must_use]
    pub fn section(mut self, section: ListPickerSection) -> Self {
        self.sections.push(section);
        self
    }

    /// The interactive data. Sections and items without an `order` get their position.
    pub fn build(self) -> InteractiveData {
        let mut sections = self.sections;
        for (si, section) in sections.iter_mut().enumerate() {
            section.order.get_or_insert(to_order(si));
            for (ii, item) in section.items.iter_mut().flatten().enumerate() {
                item.order.get_or_insert(to_order(ii));
            }
        }
        let mut payload = InteractivePayload::new(self.request_identifier);
        payload.list_picker = Some(ListPicker {
            sections: Some(sections),
            ..ListPicker::default()
        });
        self.common.finish(payload)
    }
}

fn to_order(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// Builds a time picker (capability `TIME`).
#[derive(Debug, Clone)]
pub struct TimePickerBuilder {
    request_identifier: String,
    event: TimePickerEvent,
    common: Common,
}

impl TimePickerBuilder {
    /// A time picker for an event with this title and no timeslots yet.
    pub fn new(request_identifier: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            request_identifier: request_identifier.into(),
            event: TimePickerEvent {
                title: Some(title.into()),
                ..TimePickerEvent::default()
            },
            common: Common::default(),
        }
    }

    common_setters!();

    /// Sets the event's `identifier`.
    #[must_use]
    pub fn event_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.event.identifier = Some(identifier.into());
        self
    }

    /// Fixes the display offset, in minutes (without it slots show in the user's time zone).
    #[must_use]
    pub fn timezone_offset(mut self, minutes: i64) -> Self {
        self.event.timezone_offset = Some(minutes);
        self
    }

    /// Appends a timeslot.
    #[must_use]
    pub fn timeslot(mut self, slot: Timeslot) -> Self {
        self.event.timeslots.get_or_insert_with(Vec::new).push(slot);
        self
    }

    /// The interactive data.
    pub fn build(self) -> InteractiveData {
        let mut event = self.event;
        event.timeslots.get_or_insert_with(Vec::new);
        let mut payload = InteractivePayload::new(self.request_identifier);
        payload.event = Some(event);
        self.common.finish(payload)
    }
}

/// Builds a quick reply (capability `QUICK`).
#[derive(Debug, Clone)]
pub struct QuickReplyBuilder {
    request_identifier: String,
    quick_reply: QuickReply,
    common: Common,
}

impl QuickReplyBuilder {
    /// A quick reply with this prompt and no items yet.
    pub fn new(request_identifier: impl Into<String>, summary_text: impl Into<String>) -> Self {
        Self {
            request_identifier: request_identifier.into(),
            quick_reply: QuickReply {
                summary_text: Some(summary_text.into()),
                items: Some(Vec::new()),
                ..QuickReply::default()
            },
            common: Common::default(),
        }
    }

    common_setters!();

    /// Appends a button.
    #[must_use]
    pub fn item(mut self, identifier: impl Into<String>, title: impl Into<String>) -> Self {
        self.quick_reply
            .items
            .get_or_insert_with(Vec::new)
            .push(QuickReplyItem::new(identifier, title));
        self
    }

    /// The interactive data.
    pub fn build(self) -> InteractiveData {
        let mut payload = InteractivePayload::new(self.request_identifier);
        payload.quick_reply = Some(self.quick_reply);
        self.common.finish(payload)
    }
}

impl InteractiveData {
    /// An authentication request (send it to `/authenticate`, not `/message`). Use
    /// [`OAuth2Request::authorization_code`] for AUTH2.
    pub fn authentication(request_identifier: impl Into<String>, oauth2: OAuth2Request) -> Self {
        let mut payload = InteractivePayload::new(request_identifier);
        payload.authenticate = Some(Authenticate {
            oauth2: Some(oauth2),
            ..Authenticate::default()
        });
        Self::builtin(payload)
    }

    /// An Apple Pay request.
    pub fn apple_pay(request_identifier: impl Into<String>, payment: Payment) -> Self {
        let mut payload = InteractivePayload::new(request_identifier);
        payload.payment = Some(payment);
        Self::builtin(payload)
    }

    /// A form (capability `FORM`, iPhone/iPad only); see [`Form::message_forms`].
    pub fn form(request_identifier: impl Into<String>, form: Form) -> Self {
        let mut payload = InteractivePayload::new(request_identifier);
        payload.dynamic = Some(form);
        Self::builtin(payload)
    }
}
