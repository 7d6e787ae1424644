//! Timestamps: Apple's time picker format (`2022-07-10T17:00+0000`, minute precision, written in
//! UTC) in both directions, and the readable form used by the plain-text fallback.
//!
//! Civil dates are computed with Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (proleptic Gregorian calendar), so no date library is needed.

use prost_types::Timestamp;

const SECS_PER_DAY: i64 = 86_400;
const NANOS_PER_SEC: i32 = 1_000_000_000;

/// A broken-down UTC (or offset) date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

/// Days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Unix seconds shifted by `offset_minutes`, broken down.
fn civil(seconds: i64, offset_minutes: i32) -> Option<Civil> {
    let local = seconds.checked_add(i64::from(offset_minutes).checked_mul(60)?)?;
    let days = local.div_euclid(SECS_PER_DAY);
    let secs = local.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Some(Civil {
        year,
        month,
        day,
        hour: u32::try_from(secs / 3_600).ok()?,
        minute: u32::try_from(secs % 3_600 / 60).ok()?,
    })
}

/// Writes a slot start in Apple's format, `2022-07-10T17:00+0000` (always UTC).
///
/// Apple's format has minute precision, so a timestamp with seconds or nanoseconds is refused
/// rather than silently moved; so are invalid nanoseconds and years outside 0000–9999.
pub(crate) fn format_apple(ts: &Timestamp) -> Result<String, &'static str> {
    if !(0..NANOS_PER_SEC).contains(&ts.nanos) {
        return Err("has nanoseconds outside 0 to 999999999");
    }
    if ts.nanos != 0 || ts.seconds.rem_euclid(60) != 0 {
        return Err("is not a whole minute; apple's format has minute precision");
    }
    let c = civil(ts.seconds, 0).ok_or("is out of range")?;
    if !(0..=9999).contains(&c.year) {
        return Err("is outside the years 0000 to 9999");
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}+0000",
        c.year, c.month, c.day, c.hour, c.minute
    ))
}

/// A cursor over ASCII bytes that never panics.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, set: &[u8]) -> Option<u8> {
        let b = self.peek().filter(|b| set.contains(b))?;
        self.at += 1;
        Some(b)
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        let mut value: u32 = 0;
        for b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        }
        self.at += n;
        Some(value)
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// Reads a slot start as Apple writes it (`2022-07-10T17:00+0000`) and close variants:
/// optional seconds and fraction, a zone of `Z`, `±HHMM`, `±HH:MM` or `±HH` (none means UTC),
/// `T`, `t` or a space between date and time. `None` when it is none of these.
pub(crate) fn parse_apple(text: &str) -> Option<Timestamp> {
    let mut c = Cursor {
        bytes: text.trim().as_bytes(),
        at: 0,
    };
    let year = c.digits(4)?;
    c.eat(b'-').then_some(())?;
    let month = c.digits(2)?;
    c.eat(b'-').then_some(())?;
    let day = c.digits(2)?;
    c.eat_any(b"Tt ")?;
    let hour = c.digits(2)?;
    c.eat(b':').then_some(())?;
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut nanos: i32 = 0;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let mut scale = 100_000_000;
            let mut any = false;
            while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                any = true;
                nanos += i32::from(b - b'0') * scale;
                scale /= 10;
                c.at += 1;
            }
            any.then_some(())?;
        }
    }
    let offset_minutes: i64 = if c.done() || c.eat(b'Z') || c.eat(b'z') {
        0
    } else {
        let sign: i64 = match c.eat_any(b"+-")? {
            b'-' => -1,
            _ => 1,
        };
        let hours = c.digits(2)?;
        let minutes = if c.done() {
            0
        } else {
            c.eat(b':');
            c.digits(2)?
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        sign * i64::from(hours * 60 + minutes)
    };
    if !c.done() {
        return None;
    }
    let year = i64::from(year);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    if !valid {
        return None;
    }
    let second = second.min(59);
    let seconds = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour * 3_600 + minute * 60 + second)
        - offset_minutes * 60;
    Some(Timestamp { seconds, nanos })
}

