//! Words that name a day or a moment (`today`, `tomorrow`, `now`, `sunday`; `demain`,
//! `heute`, `اليوم`, `היום`, `今天`, `今日`), per language. They are what a question is
//! about, not what it asks: `the weather is nice today` asks nothing about opening hours
//! although `are you open today` is an hours phrase. The matcher caps their weight (see
//! [`ENTITY_WEIGHT`](crate::matching::ENTITY_WEIGHT)), so they rank phrases that share
//! them but never make a match on their own.
//!
//! It also finds what a question is about besides its intent, for the answer and for a
//! follow-up: the day or moment named ([`day`]), the store named ([`Places`]), and whether a
//! sentence sounds like a follow-up ([`sounds_like_a_follow_up`]).

/// The day and moment words of a language (its primary subtag), as people type them
/// (folded and stemmed when a matcher is built).
pub fn day_words(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &[
            "today",
            "tonight",
            "tomorrow",
            "now",
            "yesterday",
            "weekend",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
            "morning",
            "evening",
            "afternoon",
            "christmas",
            "day",
        ],
        "fr" => &[
            "aujourd",
            "hui",
            "aujourd'hui",
            "demain",
            "soir",
            "maintenant",
            "hier",
            "weekend",
            "lundi",
            "mardi",
            "mercredi",
            "jeudi",
            "vendredi",
            "samedi",
            "dimanche",
            "matin",
            "noel",
            "jour",
            "journée",
        ],
        "es" => &[
            "hoy",
            "mañana",
            "ahora",
            "ayer",
            "noche",
            "lunes",
            "martes",
            "miércoles",
            "jueves",
            "viernes",
            "sábado",
            "domingo",
            "tarde",
            "navidad",
            "día",
        ],
        "de" => &[
            "heute",
            "morgen",
            "jetzt",
            "gestern",
            "abend",
            "wochenende",
            "montag",
            "dienstag",
            "mittwoch",
            "donnerstag",
            "freitag",
            "samstag",
            "sonnabend",
            "sonntag",
            "sonntags",
            "samstags",
            "weihnachten",
            "tag",
        ],
        "ar" => &[
            "اليوم",
            "غدا",
            "غدًا",
            "بكرة",
            "الان",
            "الآن",
            "امس",
            "الاثنين",
            "الثلاثاء",
            "الأربعاء",
            "الخميس",
            "الجمعة",
            "السبت",
            "الأحد",
            "يوم",
            "الليلة",
        ],
        "he" => &[
            "היום",
            "מחר",
            "עכשיו",
            "אתמול",
            "הערב",
            "ראשון",
            "שני",
            "שלישי",
            "רביעי",
            "חמישי",
            "שישי",
            "שבת",
            "בשבת",
            "ביום",
            "יום",
            "סופש",
        ],
        _ => &[],
    }
}

/// Day and moment words of unspaced scripts: their characters and bigrams are weak.
pub fn day_grams(language: &str) -> &'static [&'static str] {
    match language {
        "zh" => &[
            "今天", "明天", "现在", "昨天", "今晚", "周一", "周二", "周三", "周四", "周五", "周六",
            "周日", "星期", "礼拜",
        ],
        "ja" => &[
            "今日", "明日", "今", "昨日", "今夜", "月曜", "火曜", "水曜", "木曜", "金曜", "土曜",
            "日曜", "曜日",
        ],
        _ => &[],
    }
}

/// A day or moment a sentence is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// `now`, `right now`, `maintenant`, `jetzt`, `现在`.
    Now,
    /// `today`, `tonight`, `aujourd'hui`, `heute`, `היום`, `今天`, `今日`.
    Today,
    /// `tomorrow`, `demain`, `morgen`, `מחר`, `明天`, `明日`.
    Tomorrow,
    /// A day of the week, 0 = Monday.
    Weekday(u8),
}

impl Day {
    /// How the day is remembered (`now`, `today`, `tomorrow`, `mon` … `sun`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Now => "now",
            Self::Today => "today",
            Self::Tomorrow => "tomorrow",
            Self::Weekday(d) => crate::hours::DAY_KEYS
                .get(usize::from(d))
                .copied()
                .unwrap_or("mon"),
        }
    }

    /// The day remembered as [`Day::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "now" => Some(Self::Now),
            "today" => Some(Self::Today),
            "tomorrow" => Some(Self::Tomorrow),
            _ => crate::hours::DAY_KEYS
                .iter()
                .position(|k| *k == key)
                .and_then(|d| u8::try_from(d).ok())
                .map(Self::Weekday),
        }
    }

    /// Whether the day asks about another day than today (a day of the week or tomorrow),
    /// not about the moment.
    pub fn is_other_day(self) -> bool {
        matches!(self, Self::Tomorrow | Self::Weekday(_))
    }
}

