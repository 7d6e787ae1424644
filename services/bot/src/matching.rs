//! Which intent a customer's sentence asks for: every example phrase of every intent (in
//! every language of the knowledge file) is a document; the sentence is compared with each
//! and the best intent wins if its score reaches the threshold.
//!
//! The score is a weighted F1 of two coverages, each word weighted by its inverse document
//! frequency (`ln(1 + N / df)`, as in BM25, so words shared by many phrases such as `you`
//! count little and `open`, `return`, `horaires` count a lot):
//! - how much of the sentence the phrase explains (a word the knowledge file never uses,
//!   such as `hi` or `please`, weighs [`UNKNOWN_WORD_WEIGHT`]);
//! - how much of the phrase the sentence contains.
//!
//! Unlike a raw BM25 sum, the score is bounded (0 to 1), so one threshold works for every
//! knowledge file whatever its size. Words compare after [`fold`](crate::normalize::fold)ing
//! and [`stem`]ming; typos are forgiven with the optimal string alignment distance (1 edit
//! for words of 4 letters or more, keeping the first letter below 6 letters; 2 from 8), and a word that is the start of another (`open`,
//! `opening`; `ouvert`, `ouverture`) counts partly. Stop words of English, French and Spanish
//! are ignored unless a sentence has nothing else.
//!
//! Cost is bounded for any input: only the first [`MAX_WORDS`] words of a sentence are read,
//! and words are cut at [`MAX_WORD_CHARS`] characters.

use std::collections::{BTreeMap, BTreeSet};

use crate::normalize::{stem, words};

/// The weight of a sentence word that no phrase uses.
pub const UNKNOWN_WORD_WEIGHT: f64 = 0.5;
/// Words of a sentence read at most.
pub const MAX_WORDS: usize = 64;
/// Characters of a word compared at most.
pub const MAX_WORD_CHARS: usize = 40;

const STOP_WORDS: &[&str] = &[
    // English
    "a", "an", "the", "is", "are", "am", "be", "do", "does", "did", "you", "your", "i", "me", "my",
    "we", "our", "us", "to", "of", "for", "in", "on", "at", "it", "this", "that", "and", "or",
    "with", "can", "could", "would", "will", "please", "s", "there", "any", "have", "has", "get",
    "want", "like", "need", "some", // French
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "est", "et", "je", "j", "vous",
    "votre", "vos", "nous", "mon", "ma", "mes", "il", "elle", "ce", "c", "ca", "qu", "que", "en",
    "au", "aux", "pour", "sur", "avec", "se", "sont", "etes", "y", "a", "svp", "puis", "peux",
    "voudrais", "veux", "m", "moi", // Spanish
    "el", "los", "las", "una", "unos", "unas", "es", "son", "y", "o", "yo", "tu", "su", "sus",
    "mi", "mis", "por", "con", "del", "al", "lo", "se", "me", "te", "favor", "quiero", "puedo",
    "estan", "esta",
];

/// One example phrase of an intent.
#[derive(Debug, Clone)]
struct Document {
    intent: usize,
    locale: String,
    /// Its terms, as indices into the matcher's vocabulary.
    terms: Vec<usize>,
}

/// A sentence ready to be scored: each term's weight and its similarity to every
/// vocabulary term, computed once per sentence rather than once per phrase and direction
/// (the similarity is symmetric and phrases share their words; this was the bot's main
/// cost per message).
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

/// The phrases of a knowledge file, indexed.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    documents: Vec<Document>,
    /// Every term of every phrase with its inverse document frequency, in term order.
    vocabulary: Vec<(String, f64)>,
    /// Where each term is in `vocabulary`.
    index: BTreeMap<String, usize>,
    threshold: f64,
}

fn is_stop(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// The comparable terms of a text: folded, stemmed, cut, stop words dropped (unless
/// nothing else is left).
fn terms(text: &str) -> Vec<String> {
    let all: Vec<String> = words(text)
        .into_iter()
        .take(MAX_WORDS)
        .map(|w| stem(&w.chars().take(MAX_WORD_CHARS).collect::<String>()).to_owned())
        .collect();
    let content: Vec<String> = all.iter().filter(|w| !is_stop(w)).cloned().collect();
    if content.is_empty() { all } else { content }
}

/// How alike two terms are: 1 equal, 0.8 one typo, 0.7 two typos in a long word or one is
/// the start of the other, 0 otherwise.
fn similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    let shorter = la.min(lb);
    if shorter >= 4 {
        // The distance is at least the difference in length and only counts up to 2: past
        // that, skip computing it (the same answer, far cheaper for unrelated words).
        let distance = if la.abs_diff(lb) <= 2 {
            strsim::osa_distance(a, b)
        } else {
            usize::MAX
        };
        // Typos rarely hit the first letter; without this, short words collide
        // (`chat`/`what`, `aime`/`time`).
        let same_start = a.chars().next() == b.chars().next();
        if distance <= 1 && (same_start || shorter >= 6) {
            return 0.8;
        }
        if shorter >= 8 && distance <= 2 {
            return 0.7;
        }
        let (short, long) = if la <= lb { (a, b) } else { (b, a) };
        if long.starts_with(short) {
            return 0.7;
        }
    }
    0.0
}

