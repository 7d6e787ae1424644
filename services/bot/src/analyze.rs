//! A text made comparable terms, per language: [`fold`] (case, accents, width, punctuation
//! and emoji), [`letters`](crate::letters) (Arabic and Hebrew forms), traditional Chinese
//! made simplified ([`hanzi`](crate::hanzi)), word boundaries and bigrams
//! ([`segment`](crate::segment)), stop words ([`stopwords`](crate::stopwords)), stems
//! ([`stemming`](crate::stemming)) and synonyms ([`synonyms`](crate::synonyms)).
//!
//! Cost is bounded for any input: only the first [`MAX_WORDS`] words are read, and words
//! are cut at [`MAX_WORD_CHARS`] characters.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    hanzi, letters::normalize_letters, normalize::fold, segment, stemming::Stemmer,
    stopwords::stop_words, synonyms,
};

/// Words of a sentence read at most.
pub const MAX_WORDS: usize = 64;
/// Characters of a word compared at most.
pub const MAX_WORD_CHARS: usize = 40;
/// Words of a synonym at most (`money back`, `kaffee`).
const MAX_SYNONYM_WORDS: usize = 3;

/// One term of a text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Term {
    /// The stem (or the character gram).
    pub text: String,
    /// A character gram of an unspaced script (compared only when equal).
    pub gram: bool,
    /// A day or moment word ([`entities`](crate::entities)): its weight is capped.
    pub weak: bool,
}

/// The analysis of one language.
#[derive(Debug, Clone)]
pub struct Analyzer {
    stemmer: Stemmer,
    stop: BTreeSet<String>,
    /// Stems of the day and moment words, and the grams of unspaced ones.
    days: BTreeSet<String>,
    /// Stems of a synonym's words → the stems it is replaced with, and whether those are
    /// stop words (`ya` is `you`).
    words: BTreeMap<Vec<String>, (Vec<String>, bool)>,
    /// Unspaced-script synonyms, longest first: (text, replacement).
    runs: Vec<(String, String)>,
}

/// The folded text with its letters made one (the first steps of every analysis, the same
/// in every language: a matcher prepares a sentence once).
pub fn prepare(text: &str) -> String {
    let folded = normalize_letters(&fold(text));
    if hanzi::has_traditional(&folded) {
        hanzi::simplify(&folded)
    } else {
        folded
    }
}