/// `UTC`, or `UTC+05:30` / `UTC-07:00`.
fn offset_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// A slot as readable, language-neutral text in the given offset (UTC when `None`):
/// `2022-07-10 10:00–11:00 (UTC-07:00)`, or with the end's date when it falls on another day.
/// `None` when the time cannot be shown (invalid timestamp, year outside 0000–9999).
pub(crate) fn format_slot(
    start: &Timestamp,
    duration_seconds: u32,
    offset_minutes: Option<i32>,
) -> Option<String> {
    let offset = offset_minutes.unwrap_or(0);
    let begin = civil(start.seconds, offset)?;
    if !(0..=9999).contains(&begin.year) {
        return None;
    }
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        begin.year, begin.month, begin.day, begin.hour, begin.minute
    );
    if duration_seconds > 0 {
        let end_secs = start.seconds.checked_add(i64::from(duration_seconds))?;
        let end = civil(end_secs, offset)?;
        if (end.year, end.month, end.day) == (begin.year, begin.month, begin.day) {
            text.push_str(&format!("–{:02}:{:02}", end.hour, end.minute));
        } else {
            text.push_str(&format!(
                " – {:04}-{:02}-{:02} {:02}:{:02}",
                end.year, end.month, end.day, end.hour, end.minute
            ));
        }
    }
    text.push_str(&format!(" ({})", offset_label(offset)));
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    #[test]
    fn apple_format_round_trips() {
        // 2022-07-10T17:00:00Z
        let t = ts(1_657_472_400);
        assert_eq!(format_apple(&t).unwrap(), "2022-07-10T17:00+0000");
        assert_eq!(parse_apple("2022-07-10T17:00+0000"), Some(t));
        assert_eq!(parse_apple("2022-07-10T10:00-0700"), Some(t));
        assert_eq!(parse_apple("2022-07-10T10:00-07:00"), Some(t));
        assert_eq!(parse_apple("2022-07-10T17:00:00Z"), Some(t));
        assert_eq!(parse_apple("2022-07-10 17:00"), Some(t));
        assert_eq!(
            parse_apple("2022-07-10T17:00:00.5Z"),
            Some(Timestamp {
                seconds: 1_657_472_400,
                nanos: 500_000_000
            })
        );
        assert_eq!(format_apple(&ts(0)).unwrap(), "1970-01-01T00:00+0000");
        assert_eq!(format_apple(&ts(-60)).unwrap(), "1969-12-31T23:59+0000");
        assert_eq!(
            format_apple(&ts(951_782_400)).unwrap(),
            "2000-02-29T00:00+0000"
        );
    }

    #[test]
    fn apple_format_refuses_what_it_cannot_write() {
        assert!(format_apple(&ts(61)).is_err());
        assert!(
            format_apple(&Timestamp {
                seconds: 0,
                nanos: 1
            })
            .is_err()
        );
        assert!(
            format_apple(&Timestamp {
                seconds: 0,
                nanos: -1
            })
            .is_err()
        );
        assert!(format_apple(&ts(i64::MAX - i64::MAX % 60)).is_err());
        assert!(format_apple(&ts(i64::MIN)).is_err());
    }

    #[test]
    fn garbage_does_not_parse() {
        for s in [
            "",
            "2022",
            "2022-13-10T17:00+0000",
            "2022-02-30T17:00+0000",
            "2022-07-10T24:00+0000",
            "2022-07-10T17:00+2400",
            "2022-07-10T17:00+0000x",
            "٢٠٢٢-07-10T17:00+0000",
            "2022-07-10T17:00:00.Z",
        ] {
            assert_eq!(parse_apple(s), None, "{s}");
        }
    }

    #[test]
    fn readable_slots() {
        let t = ts(1_657_472_400);
        assert_eq!(
            format_slot(&t, 3_600, Some(-420)).unwrap(),
            "2022-07-10 10:00–11:00 (UTC-07:00)"
        );
        assert_eq!(format_slot(&t, 0, None).unwrap(), "2022-07-10 17:00 (UTC)");
        assert_eq!(
            format_slot(&t, 8 * 3_600, Some(330)).unwrap(),
            "2022-07-10 22:30 – 2022-07-11 06:30 (UTC+05:30)"
        );
        assert_eq!(format_slot(&ts(i64::MAX), 3_600, None), None);
        assert_eq!(format_slot(&ts(i64::MIN), 0, Some(i32::MIN)), None);
    }

    #[test]
    fn civil_conversions_agree() {
        for days in [-800_000_i64, -1, 0, 1, 59, 60, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
