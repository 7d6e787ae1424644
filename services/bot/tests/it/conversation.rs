//! Issue 16's conversation tests: answers in every language the matcher understands (the
//! language from the sentence, its script or the device), right-to-left text kept
//! right-to-left, times on the customer's clock, and follow-ups ("and on Sunday?", "what
//! about the Paris one?") answered from what the bot remembers of the last question.

use parley_bot::{Knowledge, Memory, Reply, answer, knowledge::IntentKind, knowledge::Text};
use parley_proto::v1::{
    InteractiveReply, ListPickerItem, ListPickerReply, ListPickerSection, bot_task,
    inbound_message, interactive_reply,
};

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

#[test]
fn a_named_day_gets_that_days_hours_per_location() {
    let k = acme();
    // Wednesday 15 July 2026; Sunday is the 19th.
    let body = joined(&say(
        &k,
        "en-US",
        "are you open on sunday?",
        &Memory::default(),
        WEDNESDAY_NOON,
    ));
    assert!(!body.contains("right now"), "{body}");
    assert!(
        body.contains("Downtown (New York), Sunday: 9:00 AM–5:00 PM."),
        "{body}"
    );
    assert!(body.contains("Paris Marais: closed Sunday."), "{body}");
    assert!(body.contains("Madrid Sol: closed Sunday."), "{body}");
    // Two intervals, tomorrow, in German.
    let body = joined(&say(
        &k,
        "de-DE",
        "Haben Sie morgen geöffnet?",
        &Memory::default(),
        WEDNESDAY_NOON,
    ));
    assert!(
        body.contains("Paris Marais, morgen: 08:00–12:30, 13:30–19:00."),
        "{body}"
    );
    // A holiday is closed: Christmas is a Friday in 2026, asked on the Wednesday before.
    let body = joined(&say(
        &k,
        "en-GB",
        "are you open on friday",
        &Memory::default(),
        1_798_034_400,
    ));
    assert!(
        body.contains("Downtown (New York): closed Friday."),
        "{body}"
    );
    // Today and now ask for the moment.
    let body = joined(&say(
        &k,
        "en-US",
        "are you open today",
        &Memory::default(),
        WEDNESDAY_NOON,
    ));
    assert!(
        body.contains("Downtown (New York): open now until 7:00 PM."),
        "{body}"
    );
}

