//! Business hours of a queue: weekly opening intervals in local time, holidays, and the
//! local time's offset from UTC.
//!
//! Local time is an IANA time zone (`time_zone = "Europe/Paris"`, with its daylight saving
//! rules, from the time zone database compiled into the binary by `jiff`), or a fixed UTC
//! offset (`"+02:00"`, `"-05:00"`, `"+05:30"`). With a fixed offset, a season's offset can be
//! listed as offset periods (`{ from = "2026-03-29", utc_offset = "+02:00" }`): each period
//! starts at 00:00 UTC of its `from` date and lasts until the next one; before the first
//! period the base `utc_offset` applies (the switch then happens at midnight UTC rather than
//! at the zone's legal hour; prefer `time_zone`).
//!
//! An interval belongs to the local day on which it starts: `mon = [["22:00", "02:00"]]` is
//! open from Monday 22:00 to Tuesday 02:00, and `"24:00"` may end an interval. A holiday
//! cancels the intervals that start on that local date (an overnight interval that started
//! the evening before still runs to its end).

use std::collections::BTreeSet;
use std::fmt;

const SECS_PER_DAY: i64 = 86_400;
const MINUTES_PER_DAY: u32 = 1_440;
/// How far ahead [`Hours::next_opening`] looks (enough for a year of holidays).
const HORIZON_DAYS: i64 = 400;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// Monday (`mon`).
    Mon,
    /// Tuesday (`tue`).
    Tue,
    /// Wednesday (`wed`).
    Wed,
    /// Thursday (`thu`).
    Thu,
    /// Friday (`fri`).
    Fri,
    /// Saturday (`sat`).
    Sat,
    /// Sunday (`sun`).
    Sun,
}

impl Weekday {
    /// Every weekday, Monday first.
    pub const ALL: [Weekday; 7] = [
        Self::Mon,
        Self::Tue,
        Self::Wed,
        Self::Thu,
        Self::Fri,
        Self::Sat,
        Self::Sun,
    ];

    /// The three-letter key used in the rules file (`"mon"`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Mon => "mon",
            Self::Tue => "tue",
            Self::Wed => "wed",
            Self::Thu => "thu",
            Self::Fri => "fri",
            Self::Sat => "sat",
            Self::Sun => "sun",
        }
    }

    /// The English name (`"Monday"`), for messages to customers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mon => "Monday",
            Self::Tue => "Tuesday",
            Self::Wed => "Wednesday",
            Self::Thu => "Thursday",
            Self::Fri => "Friday",
            Self::Sat => "Saturday",
            Self::Sun => "Sunday",
        }
    }

    /// The weekday of a rules-file key (`"mon"` to `"sun"`).
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.key() == key)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The weekday of a day counted from 1970-01-01 (a Thursday).
    fn of_day(day: i64) -> Self {
        // Lossless: rem_euclid(7) is in 0..7.
        let index = usize::try_from((day + 3).rem_euclid(7)).unwrap_or(0);
        Self::ALL[index % 7]
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fixed offset of local time from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtcOffset {
    seconds: i32,
}

impl UtcOffset {
    /// UTC itself.
    pub const UTC: UtcOffset = UtcOffset { seconds: 0 };

    /// Parses `"+HH:MM"` or `"-HH:MM"` (up to ±14:00), or `"Z"` for UTC.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "Z" {
            return Ok(Self::UTC);
        }
        let bad = || format!("`{text}` is not a UTC offset like \"+02:00\" or \"-05:00\"");
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let minutes = parse_hh_mm(rest).ok_or_else(bad)?;
        if minutes > 14 * 60 {
            return Err(format!("`{text}` is beyond ±14:00"));
        }
        let seconds = i32::try_from(minutes * 60).map_err(|_| bad())?;
        Ok(Self {
            seconds: sign * seconds,
        })
    }

    /// The offset in seconds east of UTC.
    pub fn seconds(self) -> i32 {
        self.seconds
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.seconds < 0 { '-' } else { '+' };
        let minutes = self.seconds.unsigned_abs() / 60;
        write!(f, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// A calendar date, stored as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    day: i64,
}

impl Date {
    /// Parses `"YYYY-MM-DD"` (a real date of the proleptic Gregorian calendar).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a date like \"2026-12-25\"");
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let year: i64 = digits(&text[0..4]).ok_or_else(bad)?.into();
        let month = digits(&text[5..7]).ok_or_else(bad)?;
        let day = digits(&text[8..10]).ok_or_else(bad)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(format!("`{text}` is not a real date"));
        }
        Ok(Self {
            day: days_from_civil(year, month, day),
        })
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        self.day
    }

    /// The weekday of the date.
    pub fn weekday(self) -> Weekday {
        Weekday::of_day(self.day)
    }
}

