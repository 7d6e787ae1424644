//! The bot service against real NATS and Redis: numbering on the shared outbound counter,
//! memory across tasks, escalation commands, redelivery and order, opt-outs, external bots.

use std::time::Duration;

use parley_bot::STAGE_BOT;
use parley_proto::v1::{
    ActorKind, EscalationReason, OutboundMessage, bot_task, outbound_message::Kind, routing_command,
};
use parley_state::facts;
use parley_types::EventId;

use super::{
    fixtures::{all_caps, context},
    harness::{EXTERNAL, acme_key, key, opaque_of, platform},
};

const WITHIN: Duration = Duration::from_secs(15);

/// Every message of `events`, in order: each event's parts (one event per answer: its typing
/// indicators, greeting and answer are parts of it).
fn parts(events: &[OutboundMessage]) -> Vec<OutboundMessage> {
    events.iter().flat_map(parley_wire::parts::expand).collect()
}

fn kinds(events: &[OutboundMessage]) -> Vec<&'static str> {
    parts(events)
        .iter()
        .map(|m| match m.kind.as_ref() {
            Some(Kind::TypingStart(_)) => "typing_start",
            Some(Kind::TypingEnd(_)) => "typing_end",
            Some(Kind::Text(_)) => "text",
            Some(Kind::RichLink(_)) => "rich_link",
            Some(Kind::ListPicker(_)) => "list_picker",
            _ => "other",
        })
        .collect()
}

