//! Trace context crosses a real NATS server: the span around a publish and the consumer's
//! span share one trace id, and the consumer span is the publisher's child.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId, TracerProvider as _};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use parley_bus::{ConsumeOptions, Delivery, Handler, Outcome, header, run_consumer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::support::jetstream;

struct Capture(mpsc::UnboundedSender<(TraceId, Option<String>)>);

#[async_trait]
impl Handler for Capture {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let cx = tracing::Span::current().context();
        let trace_id = cx.span().span_context().trace_id();
        let parent = delivery.headers.get(header::TRACEPARENT).map(str::to_owned);
        let _ = self.0.send((trace_id, parent));
        Outcome::Ack
    }
}

#[test]
fn publish_and_consume_spans_share_one_trace_over_nats() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    // One thread, so every task sees this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let f = jetstream().await;
        let spec = f.inbound_consumer("traced", Duration::from_secs(30)).await;
        let publish_span = tracing::info_span!("webhook");
        let (trace_id, span_id): (TraceId, SpanId) = {
            let cx = publish_span.context();
            let sc = cx.span().span_context().clone();
            (sc.trace_id(), sc.span_id())
        };
        assert_ne!(trace_id, TraceId::INVALID);
        f.bus
            .publish(f.message("traced-1"))
            .instrument(publish_span)
            .await
            .unwrap();

        let (tx, mut rx) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let consumer = tokio::spawn({
            let (bus, ns, stop) = (f.bus.clone(), f.ns.clone(), stop.clone());
            async move {
                run_consumer(
                    bus,
                    &ns,
                    &spec,
                    Arc::new(Capture(tx)),
                    ConsumeOptions::default(),
                    stop,
                )
                .await
            }
        });
        let (consumer_trace, traceparent) =
            tokio::time::timeout(Duration::from_secs(20), rx.recv())
                .await
                .expect("delivery handled")
                .expect("channel open");
        stop.cancel();
        consumer.await.unwrap().unwrap();
        assert_eq!(
            consumer_trace, trace_id,
            "consumer span is in the publisher's trace"
        );
        let traceparent = traceparent.expect("traceparent header sent over NATS");
        assert_eq!(traceparent, format!("00-{trace_id}-{span_id}-01"));
    });
}