/// Words of spaced scripts that name a day, in every language the bot knows (a weekday's
/// plural, `sundays`, `domingos`, is understood too).
const DAY_NAMES: &[(&str, Day)] = &[
    ("now", Day::Now),
    ("today", Day::Today),
    ("tonight", Day::Today),
    ("tomorrow", Day::Tomorrow),
    ("tmrw", Day::Tomorrow),
    ("tmr", Day::Tomorrow),
    ("tomorow", Day::Tomorrow),
    ("monday", Day::Weekday(0)),
    ("tuesday", Day::Weekday(1)),
    ("wednesday", Day::Weekday(2)),
    ("thursday", Day::Weekday(3)),
    ("friday", Day::Weekday(4)),
    ("saturday", Day::Weekday(5)),
    ("sunday", Day::Weekday(6)),
    ("maintenant", Day::Now),
    ("aujourdhui", Day::Today),
    ("auj", Day::Today),
    ("ce soir", Day::Today),
    ("aujourd hui", Day::Today),
    ("demain", Day::Tomorrow),
    ("lundi", Day::Weekday(0)),
    ("mardi", Day::Weekday(1)),
    ("mercredi", Day::Weekday(2)),
    ("jeudi", Day::Weekday(3)),
    ("vendredi", Day::Weekday(4)),
    ("samedi", Day::Weekday(5)),
    ("dimanche", Day::Weekday(6)),
    ("ahora", Day::Now),
    ("hoy", Day::Today),
    ("manana", Day::Tomorrow),
    ("lunes", Day::Weekday(0)),
    ("martes", Day::Weekday(1)),
    ("miercoles", Day::Weekday(2)),
    ("jueves", Day::Weekday(3)),
    ("viernes", Day::Weekday(4)),
    ("sabado", Day::Weekday(5)),
    ("domingo", Day::Weekday(6)),
    ("jetzt", Day::Now),
    ("heute", Day::Today),
    ("morgen", Day::Tomorrow),
    ("montag", Day::Weekday(0)),
    ("dienstag", Day::Weekday(1)),
    ("mittwoch", Day::Weekday(2)),
    ("donnerstag", Day::Weekday(3)),
    ("freitag", Day::Weekday(4)),
    ("samstag", Day::Weekday(5)),
    ("sonnabend", Day::Weekday(5)),
    ("sonntag", Day::Weekday(6)),
    ("oggi", Day::Today),
    ("domani", Day::Tomorrow),
    ("lunedi", Day::Weekday(0)),
    ("martedi", Day::Weekday(1)),
    ("mercoledi", Day::Weekday(2)),
    ("giovedi", Day::Weekday(3)),
    ("venerdi", Day::Weekday(4)),
    ("sabato", Day::Weekday(5)),
    ("domenica", Day::Weekday(6)),
    ("agora", Day::Now),
    ("hoje", Day::Today),
    ("amanha", Day::Tomorrow),
    ("segunda feira", Day::Weekday(0)),
    ("terca feira", Day::Weekday(1)),
    ("quarta feira", Day::Weekday(2)),
    ("quinta feira", Day::Weekday(3)),
    ("sexta feira", Day::Weekday(4)),
    ("الان", Day::Now),
    ("الآن", Day::Now),
    ("اليوم", Day::Today),
    ("الليلة", Day::Today),
    ("غدا", Day::Tomorrow),
    ("بكرة", Day::Tomorrow),
    ("بكره", Day::Tomorrow),
    ("الاثنين", Day::Weekday(0)),
    ("الإثنين", Day::Weekday(0)),
    ("الثلاثاء", Day::Weekday(1)),
    ("الأربعاء", Day::Weekday(2)),
    ("الخميس", Day::Weekday(3)),
    ("الجمعة", Day::Weekday(4)),
    ("السبت", Day::Weekday(5)),
    ("الأحد", Day::Weekday(6)),
    ("עכשיו", Day::Now),
    ("היום", Day::Today),
    ("הערב", Day::Today),
    ("מחר", Day::Tomorrow),
    ("שבת", Day::Weekday(5)),
    ("סופש", Day::Weekday(5)),
];

