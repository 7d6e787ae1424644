//! Nothing is dropped after a gap at outbound's gate: an agent's reply whose first publish
//! failed (the gateway retries it later with the same number) is sent when it arrives, even
//! after the gap timeout let the next reply go first; a copy of it is not sent twice.

use std::time::Duration;

use parley_bus::{Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{OutboundText, outbound_message::Kind},
};
use prost::Message as _;

use crate::harness::platform;

fn text(body: &str) -> Kind {
    Kind::Text(OutboundText {
        body: body.into(),
        attachments: Vec::new(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_arriving_after_its_gap_was_skipped_is_sent_once() {
    let p = platform().await;
    let (device, key) = p.customer(parley_apple_sim::DeviceKind::Iphone).await;
    let first = p.event(&key, text("first")).await;
    let second = p.event(&key, text("second")).await;
    let third = p.event(&key, text("third")).await;
    p.publish(&first).await;
    // `second` was numbered but its publish failed; `third` goes after the gap timeout (3 s).
    p.publish(&third).await;
    let bodies = |n: usize| {
        let p = &p;
        let customer = device.customer.clone();
        async move {
            p.received(&customer, n, Duration::from_secs(30))
                .await
                .iter()
                .map(|r| r.body["body"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(bodies(2).await, ["first", "third"]);
    // The producer's retry of `second` arrives: sent, not dropped as "already passed".
    p.publish(&second).await;
    assert_eq!(bodies(3).await, ["first", "third", "second"]);
    // Another copy (a later retry, past JetStream's duplicate window): not sent again.
    let meta = second.meta.as_ref().unwrap();
    let partition = parley_types::Partition::new(meta.partition, p.config.partitions).unwrap();
    p.backends
        .bus
        .publish(
            Outgoing::new(
                p.backends
                    .namespace
                    .subject(StreamKind::Outbound, partition),
                format!("{}-copy", meta.event_id),
                parley_proto::v1::OutboundMessage::TYPE,
                second.encode_to_vec(),
            )
            .with_ordering_key(key.stable_hash()),
        )
        .await
        .unwrap();
    let fourth = p.text(&key, "fourth").await;
    p.outcome_of(&fourth, Duration::from_secs(15)).await;
    assert_eq!(bodies(4).await, ["first", "third", "second", "fourth"]);
}
