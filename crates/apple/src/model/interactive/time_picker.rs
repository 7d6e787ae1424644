//! Time picker (`data.event`, capability `TIME`; apple-mfb-api.md §6.3).

use serde::{Deserialize, Serialize};

use crate::model::common::Extra;

/// `data.event`: an event with timeslots. The device's reply carries the same shape with the
/// chosen timeslot(s) (exact reply shape UNKNOWN).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TimePickerEvent {
    /// Event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Event title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Fixed offset for display, in minutes. Absent: slots show in the user's local time.
    #[serde(
        rename = "timezoneOffset",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timezone_offset: Option<i64>,
    /// The slots to pick from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeslots: Option<Vec<Timeslot>>,
    /// Keys this crate does not know (e.g. a `location`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl TimePickerEvent {
    /// The timeslots, or an empty slice.
    pub fn timeslots(&self) -> &[Timeslot] {
        self.timeslots.as_deref().unwrap_or(&[])
    }
}

/// One timeslot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeslot {
    /// Slot id, echoed in the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Start, e.g. `2022-07-10T17:00+0000`.
    #[serde(rename = "startTime", default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Length in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Timeslot {
    /// A slot with an id, a start time and a duration in seconds.
    pub fn new(
        identifier: impl Into<String>,
        start_time: impl Into<String>,
        duration: i64,
    ) -> Self {
        Self {
            identifier: Some(identifier.into()),
            start_time: Some(start_time.into()),
            duration: Some(duration),
            extra: Extra::new(),
        }
    }
}
