//! The customer's conventions: the clock a locale reads times on (`7:00 PM` for `en_US`,
//! `19:00` for `en_GB` or `fr`), the language a message's script gives away (Hebrew,
//! Arabic, kana, Han, Hangul, Thai, Cyrillic, Greek), and placeholders filled into
//! right-to-left texts without breaking their direction.

use crate::hours::LocalTime;

/// How a locale writes a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// `19:00`.
    H24,
    /// `7:00 PM`: the marks for before and after noon, and whether they come first
    /// (`오후 7:00`, `下午7:00`).
    H12 {
        /// Before noon.
        am: &'static str,
        /// After noon.
        pm: &'static str,
        /// The mark precedes the time.
        first: bool,
    },
}

const EN_12: Clock = Clock::H12 {
    am: " AM",
    pm: " PM",
    first: false,
};

/// The clock of a BCP 47 tag or Apple locale (`en_US`, `en-gb`, `fr`, `ar-EG`), after CLDR's
/// short time formats: a 12-hour clock for English (but not the British Isles, South Africa
/// or Europe), Arabic (but not the Maghreb), Spanish of Mexico and the United States,
/// Korean, Hindi, Filipino and traditional Chinese; a 24-hour clock otherwise.
pub fn clock(tag: &str) -> Clock {
    let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    // The region is the first two-letter or three-digit subtag after the language.
    let rest: Vec<&str> = parts.collect();
    let region = rest
        .iter()
        .find(|p| p.len() == 2 || (p.len() == 3 && p.chars().all(|c| c.is_ascii_digit())))
        .copied()
        .unwrap_or_default();
    let script = rest
        .iter()
        .find(|p| p.len() == 4)
        .copied()
        .unwrap_or_default();
    match language {
        "en" => match region {
            "gb" | "ie" | "za" | "mt" | "de" | "fr" | "nl" | "be" | "se" | "dk" | "fi" | "ch"
            | "at" | "150" | "il" => Clock::H24,
            _ => EN_12,
        },
        "ar" => match region {
            "ma" | "dz" | "tn" | "eh" | "ly" => Clock::H24,
            _ => Clock::H12 {
                am: " ص",
                pm: " م",
                first: false,
            },
        },
        "es" => match region {
            "mx" | "us" | "co" | "ve" | "pe" | "do" | "pr" | "hn" | "sv" | "gt" | "pa" | "ni" => {
                Clock::H12 {
                    am: " a. m.",
                    pm: " p. m.",
                    first: false,
                }
            }
            _ => Clock::H24,
        },
        "ko" => Clock::H12 {
            am: "오전 ",
            pm: "오후 ",
            first: true,
        },
        "zh" if script == "hant" || matches!(region, "tw" | "hk" | "mo") => Clock::H12 {
            am: "上午",
            pm: "下午",
            first: true,
        },
        "hi" | "bn" | "ur" | "fil" | "tl" => Clock::H12 {
            am: " am",
            pm: " pm",
            first: false,
        },
        _ => Clock::H24,
    }
}

/// A local time on a clock: `19:00`, `7:00 PM`, `오후 7:00`; a closing at midnight (24:00)
/// is `24:00` on a 24-hour clock and `12:00 AM` on a 12-hour one.
pub fn format_time(at: LocalTime, clock: Clock) -> String {
    match clock {
        Clock::H24 => format!("{:02}:{:02}", at.hour, at.minute),
        Clock::H12 { am, pm, first } => {
            let hour = at.hour % 24;
            let mark = if hour < 12 { am } else { pm };
            let twelve = match hour % 12 {
                0 => 12,
                h => h,
            };
            let time = format!("{twelve}:{:02}", at.minute);
            if first {
                format!("{mark}{time}")
            } else {
                format!("{time}{mark}")
            }
        }
    }
}

/// The language a message's letters give away, when its script belongs to few enough
/// languages: Hebrew `he`, Arabic `ar`, kana `ja`, Han without kana `zh`, Hangul `ko`, Thai
/// `th`, Greek `el`, Cyrillic `ru`. `None` for Latin letters (or none): the words, not the
/// letters, tell those languages apart.
pub fn script_language(text: &str) -> Option<&'static str> {
    let (mut hebrew, mut arabic, mut kana, mut han, mut hangul, mut thai, mut greek) =
        (0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
    let mut cyrillic = 0u32;
    for c in text.chars().take(512) {
        match u32::from(c) {
            0x0590..=0x05FF | 0xFB1D..=0xFB4F => hebrew += 1,
            0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => arabic += 1,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => kana += 1,
            0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF => han += 1,
            0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F => hangul += 1,
            0x0E00..=0x0E7F => thai += 1,
            0x0370..=0x03FF => greek += 1,
            0x0400..=0x04FF => cyrillic += 1,
            _ => {}
        }
    }
    let counts = [
        (hebrew, "he"),
        (arabic, "ar"),
        (kana + han, if kana > 0 { "ja" } else { "zh" }),
        (hangul, "ko"),
        (thai, "th"),
        (greek, "el"),
        (cyrillic, "ru"),
    ];
    counts
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map(|(_, language)| language)
}

/// Whether a language is written right to left.
pub fn right_to_left(language: &str) -> bool {
    matches!(
        language.split(['-', '_']).next().unwrap_or_default(),
        "ar" | "he" | "fa" | "ur" | "yi" | "ps" | "sd" | "ug" | "dv"
    )
}

