//! With an endpoint configured, spans leave the process over OTLP/gRPC with the service name;
//! message bodies recorded through `redact` arrive only as tags.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use parley_telemetry::{LogFormat, TelemetryConfig, init, redact};
use parley_testkit::OtlpReceiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_when_an_endpoint_is_set() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let guard = init(&TelemetryConfig {
        service_name: "parley-telemetry-test".into(),
        service_version: "0.0.0".into(),
        otlp_endpoint: Some(receiver.endpoint().to_owned()),
        log_filter: "info".into(),
        log_format: LogFormat::Text,
    })
    .expect("telemetry installs");
    {
        let body = "SENTINEL-BODY-4711";
        let span = tracing::info_span!("handle message", body = %redact(body));
        let _entered = span.enter();
        let child = tracing::info_span!("child work");
        let _child = child.enter();
        tracing::info!("working");
    }
    guard.shutdown().await;
    let spans = receiver
        .wait_for(Duration::from_secs(20), |spans| spans.len() >= 2)
        .await
        .expect("spans exported");
    let parent = spans.iter().find(|s| s.name == "handle message").unwrap();
    let child = spans.iter().find(|s| s.name == "child work").unwrap();
    assert_eq!(parent.service_name, "parley-telemetry-test");
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(child.parent_span_id, parent.span_id);
    let rendered = format!("{spans:?}");
    assert!(!rendered.contains("SENTINEL-BODY-4711"), "{rendered}");
    assert!(rendered.contains(&redact("SENTINEL-BODY-4711")));
}