impl Analyzer {
    /// The analyzer of `language` (a tag such as `fr` or `pt-br`) with Parley's synonyms
    /// and `extra` groups (the knowledge file's), the first word of each group the one the
    /// others are replaced with.
    pub fn new(language: &str, extra: &[Vec<String>]) -> Self {
        let primary = crate::stemming::primary(language);
        let stemmer = Stemmer::new(primary);
        let stop = stop_words(primary)
            .iter()
            .map(|w| prepare(w))
            .filter(|w| !w.is_empty())
            .collect();
        let mut analyzer = Self {
            stemmer,
            stop,
            days: BTreeSet::new(),
            words: BTreeMap::new(),
            runs: Vec::new(),
        };
        let mut days = BTreeSet::new();
        for word in crate::entities::day_words(primary) {
            for token in segment::tokens(&prepare(word), MAX_SYNONYM_WORDS + 1) {
                days.insert(analyzer.stem(&token.text));
            }
        }
        for gram in crate::entities::day_grams(primary) {
            let prepared = prepare(gram);
            days.insert(prepared.clone());
            days.extend(prepared.chars().map(String::from));
        }
        analyzer.days = days;
        let shipped = synonyms::shipped(primary)
            .iter()
            .map(|g| g.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
        for group in shipped.chain(extra.iter().cloned()) {
            analyzer.add_group(&group);
        }
        analyzer.runs.sort_by(|a, b| {
            b.0.chars()
                .count()
                .cmp(&a.0.chars().count())
                .then(a.0.cmp(&b.0))
        });
        analyzer
    }

    fn add_group(&mut self, group: &[String]) {
        let Some((canonical, others)) = group.split_first() else {
            return;
        };
        let target = prepare(canonical);
        if target.is_empty() {
            return;
        }
        // Groups with unspaced text replace text before segmentation, in both directions
        // (`無線lan` → `wifi` and `wifi` → `无线网`).
        if group.iter().any(|w| w.chars().any(segment::unspaced)) {
            for word in others {
                let from = prepare(word);
                if !from.is_empty() && from != target {
                    self.runs.retain(|(f, _)| f != &from);
                    self.runs.push((from, target.clone()));
                }
            }
            return;
        }
        let Some(to) = self.stems(&target) else {
            return;
        };
        let stop = segment::tokens(&target, MAX_SYNONYM_WORDS + 1)
            .iter()
            .all(|t| self.stop.contains(&t.text));
        for word in group {
            let from = prepare(word);
            if from.chars().any(segment::unspaced) {
                continue;
            }
            if let Some(from) = self.stems(&from)
                && from != to
                && from.len() <= MAX_SYNONYM_WORDS
            {
                self.words.insert(from, (to.clone(), stop));
            }
        }
    }

    /// The stems of a prepared text of spaced words (`None` if it has none).
    fn stems(&self, prepared: &str) -> Option<Vec<String>> {
        let stems: Vec<String> = segment::tokens(prepared, MAX_SYNONYM_WORDS + 1)
            .into_iter()
            .filter(|t| !t.gram)
            .map(|t| self.stem(&t.text))
            .collect();
        (!stems.is_empty()).then_some(stems)
    }

    fn stem(&self, word: &str) -> String {
        let cut: String = word.chars().take(MAX_WORD_CHARS).collect();
        self.stemmer.stem(&cut)
    }

    /// The comparable terms of `text`: stop words dropped unless nothing else is left.
    pub fn terms(&self, text: &str) -> Vec<Term> {
        self.prepared_terms(prepare(text))
    }

    /// [`Analyzer::terms`] of a text already [`prepare`]d.
    pub fn prepared_terms(&self, prepared: String) -> Vec<Term> {
        let all = self.marked(prepared);
        if all.iter().all(|(_, stop)| *stop) {
            all.into_iter().map(|(t, _)| t).collect()
        } else {
            all.into_iter()
                .filter(|(_, stop)| !stop)
                .map(|(t, _)| t)
                .collect()
        }
    }

    /// Every term of `text`, stop words included.
    pub fn all_terms(&self, text: &str) -> Vec<Term> {
        self.marked(prepare(text))
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    /// Every term of `text`, each marked whether it is a stop word.
    fn marked(&self, mut prepared: String) -> Vec<(Term, bool)> {
        if !self.runs.is_empty() {
            for (from, to) in &self.runs {
                if prepared.contains(from.as_str()) {
                    prepared = prepared.replace(from.as_str(), to);
                }
            }
        }
        // (term, stop) in order.
        let mut all: Vec<(Term, bool)> = Vec::new();
        let tokens = segment::tokens(&prepared, MAX_WORDS);
        // Each word stemmed once (the synonym windows look at each word up to three times).
        let stems: Vec<String> = tokens
            .iter()
            .map(|t| {
                if t.gram {
                    String::new()
                } else {
                    self.stem(&t.text)
                }
            })
            .collect();
        let mut i = 0;
        while i < tokens.len() {
            let token = &tokens[i];
            if token.gram {
                // A gram holding a stop character (`我要`, `开吗`, `什么`) is grammar too.
                let stop = token.stop
                    || token
                        .text
                        .chars()
                        .any(|c| self.stop.contains(c.encode_utf8(&mut [0; 4]) as &str));
                all.push((
                    Term {
                        weak: self.days.contains(&token.text),
                        text: token.text.clone(),
                        gram: true,
                    },
                    stop,
                ));
                i += 1;
                continue;
            }
            // The longest synonym starting here.
            let mut replaced = false;
            if !self.words.is_empty() {
                let mut key: Vec<String> = Vec::new();
                let mut found: Option<(usize, &(Vec<String>, bool))> = None;
                for (t, stem) in tokens.iter().zip(&stems).skip(i).take(MAX_SYNONYM_WORDS) {
                    if t.gram {
                        break;
                    }
                    key.push(stem.clone());
                    if let Some(to) = self.words.get(&key) {
                        found = Some((key.len(), to));
                    }
                }
                if let Some((len, (to, stop))) = found {
                    for stem in to {
                        all.push((
                            Term {
                                weak: self.days.contains(stem),
                                text: stem.clone(),
                                gram: false,
                            },
                            *stop,
                        ));
                    }
                    i += len;
                    replaced = true;
                }
            }
            if !replaced {
                let stop = self.stop.contains(&token.text);
                let stem = stems[i].clone();
                all.push((
                    Term {
                        weak: self.days.contains(&stem),
                        text: stem,
                        gram: false,
                    },
                    stop,
                ));
                i += 1;
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(a: &Analyzer, s: &str) -> Vec<String> {
        a.terms(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn stop_words_stems_and_synonyms() {
        let en = Analyzer::new("en", &[]);
        assert_eq!(texts(&en, "When do you SHUT?"), texts(&en, "when close"));
        assert_eq!(texts(&en, "opening hours"), texts(&en, "open hour"));
        assert_eq!(texts(&en, "the"), ["the"]);
        assert_eq!(texts(&en, "wi-fi"), texts(&en, "wifi"));
        let custom = Analyzer::new("en", &[vec!["coffee".into(), "latte".into()]]);
        assert_eq!(texts(&custom, "lattes"), texts(&custom, "coffee"));
    }

    #[test]
    fn scripts() {
        let ar = Analyzer::new("ar", &[]);
        assert_eq!(texts(&ar, "متـــى"), texts(&ar, "متى"));
        let zh = Analyzer::new("zh", &[]);
        assert_eq!(texts(&zh, "營業時間"), texts(&zh, "营业时间"));
        assert!(texts(&zh, "多少钱").contains(&"价格".to_owned()));
    }
}
