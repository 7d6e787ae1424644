//! Words by the Unicode word boundaries (UAX #29, `unicode-segmentation`) in every script,
//! and, where words are not separated by spaces (Chinese, Japanese, Thai, Lao, Khmer,
//! Myanmar), overlapping character bigrams, plus single Chinese characters (each carries
//! meaning: `店`, `钱`); kana-only bigrams are grammar (`です`, `ます`, particles) and are
//! marked as stop terms. Bigrams need no dictionary, so any phrase of any business
//! segments the same way on both sides (as Lucene's CJK bigram filter does).

use unicode_segmentation::UnicodeSegmentation as _;

/// One comparable unit of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The unit itself.
    pub text: String,
    /// A character gram of unspaced script: not stemmed, no typo tolerance.
    pub gram: bool,
    /// Grammar rather than content (kana-only bigrams).
    pub stop: bool,
}

/// Whether `c` belongs to a script written without spaces between words.
pub fn unspaced(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x3005..=0x3007 // 々 〆 〇
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3FFFF)
}

/// Whether `c` is a Chinese character (also used by Japanese).
pub fn han(c: char) -> bool {
    matches!(u32::from(c),
        0x3005 | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF)
}

fn kana(c: char) -> bool {
    matches!(u32::from(c), 0x3040..=0x30FF | 0x31F0..=0x31FF)
}

/// The tokens of a folded text, at most `max` words or runs read.
pub fn tokens(folded: &str, max: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut run_end = 0;
    let mut pieces = 0;
    for (start, word) in folded.unicode_word_indices() {
        // A word of UAX #29 can join an unspaced run to Latin letters (`wifi密码`): split
        // at each change between spaced and unspaced letters.
        let mut offset = start;
        for part in split_scripts(word) {
            let part_start = offset;
            offset += part.len();
            if part.chars().next().is_some_and(unspaced) {
                if !run.is_empty() && part_start != run_end {
                    flush(&mut run, &mut out);
                    pieces += 1;
                }
                run.extend(part.chars());
                run_end = offset;
            } else {
                if !run.is_empty() {
                    flush(&mut run, &mut out);
                    pieces += 1;
                }
                if pieces >= max {
                    return out;
                }
                out.push(Token {
                    text: part.to_owned(),
                    gram: false,
                    stop: false,
                });
                pieces += 1;
            }
            if pieces >= max {
                return out;
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

fn split_scripts(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut last: Option<bool> = None;
    for (i, c) in word.char_indices() {
        let kind = unspaced(c);
        if last.is_some_and(|l| l != kind) {
            parts.push(&word[start..i]);
            start = i;
        }
        last = Some(kind);
    }
    if start < word.len() {
        parts.push(&word[start..]);
    }
    parts
}

/// Bigrams of a run (capped so a long run stays cheap), and its Chinese characters alone.
fn flush(run: &mut Vec<char>, out: &mut Vec<Token>) {
    const MAX_RUN: usize = 64;
    run.truncate(MAX_RUN);
    if run.len() == 1 {
        out.push(Token {
            text: run[0].to_string(),
            gram: true,
            stop: !han(run[0]),
        });
    } else {
        for &c in run.iter().filter(|c| han(**c)) {
            out.push(Token {
                text: c.to_string(),
                gram: true,
                stop: false,
            });
        }
        for pair in run.windows(2) {
            out.push(Token {
                text: pair.iter().collect(),
                gram: true,
                stop: pair.iter().all(|c| kana(*c) && !katakana(*c)),
            });
        }
    }
    run.clear();
}

fn katakana(c: char) -> bool {
    matches!(u32::from(c), 0x30A0..=0x30FF | 0x31F0..=0x31FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokens(s, 64).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn spaced_scripts_are_words() {
        assert_eq!(texts("where is my order"), ["where", "is", "my", "order"]);
        assert_eq!(texts("متى تفتحون"), ["متى", "تفتحون"]);
    }

    #[test]
    fn unspaced_scripts_are_bigrams_and_characters() {
        assert_eq!(
            texts("营业时间"),
            ["营", "业", "时", "间", "营业", "业时", "时间"]
        );
        assert_eq!(texts("wifi密码"), ["wifi", "密", "码", "密码"]);
        let ja = tokens("返品です", 64);
        assert!(ja.iter().any(|t| t.text == "返品" && !t.stop));
        assert!(ja.iter().any(|t| t.text == "です" && t.stop));
        assert!(!texts("สวัสดีครับ").is_empty());
    }

    #[test]
    fn input_is_bounded() {
        assert_eq!(tokens(&"a ".repeat(1000), 64).len(), 64);
        assert!(tokens(&"营".repeat(100_000), 64).len() < 200);
    }
}
