//! The NATS JetStream bus.

mod pull_loop;

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

use self::pull_loop::PullLoop;
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
        let pull = PullLoop::open(
            consumer.durable.clone(),
            pull,
            self.context.clone(),
            self.client.clone(),
        )
        .await?;
        Ok(Box::new(JetStreamSubscription {
            pull: tokio::sync::Mutex::new(pull),
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
    pull: tokio::sync::Mutex<PullLoop>,
    durable: String,
}

#[async_trait]
impl Subscription for JetStreamSubscription {
    /// Returns as soon as something is there (at once when there is a backlog, else after at
    /// most `wait`), with whatever else has arrived by then, up to `max`. The pull requests
    /// behind it stay open across fetches and never ask for more than `max` (see
    /// [`pull_loop`]).
    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>> {
        self.pull.lock().await.fetch(max, wait).await
    }

    async fn close(&self) {
        self.pull.lock().await.close().await;
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
