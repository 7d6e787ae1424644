//! The matcher's time per message (issue 16: "matching stays cheap"), with criterion:
//! - the demo knowledge (`knowledge/acme.toml`: 10 intents, 8 languages, 357 phrases);
//! - a generated file of 50 intents x 10 languages (6 phrases each: 3,000 phrases), with
//!   sentences that match and sentences that do not;
//! - the whole decision for one message on the demo knowledge (`answer`: triggers, the
//!   matcher, the language, the day and store named, a follow-up of a remembered question),
//!   to show what comes on top of the matcher.
//!
//! `cargo bench -p parley-bot --bench matching`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use parley_bot::{Knowledge, Memory, answer, matching::Matcher};
use parley_proto::v1::{
    BotContext, BotTask, InboundMessage, InboundText, Locale, bot_task, inbound_message,
};

const ACME: &str = include_str!("../knowledge/acme.toml");

/// Sentences in the demo's languages, answered and not.
const DEMO_SENTENCES: &[&str] = &[
    "what r ur opening hours",
    "Où sont vos magasins ?",
    "¿Dónde está mi pedido?",
    "wo ist meine Bestellung",
    "متى تفتحون اليوم؟",
    "אני רוצה לדבר עם נציג",
    "营业时间是什么",
    "返品したいです",
    "my cat is called Felix",
    "I want to talk to a real person about the order I placed last week, it has not arrived",
];

/// A pseudo-word of `language` number `n` (deterministic; distinct per language and n).
fn word(language: usize, n: usize) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "fa", "gu", "ba", "zo", "ve",
    ];
    let letter = |base: u32, i: usize, span: usize| {
        char::from_u32(base + u32::try_from(i % span).unwrap_or(0)).unwrap_or('x')
    };
    match language {
        // Chinese: two characters of the CJK block.
        8 => [
            letter(0x4E00, n * 7, 20_000),
            letter(0x4E00, n * 13 + 5, 20_000),
        ]
        .iter()
        .collect(),
        // Arabic letters (beh to ghain and on).
        9 => (0..4)
            .map(|i| letter(0x0628, n / (i + 1) + i * 7, 20))
            .collect(),
        _ => {
            let mut w = String::new();
            let mut k = n + language * 1_000;
            for _ in 0..3 {
                w.push_str(SYLLABLES[k % SYLLABLES.len()]);
                k /= SYLLABLES.len();
            }
            w
        }
    }
}

const TAGS: &[&str] = &["en", "fr", "es", "de", "it", "pt", "nl", "he", "zh", "ar"];

/// 50 intents x 10 languages x 6 phrases of 4 words: each intent has 8 words of its own per
/// language and shares a pool of 40 common ones.
fn large() -> (Matcher, Vec<String>) {
    let mut phrases: Vec<(usize, &str, String)> = Vec::new();
    for intent in 0..50 {
        for (language, tag) in TAGS.iter().enumerate() {
            for p in 0..6 {
                let words: Vec<String> = (0..4)
                    .map(|i| {
                        if i == 3 {
                            word(language, 10_000 + (intent * 6 + p) % 40)
                        } else {
                            word(language, intent * 8 + (p + i) % 8)
                        }
                    })
                    .collect();
                let sep = if language == 8 { "" } else { " " };
                phrases.push((intent, tag, words.join(sep)));
            }
        }
    }
    let matcher = Matcher::new(phrases.iter().map(|(i, t, p)| (*i, *t, p.as_str())), 0.5);
    let mut sentences: Vec<String> = (0..10)
        .map(|language| {
            let sep = if language == 8 { "" } else { " " };
            [
                word(language, 17 * 8 + 1),
                word(language, 17 * 8 + 2),
                "please".into(),
            ]
            .join(sep)
        })
        .collect();
    sentences.push("nothing here matches at all, not one word of it".into());
    (matcher, sentences)
}

/// Wednesday 15 July 2026, 14:00 UTC.
const NOW: i64 = 1_784_124_000;

/// A customer's text as routing hands it to the bot, from an American device.
fn text_task(body: &str) -> BotTask {
    BotTask {
        context: Some(BotContext {
            locale: Some(Locale {
                apple: "en_US".into(),
                language_tag: "en-US".into(),
            }),
            within_business_hours: true,
            ..BotContext::default()
        }),
        task: Some(bot_task::Task::CustomerMessage(InboundMessage {
            kind: Some(inbound_message::Kind::Text(InboundText {
                body: body.into(),
                attachments: Vec::new(),
            })),
            ..InboundMessage::default()
        })),
        ..BotTask::default()
    }
}

fn bench(c: &mut Criterion) {
    let k = Knowledge::from_toml("acme.toml", ACME).expect("the demo knowledge is valid");
    c.bench_function("demo knowledge: one message", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % DEMO_SENTENCES.len();
            black_box(k.matcher.best(black_box(DEMO_SENTENCES[i])))
        });
    });
    let (matcher, sentences) = large();
    c.bench_function("50 intents x 10 languages: one message", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % sentences.len();
            black_box(matcher.best(black_box(&sentences[i])))
        });
    });
    let tasks: Vec<BotTask> = DEMO_SENTENCES
        .iter()
        .chain(&["and on Sunday?", "what about the Paris one?"])
        .map(|body| text_task(body))
        .collect();
    // A remembered hours question, so follow-ups are followed up.
    let memory = Memory {
        topic: "hours".into(),
        topic_at: NOW,
        ..Memory::default()
    };
    c.bench_function("demo knowledge: the whole decision for one message", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % tasks.len();
            black_box(answer(&k, black_box(&tasks[i]), &memory, NOW))
        });
    });
    c.bench_function("demo knowledge: build the matcher", |b| {
        b.iter(|| black_box(Knowledge::from_toml("acme.toml", ACME).is_ok()));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
