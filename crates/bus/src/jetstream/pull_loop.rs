//! The persistent pull loop: one long-lived inbox per subscription and pull requests that
//! never ask for more than the consume loop can take at once.
//!
//! A fetch used to make a new inbox, a request for one message and then a no-wait request
//! for the rest: two requests, one or two status replies and a subscription per fetch, about
//! four NATS messages per delivery on top of the delivery and its ack. Here the inbox lives as
//! long as the subscription and a request stays open at the server (for [`REQUEST_EXPIRES`]),
//! so a delivery costs the delivery, its ack and a share of one request.
//!
//! The rule that keeps a received message from waiting for its ack wait in the client (what
//! sank the two earlier attempts with async-nats' own `messages()` stream, which requests on
//! its own schedule): the credit the server holds for this subscription (requested, not yet
//! delivered) plus what arrived and was not handed out is never more than the `max` the last
//! fetch was given. The consume loop passes its free permits as `max`, so every delivery
//! that arrives has a permit waiting. Credit is topped up only when it falls to half of `max`
//! (or to nothing), so at low rates one request serves many deliveries.
//!
//! Accounting: each request has its own reply subject under the inbox (`<inbox>.<n>`), so its
//! status replies (408 expired, 409 refused or ended) name it and carry what it left
//! undelivered (`Nats-Pending-Messages`). Deliveries carry the stream's subject, not the
//! request's (the server cycles its waiting requests), so each one lowers the total. A request
//! whose status never comes (the connection dropped; the server restarted) is forgotten when
//! the client reconnects or [`LOST_AFTER`] past its expiry; a delivery of such a request that
//! still arrives waits on the inbox for the next fetch, never dropped.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use async_nats::{
    StatusCode,
    client::Statistics,
    jetstream::{self, consumer::PullConsumer, consumer::pull::BatchConfig},
};
use futures::{FutureExt as _, StreamExt as _};

use super::{JetStreamAcker, from_nats_headers};
use crate::{Delivery, Error, Result};

/// How long a pull request stays open at the server.
pub(super) const REQUEST_EXPIRES: Duration = Duration::from_secs(10);

/// How long past its expiry a request without a status reply is taken as lost.
const LOST_AFTER: Duration = Duration::from_secs(5);

/// The header of a status reply that says how many messages the request left undelivered.
const PENDING_MESSAGES: &str = "Nats-Pending-Messages";

/// One open pull request.
struct Request {
    batch: usize,
    expires_at: Instant,
}

/// A subscription's inbox and the credit its requests hold.
pub(super) struct PullLoop {
    durable: String,
    consumer: PullConsumer,
    context: jetstream::Context,
    client: async_nats::Client,
    statistics: Arc<Statistics>,
    inbox: String,
    subscriber: Option<async_nats::Subscriber>,
    /// Open requests by the number in their reply subject.
    requests: HashMap<u64, Request>,
    next_request: u64,
    /// Requested and not yet delivered, over all open requests.
    outstanding: usize,
    /// The client's connection count when the open requests were made.
    connects: u64,
}

/// What one message on the inbox was.
enum Arrival {
    Delivery(Box<Delivery>),
    Status,
}

impl PullLoop {
    pub(super) async fn open(
        durable: String,
        consumer: PullConsumer,
        context: jetstream::Context,
        client: async_nats::Client,
    ) -> Result<Self> {
        let inbox = client.new_inbox();
        let subscriber =
            client
                .subscribe(format!("{inbox}.*"))
                .await
                .map_err(|e| Error::Fetch {
                    consumer: durable.clone(),
                    reason: e.to_string(),
                })?;
        let statistics = client.statistics();
        let connects = statistics.connects.load(Ordering::Relaxed);
        Ok(Self {
            durable,
            consumer,
            context,
            client,
            statistics,
            inbox,
            subscriber: Some(subscriber),
            requests: HashMap::new(),
            next_request: 0,
            outstanding: 0,
            connects,
        })
    }

    fn failed(&self, reason: impl std::fmt::Display) -> Error {
        Error::Fetch {
            consumer: self.durable.clone(),
            reason: reason.to_string(),
        }
    }

