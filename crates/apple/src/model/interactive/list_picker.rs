//! List picker (`data.listPicker`, capability `LIST`; apple-mfb-api.md §6.2).

use serde::{Deserialize, Serialize};

use crate::model::common::Extra;

/// `data.listPicker`: one or more sections of items. The device's reply carries the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListPicker {
    /// Sections, in display order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<ListPickerSection>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One list picker section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListPickerSection {
    /// Section title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Display order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// Whether the user may pick more than one item.
    #[serde(
        rename = "multipleSelection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub multiple_selection: Option<bool>,
    /// Items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<ListPickerItem>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ListPickerSection {
    /// A section with a title and no items.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            ..Self::default()
        }
    }

    /// Sets `multipleSelection`.
    #[must_use]
    pub fn with_multiple_selection(mut self, multiple: bool) -> Self {
        self.multiple_selection = Some(multiple);
        self
    }

    /// Appends an item.
    #[must_use]
    pub fn with_item(mut self, item: ListPickerItem) -> Self {
        self.items.get_or_insert_with(Vec::new).push(item);
        self
    }

    /// The items, or an empty slice.
    pub fn items(&self) -> &[ListPickerItem] {
        self.items.as_deref().unwrap_or(&[])
    }
}

/// One list picker item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListPickerItem {
    /// Item id, echoed in the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Display order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// Style, e.g. `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Identifier of an entry in `data.images`.
    #[serde(
        rename = "imageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_identifier: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ListPickerItem {
    /// An item with an id and a title, style `default`.
    pub fn new(identifier: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            identifier: Some(identifier.into()),
            title: Some(title.into()),
            style: Some("default".to_owned()),
            ..Self::default()
        }
    }

    /// Sets the subtitle.
    #[must_use]
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Sets the image (an identifier from `data.images`).
    #[must_use]
    pub fn with_image(mut self, image_identifier: impl Into<String>) -> Self {
        self.image_identifier = Some(image_identifier.into());
        self
    }
}