/// Hebrew weekdays are ordinals (`יום ראשון`, "first day", is Sunday): they name a day only
/// after `יום`, the word for day.
const HEBREW_ORDINAL_DAYS: &[(&str, u8)] = &[
    ("ראשון", 6),
    ("שני", 0),
    ("שלישי", 1),
    ("רביעי", 2),
    ("חמישי", 3),
    ("שישי", 4),
];

/// Day words of unspaced scripts, found anywhere in the text (longest first).
const DAY_GRAMS: &[(&str, Day)] = &[
    ("星期一", Day::Weekday(0)),
    ("星期二", Day::Weekday(1)),
    ("星期三", Day::Weekday(2)),
    ("星期四", Day::Weekday(3)),
    ("星期五", Day::Weekday(4)),
    ("星期六", Day::Weekday(5)),
    ("星期日", Day::Weekday(6)),
    ("星期天", Day::Weekday(6)),
    ("礼拜一", Day::Weekday(0)),
    ("礼拜二", Day::Weekday(1)),
    ("礼拜三", Day::Weekday(2)),
    ("礼拜四", Day::Weekday(3)),
    ("礼拜五", Day::Weekday(4)),
    ("礼拜六", Day::Weekday(5)),
    ("礼拜天", Day::Weekday(6)),
    ("礼拜日", Day::Weekday(6)),
    ("月曜", Day::Weekday(0)),
    ("火曜", Day::Weekday(1)),
    ("水曜", Day::Weekday(2)),
    ("木曜", Day::Weekday(3)),
    ("金曜", Day::Weekday(4)),
    ("土曜", Day::Weekday(5)),
    ("日曜", Day::Weekday(6)),
    ("周一", Day::Weekday(0)),
    ("周二", Day::Weekday(1)),
    ("周三", Day::Weekday(2)),
    ("周四", Day::Weekday(3)),
    ("周五", Day::Weekday(4)),
    ("周六", Day::Weekday(5)),
    ("周日", Day::Weekday(6)),
    ("周天", Day::Weekday(6)),
    ("今天", Day::Today),
    ("今晚", Day::Today),
    ("明天", Day::Tomorrow),
    ("现在", Day::Now),
    ("今日", Day::Today),
    ("今夜", Day::Today),
    ("きょう", Day::Today),
    ("明日", Day::Tomorrow),
    ("あした", Day::Tomorrow),
];

/// A text folded for entity lookup: case, accents and punctuation folded, Arabic and
/// Hebrew letter forms and traditional Chinese characters made one, as the matcher does.
fn prepare(text: &str) -> String {
    crate::hanzi::simplify(&crate::letters::normalize_letters(&crate::normalize::fold(
        text,
    )))
}

const HEBREW_PREFIXES: [char; 5] = ['ו', 'ב', 'ה', 'ל', 'ש'];
const ARABIC_PREFIXES: [char; 4] = ['و', 'ف', 'ب', 'ل'];

/// `word` and, for a Hebrew or Arabic word, the word without one or two attached prefix
/// letters (`בשבת` → `שבת`, `ובפריז` → `פריז`, `والسبت` → `السبت`).
fn forms(word: &str) -> impl Iterator<Item = &str> {
    let once = strip_prefix_letter(word);
    let twice = once.and_then(strip_prefix_letter);
    std::iter::once(word).chain(once).chain(twice)
}

/// `word` without its first letter if that is a Hebrew or Arabic prefix letter and two or
/// more letters remain.
fn strip_prefix_letter(word: &str) -> Option<&str> {
    let mut chars = word.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    ((HEBREW_PREFIXES.contains(&first) || ARABIC_PREFIXES.contains(&first))
        && rest.chars().count() >= 2)
        .then_some(rest)
}

/// Day names and Hebrew ordinal days, prepared.
type PreparedNames = (Vec<(String, Day)>, Vec<(String, u8)>);

/// [`DAY_NAMES`] and [`HEBREW_ORDINAL_DAYS`] prepared as sentences are, once.
fn prepared_names() -> &'static PreparedNames {
    static NAMES: std::sync::OnceLock<PreparedNames> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        (
            DAY_NAMES
                .iter()
                .map(|(name, day)| (prepare(name), *day))
                .collect(),
            HEBREW_ORDINAL_DAYS
                .iter()
                .map(|(name, day)| (prepare(name), *day))
                .collect(),
        )
    })
}

