//! Opening hours of a location in its own time zone (IANA name, daylight saving time from
//! the compiled-in tz database), with holidays, and the next opening.
//!
//! A day's hours are written `"08:00-12:00, 13:30-18:00"` (intervals in local time, the end
//! may be `24:00`), or `"closed"`. Everything is computed in the location's local time, so a
//! location that opens at 09:00 opens at 09:00 on both sides of a DST change; an opening
//! that falls into a DST gap (02:30 on a spring-forward night) is reported at the local time
//! it really happens (03:30).

use std::collections::BTreeSet;

use jiff::{
    Timestamp,
    civil::{Date, Time},
    tz::TimeZone,
};

/// Days in the order of a week in the knowledge file, Monday first.
pub const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How many days ahead the next opening is looked for.
const LOOKAHEAD_DAYS: i32 = 31;

/// One opening interval of a day, in minutes after local midnight (`end` up to 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// Opening minute.
    pub start: u16,
    /// Closing minute (exclusive).
    pub end: u16,
}

/// A location's week and holidays in its time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The time zone.
    pub time_zone: TimeZone,
    /// The IANA name of the time zone, as written.
    pub time_zone_name: String,
    /// Intervals per day, Monday first, sorted.
    pub week: [Vec<Interval>; 7],
    /// Local dates on which the location is closed all day.
    pub holidays: BTreeSet<Date>,
}

impl Interval {
    /// The opening time.
    pub fn opens(&self) -> LocalTime {
        local(self.start)
    }

    /// The closing time (24:00 for midnight).
    pub fn closes(&self) -> LocalTime {
        local(self.end)
    }
}

/// A local time of day, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Hour, 0-23 (24 for a closing at midnight).
    pub hour: u8,
    /// Minute.
    pub minute: u8,
}

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// When the location opens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// 0 for today, 1 for tomorrow, … (local dates).
    pub in_days: u32,
    /// The day of the week, 0 = Monday.
    pub weekday: u8,
    /// The local time.
    pub at: LocalTime,
}

/// Whether a location is open at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Open now, until the local time given.
    Open {
        /// The closing time of the current interval.
        until: LocalTime,
    },
    /// Closed now.
    Closed {
        /// Closed all day for a holiday.
        holiday: bool,
        /// The next opening, `None` when none within a month.
        opens: Option<Opening>,
    },
}

fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// Parses one day's hours (`"08:00-12:00, 13:00-18:00"` or `"closed"`), sorted; the error
/// says what is wrong.
pub fn parse_day(text: &str) -> Result<Vec<Interval>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("closed") || text.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in text.split(',') {
        let (start, end) = part
            .split_once('-')
            .ok_or_else(|| format!("{part:?} is not HH:MM-HH:MM"))?;
        let (Some(start), Some(end)) = (minutes(start), minutes(end)) else {
            return Err(format!("{part:?} is not HH:MM-HH:MM (00:00 to 24:00)"));
        };
        if start >= end {
            return Err(format!("{part:?} closes before it opens"));
        }
        out.push(Interval { start, end });
    }
    out.sort();
    if out.windows(2).any(|w| w[0].end > w[1].start) {
        return Err(format!("{text:?} has overlapping intervals"));
    }
    Ok(out)
}

fn local(minute: u16) -> LocalTime {
    LocalTime {
        hour: u8::try_from(minute / 60).unwrap_or(24),
        minute: u8::try_from(minute % 60).unwrap_or(0),
    }
}

impl Schedule {
    /// A schedule from a time zone name, the week (Monday first) and holidays
    /// (`YYYY-MM-DD`); the error says what is wrong.
    pub fn new(time_zone: &str, week: [&str; 7], holidays: &[String]) -> Result<Self, String> {
        let tz = TimeZone::get(time_zone)
            .map_err(|e| format!("time zone {time_zone:?} is unknown: {e}"))?;
        let mut days: [Vec<Interval>; 7] = Default::default();
        for (i, text) in week.iter().enumerate() {
            days[i] = parse_day(text).map_err(|e| format!("{}: {e}", DAY_KEYS[i]))?;
        }
        let mut set = BTreeSet::new();
        for holiday in holidays {
            let date: Date = holiday
                .parse()
                .map_err(|_| format!("holiday {holiday:?} is not a YYYY-MM-DD date"))?;
            set.insert(date);
        }
        Ok(Self {
            time_zone: tz,
            time_zone_name: time_zone.to_owned(),
            week: days,
            holidays: set,
        })
    }

    fn day(&self, date: Date) -> &[Interval] {
        if self.holidays.contains(&date) {
            return &[];
        }
        let index = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        self.week.get(index).map_or(&[], Vec::as_slice)
    }

