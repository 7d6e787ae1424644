//! The JetStream pull loop's cost in NATS messages, read from the consuming client's own
//! counters against a real nats-server.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use async_trait::async_trait;
use parley_bus::{
    Bus, ConsumeOptions, Delivery, Handler, JetStreamBus, JetStreamOptions, Outcome, run_consumer,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::{jetstream, payload_id};

struct Seen(mpsc::UnboundedSender<String>);

#[async_trait]
impl Handler for Seen {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let _ = self.0.send(payload_id(delivery));
        Outcome::Ack
    }
}

/// One message at a time, each handled before the next is published (the latency case, where
/// a fetch finds one message): the consumer's client sends about one message per delivery,
/// its ack, because one pull request serves many deliveries. (A fresh request per fetch and
/// a no-wait request for the rest sent three per delivery, plus a request per idle fetch.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pull_request_serves_many_deliveries() {
    let f = jetstream().await;
    let spec = f.inbound_consumer("frugal", Duration::from_secs(30)).await;
    let url = f.nats.as_ref().map(|nats| nats.url()).unwrap();
    let consumer_bus = JetStreamBus::connect(&JetStreamOptions::new(url))
        .await
        .unwrap();
    let statistics = consumer_bus.client().statistics();
    let before = statistics.out_messages.load(Ordering::SeqCst);
    let (seen, mut handled) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let join = {
        let bus: Arc<dyn Bus> = Arc::new(consumer_bus.clone());
        let ns = f.ns.clone();
        let spec = spec.clone();
        let stop = stop.clone();
        let options = ConsumeOptions {
            workers: 8,
            max_in_flight: 64,
            fetch_wait: Duration::from_millis(50),
            ..ConsumeOptions::default()
        };
        tokio::spawn(async move {
            run_consumer(bus, &ns, &spec, Arc::new(Seen(seen)), options, stop).await
        })
    };
    let total = 100;
    for i in 0..total {
        let id = format!("one-{i:03}");
        f.bus.publish(f.message(&id)).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(20), handled.recv())
            .await
            .expect("handled in time")
            .expect("handler alive");
        assert_eq!(got, id);
    }
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    assert_eq!(report.acked, total);
    consumer_bus.flush().await.unwrap();
    let sent = statistics.out_messages.load(Ordering::SeqCst) - before;
    // 100 acks, two JetStream API requests to open the consumer, and a pull request per 32
    // deliveries (top-up at half of 64) or per 10 s expiry.
    assert!(
        sent <= total + 15,
        "the consumer's client sent {sent} messages for {total} deliveries"
    );
}