/// One opening interval, in minutes after the local midnight of the day it starts on;
/// `end` may exceed a day for an interval that runs past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    start: u32,
    end: u32,
}

impl Interval {
    pub(crate) fn start_minutes(self) -> u32 {
        self.start
    }

    pub(crate) fn end_minutes(self) -> u32 {
        self.end
    }

    /// Builds an interval from `"HH:MM"` texts. An end at or before the start runs into the
    /// next day; `"24:00"` is allowed as an end only.
    pub(crate) fn parse(start: &str, end: &str) -> Result<Self, (usize, String)> {
        let start_min = parse_time(start).map_err(|e| (0, e))?;
        if start_min == MINUTES_PER_DAY {
            return Err((0, "`24:00` can only end an interval".to_owned()));
        }
        let mut end_min = parse_time(end).map_err(|e| (1, e))?;
        if end_min == start_min {
            return Err((1, format!("the interval {start}–{end} is empty")));
        }
        if end_min < start_min {
            end_min += MINUTES_PER_DAY;
        }
        Ok(Self {
            start: start_min,
            end: end_min,
        })
    }
}

/// An IANA time zone, compared by name.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    /// The zone called `name` in the bundled time zone database.
    pub(crate) fn named(name: &str) -> Result<Self, String> {
        jiff::tz::db()
            .get(name)
            .map(|tz| Self {
                name: name.to_owned(),
                tz,
            })
            .map_err(|_| format!("`{name}` is not a time zone name like \"Europe/Paris\""))
    }

    fn offset_at(&self, now_utc_seconds: i64) -> UtcOffset {
        jiff::Timestamp::from_second(now_utc_seconds)
            .map(|at| UtcOffset {
                seconds: self.tz.to_offset(at).seconds(),
            })
            .unwrap_or(UtcOffset::UTC)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

/// A queue's business hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours {
    /// The IANA zone; when set, `base_offset` and `periods` are unused.
    zone: Option<Zone>,
    base_offset: UtcOffset,
    /// Offset periods by their first day (UTC), strictly increasing.
    periods: Vec<(i64, UtcOffset)>,
    /// Intervals per weekday (Monday first), sorted by start, not overlapping.
    weekly: [Vec<Interval>; 7],
    holidays: BTreeSet<i64>,
    closed_message: String,
}

impl Hours {
    pub(crate) fn new(
        base_offset: UtcOffset,
        periods: Vec<(Date, UtcOffset)>,
        weekly: [Vec<Interval>; 7],
        holidays: BTreeSet<Date>,
        closed_message: String,
    ) -> Self {
        Self {
            zone: None,
            base_offset,
            periods: periods.into_iter().map(|(d, o)| (d.day, o)).collect(),
            weekly,
            holidays: holidays.into_iter().map(|d| d.day).collect(),
            closed_message,
        }
    }

    /// The same hours in an IANA time zone.
    pub(crate) fn in_zone(mut self, zone: Zone) -> Self {
        self.zone = Some(zone);
        self
    }

    /// The local time's offset from UTC at an instant (seconds since the Unix epoch).
    pub fn offset_at(&self, now_utc_seconds: i64) -> UtcOffset {
        if let Some(zone) = &self.zone {
            return zone.offset_at(now_utc_seconds);
        }
        let day = now_utc_seconds.div_euclid(SECS_PER_DAY);
        self.periods
            .iter()
            .rev()
            .find(|(from, _)| *from <= day)
            .map_or(self.base_offset, |(_, offset)| *offset)
    }