    /// Whether the location is open at `now` (seconds since the Unix epoch), and when it
    /// opens next if not.
    pub fn status(&self, now_unix_seconds: i64) -> Status {
        let Ok(now) = Timestamp::from_second(now_unix_seconds) else {
            return Status::Closed {
                holiday: false,
                opens: None,
            };
        };
        let zoned = now.to_zoned_datetime(self.time_zone.clone());
        let today = zoned.date();
        let minute =
            u16::try_from(i32::from(zoned.hour()) * 60 + i32::from(zoned.minute())).unwrap_or(0);
        if let Some(open) = self
            .day(today)
            .iter()
            .find(|i| i.start <= minute && minute < i.end)
        {
            return Status::Open {
                until: local(open.end),
            };
        }
        let mut opens = None;
        let mut date = today;
        for in_days in 0..=LOOKAHEAD_DAYS {
            if in_days > 0 {
                let Ok(next) = date.tomorrow() else { break };
                date = next;
            }
            let first = self
                .day(date)
                .iter()
                .find(|i| in_days > 0 || i.start > minute);
            if let Some(interval) = first {
                opens = Some(Opening {
                    in_days: u32::try_from(in_days).unwrap_or(0),
                    weekday: u8::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0),
                    at: self.real_local_time(date, interval.start),
                });
                break;
            }
        }
        Status::Closed {
            holiday: self.holidays.contains(&today),
            opens,
        }
    }

    /// Appointment slots: starts (seconds since the Unix epoch) every `duration_minutes`
    /// within the opening intervals of today and the next `days - 1` local days, each slot
    /// wholly inside one interval and starting after `now`; holidays skipped; at most `max`.
    /// A start inside a DST gap is left out (that wall-clock time does not happen).
    pub fn slots(
        &self,
        now_unix_seconds: i64,
        days: u32,
        duration_minutes: u32,
        max: usize,
    ) -> Vec<i64> {
        let mut out = Vec::new();
        let Ok(now) = Timestamp::from_second(now_unix_seconds) else {
            return out;
        };
        let step = u16::try_from(duration_minutes.clamp(5, 1440)).unwrap_or(60);
        let mut date = now.to_zoned_datetime(self.time_zone.clone()).date();
        for in_days in 0..days.min(31) {
            if in_days > 0 {
                let Ok(next) = date.tomorrow() else { break };
                date = next;
            }
            for interval in self.day(date) {
                let mut start = interval.start;
                while start.saturating_add(step) <= interval.end && out.len() < max {
                    let Ok(time) = Time::new(
                        i8::try_from(start / 60).unwrap_or(0),
                        i8::try_from(start % 60).unwrap_or(0),
                        0,
                        0,
                    ) else {
                        break;
                    };
                    if let Ok(zoned) = date
                        .to_datetime(time)
                        .to_zoned_datetime(self.time_zone.clone())
                        && zoned.hour() == time.hour()
                        && zoned.minute() == time.minute()
                    {
                        let at = zoned.timestamp().as_second();
                        if at > now_unix_seconds {
                            out.push(at);
                        }
                    }
                    start = start.saturating_add(step);
                }
            }
        }
        out
    }

    /// A future instant as the location's local day (relative to `now`) and time.
    pub fn local(&self, now_unix_seconds: i64, at_unix_seconds: i64) -> Option<Opening> {
        let now = Timestamp::from_second(now_unix_seconds).ok()?;
        let at = Timestamp::from_second(at_unix_seconds).ok()?;
        let today = now.to_zoned_datetime(self.time_zone.clone()).date();
        let zoned = at.to_zoned_datetime(self.time_zone.clone());
        let in_days = today.until(zoned.date()).ok()?.get_days();
        Some(Opening {
            in_days: u32::try_from(in_days).ok()?,
            weekday: u8::try_from(zoned.date().weekday().to_monday_zero_offset()).unwrap_or(0),
            at: LocalTime {
                hour: u8::try_from(zoned.hour()).unwrap_or(0),
                minute: u8::try_from(zoned.minute()).unwrap_or(0),
            },
        })
    }

    /// The local day `in_days` after the local date at `now` (0: today): its weekday
    /// (0 = Monday), whether it is a holiday, and its opening intervals (none on a holiday).
    pub fn day_after(
        &self,
        now_unix_seconds: i64,
        in_days: u32,
    ) -> Option<(u8, bool, Vec<Interval>)> {
        let now = Timestamp::from_second(now_unix_seconds).ok()?;
        let mut date = now.to_zoned_datetime(self.time_zone.clone()).date();
        for _ in 0..in_days.min(LOOKAHEAD_DAYS.unsigned_abs()) {
            date = date.tomorrow().ok()?;
        }
        let weekday = u8::try_from(date.weekday().to_monday_zero_offset()).ok()?;
        Some((
            weekday,
            self.holidays.contains(&date),
            self.day(date).to_vec(),
        ))
    }

    /// How many local days from the local date at `now` until the next `weekday` (0 =
    /// Monday): 0 when today is that day.
    pub fn days_until(&self, now_unix_seconds: i64, weekday: u8) -> Option<u32> {
        let now = Timestamp::from_second(now_unix_seconds).ok()?;
        let today = now
            .to_zoned_datetime(self.time_zone.clone())
            .date()
            .weekday()
            .to_monday_zero_offset();
        let today = u32::try_from(today).ok()?;
        Some((u32::from(weekday.min(6)) + 7 - today) % 7)
    }

    /// The location's offset from UTC at an instant, in minutes.
    pub fn offset_minutes(&self, at_unix_seconds: i64) -> Option<i32> {
        let at = Timestamp::from_second(at_unix_seconds).ok()?;
        Some(self.time_zone.to_offset(at).seconds() / 60)
    }

    /// The local wall-clock time at which `minute` of `date` really happens (a time in a DST
    /// gap moves forward by the gap).
    fn real_local_time(&self, date: Date, minute: u16) -> LocalTime {
        let Ok(time) = Time::new(
            i8::try_from(minute / 60).unwrap_or(0),
            i8::try_from(minute % 60).unwrap_or(0),
            0,
            0,
        ) else {
            return local(minute);
        };
        match date
            .to_datetime(time)
            .to_zoned_datetime(self.time_zone.clone())
        {
            Ok(zoned) => LocalTime {
                hour: u8::try_from(zoned.hour()).unwrap_or(0),
                minute: u8::try_from(zoned.minute()).unwrap_or(0),
            },
            Err(_) => local(minute),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn unix(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_second()
    }

    fn weekdays(hours: &'static str) -> [&'static str; 7] {
        [hours, hours, hours, hours, hours, "10:00-14:00", "closed"]
    }

    fn at(hour: u8, minute: u8) -> LocalTime {
        LocalTime { hour, minute }
    }

    #[test]
    fn parses_days_and_names_what_is_wrong() {
        assert_eq!(
            parse_day("13:00-18:00, 08:00-12:00").unwrap(),
            vec![
                Interval {
                    start: 480,
                    end: 720
                },
                Interval {
                    start: 780,
                    end: 1080
                }
            ]
        );
        assert_eq!(parse_day("closed").unwrap(), vec![]);
        assert_eq!(parse_day("18:00-24:00").unwrap()[0].end, 1440);
        assert!(
            parse_day("18:00-08:00")
                .unwrap_err()
                .contains("closes before")
        );
        assert!(parse_day("8h-12h").unwrap_err().contains("HH:MM"));
        assert!(
            parse_day("08:00-12:00,11:00-13:00")
                .unwrap_err()
                .contains("overlapping")
        );
        assert!(parse_day("25:00-26:00").is_err());
        let err = Schedule::new("Mars/Olympus", weekdays("09:00-17:00"), &[]).unwrap_err();
        assert!(err.contains("Mars/Olympus"), "{err}");
        let err =
            Schedule::new("UTC", weekdays("09:00-17:00"), &["2026-13-01".into()]).unwrap_err();
        assert!(err.contains("2026-13-01"), "{err}");
    }

    #[test]
    fn new_york_across_the_spring_dst_change() {
        let s = Schedule::new("America/New_York", weekdays("09:00-17:00"), &[]).unwrap();
        // Friday 6 March 2026, 13:30 UTC is 08:30 EST: closed, opens today at 09:00.
        assert_eq!(
            s.status(unix("2026-03-06T13:30:00Z")),
            Status::Closed {
                holiday: false,
                opens: Some(Opening {
                    in_days: 0,
                    weekday: 4,
                    at: at(9, 0)
                })
            }
        );
        // Monday 9 March 2026 (after DST began on the 8th), 13:30 UTC is 09:30 EDT: open.
        assert_eq!(
            s.status(unix("2026-03-09T13:30:00Z")),
            Status::Open { until: at(17, 0) }
        );
        // Saturday after closing: opens Monday.
        assert_eq!(
            s.status(unix("2026-03-07T20:00:00Z")),
            Status::Closed {
                holiday: false,
                opens: Some(Opening {
                    in_days: 2,
                    weekday: 0,
                    at: at(9, 0)
                })
            }
        );
    }

    #[test]
    fn appointment_slots_follow_local_hours_across_dst_and_skip_holidays_and_gaps() {
        let s = Schedule::new(
            "America/New_York",
            weekdays("09:00-11:00, 14:00-15:30"),
            &["2026-03-09".to_owned()],
        )
        .unwrap();
        // Friday 6 March 2026 09:30 EST: 10:00 and 14:00 today (09:00 has begun, 15:00-16:00
        // would end after closing), Saturday 10:00-14:00 (10, 11, 12, 13), Sunday closed.
        let slots = s.slots(unix("2026-03-06T14:30:00Z"), 3, 60, 20);
        let expected = [
            "2026-03-06T15:00:00Z",
            "2026-03-06T19:00:00Z",
            "2026-03-07T15:00:00Z",
            "2026-03-07T16:00:00Z",
            "2026-03-07T17:00:00Z",
            "2026-03-07T18:00:00Z",
        ]
        .map(unix);
        assert_eq!(slots, expected);
        // Across the DST change (8 March) the local times stay: Tuesday 10 March 09:00 is
        // 13:00 UTC (EDT); Monday 9 March is a holiday.
        let slots = s.slots(unix("2026-03-08T20:00:00Z"), 3, 60, 1);
        assert_eq!(slots, [unix("2026-03-10T13:00:00Z")]);
        assert_eq!(s.offset_minutes(slots[0]), Some(-240));
        assert_eq!(s.offset_minutes(unix("2026-03-06T15:00:00Z")), Some(-300));
        let local = s.local(unix("2026-03-08T20:00:00Z"), slots[0]).unwrap();
        assert_eq!((local.in_days, local.weekday, local.at), (2, 1, at(9, 0)));
        assert_eq!(s.slots(unix("2026-03-06T14:30:00Z"), 3, 60, 2).len(), 2);
        // A start inside the spring-forward gap (02:30 on 8 March) does not exist: left out.
        let night = Schedule::new(
            "America/New_York",
            [
                "closed",
                "closed",
                "closed",
                "closed",
                "closed",
                "closed",
                "02:00-04:00",
            ],
            &[],
        )
        .unwrap();
        let slots = night.slots(unix("2026-03-07T17:00:00Z"), 2, 30, 20);
        // 02:00 and 02:30 do not happen that night; 03:00 and 03:30 EDT do.
        assert_eq!(
            slots,
            [unix("2026-03-08T07:00:00Z"), unix("2026-03-08T07:30:00Z")]
        );
    }

    #[test]
    fn paris_in_summer_and_winter() {
        let s = Schedule::new("Europe/Paris", weekdays("09:00-18:00"), &[]).unwrap();
        // 07:30 UTC is 08:30 in January (UTC+1) and 09:30 in July (UTC+2).
        assert!(matches!(
            s.status(unix("2026-01-14T07:30:00Z")),
            Status::Closed { .. }
        ));
        assert_eq!(
            s.status(unix("2026-07-15T07:30:00Z")),
            Status::Open { until: at(18, 0) }
        );
    }

    #[test]
    fn an_opening_in_the_dst_gap_is_reported_when_it_happens() {
        let s = Schedule::new(
            "America/New_York",
            [
                "closed",
                "closed",
                "closed",
                "closed",
                "closed",
                "closed",
                "02:30-05:00",
            ],
            &[],
        )
        .unwrap();
        // Saturday 7 March 2026 noon: next opening Sunday 8 March "02:30", which does not
        // exist that night; it happens at 03:30 EDT.
        assert_eq!(
            s.status(unix("2026-03-07T17:00:00Z")),
            Status::Closed {
                holiday: false,
                opens: Some(Opening {
                    in_days: 1,
                    weekday: 6,
                    at: at(3, 30)
                })
            }
        );
    }

    #[test]
    fn holidays_close_the_whole_local_day() {
        let s = Schedule::new(
            "Europe/Paris",
            weekdays("09:00-18:00"),
            &["2026-12-25".into()],
        )
        .unwrap();
        // Friday 25 December 2026 at 11:00 Paris: closed for the holiday, opens Saturday 10:00.
        assert_eq!(
            s.status(unix("2026-12-25T10:00:00Z")),
            Status::Closed {
                holiday: true,
                opens: Some(Opening {
                    in_days: 1,
                    weekday: 5,
                    at: at(10, 0)
                })
            }
        );
        // 23:30 UTC on the 24th is already the 25th in Paris.
        assert!(matches!(
            s.status(unix("2026-12-24T23:30:00Z")),
            Status::Closed { holiday: true, .. }
        ));
    }

    #[test]
    fn never_open_has_no_next_opening() {
        let s = Schedule::new("UTC", ["closed"; 7], &[]).unwrap();
        assert_eq!(
            s.status(0),
            Status::Closed {
                holiday: false,
                opens: None
            }
        );
        assert!(matches!(
            s.status(i64::MAX),
            Status::Closed { opens: None, .. }
        ));
    }
}
