//! The NATS JetStream bus.

use std::time::Duration;

use async_nats::{
    HeaderMap,
    jetstream::{
        self, AckKind,
        consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull},
        stream::{self, DiscardPolicy, RetentionPolicy, StorageType},
    },
};
use async_trait::async_trait;
use futures::StreamExt as _;

use crate::{
    Acker, Bus, ConsumerSpec, Delivery, Error, Headers, Outgoing, Published, Result, StoredMessage,
    Subscription, Topology,
};

/// How to connect.
#[derive(Debug, Clone)]
pub struct JetStreamOptions {
    /// The NATS URL (`nats://host:4222`, comma-separated for a cluster).
    pub url: String,
    /// The client name shown by the server.
    pub client_name: String,
    /// How long a publish waits for the stream's acknowledgement.
    pub publish_timeout: Duration,
    /// How long connecting may take at start-up.
    pub connect_timeout: Duration,
}

impl JetStreamOptions {
    /// Defaults for `url`: 5 s publish timeout, 5 s connect timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            client_name: "parley".into(),
            publish_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The JetStream bus. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct JetStreamBus {
    client: async_nats::Client,
    context: jetstream::Context,
}

impl JetStreamBus {
    /// Connects. The client reconnects by itself after the connection drops; until it is
    /// back, publishes and fetches fail with retryable errors.
    pub async fn connect(options: &JetStreamOptions) -> Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name(&options.client_name)
            .connection_timeout(options.connect_timeout)
            .request_timeout(Some(options.publish_timeout))
            .retry_on_initial_connect()
            .connect(options.url.as_str());
        let client = tokio::time::timeout(options.connect_timeout, client)
            .await
            .map_err(|_| Error::Connect {
                url: options.url.clone(),
                reason: format!("no answer within {:?}", options.connect_timeout),
            })?
            .map_err(|e| Error::Connect {
                url: options.url.clone(),
                reason: e.to_string(),
            })?;
        let mut context = jetstream::new(client.clone());
        context.set_timeout(options.publish_timeout);
        Ok(Self { client, context })
    }

    /// The underlying client (for tests and tools).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    async fn consumer(&self, spec: &ConsumerSpec) -> Result<PullConsumer> {
        let stream = self
            .context
            .get_stream(&spec.stream)
            .await
            .map_err(|e| Error::Fetch {
                consumer: spec.durable.clone(),
                reason: e.to_string(),
            })?;
        stream
            .get_consumer(&spec.durable)
            .await
            .map_err(|e| Error::Fetch {
                consumer: spec.durable.clone(),
                reason: e.to_string(),
            })
    }
}

fn to_nats_headers(headers: &Headers) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.iter() {
        map.insert(name, value);
    }
    map
}

fn from_nats_headers(map: Option<&HeaderMap>) -> Headers {
    let mut headers = Headers::new();
    if let Some(map) = map {
        for (name, values) in map.iter() {
            if let Some(value) = values.first() {
                headers.insert(name.to_string(), value.as_str());
            }
        }
    }
    headers
}

#[async_trait]
impl Bus for JetStreamBus {
    async fn ensure(&self, topology: &Topology) -> Result<()> {
        for spec in &topology.streams {
            let config = stream::Config {
                name: spec.name.clone(),
                subjects: spec.subjects.clone(),
                retention: RetentionPolicy::Limits,
                storage: if spec.memory_storage {
                    StorageType::Memory
                } else {
                    StorageType::File
                },
                num_replicas: spec.replicas,
                max_age: spec.max_age,
                duplicate_window: spec.duplicate_window,
                max_bytes: if spec.max_bytes > 0 {
                    spec.max_bytes
                } else {
                    -1
                },
                discard: DiscardPolicy::New,
                ..Default::default()
            };
            self.context
                .create_or_update_stream(config)
                .await
                .map_err(|e| Error::Topology {
                    what: format!("stream {}", spec.name),
                    reason: e.to_string(),
                })?;
        }
        for spec in &topology.consumers {
            let stream =
                self.context
                    .get_stream(&spec.stream)
                    .await
                    .map_err(|e| Error::Topology {
                        what: format!("consumer {}", spec.durable),
                        reason: format!("stream {}: {e}", spec.stream),
                    })?;
            let config = pull::Config {
                durable_name: Some(spec.durable.clone()),
                filter_subject: spec.filter_subject.clone(),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: spec.ack_wait,
                // The consume loop dead-letters at the spec's max_deliver; the server never
                // gives up on its own, so nothing silently stays behind.
                max_deliver: -1,
                max_ack_pending: spec.max_ack_pending,
                ..Default::default()
            };
            stream
                .create_consumer(config)
                .await
                .map_err(|e| Error::Topology {
                    what: format!("consumer {}", spec.durable),
                    reason: e.to_string(),
                })?;
        }
        Ok(())
    }

    async fn publish(&self, message: Outgoing) -> Result<Published> {
        let headers = to_nats_headers(&message.wire_headers());
        let subject = message.subject.clone();
        let failed = |reason: String| Error::Publish {
            subject: subject.clone(),
            reason,
        };
        let ack = self
            .context
            .publish_with_headers(message.subject, headers, message.payload)
            .await
            .map_err(|e| failed(e.to_string()))?
            .await
            .map_err(|e| failed(e.to_string()))?;
        let published = Published {
            stream: ack.stream,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        };
        crate::backend::record_published(&published);
        Ok(published)
    }

    async fn subscribe(&self, consumer: &ConsumerSpec) -> Result<Box<dyn Subscription>> {
        let pull = self.consumer(consumer).await.map_err(|e| match e {
            Error::Fetch { reason, .. } if reason.contains("not found") => {
                Error::NoConsumer(consumer.durable.clone())
            }
            other => other,
        })?;
        Ok(Box::new(JetStreamSubscription {
            consumer: pull,
            durable: consumer.durable.clone(),
        }))
    }

