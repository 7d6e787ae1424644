//! Issue 16's conversation tests: answers in every language the matcher understands (the
//! language from the sentence, its script or the device), right-to-left text kept
//! right-to-left, times on the customer's clock.

use parley_bot::{Knowledge, Memory, Reply, answer, knowledge::IntentKind, knowledge::Text};

use super::fixtures::{ACME, WEDNESDAY_NOON, acme, all_caps, context, text_task};

fn say(k: &Knowledge, device: &str, body: &str, memory: &Memory, now: i64) -> Reply {
    answer(
        k,
        &text_task(context(device, &all_caps()), body),
        memory,
        now,
    )
}

fn joined(reply: &Reply) -> String {
    reply.texts().join("\n")
}

/// The first strong letter of a line outside directional isolates (what a renderer takes
/// the paragraph's direction from): true for right-to-left.
fn reads_right_to_left(line: &str) -> Option<bool> {
    let mut depth = 0u32;
    for c in line.chars() {
        match c {
            '\u{2066}'..='\u{2068}' => depth += 1,
            '\u{2069}' => depth = depth.saturating_sub(1),
            _ if depth == 0 && c.is_alphabetic() => {
                return Some(
                    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF),
                );
            }
            _ => {}
        }
    }
    None
}

const LANGUAGES: [&str; 8] = ["en", "fr", "es", "de", "ar", "he", "zh", "ja"];

fn device(language: &str) -> &'static str {
    match language {
        "en" => "en-GB",
        "fr" => "fr-FR",
        "es" => "es-ES",
        "de" => "de-DE",
        "ar" => "ar-SA",
        "he" => "he-IL",
        "zh" => "zh-CN",
        _ => "ja-JP",
    }
}