#[test]
fn a_follow_up_answers_the_last_question_for_what_it_names() {
    let k = acme();
    let first = say(
        &k,
        "en-US",
        "when are you open?",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert_eq!(first.memory.topic, "hours");
    // "and on Sunday?" alone is not a question the matcher understands.
    let alone = say(
        &k,
        "en-US",
        "and on Sunday?",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert!(alone.missed, "{}", joined(&alone));

    let sunday = say(
        &k,
        "en-US",
        "and on Sunday?",
        &first.memory,
        WEDNESDAY_NOON + 60,
    );
    let body = joined(&sunday);
    assert!(!sunday.missed, "{body}");
    assert!(
        body.contains("Downtown (New York), Sunday: 9:00 AM–5:00 PM."),
        "{body}"
    );
    assert!(body.contains("Paris Marais: closed Sunday."), "{body}");
    assert!(body.ends_with(&k.text("en", Text::HumanHint)), "{body}");
    assert_eq!(sunday.memory.day, "sun");

    // A location named: that location, on the day remembered.
    let paris = say(
        &k,
        "en-US",
        "what about the Paris one?",
        &sunday.memory,
        WEDNESDAY_NOON + 120,
    );
    let body = joined(&paris);
    assert!(body.starts_with("Paris Marais: closed Sunday."), "{body}");
    assert!(!body.contains("Downtown"), "{body}");
    // Another day: the location remembered.
    let tomorrow = say(
        &k,
        "en-US",
        "and tomorrow?",
        &paris.memory,
        WEDNESDAY_NOON + 180,
    );
    let body = joined(&tomorrow);
    assert!(
        body.starts_with("Paris Marais, tomorrow: 8:00 AM–12:30 PM, 1:30 PM–7:00 PM."),
        "{body}"
    );
    // "now" asks for the moment.
    let now = say(
        &k,
        "en-US",
        "and now?",
        &tomorrow.memory,
        WEDNESDAY_NOON + 240,
    );
    assert!(
        joined(&now).contains("Paris Marais: open now until 7:00 PM."),
        "{}",
        joined(&now)
    );

    // A new question is a new topic; a follow-up after the memory's time is a miss.
    let late = say(
        &k,
        "en-US",
        "and on Sunday?",
        &first.memory,
        WEDNESDAY_NOON + 16 * 60,
    );
    assert!(late.missed, "{}", joined(&late));
    let other = say(
        &k,
        "en-US",
        "my mug arrived broken",
        &first.memory,
        WEDNESDAY_NOON + 60,
    );
    assert_eq!(other.memory.topic, "returns");
    let after = say(
        &k,
        "en-US",
        "and on Sunday?",
        &other.memory,
        WEDNESDAY_NOON + 120,
    );
    assert!(
        after.missed,
        "a returns answer has no day: {}",
        joined(&after)
    );
}

#[test]
fn follow_ups_in_every_language() {
    let k = acme();
    for (device, question, follow_up, want) in [
        (
            "de-DE",
            "Wann haben Sie geöffnet?",
            "Und am Sonntag?",
            "Downtown (New York), Sonntag: 09:00–17:00.",
        ),
        (
            "fr-FR",
            "quels sont vos horaires",
            "et dimanche ?",
            "Centre-ville (New York), dimanche : 09:00–17:00.",
        ),
        (
            "es-ES",
            "cuál es su horario",
            "¿y el domingo?",
            "Centro (Nueva York), domingo: 09:00–17:00.",
        ),
        (
            "he-IL",
            "באילו שעות אתם פתוחים",
            "ומה לגבי יום ראשון?",
            "מרכז העיר (ניו יורק), יום ראשון: 09:00–17:00.",
        ),
        (
            "ar-SA",
            "متى تفتحون",
            "ويوم الأحد؟",
            "وسط المدينة (نيويورك)، الأحد: 9:00 ص–5:00 م.",
        ),
        (
            "zh-CN",
            "你们什么时候营业",
            "星期天呢？",
            "市中心店（纽约），星期日：09:00–17:00。",
        ),
        (
            "ja-JP",
            "何時から営業していますか",
            "日曜日は？",
            "ダウンタウン店（ニューヨーク）、日曜日：09:00–17:00。",
        ),
    ] {
        let first = say(&k, device, question, &Memory::default(), WEDNESDAY_NOON);
        assert!(!first.missed, "{question:?}");
        let next = say(&k, device, follow_up, &first.memory, WEDNESDAY_NOON + 30);
        let body = joined(&next);
        assert!(!next.missed, "{follow_up:?}: {body}");
        assert!(body.contains(want), "{follow_up:?}: {body}");
    }
}

#[test]
fn a_store_named_in_a_question_or_chosen_is_what_follow_ups_are_about() {
    let k = acme();
    // Named in a locations question: that store, not the list.
    let reply = say(
        &k,
        "en-US",
        "where is your Paris store?",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let body = joined(&reply);
    assert!(
        body.starts_with("Paris Marais\n5 rue des Archives, Paris"),
        "{body}"
    );
    // Named in an hours question: that store's hours only.
    let reply = say(
        &k,
        "en-US",
        "when is the Madrid store open?",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let body = joined(&reply);
    assert!(
        body.contains("Madrid Sol: closed now, opens today at 5:00 PM."),
        "{body}"
    );
    assert!(!body.contains("Paris"), "{body}");
    // Chosen from the list of stores, then a day: that store's hours on that day.
    let list = say(
        &k,
        "en-US",
        "store locations",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let picked = parley_proto::v1::BotTask {
        task: Some(bot_task::Task::CustomerMessage(
            parley_proto::v1::InboundMessage {
                kind: Some(inbound_message::Kind::InteractiveReply(InteractiveReply {
                    reply: Some(interactive_reply::Reply::ListPicker(ListPickerReply {
                        sections: vec![ListPickerSection {
                            items: vec![ListPickerItem {
                                identifier: "location:downtown".into(),
                                ..ListPickerItem::default()
                            }],
                            ..ListPickerSection::default()
                        }],
                    })),
                    ..InteractiveReply::default()
                })),
                ..parley_proto::v1::InboundMessage::default()
            },
        )),
        ..text_task(context("en-US", &all_caps()), "")
    };
    let chosen = answer(&k, &picked, &list.memory, WEDNESDAY_NOON + 10);
    assert_eq!(chosen.memory.location, "downtown");
    let saturday = say(
        &k,
        "en-US",
        "open on saturday?",
        &chosen.memory,
        WEDNESDAY_NOON + 20,
    );
    let body = joined(&saturday);
    assert!(
        body.starts_with("Downtown (New York), Saturday: 8:00 AM–9:00 PM."),
        "{body}"
    );
    assert!(!body.contains("Paris"), "{body}");
}

#[test]
fn a_sentence_asking_for_another_answer_is_no_follow_up_even_if_it_opens_like_one() {
    let k = acme();
    for (device, question, sentence, want) in [
        (
            "ar-SA",
            "متى تفتحون",
            "وصلني الكوب مكسورا يوم السبت",
            "returns",
        ),
        (
            "en-US",
            "when are you open?",
            "and my order is late since monday",
            "orders",
        ),
        (
            "en-US",
            "when are you open?",
            "and do you have wifi on sunday?",
            "wifi",
        ),
        (
            "de-DE",
            "Wann haben Sie geöffnet?",
            "Und Ihre Rückgabebedingungen am Samstag?",
            "returns",
        ),
    ] {
        let first = say(&k, device, question, &Memory::default(), WEDNESDAY_NOON);
        assert_eq!(first.memory.topic, "hours", "{question:?}");
        let next = say(&k, device, sentence, &first.memory, WEDNESDAY_NOON + 30);
        assert!(!next.missed, "{sentence:?}: {}", joined(&next));
        assert_eq!(next.memory.topic, want, "{sentence:?}: {}", joined(&next));
    }
}

#[test]
fn a_files_own_texts_come_first_then_parleys_in_the_customers_language() {
    let file = ACME.replace(
        "[messages.en]\n",
        "[messages.en]\nassigned = \"An agent has joined.\"\n",
    );
    let k = Knowledge::from_toml("acme.toml", &file).unwrap();
    // The file's French text, Parley's German one, the file's English one where Parley has
    // none of its own in German (an agent joining says nothing unless a file says it).
    assert_eq!(k.text("fr", Text::LocationsTitle), "Nos boutiques");
    assert_eq!(k.text("de", Text::LocationsTitle), "Unsere Filialen");
    assert_eq!(k.text("de", Text::Assigned), "An agent has joined.");
    assert_eq!(acme().text("de", Text::Assigned), "");
    assert_eq!(k.day_name("he", 6), "יום ראשון");
    assert_eq!(k.day_name("fr", 6), "dimanche");
    assert_eq!(k.day_name("xx", 6), "Sunday");
}

fn slot_starts(reply: &Reply) -> Vec<i64> {
    use parley_bot::Action;
    use parley_proto::v1::outbound_message::Kind;
    reply
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Send(Kind::TimePicker(t)) => t.event.clone(),
            _ => None,
        })
        .map(|e| {
            e.timeslots
                .iter()
                .filter_map(|s| s.start_time.map(|t| t.seconds))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_day_named_for_an_appointment_offers_that_days_slots_and_a_follow_up_another_day() {
    let k = acme();
    // Wednesday 15 July 2026, 10:00 in New York; Downtown opens 07:00 on Thursday and Friday.
    let thursday_7 = 1_784_199_600; // 2026-07-16T11:00:00Z
    let friday_7 = thursday_7 + 86_400;
    let friday = say(
        &k,
        "en-US",
        "i want to book a tasting on friday",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let starts = slot_starts(&friday);
    assert_eq!(starts.len(), 6, "{}", joined(&friday));
    assert_eq!(starts[0], friday_7);
    assert!(
        starts
            .iter()
            .all(|&at| (friday_7..friday_7 + 86_400).contains(&at))
    );
    assert_eq!(friday.memory.topic, "tasting");
    // "and on Thursday?": Thursday's slots.
    let thursday = say(
        &k,
        "en-US",
        "and on Thursday?",
        &friday.memory,
        WEDNESDAY_NOON + 30,
    );
    let starts = slot_starts(&thursday);
    assert_eq!(starts.first(), Some(&thursday_7), "{}", joined(&thursday));
    assert!(
        starts
            .iter()
            .all(|&at| (thursday_7..thursday_7 + 86_400).contains(&at))
    );
    // Picking one confirms it on the customer's clock.
    let picked = say(&k, "en-US", "1", &thursday.memory, WEDNESDAY_NOON + 60);
    assert!(
        joined(&picked).starts_with(
            "You're booked: coffee tasting at Downtown (New York), tomorrow at 7:00 AM."
        ),
        "{}",
        joined(&picked)
    );
    // A day past the days offered (3): the next slots, from today.
    let monday = say(
        &k,
        "en-US",
        "i want to book a tasting on monday",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert_eq!(
        slot_starts(&monday).first(),
        Some(&(WEDNESDAY_NOON + 3_600))
    );
}
