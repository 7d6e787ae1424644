//! Nothing is dropped after a gap: a customer message whose sequence routing gave up on
//! (ingest's first publish of it failed, Apple retried it after the gap timeout) is routed
//! when it comes, and both the skip and the late apply are told on `amb.events.ordering`.

use std::time::Duration;

use parley_bus::{ConsumerSpec, StreamKind, Topology};
use parley_proto::v1::{OrderingKind, OrderingNotice, bot_task};

use crate::harness::{key, platform, read};

/// The inbound sequence of each bot task's customer message, in arrival order.
fn inbound_sequences(tasks: &[parley_proto::v1::BotTask]) -> Vec<u64> {
    tasks
        .iter()
        .filter_map(|task| match &task.task {
            Some(bot_task::Task::CustomerMessage(m)) => m.meta.as_ref().map(|m| m.sequence),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_arriving_after_its_gap_was_skipped_is_routed_and_told() {
    let p = platform(0).await;
    // The shortest gap timeout routing accepts with a 1 s lease (2 x ack wait + lease).
    let gap = Duration::from_secs(21);
    p.start_with(|routing| {
        routing.gate.lease = Duration::from_secs(1);
        routing.gate.gap_timeout = gap;
    })
    .await;
    let ns = &p.backends.namespace;
    let ordering = ConsumerSpec::new(ns, StreamKind::Events, "test-ordering")
        .with_filter(ns.event_filter("ordering"));
    p.backends
        .bus
        .ensure(&Topology::default().with_consumer(ordering.clone()))
        .await
        .unwrap();
    let ordering = p.backends.bus.subscribe(&ordering).await.unwrap();

    let k = key("late-1");
    p.say(&k, 1, "first").await;
    assert_eq!(
        inbound_sequences(&p.bot_tasks(1, Duration::from_secs(15)).await),
        [1]
    );
    // 2's first publish never reached the stream; 3 did and waits for 2, then is applied
    // once the gap timeout passes.
    p.say(&k, 3, "third").await;
    let third = p.bot_tasks(1, gap + Duration::from_secs(20)).await;
    assert_eq!(inbound_sequences(&third), [3]);
    // Apple's retry of 2 arrives: routed, not dropped as "already passed".
    p.say(&k, 2, "second, late").await;
    assert_eq!(
        inbound_sequences(&p.bot_tasks(1, Duration::from_secs(15)).await),
        [2]
    );
    let notices: Vec<OrderingNotice> = read(ordering.as_ref(), 2, Duration::from_secs(15)).await;
    let told: Vec<(u64, OrderingKind)> = notices.iter().map(|n| (n.sequence, n.kind())).collect();
    assert_eq!(
        told,
        [(2, OrderingKind::Skipped), (2, OrderingKind::AppliedLate)]
    );
    for notice in &notices {
        assert_eq!(notice.stage, "routing");
        let meta = notice.meta.as_ref().unwrap();
        assert!(meta.conversation.is_some());
    }
    // Now it is applied: another copy (Apple's retry once more) is a duplicate, and the
    // conversation goes on.
    let again = p.text(&k, 2, "second, late");
    p.publish_inbound(&again, 1).await;
    p.say(&k, 4, "fourth").await;
    assert_eq!(
        inbound_sequences(&p.bot_tasks(1, Duration::from_secs(15)).await),
        [4]
    );
    assert!(p.bot_tasks(1, Duration::from_secs(1)).await.is_empty());
    let more: Vec<OrderingNotice> = read(ordering.as_ref(), 1, Duration::from_secs(1)).await;
    assert!(more.is_empty(), "{more:?}");
}
