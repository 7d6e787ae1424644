//! The sample knowledge file and tasks built like routing builds them.

use parley_bot::Knowledge;
use parley_proto::v1::{
    BotContext, BotTask, Capability, DeviceCapabilities, EventMeta, InboundMessage, InboundText,
    Locale, bot_task, inbound_message,
};

pub const ACME: &str = include_str!("../../knowledge/acme.toml");
pub const ACME_ID: &str = "a884eddf-7b0c-4b0a-9a8c-2f8a1b2c3d4e";

pub fn acme() -> Knowledge {
    Knowledge::from_toml("acme.toml", ACME).unwrap()
}

/// 2026-07-15 (a Wednesday) 14:00 UTC: New York 10:00, Paris and Madrid 16:00.
pub const WEDNESDAY_NOON: i64 = 1_784_124_000;

pub fn context(locale: &str, caps: &[Capability]) -> BotContext {
    BotContext {
        bot_id: "bot".into(),
        locale: Some(Locale {
            apple: locale.replace('-', "_"),
            language_tag: locale.into(),
        }),
        capabilities: Some(DeviceCapabilities {
            capabilities: caps.iter().map(|c| *c as i32).collect(),
            unrecognized: Vec::new(),
        }),
        within_business_hours: true,
        ..BotContext::default()
    }
}

pub fn all_caps() -> Vec<Capability> {
    vec![
        Capability::QuickReply,
        Capability::ListPicker,
        Capability::TimePicker,
        Capability::Form,
    ]
}

pub fn text_task(ctx: BotContext, body: &str) -> BotTask {
    BotTask {
        meta: Some(EventMeta {
            event_id: "task-1".into(),
            sequence: 1,
            ..EventMeta::default()
        }),
        context: Some(ctx),
        task: Some(bot_task::Task::CustomerMessage(InboundMessage {
            meta: Some(EventMeta {
                event_id: "in-1".into(),
                ..EventMeta::default()
            }),
            kind: Some(inbound_message::Kind::Text(InboundText {
                body: body.into(),
                attachments: Vec::new(),
            })),
            ..InboundMessage::default()
        })),
    }
}