/// The first day or moment `text` names, in any language the bot knows.
pub fn day(text: &str) -> Option<Day> {
    let prepared = prepare(text);
    let (names, ordinals) = prepared_names();
    let mut found: Option<(usize, Day)> = None;
    let mut keep = |at: usize, day: Day| {
        if found.is_none_or(|(first, _)| at < first) {
            found = Some((at, day));
        }
    };
    // Whole words (and two-word names such as `ce soir`), a plural `s` allowed.
    let words: Vec<(usize, &str)> = prepared
        .split(' ')
        .scan(0usize, |offset, word| {
            let at = *offset;
            *offset += word.len() + 1;
            Some((at, word))
        })
        .collect();
    for (i, &(at, word)) in words.iter().enumerate() {
        let pair = words
            .get(i + 1)
            .map(|(_, next)| format!("{word} {next}"))
            .unwrap_or_default();
        for form in forms(word) {
            let singular = form.strip_suffix('s').unwrap_or(form);
            if let Some((_, day)) = names
                .iter()
                .find(|(name, _)| name == form || name == singular || *name == pair)
            {
                keep(at, *day);
            }
            if let Some((_, weekday)) = ordinals.iter().find(|(n, _)| n == form)
                && i > 0
                && words
                    .get(i - 1)
                    .is_some_and(|(_, before)| forms(before).any(|f| f == "יומ"))
            {
                keep(at, Day::Weekday(*weekday));
            }
        }
    }
    for (gram, day) in DAY_GRAMS {
        if let Some(at) = prepared.find(gram) {
            // `今日` inside `今日曜`… is not a thing, but `日曜` inside `今日曜日` would be: the
            // weekday grams come first in the table and the earliest position wins.
            keep(at, *day);
        }
    }
    found.map(|(_, day)| day)
}

/// Whether a sentence opens (or, in Chinese and Japanese, closes) the way a follow-up
/// question does: `and …`, `what about …`, `et …`, `y …`, `und …`, `was ist mit …`, `e …`,
/// Hebrew and Arabic `ו…` / `و…` and `מה לגבי` / `ماذا عن`, Chinese `…呢`, Japanese `…は`.
pub fn sounds_like_a_follow_up(text: &str) -> bool {
    let prepared = prepare(text);
    let first = prepared.split(' ').next().unwrap_or_default();
    const OPENINGS: &[&str] = &[
        "and",
        "what about",
        "how about",
        "also",
        "et",
        "y",
        "que tal",
        "und",
        "was ist mit",
        "wie ist es mit",
        "e",
        "ma",
        "מה לגבי",
        "מה עמ",
        "ماذا عن",
    ];
    if OPENINGS
        .iter()
        .any(|o| prepared == *o || prepared.starts_with(&format!("{o} ")))
    {
        return true;
    }
    let mut chars = first.chars();
    if matches!(chars.next(), Some('ו' | 'و')) && chars.as_str().chars().count() >= 2 {
        return true;
    }
    let last = prepared.chars().last();
    matches!(last, Some('呢' | 'は'))
}

/// The words that name each location of a knowledge file (its id and the words of its
/// names in every language, those shared by two locations left out), for finding the
/// location a sentence is about.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// (word, location index, found inside other characters: a word of an unspaced script).
    words: Vec<(String, usize, bool)>,
}

