//! Words reduced to a stem per language: Snowball (`rust-stemmers`) for the languages it
//! has (English, French, Spanish, German, Arabic, Italian, Portuguese, Dutch and more), a
//! light plural stripper for Hebrew (`ים`, `ות`), and for any other language the plural `s`
//! or `x` dropped from words longer than three letters (the bot's rule before Snowball).
//! Words of unspaced scripts are never stemmed (see [`crate::segment`]).

use rust_stemmers::{Algorithm, Stemmer as Snowball};

/// The stemmer of one language.
#[derive(Debug, Clone, Copy)]
pub struct Stemmer {
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Created per call: a Snowball stemmer is a function pointer, and not `Clone`.
    Snowball(Algorithm),
    Hebrew,
    Plural,
}

impl Stemmer {
    /// The stemmer for a language tag (`fr`, `fr-ca`, `pt-br`).
    pub fn new(language: &str) -> Self {
        let algorithm = match primary(language) {
            "ar" => Some(Algorithm::Arabic),
            "da" => Some(Algorithm::Danish),
            "de" => Some(Algorithm::German),
            "el" => Some(Algorithm::Greek),
            "en" => Some(Algorithm::English),
            "es" => Some(Algorithm::Spanish),
            "fi" => Some(Algorithm::Finnish),
            "fr" => Some(Algorithm::French),
            "hu" => Some(Algorithm::Hungarian),
            "it" => Some(Algorithm::Italian),
            "nb" | "nn" | "no" => Some(Algorithm::Norwegian),
            "nl" => Some(Algorithm::Dutch),
            "pt" => Some(Algorithm::Portuguese),
            "ro" => Some(Algorithm::Romanian),
            "ru" => Some(Algorithm::Russian),
            "sv" => Some(Algorithm::Swedish),
            "ta" => Some(Algorithm::Tamil),
            "tr" => Some(Algorithm::Turkish),
            "he" | "iw" => return Self { kind: Kind::Hebrew },
            _ => None,
        };
        Self {
            kind: algorithm.map_or(Kind::Plural, Kind::Snowball),
        }
    }

    /// The stem of a folded word.
    pub fn stem(&self, word: &str) -> String {
        match self.kind {
            Kind::Snowball(algorithm) => {
                let stemmer = Snowball::create(algorithm);
                let stem = stemmer.stem(word);
                if stem.is_empty() {
                    word.to_owned()
                } else {
                    stem.into_owned()
                }
            }
            Kind::Hebrew => hebrew(word).to_owned(),
            Kind::Plural => plural(word).to_owned(),
        }
    }
}

/// The primary subtag of a language tag.
pub fn primary(language: &str) -> &str {
    language.split(['-', '_']).next().unwrap_or(language)
}

fn plural(word: &str) -> &str {
    if word.chars().count() > 3
        && let Some(stripped) = word.strip_suffix('s').or_else(|| word.strip_suffix('x'))
    {
        return stripped;
    }
    word
}

/// Hebrew plurals (`ים`, `ות`) dropped from words of five letters or more (after the final
/// letters were made ordinary, see [`crate::letters`]).
fn hebrew(word: &str) -> &str {
    if word.chars().count() >= 5
        && let Some(stripped) = word.strip_suffix("ימ").or_else(|| word.strip_suffix("ות"))
    {
        return stripped;
    }
    word
}

#[cfg(test)]
mod tests {
    use super::Stemmer;

    #[test]
    fn per_language() {
        let en = Stemmer::new("en");
        assert_eq!(en.stem("opening"), en.stem("open"));
        assert_eq!(en.stem("hours"), en.stem("hour"));
        let fr = Stemmer::new("fr-ca");
        assert_eq!(fr.stem("horaires"), fr.stem("horaire"));
        let de = Stemmer::new("de");
        assert_eq!(de.stem("bestellungen"), de.stem("bestellung"));
        let he = Stemmer::new("he");
        assert_eq!(he.stem("פתוחימ"), "פתוח");
        let other = Stemmer::new("xx");
        assert_eq!(other.stem("hours"), "hour");
        assert_eq!(other.stem("bus"), "bus");
    }
}