    /// Up to `max` deliveries, waiting at most `wait` for the first; what else has arrived
    /// by then comes along without waiting.
    pub(super) async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>> {
        let max = max.max(1);
        self.forget_lost(Instant::now());
        let mut out = Vec::new();
        self.take_ready(&mut out, max)?;
        self.top_up(max - out.len()).await?;
        if out.is_empty() {
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let next = {
                    let Some(subscriber) = self.subscriber.as_mut() else {
                        return Err(self.failed("the subscription is closed"));
                    };
                    tokio::time::timeout_at(deadline, subscriber.next()).await
                };
                match next {
                    Err(_) => break,
                    Ok(None) => return Err(self.failed("the inbox subscription ended")),
                    Ok(Some(message)) => match self.arrived(message)? {
                        Arrival::Delivery(delivery) => {
                            out.push(*delivery);
                            break;
                        }
                        // A request ended: ask again, or this fetch waits with no credit.
                        Arrival::Status => self.top_up(max).await?,
                    },
                }
            }
            self.take_ready(&mut out, max)?;
        }
        Ok(out)
    }

    /// Moves what is already on the inbox into `out`, up to `max`, without waiting. What is
    /// left there still counts as outstanding credit until it is taken.
    fn take_ready(&mut self, out: &mut Vec<Delivery>, max: usize) -> Result<()> {
        while out.len() < max {
            let next = match self.subscriber.as_mut() {
                Some(subscriber) => subscriber.next().now_or_never(),
                None => None,
            };
            let Some(Some(message)) = next else {
                return Ok(());
            };
            if let Arrival::Delivery(delivery) = self.arrived(message)? {
                out.push(*delivery);
            }
        }
        Ok(())
    }

    /// Asks for more when the credit held (requested, not yet taken from the inbox) has
    /// fallen to half of `room` or to nothing, never beyond `room`.
    async fn top_up(&mut self, room: usize) -> Result<()> {
        let credit = self.outstanding;
        if room == 0 || credit >= room || (credit > 0 && credit * 2 > room) {
            return Ok(());
        }
        let batch = room - credit;
        let id = self.next_request;
        self.next_request += 1;
        let config = BatchConfig {
            batch,
            expires: Some(REQUEST_EXPIRES),
            ..Default::default()
        };
        self.consumer
            .request_batch(config, format!("{}.{id}", self.inbox).into())
            .await
            .map_err(|e| self.failed(e))?;
        self.requests.insert(
            id,
            Request {
                batch,
                expires_at: Instant::now() + REQUEST_EXPIRES,
            },
        );
        self.outstanding += batch;
        Ok(())
    }

    /// Forgets requests the server no longer holds though it never said so: all of them after
    /// a reconnect, and any well past its expiry.
    fn forget_lost(&mut self, now: Instant) {
        let connects = self.statistics.connects.load(Ordering::Relaxed);
        if connects != self.connects {
            self.connects = connects;
            if !self.requests.is_empty() {
                tracing::debug!(consumer = %self.durable, "reconnected; asking again");
            }
            self.requests.clear();
        } else {
            self.requests
                .retain(|_, request| now < request.expires_at + LOST_AFTER);
        }
        let open: usize = self.requests.values().map(|request| request.batch).sum();
        self.outstanding = self.outstanding.min(open);
    }

    /// Accounts for one message on the inbox.
    fn arrived(&mut self, message: async_nats::Message) -> Result<Arrival> {
        match message.status {
            None | Some(StatusCode::OK) => Ok(match self.delivery(message) {
                Some(delivery) => Arrival::Delivery(Box::new(delivery)),
                None => Arrival::Status,
            }),
            Some(StatusCode::IDLE_HEARTBEAT) => Ok(Arrival::Status),
            Some(status) => self.request_ended(&message, status),
        }
    }

    /// A status reply to one request: it expired, or the server ended or refused it.
    fn request_ended(
        &mut self,
        message: &async_nats::Message,
        status: StatusCode,
    ) -> Result<Arrival> {
        let id = message
            .subject
            .as_str()
            .rsplit('.')
            .next()
            .and_then(|id| id.parse::<u64>().ok());
        let request = id.and_then(|id| self.requests.remove(&id));
        let description = message.description.as_deref().unwrap_or_default();
        if let Some(request) = request {
            let left = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(PENDING_MESSAGES))
                .and_then(|value| value.as_str().parse::<usize>().ok())
                .unwrap_or(request.batch);
            self.outstanding = self.outstanding.saturating_sub(left.min(request.batch));
        }
        if self.requests.is_empty() {
            self.outstanding = 0;
        }
        match status {
            StatusCode::TIMEOUT => Ok(Arrival::Status),
            StatusCode::NO_RESPONDERS => Err(self.failed("JetStream does not answer")),
            StatusCode::REQUEST_TERMINATED
                if description.contains("Consumer Deleted")
                    || description.contains("Consumer is push based") =>
            {
                Err(self.failed(description))
            }
            _ => {
                // Exceeded MaxWaiting, Leadership Change, Batch Completed...: the request is
                // over and the next fetch asks again.
                tracing::debug!(consumer = %self.durable, %status, %description, "pull request ended");
                Ok(Arrival::Status)
            }
        }
    }

    fn delivery(&mut self, message: async_nats::Message) -> Option<Delivery> {
        self.outstanding = self.outstanding.saturating_sub(1);
        let message = jetstream::Message {
            message,
            context: self.context.clone(),
        };
        let (attempt, stream_sequence) = match message.info() {
            Ok(info) => (
                u32::try_from(info.delivered).unwrap_or(u32::MAX),
                info.stream_sequence,
            ),
            Err(error) => {
                tracing::warn!(consumer = %self.durable, %error, "delivery without JetStream metadata; skipped");
                return None;
            }
        };
        let (message, acker) = message.split();
        Some(Delivery::new(
            message.subject.to_string(),
            from_nats_headers(message.headers.as_ref()),
            message.payload,
            attempt,
            stream_sequence,
            Box::new(JetStreamAcker(acker)),
        ))
    }

    /// Stops receiving and gives back at once what arrived and was not handed out, so it is
    /// redelivered (to another replica) without waiting for its ack wait.
    pub(super) async fn close(&mut self) {
        let Some(mut subscriber) = self.subscriber.take() else {
            return;
        };
        if let Err(error) = subscriber.unsubscribe().await {
            tracing::debug!(consumer = %self.durable, %error, "unsubscribe failed");
        }
        let mut given_back = Vec::new();
        while let Some(message) = subscriber.next().await {
            if matches!(message.status, None | Some(StatusCode::OK))
                && let Some(delivery) = self.delivery(message)
            {
                given_back.push(delivery);
            }
        }
        for delivery in given_back {
            if let Err(error) = delivery.nak(Duration::ZERO).await {
                tracing::debug!(consumer = %self.durable, %error, "nak not sent; the delivery will come after the ack wait");
            }
        }
        if let Err(error) = self.client.flush().await {
            tracing::debug!(consumer = %self.durable, %error, "flush failed");
        }
        self.requests.clear();
        self.outstanding = 0;
    }
}