    /// True when the queue is open at the instant (seconds since the Unix epoch, UTC).
    pub fn is_open(&self, now_utc_seconds: i64) -> bool {
        let (today, seconds) = self.local(now_utc_seconds);
        [today, today - 1].into_iter().any(|day| {
            let since_midnight = seconds + (today - day) * SECS_PER_DAY;
            self.intervals_on(day).iter().any(|iv| {
                i64::from(iv.start) * 60 <= since_midnight
                    && since_midnight < i64::from(iv.end) * 60
            })
        })
    }

    /// When the queue next opens at or after the instant, in local time: the weekday and
    /// `"HH:MM"`, for telling a customer. `None` when it never opens within about a year (no
    /// intervals, or only holidays ahead). Meant for when the queue is closed; when it is
    /// open, the answer is the start of a later interval.
    pub fn next_opening(&self, now_utc_seconds: i64) -> Option<(Weekday, String)> {
        let (today, seconds) = self.local(now_utc_seconds);
        (0..=HORIZON_DAYS).find_map(|ahead| {
            let day = today + ahead;
            self.intervals_on(day)
                .iter()
                .find(|iv| i64::from(iv.start) * 60 + ahead * SECS_PER_DAY >= seconds)
                .map(|iv| {
                    (
                        Weekday::of_day(day),
                        format!("{:02}:{:02}", iv.start / 60, iv.start % 60),
                    )
                })
        })
    }

    /// What to tell a customer who writes outside these hours.
    pub fn closed_message(&self) -> &str {
        &self.closed_message
    }

    /// The local day (days since 1970-01-01) and seconds since its midnight.
    fn local(&self, now_utc_seconds: i64) -> (i64, i64) {
        let local =
            now_utc_seconds.saturating_add(i64::from(self.offset_at(now_utc_seconds).seconds));
        (
            local.div_euclid(SECS_PER_DAY),
            local.rem_euclid(SECS_PER_DAY),
        )
    }

    /// The intervals that start on a local day (none on a holiday).
    fn intervals_on(&self, day: i64) -> &[Interval] {
        if self.holidays.contains(&day) {
            &[]
        } else {
            &self.weekly[Weekday::of_day(day).index()]
        }
    }
}

/// Checks that a weekday's intervals (sorted by start) do not overlap; returns the index of
/// the first one that overlaps its predecessor.
pub(crate) fn first_overlap(intervals: &[(usize, Interval)]) -> Option<usize> {
    intervals
        .windows(2)
        .find(|w| w[1].1.start < w[0].1.end)
        .map(|w| w[1].0)
}

/// Parses `"HH:MM"` (00:00 to 23:59, or 24:00) into minutes after midnight.
pub(crate) fn parse_time(text: &str) -> Result<u32, String> {
    let minutes =
        parse_hh_mm(text).ok_or_else(|| format!("`{text}` is not a time like \"09:30\""))?;
    if minutes > MINUTES_PER_DAY {
        return Err(format!("`{text}` is not a time of day (00:00 to 24:00)"));
    }
    Ok(minutes)
}