#[test]
fn every_intent_is_answered_in_every_language_of_the_matcher() {
    let k = acme();
    for language in LANGUAGES {
        if language != "en" {
            for text in [
                Text::HumanHint,
                Text::Fallback,
                Text::MenuTitle,
                Text::Greeting,
            ] {
                assert_ne!(
                    k.text(language, text),
                    k.text("en", text),
                    "{language}: {text:?} is English"
                );
            }
        }
        for intent in &k.intents {
            let Some(title) = intent.titles.get(language) else {
                continue;
            };
            if intent.answers.is_empty() {
                continue;
            }
            let Some(want) = intent.answers.get(language) else {
                panic!("intent {:?} has no answer in {language}", intent.id);
            };
            // Asked on a device of the language, and on an English device: the sentence's
            // language is the answer's.
            for on in [device(language), "en-US"] {
                let reply = say(&k, on, title, &Memory::default(), WEDNESDAY_NOON);
                assert_eq!(reply.memory.locale, language, "{title:?} on {on}");
                let first = reply.texts().first().cloned().unwrap_or_default();
                let expected = match (&want.quick_reply, intent.kind) {
                    (Some(quick), _) => quick.summary.clone(),
                    _ => want.text.clone(),
                };
                assert!(
                    first.starts_with(&expected),
                    "{title:?} on {on}: {first:?} does not start with {expected:?}"
                );
                if want.quick_reply.is_none() && intent.kind != IntentKind::Appointment {
                    assert!(
                        first.ends_with(&k.text(language, Text::HumanHint)),
                        "{title:?} on {on}: {first:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_message_not_understood_is_answered_in_the_language_its_script_gives_away() {
    let k = acme();
    for (body, language) in [
        ("שלום, החתול שלי נקרא פליקס", "he"),
        ("القطة نائمة على الأريكة", "ar"),
        ("猫が大好きです", "ja"),
        ("我的猫叫小白", "zh"),
    ] {
        let reply = say(&k, "en-US", body, &Memory::default(), WEDNESDAY_NOON);
        assert!(reply.missed, "{body:?}");
        assert_eq!(reply.memory.locale, language, "{body:?}");
        let first = reply.texts().first().cloned().unwrap_or_default();
        assert!(
            first == k.text(language, Text::Fallback) || first == k.text(language, Text::Clarify),
            "{body:?}: {first:?}"
        );
        assert_eq!(
            parley_bot::locale::script_language(&first),
            Some(language),
            "{first:?}"
        );
    }
    // Latin letters say nothing about the language: the device's.
    let reply = say(
        &k,
        "de-DE",
        "xyzzy plugh",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert_eq!(reply.texts()[0], k.text("de", Text::Fallback));
}

#[test]
fn han_characters_on_a_japanese_device_are_answered_in_japanese() {
    let k = acme();
    let reply = say(&k, "ja-JP", "営業時間", &Memory::default(), WEDNESDAY_NOON);
    assert_eq!(reply.memory.locale, "ja");
    assert!(
        joined(&reply).starts_with("現在の営業状況："),
        "{}",
        joined(&reply)
    );
    let reply = say(&k, "zh-CN", "营业时间", &Memory::default(), WEDNESDAY_NOON);
    assert_eq!(reply.memory.locale, "zh");
    assert!(
        joined(&reply).starts_with("我们目前的营业情况："),
        "{}",
        joined(&reply)
    );
}

#[test]
fn right_to_left_answers_stay_right_to_left_with_left_to_right_names_isolated() {
    // Paris without a Hebrew name: its English name is filled into Hebrew lines.
    let text = ACME.replace(", he = \"פריז מארה\"", "");
    assert_ne!(text, ACME);
    let k = Knowledge::from_toml("acme.toml", &text).unwrap();
    let reply = say(
        &k,
        "he-IL",
        "באילו שעות אתם פתוחים",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let body = joined(&reply);
    assert_eq!(reply.memory.locale, "he");
    assert!(
        body.contains("\u{2068}Paris Marais\u{2069}: פתוח עכשיו עד 19:00."),
        "{body:?}"
    );
    assert!(
        body.contains("מרכז העיר (ניו יורק): פתוח עכשיו עד 19:00."),
        "{body}"
    );
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        assert_eq!(reads_right_to_left(line), Some(true), "{line:?}");
    }
    // The file's own text is sent byte for byte.
    let reply = say(
        &k,
        "he-IL",
        "מדיניות החזרות",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let expected = "אפשר להחזיר כל מוצר שלא נפתח תוך 30 יום עם הקבלה, בחנות או בדואר. ההחזר מגיע לכרטיס שלך תוך 5 ימי עסקים.";
    assert!(ACME.contains(expected));
    assert!(joined(&reply).starts_with(expected), "{}", joined(&reply));
    // Arabic: a 12-hour clock with its own marks, still right to left.
    let reply = say(
        &parley_bot::Knowledge::from_toml("acme.toml", ACME).unwrap(),
        "ar-SA",
        "متى تفتحون",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let body = joined(&reply);
    assert!(
        body.contains("باريس ماريه: مفتوح الآن حتى 7:00 م."),
        "{body}"
    );
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        assert_eq!(reads_right_to_left(line), Some(true), "{line:?}");
    }
}

#[test]
fn times_are_on_the_customers_clock() {
    let k = acme();
    let hours = |device: &str, body: &str| {
        joined(&say(&k, device, body, &Memory::default(), WEDNESDAY_NOON))
    };
    assert!(
        hours("en-US", "opening hours").contains("Downtown (New York): open now until 7:00 PM.")
    );
    assert!(
        hours("en_US", "opening hours").contains("Madrid Sol: closed now, opens today at 5:00 PM.")
    );
    assert!(hours("en-GB", "opening hours").contains("Downtown (New York): open now until 19:00."));
    // A French sentence on an American device is answered in French, on a French clock.
    assert!(
        hours("en-US", "quels sont vos horaires").contains("Paris Marais : ouvert jusqu'à 19:00.")
    );
    assert!(hours("de-DE", "Öffnungszeiten").contains("Paris Marais: jetzt geöffnet bis 19:00."));
    assert!(
        hours("ja-JP", "営業時間")
            .contains("マドリード・ソル店：ただいま閉店中、今日17:00に開店します。")
    );
    assert!(
        hours("es-MX", "cuál es su horario")
            .contains("Madrid Sol: cerrado, abre hoy a las 5:00 p. m.")
    );
}
