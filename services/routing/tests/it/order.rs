//! In order and once: shuffled, duplicated inbound events reach the bot in sequence order,
//! each once.

use std::{collections::HashMap, time::Duration};

use parley_proto::v1::bot_task;

use crate::harness::{conversation_of, key, platform};

/// A small deterministic shuffle (no `rand` in this crate).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from((seed >> 33) % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_duplicated_events_are_forwarded_in_order_once() {
    // Two replicas compete for the events: the gate keeps each conversation in order.
    let p = platform(2).await;
    const CONVERSATIONS: usize = 10;
    const PER: u64 = 20;
    let mut events = Vec::new();
    for c in 0..CONVERSATIONS {
        let k = key(&format!("order-{c}"));
        for seq in 1..=PER {
            let event = p.text(&k, seq, &format!("message {seq}"));
            events.push((event.clone(), 0));
            // Every fourth message arrives twice.
            if seq % 4 == 0 {
                events.push((event, 1));
            }
        }
    }
    shuffle(&mut events, 42);
    for (event, copy) in &events {
        p.publish_inbound(event, *copy).await;
    }
    let total = CONVERSATIONS * usize::try_from(PER).unwrap();
    let tasks = p.bot_tasks(total, Duration::from_secs(60)).await;
    assert_eq!(tasks.len(), total);
    // Nothing more arrives (no duplicates).
    assert!(p.bot_tasks(1, Duration::from_secs(2)).await.is_empty());
    let mut per: HashMap<String, Vec<u64>> = HashMap::new();
    for task in &tasks {
        let Some(bot_task::Task::CustomerMessage(m)) = &task.task else {
            panic!("{task:?}")
        };
        per.entry(conversation_of(task.meta.as_ref()))
            .or_default()
            .push(m.meta.as_ref().unwrap().sequence);
    }
    assert_eq!(per.len(), CONVERSATIONS);
    let expected: Vec<u64> = (1..=PER).collect();
    for (conversation, sequences) in per {
        assert_eq!(sequences, expected, "{conversation}");
    }
}
