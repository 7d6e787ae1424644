//! Which intent a customer's sentence asks for: every example phrase of every intent (in
//! every language of the knowledge file) is a document; the sentence is compared with each
//! and the best intent wins if its score reaches the threshold.
//!
//! Phrases are indexed per language, each language with its own
//! [`Analyzer`](crate::analyze::Analyzer) (stop words, Snowball stems, synonyms; Chinese,
//! Japanese and Thai as character bigrams): a sentence is analysed once per language of the
//! knowledge file and compared with that language's phrases, so `a` is a stop word against
//! Spanish phrases and a word against none other, and a French verb is stemmed as French.
//!
//! The score is a weighted F1 of two coverages, each term weighted by its inverse document
//! frequency within its language (`ln(1 + N / df)`, as in BM25, so words shared by many
//! phrases such as `you` count little and `open`, `return`, `horaires` count a lot):
//! - how much of the sentence the phrase explains (a word the knowledge file never uses,
//!   such as `hi` or `please`, weighs [`UNKNOWN_WORD_WEIGHT`]);
//! - how much of the phrase the sentence contains.
//!
//! Unlike a raw BM25 sum, the score is bounded (0 to 1), so one threshold works for every
//! knowledge file whatever its size. Typos are forgiven with the optimal string alignment
//! distance (1 edit for words of 4 letters or more, keeping the first letter below 6
//! letters; 2 from 8); a word that is the start of another (`open`, `opening`; `ouvert`,
//! `ouverture`) counts partly, and so does the end of another: a German compound
//! (`kaffeebohn` holds `bohn`) or a Hebrew or Arabic word behind a one- or two-letter
//! prefix (`ו`, `ה`, `ב`, `ל`; `و`, `ف`, `ب`, `ل`). Character bigrams compare only when equal.
//!
//! Cost is bounded for any input: only the first [`MAX_WORDS`] words of a sentence are read,
//! and words are cut at [`MAX_WORD_CHARS`] characters.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    analyze::{Analyzer, Term},
    stemming::primary,
};

pub use crate::analyze::{MAX_WORD_CHARS, MAX_WORDS};

/// The weight of a sentence word that no phrase uses.
pub const UNKNOWN_WORD_WEIGHT: f64 = 0.5;
/// The highest weight of a day or moment word (`today`, `sunday`): below an unknown word's,
/// so such words rank phrases but never make a match alone.
pub const ENTITY_WEIGHT: f64 = 0.3;

/// Synonym groups per language (a knowledge file's `[synonyms]`), the first word of each
/// group the one the others stand for.
pub type SynonymGroups = BTreeMap<String, Vec<Vec<String>>>;

/// One example phrase of an intent.
#[derive(Debug, Clone)]
struct Document {
    intent: usize,
    locale: String,
    /// Its terms, as indices into its language's vocabulary.
    terms: Vec<usize>,
}

/// A sentence ready to be scored against one language: each term's weight and its
/// similarity to every vocabulary term, computed once per sentence rather than once per
/// phrase and direction (the similarity is symmetric and phrases share their words).
struct Query {
    weights: Vec<f64>,
    /// `similarities[i][v]`: query term `i` against vocabulary term `v`.
    similarities: Vec<Vec<f64>>,
}

/// The best intent for a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The intent's index in the knowledge file.
    pub intent: usize,
    /// The language of the phrase that matched best.
    pub locale: String,
    /// The score, 0 to 1.
    pub score: f64,
}

/// The phrases of one language, indexed.
#[derive(Debug, Clone)]
struct Language {
    analyzer: Analyzer,
    documents: Vec<Document>,
    /// Every term of every phrase with its inverse document frequency, in term order.
    vocabulary: Vec<(Term, f64)>,
    /// Where each term is in `vocabulary`.
    index: BTreeMap<String, usize>,
    /// Terms (as this language analyses them) of the other languages' phrases and stop
    /// words that this language's phrases do not use: a sentence word found there is a
    /// word of another language, which this language's phrases do not explain, so it
    /// weighs [`Language::foreign_weight`] rather than [`UNKNOWN_WORD_WEIGHT`] (else
    /// `what drinks do you serve` would be a French sentence: only `serv` is French, and
    /// the English words would weigh as little as `hi`).
    elsewhere: BTreeSet<String>,
    /// The mean inverse document frequency of the vocabulary.
    foreign_weight: f64,
    /// Whether a vocabulary term counts in how much of a phrase a sentence contains: not
    /// a bigram with a Chinese character, whose characters count instead (a phrase's
    /// bigrams across its word boundaries, `菜单上有什么`'s `单上`, are never asked for).
    phrase_side: Vec<bool>,
}

