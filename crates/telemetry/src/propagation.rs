//! W3C trace context over NATS headers and gRPC metadata, always through the global
//! propagator (a no-op until [`crate::init`] installs one, which unit tests want).

use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes the current span's context into a carrier through `set(name, value)`.
pub fn inject_context(span: &tracing::Span, injector: &mut dyn Injector) {
    let cx = span.context();
    global::get_text_map_propagator(|propagator| propagator.inject_context(&cx, injector));
}

/// Reads a remote context from a carrier.
pub fn extract_context(extractor: &dyn Extractor) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(extractor))
}

/// Makes `span` a child of the context found in `extractor`. Call it right after creating
/// the span, before it is entered (tracing-opentelemetry refuses a parent afterwards).
pub fn set_parent_from(span: &tracing::Span, extractor: &dyn Extractor) {
    let cx = extract_context(extractor);
    if let Err(error) = span.set_parent(cx) {
        tracing::debug!(?error, "span parent not set");
    }
}

/// Injects into NATS headers.
pub struct NatsHeaderInjector<'a>(pub &'a mut async_nats::HeaderMap);

impl Injector for NatsHeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

/// Extracts from NATS headers.
pub struct NatsHeaderExtractor<'a>(pub &'a async_nats::HeaderMap);

impl Extractor for NatsHeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}

/// Injects into gRPC metadata (tonic).
pub struct MetadataInjector<'a>(pub &'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let Ok(key) = tonic::metadata::MetadataKey::from_bytes(key.as_bytes()) else {
            return;
        };
        let Ok(value) = tonic::metadata::MetadataValue::try_from(value.as_str()) else {
            return;
        };
        self.0.insert(key, value);
    }
}

/// Extracts from gRPC metadata (tonic).
pub struct MetadataExtractor<'a>(pub &'a tonic::metadata::MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with_tracing(test: impl FnOnce()) {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, test);
    }

    #[test]
    fn grpc_metadata_round_trip() {
        with_tracing(|| {
            let mut incoming = tonic::metadata::MetadataMap::new();
            incoming.insert("traceparent", TRACEPARENT.parse().unwrap());
            let span = tracing::info_span!("server");
            set_parent_from(&span, &MetadataExtractor(&incoming));
            let trace_id = span.context().span().span_context().trace_id();
            assert_eq!(trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");

            let mut outgoing = tonic::metadata::MetadataMap::new();
            inject_context(&span, &mut MetadataInjector(&mut outgoing));
            let written = outgoing.get("traceparent").unwrap().to_str().unwrap();
            assert!(
                written.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{written}"
            );
        });
    }

    #[test]
    fn nats_headers_round_trip() {
        with_tracing(|| {
            let span = tracing::info_span!("producer");
            let mut headers = async_nats::HeaderMap::new();
            inject_context(&span, &mut NatsHeaderInjector(&mut headers));
            let producer = span.context().span().span_context().trace_id();
            let consumer = tracing::info_span!("consumer");
            set_parent_from(&consumer, &NatsHeaderExtractor(&headers));
            assert_eq!(
                consumer.context().span().span_context().trace_id(),
                producer
            );
        });
    }
}
