//! Quick reply (`data["quick-reply"]`, capability `QUICK`; apple-mfb-api.md §6.4).

use serde::{Deserialize, Serialize};

use crate::model::common::{Extra, IntOrString};

/// `data["quick-reply"]`: a prompt and a few buttons. In the device's reply it carries the
/// selection: S10 reads `selectedIndex`; `selectedIdentifier` is also accepted (the exact
/// reply keys are UNKNOWN).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuickReply {
    /// The prompt.
    #[serde(
        rename = "summaryText",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub summary_text: Option<String>,
    /// The buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<QuickReplyItem>>,
    /// Reply: index of the chosen item (0-based, presumably).
    #[serde(
        rename = "selectedIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub selected_index: Option<IntOrString>,
    /// Reply: identifier of the chosen item.
    #[serde(
        rename = "selectedIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub selected_identifier: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl QuickReply {
    /// The items, or an empty slice.
    pub fn items(&self) -> &[QuickReplyItem] {
        self.items.as_deref().unwrap_or(&[])
    }
}

/// One quick reply button.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuickReplyItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl QuickReplyItem {
    /// A button with an id and a title.
    pub fn new(identifier: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            identifier: Some(identifier.into()),
            title: Some(title.into()),
            extra: Extra::new(),
        }
    }
}