impl Places {
    /// The places of `(id, names)` per location, in the knowledge file's order.
    pub fn new<'a>(locations: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        let mut words: Vec<(String, usize, bool)> = Vec::new();
        for (index, (id, names)) in locations.into_iter().enumerate() {
            for name in std::iter::once(id).chain(names) {
                for word in prepare(name).split(' ') {
                    let unspaced = word.chars().any(crate::segment::unspaced);
                    let word = if unspaced {
                        word.strip_suffix('店').unwrap_or(word)
                    } else {
                        word
                    };
                    let long_enough = if unspaced {
                        word.chars().count() >= 2
                    } else if word.is_ascii() {
                        word.len() >= 4
                    } else {
                        word.chars().count() >= 3
                    };
                    if long_enough && !words.iter().any(|(w, i, _)| w == word && *i == index) {
                        words.push((word.to_owned(), index, unspaced));
                    }
                }
            }
        }
        // A word of two locations' names tells neither.
        let shared: Vec<String> = words
            .iter()
            .filter(|(w, i, _)| words.iter().any(|(o, j, _)| o == w && j != i))
            .map(|(w, _, _)| w.clone())
            .collect();
        words.retain(|(w, _, _)| !shared.contains(w));
        Self { words }
    }

    /// The location `text` names (the first named if several), as an index.
    pub fn find(&self, text: &str) -> Option<usize> {
        let prepared = prepare(text);
        let mut best: Option<(usize, usize)> = None;
        let mut keep = |at: usize, index: usize| {
            if best.is_none_or(|(first, _)| at < first) {
                best = Some((at, index));
            }
        };
        let mut offset = 0;
        for word in prepared.split(' ') {
            for form in forms(word) {
                if let Some((_, index, _)) = self
                    .words
                    .iter()
                    .find(|(w, _, unspaced)| !unspaced && w == form)
                {
                    keep(offset, *index);
                }
            }
            offset += word.len() + 1;
        }
        for (word, index, unspaced) in &self.words {
            if *unspaced && let Some(at) = prepared.find(word.as_str()) {
                keep(at, *index);
            }
        }
        best.map(|(_, index)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_every_language() {
        for (text, want) in [
            ("and on Sunday?", Day::Weekday(6)),
            ("are you open on sundays", Day::Weekday(6)),
            ("what about tomorrow", Day::Tomorrow),
            ("open right now?", Day::Now),
            ("et dimanche ?", Day::Weekday(6)),
            ("vous êtes ouverts aujourd'hui", Day::Today),
            ("¿y el sábado?", Day::Weekday(5)),
            ("y mañana", Day::Tomorrow),
            ("Und am Sonntag?", Day::Weekday(6)),
            ("sonntags geöffnet?", Day::Weekday(6)),
            ("e domenica?", Day::Weekday(6)),
            ("وماذا عن يوم الجمعة؟", Day::Weekday(4)),
            ("والسبت؟", Day::Weekday(5)),
            ("ומה לגבי יום ראשון?", Day::Weekday(6)),
            ("ובשבת?", Day::Weekday(5)),
            ("ומחר?", Day::Tomorrow),
            ("星期天呢？", Day::Weekday(6)),
            ("周六开门吗", Day::Weekday(5)),
            ("星期天開門嗎", Day::Weekday(6)),
            ("日曜日は？", Day::Weekday(6)),
            ("明日は開いていますか", Day::Tomorrow),
        ] {
            assert_eq!(day(text), Some(want), "{text:?}");
        }
        // The first day named wins; a Hebrew ordinal alone is a number, not a day.
        assert_eq!(day("not today, tomorrow"), Some(Day::Today));
        assert_eq!(day("המקום השני"), None);
        assert_eq!(day("where is my order"), None);
        assert_eq!(day(""), None);
        for d in [
            Day::Now,
            Day::Today,
            Day::Tomorrow,
            Day::Weekday(0),
            Day::Weekday(6),
        ] {
            assert_eq!(Day::from_key(d.key()), Some(d));
        }
    }

    #[test]
    fn follow_up_openings() {
        for text in [
            "and on Sunday?",
            "What about the Paris one?",
            "et dimanche ?",
            "¿Y el sábado?",
            "Und am Sonntag?",
            "ומה לגבי יום ראשון?",
            "ובשבת?",
            "ويوم الأحد؟",
            "星期天呢？",
            "日曜日は？",
        ] {
            assert!(sounds_like_a_follow_up(text), "{text:?}");
        }
        for text in [
            "are you open on sunday",
            "where is the Paris store",
            "andrew",
            "营业时间",
        ] {
            assert!(!sounds_like_a_follow_up(text), "{text:?}");
        }
    }

    #[test]
    fn places_by_any_of_their_names() {
        let places = Places::new([
            (
                "downtown",
                vec![
                    "Downtown (New York)",
                    "Centre-ville (New York)",
                    "מרכז העיר (ניו יורק)",
                    "市中心店（纽约）",
                ],
            ),
            (
                "paris",
                vec![
                    "Paris Marais",
                    "París Marais",
                    "פריז מארה",
                    "巴黎·玛黑店",
                    "パリ・マレ店",
                ],
            ),
            ("madrid", vec!["Madrid Sol", "マドリード・ソル店"]),
        ]);
        assert_eq!(places.find("what about the Paris one?"), Some(1));
        assert_eq!(places.find("et à PARÍS ?"), Some(1));
        assert_eq!(places.find("and the New York store"), Some(0));
        assert_eq!(places.find("ומה לגבי פריז?"), Some(1));
        assert_eq!(places.find("ובפריז?"), Some(1));
        assert_eq!(places.find("巴黎的店呢"), Some(1));
        assert_eq!(places.find("パリは？"), Some(1));
        assert_eq!(places.find("madrid or paris"), Some(2));
        // `york` is downtown's; `new` is too short to tell anything.
        assert_eq!(places.find("new opening hours"), None);
        assert_eq!(places.find(""), None);
    }
}
