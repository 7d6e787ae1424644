//! Forms (`data.dynamic`, capability `FORM`, iPhone/iPad only; apple-mfb-api.md §6.6).
//!
//! UNKNOWN which template name Apple treats as canonical: `messageForms` (S10, Webex) or
//! `form` (Corezoid, version 1.1). Both are recognised; the builders write `messageForms`.

use serde::{Deserialize, Serialize};

use crate::model::common::{Extra, SchemaVersion, string_enum};

/// The longest `pageIdentifier` plus one: it "must be fewer than 20 characters" [P LivePerson].
pub const MAX_FORM_PAGE_IDENTIFIER_CHARS: usize = 20;

string_enum! {
    /// `dynamic.template`.
    pub enum FormTemplate {
        /// A template this crate does not know.
        Unknown(String);
        /// `messageForms` (S10, Webex).
        MessageForms = "messageForms",
        /// `form` (Corezoid).
        Form = "form",
    }
}

string_enum! {
    /// `pages[].type`.
    pub enum FormPageType {
        /// A page type this crate does not know.
        Unknown(String);
        /// Pick among items (`select`).
        Select = "select",
        /// A wheel picker (`picker`).
        Picker = "picker",
        /// A date picker (`datePicker`).
        DatePicker = "datePicker",
        /// Free text (`input`).
        Input = "input",
    }
}

/// `data.dynamic`: a form, or (in the device's reply) the user's answers in `selections`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Form {
    /// Template name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<FormTemplate>,
    /// Template version, e.g. `1.2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<SchemaVersion>,
    /// Whether the answers are private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// The form itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<FormData>,
    /// Reply: the user's answers, one per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selections: Option<Vec<FormSelection>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Form {
    /// A `messageForms` form (version `1.2`, as S10 uses) starting at the first page.
    pub fn message_forms(pages: Vec<FormPage>) -> Self {
        let start = pages.first().and_then(|p| p.page_identifier.clone());
        Self {
            template: Some(FormTemplate::MessageForms),
            version: Some(SchemaVersion::from("1.2")),
            private: None,
            data: Some(FormData {
                start_page_identifier: start,
                pages: Some(pages),
                ..FormData::default()
            }),
            selections: None,
            extra: Extra::new(),
        }
    }

    /// The pages, or an empty slice.
    pub fn pages(&self) -> &[FormPage] {
        self.data
            .as_ref()
            .and_then(|d| d.pages.as_deref())
            .unwrap_or(&[])
    }
}

/// `dynamic.data`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormData {
    /// The splash page shown before the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub splash: Option<FormSplash>,
    /// The first page's `pageIdentifier`.
    #[serde(
        rename = "startPageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_page_identifier: Option<String>,
    /// Whether a summary page is shown before submitting.
    #[serde(
        rename = "showSummary",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub show_summary: Option<bool>,
    /// The pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<FormPage>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `dynamic.data.splash`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormSplash {
    /// Header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Body text (`splashtext`, all lowercase on the wire).
    #[serde(
        rename = "splashtext",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub splash_text: Option<String>,
    /// Button title.
    #[serde(
        rename = "buttonTitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub button_title: Option<String>,
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

/// One form page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormPage {
    /// Page id (fewer than 20 characters).
    #[serde(
        rename = "pageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub page_identifier: Option<String>,
    /// Page type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub page_type: Option<FormPageType>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// The page that follows.
    #[serde(
        rename = "nextPageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page_identifier: Option<String>,
    /// Whether this page submits the form.
    #[serde(
        rename = "submitForm",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub submit_form: Option<bool>,
    /// Whether several items may be picked.
    #[serde(
        rename = "multipleSelection",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub multiple_selection: Option<bool>,
    /// Items of a `select` or `picker` page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<FormItem>>,
    /// Input options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<FormOptions>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FormPage {
    /// A page with an id, a type and a title.
    pub fn new(
        page_identifier: impl Into<String>,
        page_type: FormPageType,
        title: impl Into<String>,
    ) -> Self {
        Self {
            page_identifier: Some(page_identifier.into()),
            page_type: Some(page_type),
            title: Some(title.into()),
            ..Self::default()
        }
    }
}

/// One item of a form page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Value returned when picked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Identifier of an entry in `data.images`.
    #[serde(
        rename = "imageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_identifier: Option<String>,
    /// The page that follows when this item is picked.
    #[serde(
        rename = "nextPageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page_identifier: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `pages[].options`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormOptions {
    /// Whether an answer is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// `singleline` or `multiline`.
    #[serde(rename = "inputType", default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// Keyboard, e.g. `emailAddress`.
    #[serde(
        rename = "keyboardType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub keyboard_type: Option<String>,
    /// Content type hint, e.g. `emailAddress`.
    #[serde(
        rename = "textContentType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub text_content_type: Option<String>,
    /// Maximum answer length.
    #[serde(
        rename = "maximumCharacterCount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub maximum_character_count: Option<i64>,
    /// Regular expression the answer must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Date format, e.g. `MM/dd/yyyy`.
    #[serde(
        rename = "dateFormat",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub date_format: Option<String>,
    /// Earliest date.
    #[serde(
        rename = "minimumDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub minimum_date: Option<String>,
    /// Latest date.
    #[serde(
        rename = "maximumDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub maximum_date: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reply: `dynamic.selections[]`, the answer to one page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormSelection {
    /// The page answered.
    #[serde(
        rename = "pageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub page_identifier: Option<String>,
    /// Page title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Page subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// The answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<FormSelectionItem>>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reply: one answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormSelectionItem {
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The value picked or typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The page type it came from.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}