/// `"HH:MM"` with two digits each and minutes below 60, as minutes.
fn parse_hh_mm(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let hours = digits(&text[0..2])?;
    let minutes = digits(&text[3..5])?;
    (minutes < 60).then_some(hours * 60 + minutes)
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Seconds since the epoch of a UTC date and time.
    pub(crate) fn at(date: &str, hh: i64, mm: i64) -> i64 {
        Date::parse(date).unwrap().days_since_epoch() * SECS_PER_DAY + hh * 3600 + mm * 60
    }

    fn weekly(days: &[(Weekday, &[(&str, &str)])]) -> [Vec<Interval>; 7] {
        let mut weekly: [Vec<Interval>; 7] = Default::default();
        for (day, intervals) in days {
            for (s, e) in *intervals {
                weekly[day.index()].push(Interval::parse(s, e).unwrap());
            }
        }
        weekly
    }

    fn office(offset: &str, holidays: &[&str]) -> Hours {
        let workday: &[(&str, &str)] = &[("09:00", "12:00"), ("13:00", "17:30")];
        Hours::new(
            UtcOffset::parse(offset).unwrap(),
            vec![],
            weekly(&[
                (Weekday::Mon, workday),
                (Weekday::Tue, workday),
                (Weekday::Wed, workday),
                (Weekday::Thu, workday),
                (Weekday::Fri, workday),
            ]),
            holidays.iter().map(|d| Date::parse(d).unwrap()).collect(),
            "closed".to_owned(),
        )
    }

    #[test]
    fn calendar_basics() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(Date::parse("1970-01-01").unwrap().weekday(), Weekday::Thu);
        assert_eq!(Date::parse("2026-11-27").unwrap().weekday(), Weekday::Fri);
        assert_eq!(Date::parse("2000-02-29").unwrap().weekday(), Weekday::Tue);
        assert_eq!(Date::parse("1969-12-31").unwrap().days_since_epoch(), -1);
        assert!(Date::parse("2026-02-29").is_err());
        assert!(Date::parse("2026-13-01").is_err());
        assert!(Date::parse("2026-1-01").is_err());
        assert!(Date::parse("+026-01-01").is_err());
        assert_eq!(Weekday::from_key("sun"), Some(Weekday::Sun));
        assert_eq!(Weekday::from_key("Sun"), None);
    }

    #[test]
    fn offsets_parse_and_display() {
        for (text, seconds) in [
            ("+02:00", 7200),
            ("-05:00", -18_000),
            ("+05:30", 19_800),
            ("+00:00", 0),
            ("Z", 0),
            ("+14:00", 50_400),
        ] {
            let offset = UtcOffset::parse(text).unwrap();
            assert_eq!(offset.seconds(), seconds, "{text}");
        }
        assert_eq!(UtcOffset::parse("-05:00").unwrap().to_string(), "-05:00");
        for bad in ["02:00", "+2", "+02", "+02:60", "+15:00", "", "UTC", "+0200"] {
            assert!(UtcOffset::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("00:00"), Ok(0));
        assert_eq!(parse_time("17:30"), Ok(1050));
        assert_eq!(parse_time("24:00"), Ok(1440));
        for bad in ["24:01", "25:00", "9:00", "09:0", "09-00", "ab:cd", "09:60"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert!(Interval::parse("24:00", "01:00").is_err());
        assert!(Interval::parse("09:00", "09:00").is_err());
    }

    #[test]
    fn open_and_closed_in_utc() {
        let hours = office("+00:00", &[]);
        // 2026-11-23 is a Monday.
        let table = [
            (at("2026-11-23", 8, 59), false),
            (at("2026-11-23", 9, 0), true),
            (at("2026-11-23", 11, 59), true),
            (at("2026-11-23", 12, 0), false),
            (at("2026-11-23", 13, 0), true),
            (at("2026-11-23", 17, 29), true),
            (at("2026-11-23", 17, 30), false),
            (at("2026-11-28", 10, 0), false),
            (at("2026-11-29", 10, 0), false),
        ];
        for (now, open) in table {
            assert_eq!(hours.is_open(now), open, "{now}");
        }
    }

    #[test]
    fn offsets_shift_the_local_day() {
        // New York office: Monday 09:00 local is 14:00 UTC.
        let ny = office("-05:00", &[]);
        assert!(!ny.is_open(at("2026-11-23", 13, 59)));
        assert!(ny.is_open(at("2026-11-23", 14, 0)));
        assert!(ny.is_open(at("2026-11-23", 22, 29)));
        assert!(!ny.is_open(at("2026-11-23", 22, 30)));
        // Saturday 01:00 UTC is still Friday 20:00 in New York: closed (after 17:30).
        assert!(!ny.is_open(at("2026-11-28", 1, 0)));
        // Tokyo-like +09:00: Sunday 23:30 UTC is Monday 08:30 local, 00:00 UTC Monday 09:00.
        let tokyo = office("+09:00", &[]);
        assert!(!tokyo.is_open(at("2026-11-22", 23, 30)));
        assert!(tokyo.is_open(at("2026-11-23", 0, 0)));
        // India +05:30.
        let india = office("+05:30", &[]);
        assert!(!india.is_open(at("2026-11-23", 3, 29)));
        assert!(india.is_open(at("2026-11-23", 3, 30)));
    }

    #[test]
    fn intervals_across_midnight() {
        // Friday night shift 22:00–02:00 and a Saturday one ending at 24:00.
        let hours = Hours::new(
            UtcOffset::UTC,
            vec![],
            weekly(&[
                (Weekday::Fri, &[("22:00", "02:00")]),
                (Weekday::Sat, &[("20:00", "24:00")]),
            ]),
            BTreeSet::new(),
            String::new(),
        );
        // 2026-11-27 is a Friday.
        assert!(!hours.is_open(at("2026-11-27", 21, 59)));
        assert!(hours.is_open(at("2026-11-27", 22, 0)));
        assert!(hours.is_open(at("2026-11-27", 23, 59)));
        assert!(hours.is_open(at("2026-11-28", 0, 0)));
        assert!(hours.is_open(at("2026-11-28", 1, 59)));
        assert!(!hours.is_open(at("2026-11-28", 2, 0)));
        assert!(hours.is_open(at("2026-11-28", 23, 59)));
        assert!(!hours.is_open(at("2026-11-29", 0, 0)));
        assert_eq!(
            hours.next_opening(at("2026-11-28", 2, 0)),
            Some((Weekday::Sat, "20:00".to_owned()))
        );
        assert_eq!(
            hours.next_opening(at("2026-11-29", 0, 0)),
            Some((Weekday::Fri, "22:00".to_owned()))
        );
    }

    #[test]
    fn holidays_close_the_day_but_not_the_previous_night() {
        let hours = Hours::new(
            UtcOffset::UTC,
            vec![],
            weekly(&[
                (Weekday::Thu, &[("20:00", "02:00")]),
                (Weekday::Fri, &[("09:00", "17:00")]),
                (Weekday::Mon, &[("09:00", "17:00")]),
            ]),
            [Date::parse("2026-12-25").unwrap()].into_iter().collect(),
            String::new(),
        );
        // 2026-12-24 is a Thursday, 2026-12-25 a Friday holiday.
        assert!(
            hours.is_open(at("2026-12-25", 1, 0)),
            "Thursday night runs on"
        );
        assert!(!hours.is_open(at("2026-12-25", 10, 0)), "holiday");
        assert_eq!(
            hours.next_opening(at("2026-12-25", 10, 0)),
            Some((Weekday::Mon, "09:00".to_owned()))
        );
        assert!(hours.is_open(at("2026-12-18", 10, 0)), "a normal Friday");
    }

    #[test]
    fn next_opening_table() {
        let hours = office("+02:00", &["2026-11-30"]);
        let table = [
            // Monday 06:00 UTC = 08:00 local: opens at 09:00 today.
            (at("2026-11-23", 6, 0), Some((Weekday::Mon, "09:00"))),
            // Monday 10:30 UTC = 12:30 local (lunch): opens 13:00.
            (at("2026-11-23", 10, 30), Some((Weekday::Mon, "13:00"))),
            // Friday 16:00 UTC = 18:00 local: next is Monday 30th, a holiday: Tuesday.
            (at("2026-11-27", 16, 0), Some((Weekday::Tue, "09:00"))),
            // Exactly at opening time.
            (at("2026-11-24", 7, 0), Some((Weekday::Tue, "09:00"))),
        ];
        for (now, expected) in table {
            assert_eq!(
                hours.next_opening(now),
                expected.map(|(d, t)| (d, t.to_owned())),
                "{now}"
            );
        }
    }

    #[test]
    fn never_open() {
        let hours = Hours::new(
            UtcOffset::UTC,
            vec![],
            Default::default(),
            BTreeSet::new(),
            String::new(),
        );
        assert!(!hours.is_open(0));
        assert_eq!(hours.next_opening(0), None);
    }

    #[test]
    fn an_iana_zone_follows_its_daylight_saving_switches() {
        // Paris: CET (+01:00) until 2026-03-29 01:00 UTC, then CEST (+02:00) until
        // 2026-10-25 01:00 UTC. New York: EDT (-04:00) until 2026-11-01 06:00 UTC.
        let paris = office("+00:00", &["2026-12-25"]).in_zone(Zone::named("Europe/Paris").unwrap());
        assert_eq!(
            paris.offset_at(at("2026-03-29", 0, 59)).to_string(),
            "+01:00"
        );
        assert_eq!(
            paris.offset_at(at("2026-03-29", 1, 0)).to_string(),
            "+02:00"
        );
        assert_eq!(
            paris.offset_at(at("2026-10-25", 1, 0)).to_string(),
            "+01:00"
        );
        // Friday 2026-03-27 07:30 UTC is 08:30 in Paris: closed; 08:00 UTC is 09:00: open.
        assert!(!paris.is_open(at("2026-03-27", 7, 30)));
        assert!(paris.is_open(at("2026-03-27", 8, 0)));
        // Monday 2026-03-30 (summer time): 07:00 UTC is 09:00 in Paris, open; the same UTC
        // time a week before was 08:00, closed.
        assert!(paris.is_open(at("2026-03-30", 7, 0)));
        assert!(!paris.is_open(at("2026-03-23", 7, 0)));
        // A holiday in the zone's calendar, and the next opening told in local time.
        assert!(!paris.is_open(at("2026-12-25", 10, 0)));
        assert_eq!(
            paris.next_opening(at("2026-12-25", 10, 0)),
            Some((Weekday::Mon, "09:00".to_owned()))
        );
        let new_york = office("+00:00", &[]).in_zone(Zone::named("America/New_York").unwrap());
        // Friday 2026-10-30 13:00 UTC is 09:00 EDT: open; Monday 2026-11-02 13:00 UTC is
        // 08:00 EST: closed, and 14:00 UTC is 09:00: open.
        assert!(new_york.is_open(at("2026-10-30", 13, 0)));
        assert!(!new_york.is_open(at("2026-11-02", 13, 0)));
        assert!(new_york.is_open(at("2026-11-02", 14, 0)));
        assert!(Zone::named("Mars/Olympus_Mons").is_err());
    }

    #[test]
    fn offset_periods_model_daylight_saving() {
        let workday: &[(&str, &str)] = &[("09:00", "17:00")];
        let hours = Hours::new(
            UtcOffset::parse("+01:00").unwrap(),
            vec![
                (
                    Date::parse("2026-03-29").unwrap(),
                    UtcOffset::parse("+02:00").unwrap(),
                ),
                (
                    Date::parse("2026-10-25").unwrap(),
                    UtcOffset::parse("+01:00").unwrap(),
                ),
            ],
            weekly(&[(Weekday::Mon, workday), (Weekday::Wed, workday)]),
            BTreeSet::new(),
            String::new(),
        );
        // Winter: Monday 2026-03-23 09:00 local = 08:00 UTC.
        assert!(!hours.is_open(at("2026-03-23", 7, 59)));
        assert!(hours.is_open(at("2026-03-23", 8, 0)));
        // Summer: Wednesday 2026-07-01 09:00 local = 07:00 UTC.
        assert_eq!(hours.offset_at(at("2026-07-01", 0, 0)).seconds(), 7200);
        assert!(hours.is_open(at("2026-07-01", 7, 0)));
        assert!(!hours.is_open(at("2026-07-01", 6, 59)));
        // Winter again: Wednesday 2026-11-25 09:00 local = 08:00 UTC.
        assert!(!hours.is_open(at("2026-11-25", 7, 30)));
        assert!(hours.is_open(at("2026-11-25", 8, 0)));
    }
}