impl Matcher {
    /// Indexes `(intent index, locale, phrase)` triples; `threshold` is the lowest score
    /// that counts as understood.
    pub fn new<'a>(
        phrases: impl IntoIterator<Item = (usize, &'a str, &'a str)>,
        threshold: f64,
    ) -> Self {
        let phrases: Vec<(usize, String, Vec<String>)> = phrases
            .into_iter()
            .map(|(intent, locale, phrase)| (intent, locale.to_owned(), terms(phrase)))
            .filter(|(_, _, terms)| !terms.is_empty())
            .collect();
        let mut df: BTreeMap<String, usize> = BTreeMap::new();
        for (_, _, terms) in &phrases {
            let unique: BTreeSet<&String> = terms.iter().collect();
            for term in unique {
                *df.entry(term.clone()).or_default() += 1;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let n = phrases.len() as f64;
        #[allow(clippy::cast_precision_loss)]
        let vocabulary: Vec<(String, f64)> = df
            .into_iter()
            .map(|(term, count)| (term, (1.0 + n / count as f64).ln()))
            .collect();
        let index: BTreeMap<String, usize> = vocabulary
            .iter()
            .enumerate()
            .map(|(i, (term, _))| (term.clone(), i))
            .collect();
        let documents = phrases
            .into_iter()
            .map(|(intent, locale, terms)| Document {
                intent,
                locale,
                // Every term of a phrase is in the vocabulary, built from the phrases.
                terms: terms.iter().filter_map(|t| index.get(t).copied()).collect(),
            })
            .collect();
        Self {
            documents,
            vocabulary,
            index,
            threshold,
        }
    }

    /// The sentence's terms, each with its weight (its own if the knowledge file uses it,
    /// else the highest of the vocabulary terms it resembles, else
    /// [`UNKNOWN_WORD_WEIGHT`]) and its similarity to every vocabulary term; `None` when
    /// nothing is comparable.
    fn query(&self, text: &str) -> Option<Query> {
        let mut query = Query {
            weights: Vec::new(),
            similarities: Vec::new(),
        };
        for term in terms(text) {
            let similarities: Vec<f64> = self
                .vocabulary
                .iter()
                .map(|(known, _)| similarity(&term, known))
                .collect();
            let weight = match self.index.get(&term) {
                Some(&i) => self.vocabulary[i].1,
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

    fn score(&self, query: &Query, document: &Document) -> f64 {
        let mut q_total = 0.0;
        let mut q_hit = 0.0;
        for (weight, similarities) in query.weights.iter().zip(&query.similarities) {
            let best = document
                .terms
                .iter()
                .map(|&d| similarities[d])
                .fold(0.0, f64::max);
            q_total += weight;
            q_hit += weight * best;
        }
        let mut d_total = 0.0;
        let mut d_hit = 0.0;
        for &term in &document.terms {
            let weight = self.vocabulary[term].1;
            let best = query
                .similarities
                .iter()
                .map(|s| s[term])
                .fold(0.0, f64::max);
            d_total += weight;
            d_hit += weight * best;
        }
        if q_total <= 0.0 || d_total <= 0.0 {
            return 0.0;
        }
        let (q, d) = (q_hit / q_total, d_hit / d_total);
        if q + d <= 0.0 {
            0.0
        } else {
            2.0 * q * d / (q + d)
        }
    }

    /// The best intent for `text` if it reaches the threshold.
    pub fn best(&self, text: &str) -> Option<Match> {
        self.rank(text).filter(|m| m.score >= self.threshold)
    }

    /// The best-scoring intents for `text` (one entry per intent, its best phrase) with a
    /// score of at least `floor`, best first, at most `n`.
    pub fn candidates(&self, text: &str, floor: f64, n: usize) -> Vec<Match> {
        let mut out: Vec<Match> = Vec::new();
        let Some(query) = self.query(text) else {
            return out;
        };
        for document in &self.documents {
            let score = self.score(&query, document);
            if score <= 0.0 || score < floor {
                continue;
            }
            match out.iter_mut().find(|m| m.intent == document.intent) {
                Some(known) if known.score >= score => {}
                Some(known) => {
                    known.score = score;
                    known.locale.clone_from(&document.locale);
                }
                None => out.push(Match {
                    intent: document.intent,
                    locale: document.locale.clone(),
                    score,
                }),
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.intent.cmp(&b.intent)));
        out.truncate(n);
        out
    }

    /// The threshold a score must reach to count as understood.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The best intent for `text` whatever its score (`None` when nothing is comparable).
    pub fn rank(&self, text: &str) -> Option<Match> {
        let query = self.query(text)?;
        let mut best: Option<Match> = None;
        for document in &self.documents {
            let score = self.score(&query, document);
            if score > 0.0 && best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Match {
                    intent: document.intent,
                    locale: document.locale.clone(),
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
        assert!((similarity("hours", "hours") - 1.0).abs() < f64::EPSILON);
        assert!(similarity("hours", "huors") > 0.0);
        assert!(similarity("open", "opening") > 0.0);
        assert!((similarity("bus", "bud")).abs() < f64::EPSILON);
        // One edit on the first letter of a short word is another word, not a typo.
        assert!((similarity("chat", "what")).abs() < f64::EPSILON);
        assert!((similarity("aime", "time")).abs() < f64::EPSILON);
        assert!(similarity("wehn", "when") > 0.0);
    }
}