/// The phrases of a knowledge file, indexed.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    languages: Vec<Language>,
    threshold: f64,
}

const HEBREW_PREFIXES: &str = "והבלמשכ";
const ARABIC_PREFIXES: &str = "وفبلكا";

/// How alike two terms are: 1 equal, 0.8 one typo or a Hebrew or Arabic prefix, 0.7 two
/// typos in a long word, one is the start of the other, or the tail of a compound, 0
/// otherwise. Character grams are alike only when equal.
fn similarity(a: &Term, b: &Term) -> f64 {
    if a.text == b.text {
        return 1.0;
    }
    if a.gram || b.gram || script(&a.text) != script(&b.text) {
        return 0.0;
    }
    word_similarity(&a.text, &b.text)
}

/// A coarse script of a word's first letter: words of two scripts are never alike, and
/// telling so first skips most comparisons between a sentence and another script's
/// vocabulary.
fn script(word: &str) -> u8 {
    match word.chars().next().map_or(0, u32::from) {
        0..=0x024F => 1,      // Latin
        0x0370..=0x03FF => 2, // Greek
        0x0400..=0x052F => 3, // Cyrillic
        0x0590..=0x05FF => 4, // Hebrew
        0x0600..=0x06FF => 5, // Arabic
        _ => 0,
    }
}

fn word_similarity(a: &str, b: &str) -> f64 {
    let (la, lb) = (a.chars().count(), b.chars().count());
    let shorter = la.min(lb);
    let (short, long) = if la <= lb { (a, b) } else { (b, a) };
    if shorter >= 3
        && let Some(extra) = long.strip_suffix(short)
    {
        let extra_len = extra.chars().count();
        let prefixes = extra.chars().all(|c| HEBREW_PREFIXES.contains(c))
            || extra.chars().all(|c| ARABIC_PREFIXES.contains(c));
        if extra_len <= 2 && prefixes {
            return 0.8;
        }
        if shorter >= 4 && extra_len >= 3 {
            return 0.7;
        }
    }
    if shorter >= 4 {
        // Typos rarely hit the first letter; without this, short words collide
        // (`chat`/`what`, `aime`/`time`). A stem of four letters forgives only two
        // letters swapped (`wehn`, `opne`): one letter changed is usually another word
        // (`fait`/`fair`, `latt`/`late`, `bonn`/`bohn`).
        let same_start = a.chars().next() == b.chars().next();
        // The distance is at least the difference in length and only counts up to 2, and
        // only where a rule below can use it: else skip computing it (the same answer, far
        // cheaper for unrelated words).
        let distance = if la.abs_diff(lb) <= 2 && (same_start || shorter >= 6) {
            strsim::osa_distance(a, b)
        } else {
            usize::MAX
        };
        let swapped = shorter > 4 || same_letters(a, b);
        if distance <= 1 && (same_start || shorter >= 6) && swapped {
            return 0.8;
        }
        if shorter >= 8 && distance <= 2 {
            return 0.7;
        }
        if long.starts_with(short) {
            return 0.7;
        }
    }
    0.0
}