/// First strong isolate: the text inside takes its own direction.
pub const FSI: char = '\u{2068}';
/// Pop directional isolate: ends [`FSI`].
pub const PDI: char = '\u{2069}';

/// Fills `{name}` placeholders of a template of `language`. In a right-to-left language a
/// value holding a left-to-right letter (`Downtown (New York)`, `7:00 PM`) is wrapped in
/// first-strong isolates (U+2068 … U+2069), so it neither makes the paragraph
/// left-to-right when it comes first (a renderer takes a paragraph's direction from its
/// first strong letter, skipping isolates) nor drags the punctuation around it into its
/// own direction. The template itself is sent exactly as written.
pub fn fill(language: &str, template: &str, values: &[(&str, &str)]) -> String {
    let rtl = right_to_left(language);
    let mut out = template.to_owned();
    for (name, value) in values {
        let placeholder = format!("{{{name}}}");
        if !out.contains(&placeholder) {
            continue;
        }
        let value = if rtl && value.chars().any(left_to_right_letter) {
            format!("{FSI}{value}{PDI}")
        } else {
            (*value).to_owned()
        };
        out = out.replace(&placeholder, &value);
    }
    out
}

/// A letter of a left-to-right script (Latin, Greek, Cyrillic, CJK, …), roughly: an
/// alphabetic character outside the Hebrew, Arabic, Syriac, Thaana and N'Ko blocks.
fn left_to_right_letter(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(
            u32::from(c),
            0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u8, minute: u8) -> LocalTime {
        LocalTime { hour, minute }
    }

    #[test]
    fn times_on_the_locales_clock() {
        assert_eq!(format_time(at(19, 0), clock("en_US")), "7:00 PM");
        assert_eq!(format_time(at(7, 30), clock("en-US")), "7:30 AM");
        assert_eq!(format_time(at(12, 0), clock("en_US")), "12:00 PM");
        assert_eq!(format_time(at(0, 15), clock("en_US")), "12:15 AM");
        assert_eq!(format_time(at(24, 0), clock("en_US")), "12:00 AM");
        assert_eq!(format_time(at(19, 0), clock("en_GB")), "19:00");
        assert_eq!(format_time(at(19, 0), clock("en")), "7:00 PM");
        assert_eq!(format_time(at(9, 5), clock("fr_FR")), "09:05");
        assert_eq!(format_time(at(19, 0), clock("de-DE")), "19:00");
        assert_eq!(format_time(at(19, 0), clock("es_ES")), "19:00");
        assert_eq!(format_time(at(19, 0), clock("es_MX")), "7:00 p. m.");
        assert_eq!(format_time(at(19, 0), clock("he_IL")), "19:00");
        assert_eq!(format_time(at(19, 0), clock("ja_JP")), "19:00");
        assert_eq!(format_time(at(19, 0), clock("zh_CN")), "19:00");
        assert_eq!(format_time(at(19, 0), clock("zh-Hant-TW")), "下午7:00");
        assert_eq!(format_time(at(19, 0), clock("ko_KR")), "오후 7:00");
        assert_eq!(format_time(at(19, 0), clock("ar")), "7:00 م");
        assert_eq!(format_time(at(8, 0), clock("ar_SA")), "8:00 ص");
        assert_eq!(format_time(at(19, 0), clock("ar_MA")), "19:00");
        assert_eq!(format_time(at(24, 0), clock("fr")), "24:00");
        assert_eq!(clock(""), Clock::H24);
    }

    #[test]
    fn the_script_gives_away_the_language() {
        assert_eq!(script_language("מה השעה?"), Some("he"));
        assert_eq!(script_language("متى تفتحون؟"), Some("ar"));
        assert_eq!(script_language("今日は何時まで？"), Some("ja"));
        assert_eq!(script_language("今天几点关门"), Some("zh"));
        assert_eq!(script_language("영업시간"), Some("ko"));
        assert_eq!(script_language("เปิดกี่โมง"), Some("th"));
        assert_eq!(script_language("когда вы открыты"), Some("ru"));
        assert_eq!(script_language("wifi 密码"), Some("zh"));
        assert_eq!(script_language("when are you open"), None);
        assert_eq!(script_language("👍 123"), None);
    }

    #[test]
    fn left_to_right_values_are_isolated_in_right_to_left_texts() {
        let filled = fill(
            "he",
            "{location}: פתוח עכשיו עד {time}.",
            &[("location", "Downtown (New York)"), ("time", "19:00")],
        );
        assert_eq!(
            filled,
            "\u{2068}Downtown (New York)\u{2069}: פתוח עכשיו עד 19:00."
        );
        // A Hebrew value needs nothing; a left-to-right language is left alone.
        assert_eq!(
            fill("he", "{location}: סגור.", &[("location", "פריז")]),
            "פריז: סגור."
        );
        assert_eq!(
            fill("en", "{location}: closed.", &[("location", "פריז")]),
            "פריז: closed."
        );
        assert_eq!(
            fill(
                "ar",
                "{location}: مغلق {time}",
                &[("location", "وسط"), ("time", "7:00 م")]
            ),
            "وسط: مغلق 7:00 م"
        );
    }
}
