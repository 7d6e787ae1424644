//! An in-test OTLP/gRPC trace receiver: processes under test export spans to it, and tests
//! assert on what arrived (trace ids, parenting, service names, attribute values).

use std::{sync::Arc, time::Duration};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
};
use tokio::sync::{Mutex, Notify, oneshot};

use crate::{Error, Result};

/// One span as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// The resource's `service.name`.
    pub service_name: String,
    /// The span name.
    pub name: String,
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex parent span id; empty for a root span.
    pub parent_span_id: String,
    /// String renderings of the span's attributes.
    pub attributes: Vec<(String, String)>,
    /// String renderings of the span's events' names and attributes.
    pub events: Vec<String>,
}

#[derive(Default)]
struct Collected {
    spans: Mutex<Vec<ReceivedSpan>>,
    arrived: Notify,
}

struct Collector(Arc<Collected>);

fn render(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> std::result::Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let service_name = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .map(|kv| render(kv.value.as_ref().and_then(|v| v.value.as_ref())))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    received.push(ReceivedSpan {
                        service_name: service_name.clone(),
                        name: span.name,
                        trace_id: hex::encode(&span.trace_id),
                        span_id: hex::encode(&span.span_id),
                        parent_span_id: hex::encode(&span.parent_span_id),
                        attributes: span
                            .attributes
                            .iter()
                            .map(|kv| {
                                let value =
                                    render(kv.value.as_ref().and_then(|v| v.value.as_ref()));
                                (kv.key.clone(), value)
                            })
                            .collect(),
                        events: span
                            .events
                            .iter()
                            .map(|e| {
                                let attributes: Vec<String> = e
                                    .attributes
                                    .iter()
                                    .map(|kv| {
                                        let value = render(
                                            kv.value.as_ref().and_then(|v| v.value.as_ref()),
                                        );
                                        format!("{}={value}", kv.key)
                                    })
                                    .collect();
                                format!("{} {}", e.name, attributes.join(" "))
                            })
                            .collect(),
                    });
                }
            }
        }
        self.0.spans.lock().await.extend(received);
        self.0.arrived.notify_waiters();
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    endpoint: String,
    collected: Arc<Collected>,
    stop: Option<oneshot::Sender<()>>,
}

impl OtlpReceiver {
    /// Starts the receiver on a free loopback port, in the current Tokio runtime.
    pub async fn start() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| Error::Io {
                context: "binding the OTLP receiver".into(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| Error::Io {
            context: "reading the OTLP receiver's address".into(),
            source,
        })?;
        let collected = Arc::new(Collected::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let service = TraceServiceServer::new(Collector(collected.clone()));
        tokio::spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let served = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "OTLP receiver stopped");
            }
        });
        Ok(Self {
            endpoint: format!("http://{address}"),
            collected,
            stop: Some(stop),
        })
    }

    /// The endpoint to give as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every span received so far.
    pub async fn spans(&self) -> Vec<ReceivedSpan> {
        self.collected.spans.lock().await.clone()
    }

    /// Waits until `done` holds for the spans received, at most `within`; returns them.
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Result<Vec<ReceivedSpan>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.collected.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let spans = self.spans().await;
            if done(&spans) {
                return Ok(spans);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(Error::Timeout {
                    what: "the expected spans".into(),
                    within,
                    detail: format!("{} spans arrived", spans.len()),
                });
            }
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