/// Whether two words have the same letters (in any order).
fn same_letters(a: &str, b: &str) -> bool {
    let mut a: Vec<char> = a.chars().collect();
    let mut b: Vec<char> = b.chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

impl Language {
    fn new(analyzer: Analyzer, phrases: Vec<(usize, String, &str)>) -> Self {
        let phrases: Vec<(usize, String, Vec<Term>)> = phrases
            .into_iter()
            .map(|(intent, locale, phrase)| (intent, locale, analyzer.terms(phrase)))
            .filter(|(_, _, terms)| !terms.is_empty())
            .collect();
        let mut df: BTreeMap<String, (bool, bool, usize)> = BTreeMap::new();
        for (_, _, terms) in &phrases {
            let unique: BTreeSet<&Term> = terms.iter().collect();
            for term in unique {
                df.entry(term.text.clone())
                    .or_insert((term.gram, term.weak, 0))
                    .2 += 1;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let n = phrases.len() as f64;
        #[allow(clippy::cast_precision_loss)]
        let vocabulary: Vec<(Term, f64)> = df
            .into_iter()
            .map(|(text, (gram, weak, count))| {
                let idf = (1.0 + n / count as f64).ln();
                let weight = if weak { idf.min(ENTITY_WEIGHT) } else { idf };
                (Term { text, gram, weak }, weight)
            })
            .collect();
        let index: BTreeMap<String, usize> = vocabulary
            .iter()
            .enumerate()
            .map(|(i, (term, _))| (term.text.clone(), i))
            .collect();
        let documents = phrases
            .into_iter()
            .map(|(intent, locale, terms)| Document {
                intent,
                locale,
                // Every term of a phrase is in the vocabulary, built from the phrases.
                terms: terms
                    .iter()
                    .filter_map(|t| index.get(&t.text).copied())
                    .collect(),
            })
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let foreign_weight = if vocabulary.is_empty() {
            UNKNOWN_WORD_WEIGHT
        } else {
            vocabulary.iter().map(|(_, w)| w).sum::<f64>() / vocabulary.len() as f64
        }
        .max(UNKNOWN_WORD_WEIGHT);
        let phrase_side = vocabulary
            .iter()
            .map(|(term, _)| {
                !(term.gram
                    && term.text.chars().nth(1).is_some()
                    && term.text.chars().any(crate::segment::han))
            })
            .collect();
        Self {
            analyzer,
            documents,
            vocabulary,
            index,
            elsewhere: BTreeSet::new(),
            foreign_weight,
            phrase_side,
        }
    }

    /// The sentence's terms, each with its weight (its own if the language's phrases use
    /// it, else the highest of the vocabulary terms it resembles, else
    /// [`UNKNOWN_WORD_WEIGHT`]) and its similarity to every vocabulary term; `None` when
    /// nothing is comparable.
    fn query(&self, prepared: &str) -> Option<Query> {
        let mut query = Query {
            weights: Vec::new(),
            similarities: Vec::new(),
        };
        for term in self.analyzer.prepared_terms(prepared.to_owned()) {
            let similarities: Vec<f64> = self
                .vocabulary
                .iter()
                .map(|(known, _)| similarity(&term, known))
                .collect();
            let weight = match self.index.get(&term.text) {
                Some(&i) => self.vocabulary[i].1,
                None if term.weak => ENTITY_WEIGHT,
                None if self.elsewhere.contains(&term.text) => self.foreign_weight,
                None => self
                    .vocabulary
                    .iter()
                    .zip(&similarities)
                    .filter(|(_, s)| **s > 0.0)
                    .map(|((_, w), _)| *w)
                    .fold(None, |best: Option<f64>, w| {
                        Some(best.map_or(w, |b| b.max(w)))
                    })
                    .unwrap_or(UNKNOWN_WORD_WEIGHT),
            };
            query.weights.push(weight);
            query.similarities.push(similarities);
        }
        (!query.weights.is_empty()).then_some(query)
    }

    /// How well `document` covers the sentence: each sentence term's best similarity
    /// in the phrase, and how much of the phrase the sentence contains (weighted).
    fn coverage(&self, query: &Query, document: &Document) -> (Vec<f64>, f64) {
        let best: Vec<f64> = query
            .similarities
            .iter()
            .map(|similarities| {
                document
                    .terms
                    .iter()
                    .map(|&d| similarities[d])
                    .fold(0.0, f64::max)
            })
            .collect();
        let mut d_total = 0.0;
        let mut d_hit = 0.0;
        for &term in &document.terms {
            if !self.phrase_side[term] {
                continue;
            }
            let weight = self.vocabulary[term].1;
            let best = query
                .similarities
                .iter()
                .map(|s| s[term])
                .fold(0.0, f64::max);
            d_total += weight;
            d_hit += weight * best;
        }
        let d = if d_total > 0.0 { d_hit / d_total } else { 0.0 };
        (best, d)
    }

    /// Each intent's score for the sentence (intent, locale of its best phrase, score): the
    /// better of its best phrase's F1 and the F1 of how much of the sentence the intent's
    /// phrases explain together (`quiero devolver mi taza`: `devolver` from one phrase,
    /// `taza` from another) with its best phrase's coverage.
    fn intent_scores<'m>(&'m self, query: &Query) -> Vec<(usize, &'m str, f64)> {
        struct Intent<'m> {
            intent: usize,
            locale: &'m str,
            best: f64,
            union: Vec<f64>,
            covered: f64,
        }
        let q_total: f64 = query.weights.iter().sum();
        let explained = |best: &[f64]| -> f64 {
            if q_total <= 0.0 {
                return 0.0;
            }
            query
                .weights
                .iter()
                .zip(best)
                .map(|(w, b)| w * b)
                .sum::<f64>()
                / q_total
        };
        let mut intents: Vec<Intent<'m>> = Vec::new();
        for document in &self.documents {
            let (best, d) = self.coverage(query, document);
            let score = f1(explained(&best), d);
            let entry = match intents.iter_mut().position(|i| i.intent == document.intent) {
                Some(i) => &mut intents[i],
                None => {
                    intents.push(Intent {
                        intent: document.intent,
                        locale: &document.locale,
                        best: 0.0,
                        union: vec![0.0; best.len()],
                        covered: 0.0,
                    });
                    let last = intents.len() - 1;
                    &mut intents[last]
                }
            };
            if score > entry.best {
                entry.best = score;
                entry.locale = &document.locale;
            }
            for (u, b) in entry.union.iter_mut().zip(&best) {
                *u = u.max(*b);
            }
            entry.covered = entry.covered.max(d);
        }
        intents
            .into_iter()
            .map(|i| {
                let together = f1(explained(&i.union), i.covered);
                (i.intent, i.locale, i.best.max(together))
            })
            .collect()
    }
}

fn f1(q: f64, d: f64) -> f64 {
    if q + d <= 0.0 {
        0.0
    } else {
        2.0 * q * d / (q + d)
    }
}

impl Matcher {
    /// Indexes `(intent index, locale, phrase)` triples; `threshold` is the lowest score
    /// that counts as understood.
    pub fn new<'a>(
        phrases: impl IntoIterator<Item = (usize, &'a str, &'a str)>,
        threshold: f64,
    ) -> Self {
        Self::with_synonyms(phrases, threshold, &SynonymGroups::new())
    }

    /// [`Matcher::new`] with a knowledge file's own synonym groups (by language tag; a
    /// group for `fr` applies to `fr-ca` phrases too) added to Parley's.
    pub fn with_synonyms<'a>(
        phrases: impl IntoIterator<Item = (usize, &'a str, &'a str)>,
        threshold: f64,
        synonyms: &SynonymGroups,
    ) -> Self {
        let mut by_language: BTreeMap<String, Vec<(usize, String, &'a str)>> = BTreeMap::new();
        for (intent, locale, phrase) in phrases {
            by_language
                .entry(primary(locale).to_owned())
                .or_default()
                .push((intent, locale.to_owned(), phrase));
        }
        let texts: Vec<(String, Vec<&'a str>)> = by_language
            .iter()
            .map(|(language, phrases)| {
                let mut texts: Vec<&'a str> = phrases.iter().map(|(_, _, p)| *p).collect();
                texts.extend(crate::stopwords::stop_words(language));
                (language.clone(), texts)
            })
            .collect();
        let mut languages: Vec<Language> = by_language
            .into_iter()
            .map(|(language, phrases)| {
                let extra: Vec<Vec<String>> = synonyms
                    .iter()
                    .filter(|(tag, _)| primary(tag) == language)
                    .flat_map(|(_, groups)| groups.iter().cloned())
                    .collect();
                Language::new(Analyzer::new(&language, &extra), phrases)
            })
            .collect();
        for (language, (name, _)) in languages.iter_mut().zip(&texts) {
            for (other, texts) in &texts {
                if other == name {
                    continue;
                }
                for text in texts {
                    for term in language.analyzer.all_terms(text) {
                        // Chinese and Japanese share characters: a gram is never foreign.
                        if !term.gram && !language.index.contains_key(&term.text) {
                            language.elsewhere.insert(term.text);
                        }
                    }
                }
            }
        }
        Self {
            languages,
            threshold,
        }
    }

    /// Every intent's score for `text` in each language: (intent, locale, score).
    fn scores<'m>(&'m self, text: &str) -> impl Iterator<Item = (usize, &'m str, f64)> + 'm {
        let prepared = crate::analyze::prepare(text);
        self.languages.iter().flat_map(move |language| {
            language
                .query(&prepared)
                .map(|query| language.intent_scores(&query))
                .unwrap_or_default()
        })
    }

    /// The best intent for `text` if it reaches the threshold.
    pub fn best(&self, text: &str) -> Option<Match> {
        self.rank(text).filter(|m| m.score >= self.threshold)
    }

    /// The best-scoring intents for `text` (one entry per intent, its best phrase) with a
    /// score of at least `floor`, best first, at most `n`.
    pub fn candidates(&self, text: &str, floor: f64, n: usize) -> Vec<Match> {
        let mut out: Vec<Match> = Vec::new();
        for (intent, locale, score) in self.scores(text) {
            if score <= 0.0 || score < floor {
                continue;
            }
            match out.iter_mut().find(|m| m.intent == intent) {
                Some(known) if known.score >= score => {}
                Some(known) => {
                    known.score = score;
                    locale.clone_into(&mut known.locale);
                }
                None => out.push(Match {
                    intent,
                    locale: locale.to_owned(),
                    score,
                }),
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.intent.cmp(&b.intent)));
        out.truncate(n);
        out
    }

    /// The best score of `intent`'s phrases of `language` (a primary subtag) for `text`; 0
    /// when it has none there.
    pub fn score_in(&self, text: &str, intent: usize, language: &str) -> f64 {
        let prepared = crate::analyze::prepare(text);
        // Only that language's index is asked (a language's phrases share its subtag).
        self.languages
            .iter()
            .filter(|l| {
                l.documents
                    .first()
                    .is_some_and(|d| primary(&d.locale) == language)
            })
            .filter_map(|l| l.query(&prepared).map(|q| l.intent_scores(&q)))
            .flatten()
            .filter(|(i, _, _)| *i == intent)
            .map(|(_, _, score)| score)
            .fold(0.0, f64::max)
    }

    /// The threshold a score must reach to count as understood.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The best intent for `text` whatever its score (`None` when nothing is comparable).
    pub fn rank(&self, text: &str) -> Option<Match> {
        let mut best: Option<Match> = None;
        for (intent, locale, score) in self.scores(text) {
            if score > 0.0 && best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Match {
                    intent,
                    locale: locale.to_owned(),
                    score,
                });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> Matcher {
        Matcher::new(
            [
                (0, "en", "when are you open"),
                (0, "en", "opening hours"),
                (0, "fr", "quels sont vos horaires"),
                (1, "en", "where are your stores"),
                (1, "fr", "où sont vos magasins"),
                (2, "en", "how do I return an item"),
            ],
            0.5,
        )
    }

    #[test]
    fn exact_typo_accent_and_language() {
        let m = matcher();
        assert_eq!(m.best("When are you open?").map(|m| m.intent), Some(0));
        assert_eq!(m.best("wehn are you opne").map(|m| m.intent), Some(0));
        let fr = m.best("OU SONT VOS MAGASINS").unwrap();
        assert_eq!((fr.intent, fr.locale.as_str()), (1, "fr"));
        assert_eq!(m.best("hours").map(|m| m.intent), Some(0));
        assert_eq!(
            m.best("returning an item please").map(|m| m.intent),
            Some(2)
        );
    }

    #[test]
    fn unrelated_or_empty_text_is_not_understood() {
        let m = matcher();
        assert_eq!(m.best("my cat ate my homework"), None);
        assert_eq!(m.best(""), None);
        assert_eq!(m.best("🙂🙂🙂"), None);
        assert_eq!(Matcher::default().best("when are you open"), None);
    }

    #[test]
    fn long_input_is_bounded() {
        let m = matcher();
        let long = "open ".repeat(100_000);
        assert_eq!(m.best(&long).map(|m| m.intent), Some(0));
        let word = "x".repeat(1_000_000);
        assert_eq!(m.best(&word), None);
    }

    #[test]
    fn similarity_rules() {
        let similarity = word_similarity;
        assert!(similarity("hours", "huors") > 0.0);
        assert!(similarity("open", "opening") > 0.0);
        assert!((similarity("bus", "bud")).abs() < f64::EPSILON);
        // One edit on the first letter of a short word is another word, not a typo.
        assert!((similarity("chat", "what")).abs() < f64::EPSILON);
        assert!((similarity("aime", "time")).abs() < f64::EPSILON);
        assert!(similarity("wehn", "when") > 0.0);
        assert!((similarity("fait", "fair")).abs() < f64::EPSILON);
        // A compound's tail, a Hebrew or Arabic prefix.
        assert!(similarity("kaffeebohn", "bohn") > 0.0);
        assert!(similarity("בתפריט", "תפריט") > 0.0);
        assert!((similarity("restore", "store")).abs() < f64::EPSILON);
        let gram = |t: &str| Term {
            text: t.into(),
            gram: true,
            weak: false,
        };
        assert!((super::similarity(&gram("营业"), &gram("营业")) - 1.0).abs() < f64::EPSILON);
        assert!(super::similarity(&gram("营业"), &gram("营")).abs() < f64::EPSILON);
    }

    #[test]
    fn scripts_without_spaces_match() {
        let m = Matcher::new(
            [
                (0, "zh", "营业时间"),
                (1, "zh", "我的订单在哪里"),
                (0, "ja", "営業時間は何時ですか"),
                (1, "ja", "注文はどこですか"),
            ],
            0.5,
        );
        assert_eq!(m.best("你们的营业时间？").map(|m| m.intent), Some(0));
        assert_eq!(m.best("订单在哪").map(|m| m.intent), Some(1));
        let ja = m.best("営業時間を教えて").unwrap();
        assert_eq!((ja.intent, ja.locale.as_str()), (0, "ja"));
    }
}