    async fn health(&self) -> Result<()> {
        let state = self.client.connection_state();
        if state != async_nats::connection::State::Connected {
            return Err(Error::Unhealthy(format!("NATS connection is {state}")));
        }
        self.context
            .query_account()
            .await
            .map(|_| ())
            .map_err(|e| Error::Unhealthy(e.to_string()))
    }

    async fn flush(&self) -> Result<()> {
        self.client
            .flush()
            .await
            .map_err(|e| Error::Ack(e.to_string()))
    }

    async fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<StoredMessage>> {
        let read = |reason: String| Error::Read {
            stream: stream.to_owned(),
            reason,
        };
        let mut handle = self
            .context
            .get_stream(stream)
            .await
            .map_err(|e| read(e.to_string()))?;
        let state = handle
            .info()
            .await
            .map_err(|e| read(e.to_string()))?
            .state
            .clone();
        let mut out = Vec::new();
        if state.messages == 0 {
            return Ok(out);
        }
        let mut sequence = from.max(state.first_sequence).max(1);
        // One request per sequence: operators' tools read a few messages, and a deleted
        // sequence (a gap) answers "no message" and is passed over.
        while sequence <= state.last_sequence && out.len() < max {
            match handle.get_raw_message(sequence).await {
                Ok(message) => out.push(StoredMessage {
                    sequence: message.sequence,
                    subject: message.subject.to_string(),
                    headers: from_nats_headers(Some(&message.headers)),
                    payload: message.payload,
                }),
                Err(error) if error.kind() == stream::RawMessageErrorKind::NoMessageFound => {}
                Err(error) => return Err(read(error.to_string())),
            }
            sequence += 1;
        }
        Ok(out)
    }
}

struct JetStreamSubscription {
    consumer: PullConsumer,
    durable: String,
}

impl JetStreamSubscription {
    fn failed(&self, reason: String) -> Error {
        Error::Fetch {
            consumer: self.durable.clone(),
            reason,
        }
    }

    /// What one pull request delivers, until it ends (all it asked for arrived, nothing more
    /// is there for a no-wait request, or it expired); `bound` covers a connection that dies
    /// mid-request.
    async fn drain(
        &self,
        request: std::result::Result<jetstream::consumer::pull::Batch, impl std::fmt::Display>,
        bound: Duration,
    ) -> Result<Vec<Delivery>> {
        let mut batch = request.map_err(|e| self.failed(e.to_string()))?;
        let mut out = Vec::new();
        let guard = tokio::time::sleep(bound);
        tokio::pin!(guard);
        loop {
            let next = tokio::select! {
                next = batch.next() => next,
                _ = &mut guard => break,
            };
            let Some(message) = next else { break };
            let message = match message {
                Ok(message) => message,
                Err(error) if out.is_empty() => return Err(self.failed(error.to_string())),
                Err(error) => {
                    tracing::debug!(%error, "batch ended early");
                    break;
                }
            };
            let (attempt, stream_sequence) = match message.info() {
                Ok(info) => (
                    u32::try_from(info.delivered).unwrap_or(u32::MAX),
                    info.stream_sequence,
                ),
                Err(error) => {
                    tracing::warn!(%error, "delivery without JetStream metadata; skipped");
                    continue;
                }
            };
            let (message, acker) = message.split();
            out.push(Delivery::new(
                message.subject.to_string(),
                from_nats_headers(message.headers.as_ref()),
                message.payload,
                attempt,
                stream_sequence,
                Box::new(JetStreamAcker(acker)),
            ));
        }
        Ok(out)
    }

    /// Up to `max` messages that are there now, without waiting for more.
    async fn available(&self, max: usize) -> Result<Vec<Delivery>> {
        let request = self.consumer.fetch().max_messages(max).messages().await;
        self.drain(request, NO_WAIT_BOUND).await
    }
}

/// The bound on a no-wait pull request (the server answers at once).
const NO_WAIT_BOUND: Duration = Duration::from_secs(5);

#[async_trait]
impl Subscription for JetStreamSubscription {
    /// Returns as soon as something is there: a request for one message that ends the
    /// moment it arrives (at once when there is a backlog, else after at most `wait`), then
    /// whatever else is there now, up to `max`, without waiting. A batch request for `max`
    /// would hold the first message until `max` arrived or the request expired: at low
    /// rates every hop then waited half the expiry on average.
    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>> {
        let max = max.max(1);
        let expires = wait.max(Duration::from_millis(10));
        let request = self
            .consumer
            .batch()
            .max_messages(1)
            .expires(expires)
            .messages()
            .await;
        let mut out = self.drain(request, expires + NO_WAIT_BOUND).await?;
        if !out.is_empty() && max > 1 {
            out.extend(self.available(max - 1).await?);
        }
        Ok(out)
    }

    fn durable(&self) -> &str {
        &self.durable
    }
}

struct JetStreamAcker(jetstream::message::Acker);

impl JetStreamAcker {
    async fn send(&self, kind: AckKind) -> Result<()> {
        self.0
            .ack_with(kind)
            .await
            .map_err(|e| Error::Ack(e.to_string()))
    }
}

#[async_trait]
impl Acker for JetStreamAcker {
    async fn ack(&self) -> Result<()> {
        self.send(AckKind::Ack).await
    }

    async fn nak(&self, delay: Duration) -> Result<()> {
        self.send(AckKind::Nak(Some(delay))).await
    }

    async fn progress(&self) -> Result<()> {
        self.send(AckKind::Progress).await
    }

    async fn term(&self) -> Result<()> {
        self.send(AckKind::Term).await
    }
}