fn sequences(messages: &[OutboundMessage]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m.meta.as_ref().map_or(0, |m| m.sequence))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_numbered_after_the_agent_gateways_on_the_shared_outbound_counter() {
    let p = platform().await;
    let key = acme_key("numbers");
    let store = &p.backends.store;
    // An agent reply took outbound number 1 (the agent gateway allocates from this counter).
    let agent = store
        .allocate_sequence(&key, facts::COUNTER_OUTBOUND, Some("agent-reply-1"))
        .await
        .unwrap();
    assert_eq!(agent.get(), 1);

    p.say(&key, 1, "wifi password?").await;
    // One event per answer: the typing indicators and the answer are its parts.
    let first = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&first), ["typing_start", "text", "typing_end"]);
    assert_eq!(sequences(&first), [2]);
    let all_parts = parts(&first);
    let mut ids: Vec<&str> = all_parts
        .iter()
        .map(|m| m.apple_message_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one Apple id per message");
    let more = p.outbound_messages(1, Duration::from_secs(1)).await;
    assert!(more.is_empty(), "more than one event: {:?}", kinds(&more));
    for message in &first {
        let sender = message.sender.as_ref().unwrap();
        assert_eq!(sender.kind(), ActorKind::Bot);
        assert!(message.auto_reply);
        assert_eq!(message.msp_agent, "Acme Assistant");
        assert!(!message.business_initiated);
        let meta = message.meta.as_ref().unwrap();
        assert_eq!(
            meta.causation_id,
            format!("task-{:016x}-1", key.stable_hash())
        );
        assert_eq!(meta.producer, "bot");
        let apple = uuid::Uuid::parse_str(&message.apple_message_id).unwrap();
        assert_eq!(
            message.apple_message_id,
            parley_bot::handler::apple_message_id(&EventId::new(meta.event_id.clone()).unwrap()),
            "derived from the event id"
        );
        assert_eq!(apple.get_version_num(), 4);
        assert_eq!(opaque_of(message.meta.as_ref()), key.opaque.as_str());
    }

    // Another agent reply, then the menu, then "2" (the bot remembers the menu in the store).
    store
        .allocate_sequence(&key, facts::COUNTER_OUTBOUND, Some("agent-reply-2"))
        .await
        .unwrap();
    p.say(&key, 2, "menu").await;
    let menu = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&menu), ["typing_start", "list_picker", "typing_end"]);
    assert_eq!(sequences(&menu), [4]);
    p.say(&key, 3, "2").await;
    let stores = p.outbound_messages(1, WITHIN).await;
    assert_eq!(sequences(&stores), [5]);
    let Some(Kind::ListPicker(list)) = parts(&stores)[1].kind.clone() else {
        panic!("not a list picker: {:?}", kinds(&stores));
    };
    assert_eq!(list.sections[0].items[0].identifier, "location:downtown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_word_is_told_then_escalated_with_a_deterministic_command() {
    let p = platform().await;
    let key = acme_key("escalate");
    p.say(&key, 1, "Agent!").await;
    let told = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&told), ["typing_start", "text", "typing_end"]);
    let commands = p.routing_commands(1, WITHIN).await;
    assert_eq!(commands.len(), 1);
    let command = &commands[0];
    let Some(routing_command::Command::Escalate(escalate)) = command.command.as_ref() else {
        panic!("not an escalation");
    };
    assert_eq!(escalate.reason(), EscalationReason::TriggerWord);
    assert_eq!(escalate.trigger_word, "agent");
    let meta = command.meta.as_ref().unwrap();
    let task_id = EventId::new(format!("task-{:016x}-1", key.stable_hash())).unwrap();
    // The fourth action (typing start, text, typing end: one event; then escalate): the
    // same id on every redelivery.
    assert_eq!(meta.event_id, task_id.derived(STAGE_BOT, 3).to_string());
    assert_eq!(meta.causation_id, task_id.to_string());
    assert_eq!(meta.sequence, 0, "routing commands are not sequenced");
    assert_eq!(opaque_of(command.meta.as_ref()), key.opaque.as_str());
    assert_eq!(command.issued_by.as_ref().unwrap().kind(), ActorKind::Bot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_and_redelivered_tasks_are_answered_once_in_order_by_two_replicas() {
    let p = platform().await;
    p.start().await;
    let key = acme_key("order");
    let first = p.text_task(&key, 1, "menu");
    let second = p.text_task(&key, 2, "wifi password");
    let third = p.text_task(&key, 3, "do you have vegan options");
    p.publish(&second, 0).await;
    p.publish(&first, 0).await;
    p.publish(&first, 1).await;
    p.publish(&second, 1).await;
    p.publish(&third, 0).await;
    p.publish(&first, 2).await;
    let all = p.outbound_messages(3, WITHIN).await;
    assert_eq!(
        kinds(&all),
        [
            "typing_start",
            "list_picker",
            "typing_end",
            "typing_start",
            "text",
            "typing_end",
            "typing_start",
            "text",
            "rich_link",
            "typing_end",
        ]
    );
    assert_eq!(sequences(&all), [1, 2, 3]);
    // Nothing else comes (bounded wait: every copy was a duplicate at the gate).
    let extra = p.outbound_messages(1, Duration::from_secs(2)).await;
    assert!(extra.is_empty(), "duplicates: {:?}", kinds(&extra));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_left_to_notification_consent_the_bot_neither_answers_nor_records() {
    let p = platform().await;
    let key = acme_key("stop");
    p.say(&key, 1, "STOP").await;
    p.say(&key, 2, "menu").await;
    // The first outbound messages are the menu's: "STOP" produced none (and took no number).
    let told = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&told), ["typing_start", "list_picker", "typing_end"]);
    assert_eq!(sequences(&told), [1]);
    for topic in ["account", "orders", "marketing"] {
        assert!(
            p.backends
                .store
                .consent(&key, topic)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_for_an_external_bot_are_left_to_it() {
    let p = platform().await;
    let external = key(EXTERNAL, "elsewhere");
    p.say(&external, 1, "wifi password").await;
    // A task of the built-in business naming another bot.
    let other_bot = acme_key("partner");
    let mut ctx = context("en-US", &all_caps());
    ctx.bot_id = "partner-bot".into();
    let task = p.task(
        &other_bot,
        1,
        ctx,
        p.text_task(&other_bot, 1, "wifi password").task.unwrap(),
    );
    p.publish(&task, 0).await;
    // The built-in bot still answers its own.
    let mine = acme_key("mine");
    p.say(&mine, 1, "wifi password").await;
    let answered = p.outbound_messages(1, WITHIN).await;
    assert_eq!(answered.len(), 1);
    assert!(
        answered
            .iter()
            .all(|m| opaque_of(m.meta.as_ref()) == mine.opaque.as_str())
    );
    let extra = p.outbound_messages(1, Duration::from_secs(2)).await;
    assert!(extra.is_empty(), "answered an external bot's task");
    assert!(matches!(
        task.task,
        Some(bot_task::Task::CustomerMessage(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_publishing_republishes_identical_ids_and_numbers_and_decides_from_the_memory_before()
 {
    let flaky = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = flaky.clone();
    let p = super::harness::platform_with(move |backends| {
        let store = std::sync::Arc::new(super::flaky::Flaky::new(backends.store.clone()));
        *slot.lock().unwrap() = Some(store.clone());
        backends.store = store;
    })
    .await;
    let flaky = flaky.lock().unwrap().clone().unwrap();
    let key = acme_key("crash");
    use std::sync::atomic::Ordering::SeqCst;

    // Task 1: the menu; the memory write fails once after everything was published.
    flaky.memory_writes.store(1, SeqCst);
    p.say(&key, 1, "menu").await;
    let menu = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&menu), ["typing_start", "list_picker", "typing_end"]);

    // Task 2: a message the bot does not understand (the first miss: sorry and the menu).
    // The gate's completion fails once after the memory was written: the redelivered task
    // (after the claim's lease) must decide from the memory *before* task 2, or it would
    // count a second miss and hand the conversation to a person.
    flaky.complete_of.store(2, SeqCst);
    flaky.completes.store(1, SeqCst);
    p.say(&key, 2, "purple monkey dishwasher").await;
    let sorry = p.outbound_messages(1, WITHIN).await;
    assert_eq!(
        kinds(&sorry),
        ["typing_start", "text", "list_picker", "typing_end"]
    );

    // Task 3 follows, numbered right after: no copy, no gap.
    p.say(&key, 3, "wifi password").await;
    let wifi = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&wifi), ["typing_start", "text", "typing_end"]);
    let all: Vec<OutboundMessage> = menu.into_iter().chain(sorry).chain(wifi).collect();
    assert_eq!(sequences(&all), [1, 2, 3]);
    let extra = p.outbound_messages(1, Duration::from_secs(2)).await;
    assert!(extra.is_empty(), "republished copies: {:?}", kinds(&extra));
    assert_eq!(
        flaky.memory_writes.load(SeqCst),
        0,
        "the memory write did fail"
    );
    assert_eq!(flaky.completes.load(SeqCst), 0, "the completion did fail");
    let escalations = p.routing_commands(1, Duration::from_secs(1)).await;
    assert!(
        escalations.is_empty(),
        "the redelivered miss was counted twice"
    );

    // The memory: the main menu, no miss pending (task 3 was understood).
    let stored = p
        .backends
        .store
        .get_fields(&key, &[parley_bot::service::MEMORY_FIELD])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["after"]["menu"][0], "intent:hours", "{stored}");
    assert_eq!(stored["after"]["misses"], 0, "{stored}");
    assert_eq!(stored["before"]["misses"], 1, "{stored}");
}

/// The bot's cursor for the conversation, once it has one with `stopped` (bounded wait: the
/// store is the event the test waits for).
async fn wait_until_stopped(p: &super::harness::Platform, key: &parley_types::ConversationKey) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let cursor = p
            .backends
            .store
            .get_fields(key, &[parley_bot::service::CURSOR_FIELD])
            .await
            .unwrap()
            .remove(0);
        if let Some(cursor) = cursor {
            let cursor: serde_json::Value = serde_json::from_str(&cursor).unwrap();
            if cursor["stopped"] == true {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never stopped for the person"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_a_person_owns_gets_no_bot_reply_and_no_number() {
    use parley_proto::v1::LifecycleState;
    let p = platform().await;
    for (name, lifecycle) in [
        ("assigned", LifecycleState::Assigned),
        ("queued", LifecycleState::Queued),
    ] {
        let key = acme_key(name);
        let store = p.backends.store.as_ref();
        super::flaky::set_lifecycle(store, &key, lifecycle).await;
        p.say(&key, 1, "wifi password?").await;
        wait_until_stopped(&p, &key).await;
        let none = p.outbound_messages(1, Duration::from_secs(1)).await;
        assert!(
            none.is_empty(),
            "{name}: the bot answered: {:?}",
            kinds(&none)
        );
        // Handed back to the bot: its next answer takes the numbers from 1 (none was burnt).
        super::flaky::set_lifecycle(store, &key, LifecycleState::WithBot).await;
        p.say(&key, 2, "wifi password?").await;
        let answered = p.outbound_messages(1, WITHIN).await;
        assert_eq!(
            kinds(&answered),
            ["typing_start", "text", "typing_end"],
            "{name}"
        );
        assert_eq!(sequences(&answered), [1], "{name}");
    }
    // An unreadable state does not block the bot.
    let key = acme_key("garbage");
    let outcome = p
        .backends
        .store
        .compare_and_set(&key, 0, bytes::Bytes::from_static(b"\xff\xff\xff"))
        .await
        .unwrap();
    assert!(matches!(outcome, parley_state::CasOutcome::Applied { .. }));
    p.say(&key, 1, "wifi password?").await;
    let answered = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&answered), ["typing_start", "text", "typing_end"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_accepting_between_the_answer_and_the_escalation_stops_the_rest_without_a_gap() {
    use parley_proto::v1::LifecycleState;
    use std::sync::atomic::Ordering::SeqCst;
    let flaky = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = flaky.clone();
    let p = super::harness::platform_with(move |backends| {
        let store = std::sync::Arc::new(super::flaky::Flaky::new(backends.store.clone()));
        *slot.lock().unwrap() = Some(store.clone());
        backends.store = store;
    })
    .await;
    let flaky = flaky.lock().unwrap().clone().unwrap();
    let key = acme_key("flip");
    super::flaky::set_lifecycle(p.backends.store.as_ref(), &key, LifecycleState::WithBot).await;
    // A trigger word: the answer (one event: typing, text, typing end), then the escalation.
    // Right after the answer's number is allocated, an agent accepts: the escalation is not
    // published.
    flaky.assign_after.store(1, SeqCst);
    p.say(&key, 1, "Agent!").await;
    wait_until_stopped(&p, &key).await;
    let first = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&first), ["typing_start", "text", "typing_end"]);
    assert_eq!(sequences(&first), [1]);
    let more = p.outbound_messages(1, Duration::from_secs(1)).await;
    assert!(
        more.is_empty(),
        "published after the agent accepted: {:?}",
        kinds(&more)
    );
    let commands = p.routing_commands(1, Duration::from_secs(1)).await;
    assert!(commands.is_empty(), "escalated after the agent accepted");
    // The agent hands the conversation back: the bot's next answer follows on number 2, so
    // no number was allocated and left unpublished.
    super::flaky::set_lifecycle(p.backends.store.as_ref(), &key, LifecycleState::WithBot).await;
    p.say(&key, 2, "wifi password").await;
    let next = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&next), ["typing_start", "text", "typing_end"]);
    assert_eq!(sequences(&next), [2]);

    // The bot takes the answer's number, an agent accepts, and the bot crashes before
    // publishing: the redelivered task publishes that number (outbound's gate would otherwise
    // wait for it until its gap timeout, and outbound drops it as the bot's), then nothing.
    let key = acme_key("flip-crash");
    super::flaky::set_lifecycle(p.backends.store.as_ref(), &key, LifecycleState::WithBot).await;
    flaky.crash_on_assign.store(true, SeqCst);
    flaky.assign_after.store(1, SeqCst);
    p.say(&key, 1, "Agent!").await;
    wait_until_stopped(&p, &key).await;
    let first = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&first), ["typing_start", "text", "typing_end"]);
    assert_eq!(sequences(&first), [1]);
    assert!(!flaky.crash_on_assign.load(SeqCst), "the crash did happen");
    let more = p.outbound_messages(1, Duration::from_secs(1)).await;
    assert!(
        more.is_empty(),
        "published after the agent accepted: {:?}",
        kinds(&more)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_picker_and_the_chosen_slot_are_answered_over_nats() {
    use parley_proto::v1::{
        InboundMessage, InteractiveReply, TimePickerEvent, TimePickerReply, TimeSlot,
        inbound_message, interactive_reply,
    };
    let p = platform().await;
    let key = acme_key("tasting");
    p.say(&key, 1, "book a tasting").await;
    let offered = p.outbound_messages(1, WITHIN).await;
    assert_eq!(
        kinds(&offered),
        ["typing_start", "other", "text", "typing_end"]
    );
    let Some(Kind::TimePicker(picker)) = parts(&offered)[1].kind.clone() else {
        panic!("not a time picker");
    };
    let slot = picker.event.as_ref().unwrap().timeslots[0]
        .identifier
        .clone();
    let reply = InboundMessage {
        kind: Some(inbound_message::Kind::InteractiveReply(InteractiveReply {
            reply: Some(interactive_reply::Reply::TimePicker(TimePickerReply {
                event: Some(TimePickerEvent {
                    identifier: "tasting".into(),
                    timeslots: vec![TimeSlot {
                        identifier: slot,
                        ..TimeSlot::default()
                    }],
                    ..TimePickerEvent::default()
                }),
            })),
            ..InteractiveReply::default()
        })),
        ..InboundMessage::default()
    };
    let task = p.task(
        &key,
        2,
        context("en-US", &all_caps()),
        bot_task::Task::CustomerMessage(reply),
    );
    p.publish(&task, 0).await;
    let confirmed = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&confirmed), ["typing_start", "text", "typing_end"]);
    let Some(Kind::Text(text)) = parts(&confirmed)[1].kind.clone() else {
        panic!("not a text");
    };
    assert!(
        text.body.starts_with(
            "You're booked: coffee tasting at Downtown (New York), today at 11:00 AM."
        ),
        "{}",
        text.body
    );
    assert_eq!(
        sequences(&offered)
            .into_iter()
            .chain(sequences(&confirmed))
            .collect::<Vec<_>>(),
        [1, 2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_is_understood_from_the_memory_kept_in_redis() {
    let p = platform().await;
    let key = acme_key("follow-up");
    p.say(&key, 1, "when are you open?").await;
    let first = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&first), ["typing_start", "text", "typing_end"]);
    p.say(&key, 2, "and on Sunday?").await;
    let second = p.outbound_messages(1, WITHIN).await;
    assert_eq!(kinds(&second), ["typing_start", "text", "typing_end"]);
    let Some(Kind::Text(text)) = parts(&second)[1].kind.clone() else {
        panic!("not a text");
    };
    assert!(
        text.body.starts_with(
            "Downtown (New York), Sunday: 9:00 AM–5:00 PM.\nParis Marais: closed Sunday."
        ),
        "{}",
        text.body
    );
    assert_eq!(sequences(&second), [2]);
}
