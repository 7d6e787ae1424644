//! The bot's decisions for one task (pure: no bus, no store, a fixed clock).

use parley_bot::{
    Action, Knowledge, Memory, answer,
    answer::{INTENT_CHOICE, LOCATION_CHOICE},
};
use parley_proto::v1::{
    BotTask, Capability, EscalationReason, EscalationStatus, EscalationUpdate, EventMeta,
    InboundMessage, InteractiveReply, ListPickerItem, ListPickerReply, ListPickerSection,
    ReturnedFromAgent, bot_task, inbound_message, interactive_reply, outbound_message::Kind,
};

use super::fixtures::{ACME, ACME_ID, WEDNESDAY_NOON, acme, all_caps, context, text_task};

fn say(k: &Knowledge, locale: &str, body: &str, memory: &Memory, now: i64) -> parley_bot::Reply {
    answer(
        k,
        &text_task(context(locale, &all_caps()), body),
        memory,
        now,
    )
}

fn joined(reply: &parley_bot::Reply) -> String {
    reply.texts().join("\n---\n")
}

fn list_items(reply: &parley_bot::Reply) -> Vec<(String, String)> {
    reply
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Send(Kind::ListPicker(l)) => Some(
                l.sections
                    .iter()
                    .flat_map(|s| s.items.iter())
                    .map(|i| (i.identifier.clone(), i.title.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn hours_per_location_in_its_own_time_zone() {
    let k = acme();
    // Wednesday 15 July 2026, 14:00 UTC: New York 10:00, Paris and Madrid 16:00 (siesta).
    // An en-US device reads a 12-hour clock.
    let reply = say(
        &k,
        "en-US",
        "when are you open?",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let text = joined(&reply);
    assert!(
        text.starts_with("Our opening hours, right now:\n"),
        "{text}"
    );
    assert!(
        text.contains("Downtown (New York): open now until 7:00 PM."),
        "{text}"
    );
    assert!(
        text.contains("Paris Marais: open now until 7:00 PM."),
        "{text}"
    );
    assert!(
        text.contains("Madrid Sol: closed now, opens today at 5:00 PM."),
        "{text}"
    );
    assert!(
        text.ends_with("Type \"agent\" at any time to talk to a person."),
        "{text}"
    );
}

#[test]
fn hours_on_a_holiday_and_in_french_with_local_day_names() {
    let k = acme();
    // Friday 25 December 2026, 15:00 UTC: a holiday everywhere.
    let text = joined(&say(
        &k,
        "en-US",
        "opening hours",
        &Memory::default(),
        1_798_210_800,
    ));
    assert!(
        text.contains(
            "Downtown (New York): closed today for a holiday, opens tomorrow at 8:00 AM."
        ),
        "{text}"
    );
    assert!(
        text.contains("Paris Marais: closed today for a holiday, opens tomorrow at 9:00 AM."),
        "{text}"
    );
    // Sunday 19 July 2026, 12:00 UTC, asked in French: Paris is closed Sunday and Monday.
    let text = joined(&say(
        &k,
        "en-US",
        "quels sont vos horaires ?",
        &Memory::default(),
        1_784_462_400,
    ));
    assert!(text.starts_with("Nos horaires, en ce moment :"), "{text}");
    assert!(
        text.contains("Paris Marais : fermé, ouvre mardi à 08:00."),
        "{text}"
    );
    // 12:00 UTC is 08:00 in New York.
    assert!(
        text.contains("Centre-ville (New York) : fermé, ouvre aujourd'hui à 09:00."),
        "{text}"
    );
    assert!(
        text.contains("Madrid Sol : fermé, ouvre demain à 08:00."),
        "{text}"
    );
}

#[test]
fn agent_support_help_always_escalate_with_the_word() {
    let k = acme();
    for word in ["agent", "Support", "HELP!", " help 🙏 ", "Agente"] {
        let reply = say(&k, "en-US", word, &Memory::default(), WEDNESDAY_NOON);
        let escalation = reply
            .escalation()
            .unwrap_or_else(|| panic!("{word:?} did not escalate"));
        assert_eq!(escalation.reason(), EscalationReason::TriggerWord, "{word}");
        assert!(!escalation.trigger_word.is_empty());
        assert!(joined(&reply).contains("I'm connecting you with a person."));
        // The escalation comes after the customer is told.
        assert!(matches!(reply.actions.last(), Some(Action::Escalate(_))));
    }
}

#[test]
fn menu_list_and_question_mark_show_the_menu_as_a_list_picker() {
    let k = acme();
    for word in ["menu", "LIST", "?", "menú"] {
        let reply = say(&k, "en-US", word, &Memory::default(), WEDNESDAY_NOON);
        let items = list_items(&reply);
        assert_eq!(items.len(), 6, "{word}");
        assert_eq!(
            items[0],
            (format!("{INTENT_CHOICE}hours"), "Opening hours".into())
        );
        assert_eq!(
            items[5],
            (format!("{INTENT_CHOICE}human"), "Talk to a person".into())
        );
        assert_eq!(reply.memory.menu.len(), 6);
        assert!(reply.escalation().is_none());
    }
}

#[test]
fn preference_words_are_left_to_notification_consent_and_the_bot_stays_silent() {
    let k = acme();
    for word in [
        "unsubscribe",
        "SPAM",
        "stop",
        "End.",
        "baja",
        "subscribe",
        "Alta!",
    ] {
        for locale in ["en-US", "fr-FR"] {
            let reply = say(&k, locale, word, &Memory::default(), WEDNESDAY_NOON);
            assert!(reply.actions.is_empty(), "{word:?}: {:?}", reply.actions);
        }
    }
    // A sentence is not a keyword: the bot answers it.
    let reply = say(
        &k,
        "en-US",
        "stop my order",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert!(!reply.actions.is_empty());
}

#[test]
fn a_device_without_list_picker_gets_numbered_text_in_its_language_and_a_number_chooses() {
    let k = acme();
    let ctx = context("fr-FR", &[Capability::QuickReply]);
    let reply = answer(
        &k,
        &text_task(ctx.clone(), "menu"),
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert!(list_items(&reply).is_empty());
    let text = joined(&reply);
    assert!(
        text.starts_with("Comment puis-je vous aider ?\n\n1. Horaires\n2. Nos boutiques\n"),
        "{text}"
    );
    assert!(text.contains("1. Horaires"), "{text}");
    assert!(text.contains("6. Parler à une personne"), "{text}");
    assert!(text.ends_with("Répondez avec un numéro."), "{text}");
    // "2" picks the second choice: the stores, again as text.
    let next = answer(
        &k,
        &text_task(ctx.clone(), " 2 "),
        &reply.memory,
        WEDNESDAY_NOON,
    );
    let text = joined(&next);
    assert!(text.starts_with("Nos boutiques"), "{text}");
    assert_eq!(next.memory.menu[0], format!("{LOCATION_CHOICE}downtown"));
    // "1" now picks the first store.
    let store = answer(
        &k,
        &text_task(ctx.clone(), "1"),
        &next.memory,
        WEDNESDAY_NOON,
    );
    let text = joined(&store);
    assert!(
        text.starts_with("Centre-ville (New York)\n12 Main Street, New York\n"),
        "{text}"
    );
    assert!(store
        .actions
        .iter()
        .any(|a| matches!(a, Action::Send(Kind::RichLink(l)) if l.url == "https://acme.example/stores/downtown")));
    // "6" is a person.
    let person = answer(&k, &text_task(ctx, "6"), &reply.memory, WEDNESDAY_NOON);
    assert_eq!(
        person
            .escalation()
            .map(parley_proto::v1::EscalateToHuman::reason),
        Some(EscalationReason::CustomerChoice)
    );
}

#[test]
fn a_list_picker_reply_chooses_its_item() {
    let k = acme();
    let task = BotTask {
        meta: Some(EventMeta {
            event_id: "task-9".into(),
            sequence: 9,
            ..EventMeta::default()
        }),
        context: Some(context("es-ES", &all_caps())),
        task: Some(bot_task::Task::CustomerMessage(InboundMessage {
            kind: Some(inbound_message::Kind::InteractiveReply(InteractiveReply {
                reply: Some(interactive_reply::Reply::ListPicker(ListPickerReply {
                    sections: vec![ListPickerSection {
                        items: vec![ListPickerItem {
                            identifier: format!("{INTENT_CHOICE}returns"),
                            ..ListPickerItem::default()
                        }],
                        ..ListPickerSection::default()
                    }],
                })),
                ..InteractiveReply::default()
            })),
            ..InboundMessage::default()
        })),
    };
    let text = joined(&answer(&k, &task, &Memory::default(), WEDNESDAY_NOON));
    assert!(
        text.starts_with("Puedes devolver cualquier artículo"),
        "{text}"
    );
}

#[test]
fn misunderstood_twice_in_a_row_goes_to_a_person() {
    let k = acme();
    let first = say(
        &k,
        "en-US",
        "my cat is called Felix",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert!(first.escalation().is_none());
    assert_eq!(first.memory.misses, 1);
    assert!(first.missed);
    assert!(joined(&first).starts_with("Sorry, I didn't understand that."));
    assert_eq!(list_items(&first).len(), 6, "the menu follows the apology");
    let second = say(
        &k,
        "en-US",
        "purple monkey dishwasher",
        &first.memory,
        WEDNESDAY_NOON,
    );
    assert_eq!(
        second
            .escalation()
            .map(parley_proto::v1::EscalateToHuman::reason),
        Some(EscalationReason::BotFallback)
    );
    assert_eq!(second.memory.misses, 0);
    // An understood message in between resets the count.
    let understood = say(&k, "en-US", "wifi password", &first.memory, WEDNESDAY_NOON);
    assert_eq!(understood.memory.misses, 0);
}

#[test]
fn asking_for_a_person_in_a_sentence_escalates_in_any_language() {
    let k = acme();
    for text in [
        "I want to talk to a real person",
        "je veux parler à quelqu'un",
        "quiero hablar con una persona",
    ] {
        let reply = say(&k, "en-US", text, &Memory::default(), WEDNESDAY_NOON);
        assert_eq!(
            reply
                .escalation()
                .map(parley_proto::v1::EscalateToHuman::reason),
            Some(EscalationReason::CustomerChoice),
            "{text}"
        );
    }
    let reply = say(
        &k,
        "en-US",
        "je veux parler à quelqu'un",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert!(joined(&reply).contains("Je vous mets en relation avec une personne."));
}

#[test]
fn arabic_answers_pass_through_untouched() {
    let k = acme();
    let reply = say(&k, "ar", "متى تفتحون؟", &Memory::default(), WEDNESDAY_NOON);
    let text = joined(&reply);
    assert!(text.starts_with("ساعات العمل لدينا الآن:\n"), "{text}");
    assert!(
        text.contains("وسط المدينة (نيويورك): مفتوح الآن حتى 7:00 م."),
        "{text}"
    );
    assert_eq!(reply.memory.locale, "ar");
    let reply = say(
        &k,
        "ar",
        "كيف أرجع منتجا",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let expected = "يمكنك إرجاع أي منتج غير مفتوح خلال 30 يومًا مع الإيصال، في المتجر أو بالبريد. يصل المبلغ المسترد إلى بطاقتك خلال 5 أيام عمل.";
    assert!(ACME.contains(expected));
    assert!(joined(&reply).starts_with(expected), "byte for byte");
}

#[test]
fn answers_are_wrapped_in_typing_indicators_and_links_follow_text() {
    let k = acme();
    let reply = say(
        &k,
        "en-US",
        "what drinks do you have",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let kinds: Vec<&str> = reply
        .actions
        .iter()
        .map(|a| match a {
            Action::Send(Kind::TypingStart(_)) => "typing_start",
            Action::Send(Kind::TypingEnd(_)) => "typing_end",
            Action::Send(Kind::Text(_)) => "text",
            Action::Send(Kind::RichLink(_)) => "rich_link",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["typing_start", "text", "rich_link", "typing_end"]);
    // Typing ends before the escalation command.
    let reply = say(&k, "en-US", "agent", &Memory::default(), WEDNESDAY_NOON);
    assert!(matches!(
        reply.actions[reply.actions.len() - 2],
        Action::Send(Kind::TypingEnd(_))
    ));
}

#[test]
fn a_new_conversation_is_greeted() {
    let k = acme();
    let mut ctx = context("es-MX", &all_caps());
    ctx.new_conversation = true;
    let reply = answer(
        &k,
        &text_task(ctx, "tienen wifi?"),
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let texts = reply.texts();
    assert_eq!(texts[0], "¡Hola! Soy el asistente de Acme Coffee.");
    assert!(texts[1].starts_with("Sí: wifi gratis"));
}

fn update(status: EscalationStatus, position: u32, within_hours: bool) -> BotTask {
    let mut ctx = context("en-US", &all_caps());
    ctx.within_business_hours = within_hours;
    BotTask {
        meta: Some(EventMeta::default()),
        context: Some(ctx),
        task: Some(bot_task::Task::EscalationUpdate(EscalationUpdate {
            status: status as i32,
            queue: "general".into(),
            position,
            ..EscalationUpdate::default()
        })),
    }
}

#[test]
fn escalation_updates_keep_the_customer_informed() {
    let k = acme();
    let texts = |task: &BotTask| answer(&k, task, &Memory::default(), WEDNESDAY_NOON).texts();
    assert_eq!(
        texts(&update(EscalationStatus::Queued, 3, true)),
        ["You're number 3 in line; a person will answer shortly."]
    );
    // Routing tells the customer their place (or the hours) itself on entering the queue.
    assert!(texts(&update(EscalationStatus::Queued, 0, true)).is_empty());
    assert!(texts(&update(EscalationStatus::Queued, 0, false)).is_empty());
    assert_eq!(
        texts(&update(EscalationStatus::NoAgentsAvailable, 0, true)).len(),
        1
    );
    assert!(texts(&update(EscalationStatus::Assigned, 0, true)).is_empty());
    let back = BotTask {
        meta: Some(EventMeta::default()),
        context: Some(context("en-US", &all_caps())),
        task: Some(bot_task::Task::ReturnedFromAgent(
            ReturnedFromAgent::default(),
        )),
    };
    let reply = answer(&k, &back, &Memory::default(), WEDNESDAY_NOON);
    assert_eq!(reply.texts()[0], "I'm back. How else can I help?");
    assert_eq!(list_items(&reply).len(), 6);
}

#[test]
fn a_business_without_knowledge_hands_every_message_to_a_person() {
    let k = Knowledge::empty(parley_types::BusinessId::new(ACME_ID).unwrap());
    let reply = say(
        &k,
        "en-US",
        "when are you open",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert_eq!(
        reply
            .escalation()
            .map(parley_proto::v1::EscalateToHuman::reason),
        Some(EscalationReason::NoBot)
    );
}

#[test]
fn no_input_panics_and_every_reply_offers_a_person() {
    let k = acme();
    let long = "a".repeat(200_000);
    let words = "open ".repeat(50_000);
    let inputs = [
        "",
        " ",
        "\0",
        "\u{202E}evil",
        "\u{FEFF}",
        "🙂",
        "1",
        "0",
        "999",
        "-1",
        "#",
        "?!?",
        long.as_str(),
        words.as_str(),
        "ﷺ",
        "\u{1F600}\u{200D}\u{1F600}",
        "Ǆ",
        "İstanbul",
    ];
    for input in inputs {
        for memory in [
            Memory::default(),
            Memory {
                menu: vec!["intent:nope".into()],
                misses: 1,
                locale: "xx".into(),
                ..Memory::default()
            },
            // A remembered topic that no longer makes sense: an unknown day and location.
            Memory {
                topic: "hours".into(),
                topic_at: i64::MIN,
                day: "someday".into(),
                location: "atlantis".into(),
                ..Memory::default()
            },
        ] {
            let reply = say(&k, "en-US", input, &memory, i64::MIN);
            let offers_person = reply.escalation().is_some()
                || list_items(&reply)
                    .iter()
                    .any(|(id, _)| id == "intent:human")
                || joined(&reply).contains("agent");
            assert!(offers_person, "{input:?}: {:?}", reply.texts());
        }
    }
    // A task without context, meta or content.
    let reply = answer(&k, &BotTask::default(), &Memory::default(), 0);
    assert!(reply.actions.is_empty());
}

/// A small deterministic generator (xorshift), so the run is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self) -> String {
        const POOLS: &[&[char]] = &[
            &['a', 'e', 'o', 'n', 'p', 'h', 'r', 's', 't', 'w', ' ', ' '],
            &['é', 'è', 'ñ', 'ü', '\u{301}', '\u{308}', 'ß', 'İ', 'Ǆ'],
            &[
                'ع', 'ل', 'م', 'ש', 'ל', 'ו', '\u{200F}', '\u{202E}', '\u{64B}',
            ],
            &['🙂', '🛑', '\u{200D}', '\u{FE0F}', '☕', '\u{1F1EB}'],
            &[
                '0', '1', '2', '9', '#', '?', '!', '.', '\u{0}', '\n', '\u{FEFF}',
            ],
        ];
        let len = usize::try_from(self.next() % 24).unwrap_or(0);
        (0..len)
            .map(|_| {
                let pool = POOLS[usize::try_from(self.next() % 5).unwrap_or(0)];
                pool[usize::try_from(self.next()).unwrap_or(0) % pool.len()]
            })
            .collect()
    }
}

#[test]
fn two_thousand_random_messages_never_panic_and_decide_the_same_twice() {
    let k = acme();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut memory = Memory::default();
    for round in 0..2_000 {
        let text = rng.text();
        let caps = if round % 3 == 0 { vec![] } else { all_caps() };
        let task = text_task(
            context(["en-US", "fr", "ar", "zz"][round % 4], &caps),
            &text,
        );
        let now = i64::try_from(rng.next() >> 2).unwrap_or(0) % 4_000_000_000;
        let first = answer(&k, &task, &memory, now);
        let again = answer(&k, &task, &memory, now);
        assert_eq!(first, again, "{text:?}");
        assert!(!first.actions.is_empty(), "{text:?}: no reply at all");
        memory = first.memory;
    }
}

#[test]
fn outside_business_hours_the_customer_is_told_no_one_answers_yet() {
    let k = acme();
    let mut ctx = context("es-ES", &all_caps());
    ctx.within_business_hours = false;
    let reply = answer(
        &k,
        &text_task(ctx, "agent"),
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert_eq!(
        reply.texts(),
        ["Ahora estamos cerrados; una persona te responderá cuando abramos."]
    );
    assert_eq!(
        reply
            .escalation()
            .map(parley_proto::v1::EscalateToHuman::reason),
        Some(EscalationReason::TriggerWord),
        "queued all the same"
    );
}

#[test]
fn every_url_of_an_answer_is_also_sent_as_a_rich_link() {
    let text = r#"
business = "biz-1"
[[intents]]
id = "docs"
phrases.en = ["where are the docs"]
answer.en = { text = "See https://a.example/docs, or (https://a.example/faq). Also https://a.example/docs.", link = { url = "https://a.example/docs", title = "Docs" } }
"#;
    let k = Knowledge::from_toml("docs.toml", text).unwrap();
    let reply = say(
        &k,
        "en-US",
        "where are the docs",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    let links: Vec<(String, String)> = reply
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(Kind::RichLink(l)) => Some((l.url.clone(), l.title.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        links,
        [
            ("https://a.example/docs".to_owned(), "Docs".to_owned()),
            ("https://a.example/faq".to_owned(), String::new()),
        ]
    );
    assert_eq!(
        parley_bot::answer::urls("x https://b.example/a?b=1! y"),
        ["https://b.example/a?b=1"]
    );
}

#[test]
fn the_language_of_the_last_understood_message_sticks_for_menus_and_apologies() {
    let k = acme();
    let first = say(
        &k,
        "en-US",
        "où sont vos magasins ?",
        &Memory::default(),
        WEDNESDAY_NOON,
    );
    assert_eq!(first.memory.locale, "fr");
    let menu = say(&k, "en-US", "menu", &first.memory, WEDNESDAY_NOON);
    assert_eq!(menu.texts(), ["Comment puis-je vous aider ?"]);
    let sorry = say(
        &k,
        "en-US",
        "purple monkey dishwasher",
        &first.memory,
        WEDNESDAY_NOON,
    );
    assert_eq!(sorry.texts()[0], "Désolé, je n'ai pas compris.");
    // A sentence in another language switches.
    let spanish = say(&k, "en-US", "tienen wifi?", &first.memory, WEDNESDAY_NOON);
    assert_eq!(spanish.memory.locale, "es");
}
