//! The simulator's shared state.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use parley_apple::jwt::{Direction, JwtSigner, JwtVerifier};
use serde::Serialize;
use tokio::sync::Notify;

use crate::{BlobStore, DeviceKind, Fault, SimConfig, SimError};

/// A message the simulated Apple accepted from the MSP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Received {
    /// `/message` or `/authenticate`.
    pub endpoint: String,
    /// The business (`Source-Id`).
    pub business: String,
    /// The customer (`Destination-Id`).
    pub customer: String,
    /// The `id` header.
    pub id: String,
    /// `auto-reply: true` was sent.
    pub auto_reply: bool,
    /// The `msp-agent` header.
    pub msp_agent: Option<String>,
    /// The body.
    pub body: serde_json::Value,
    /// When it arrived (milliseconds since the epoch).
    pub received_at_ms: u64,
}

/// One request an MSP made to `/message` or `/authenticate`, whatever its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The `id` header (empty if missing).
    pub id: String,
    /// The `Destination-Id` header (empty if missing).
    pub customer: String,
    /// The status answered (0 for a hang the client gave up on).
    pub status: u16,
    /// When it arrived (milliseconds since the epoch).
    pub at_ms: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub(crate) business: String,
    pub(crate) kind: DeviceKind,
}

/// Everything the simulator knows.
pub struct SimState {
    pub(crate) config: SimConfig,
    pub(crate) verifier: JwtVerifier,
    pub(crate) signer: JwtSigner,
    pub(crate) blobs: BlobStore,
    pub(crate) public_base: Mutex<String>,
    customers: Mutex<HashMap<String, Customer>>,
    received: Mutex<Vec<Received>>,
    pub(crate) arrived: Notify,
    faults: Mutex<Vec<(Fault, Option<tokio::time::Instant>)>>,
    attempts: Mutex<Vec<Attempt>>,
    /// Interactive data kept behind references (decodePayload answers with it).
    pub(crate) payloads: Mutex<HashMap<String, serde_json::Value>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl SimState {
    /// State for `config`.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        let verifier = JwtVerifier::new(
            &config.secret_base64,
            &config.msp_id,
            Direction::Outbound,
            Duration::from_secs(3600),
        )
        .map_err(|e| SimError::Config(e.to_string()))?;
        let signer = JwtSigner::new(&config.secret_base64, &config.msp_id, Direction::Inbound)
            .map_err(|e| SimError::Config(e.to_string()))?;
        Ok(Self {
            config,
            verifier,
            signer,
            blobs: BlobStore::default(),
            public_base: Mutex::new(String::new()),
            customers: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            faults: Mutex::new(Vec::new()),
            attempts: Mutex::new(Vec::new()),
            payloads: Mutex::new(HashMap::new()),
        })
    }

    /// The simulator's own base URL (for upload and download links).
    pub fn public_base(&self) -> String {
        lock(&self.public_base).clone()
    }

    pub(crate) fn is_business(&self, id: &str) -> bool {
        self.config.businesses.iter().any(|b| b == id)
    }

    pub(crate) fn register_customer(&self, customer: &str, business: &str, kind: DeviceKind) {
        lock(&self.customers).insert(
            customer.to_owned(),
            Customer {
                business: business.to_owned(),
                kind,
            },
        );
    }

    pub(crate) fn customer(&self, customer: &str) -> Option<Customer> {
        lock(&self.customers).get(customer).cloned()
    }

    pub(crate) fn record(&self, received: Received) {
        lock(&self.received).push(received);
        self.arrived.notify_waiters();
    }

    /// Everything accepted so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.received).clone()
    }

    /// What was accepted after the first `from` arrivals, in arrival order (a reader that
    /// keeps its own count copies only what is new).
    pub fn received_since(&self, from: usize) -> Vec<Received> {
        lock(&self.received)
            .get(from..)
            .map(<[Received]>::to_vec)
            .unwrap_or_default()
    }

    /// What one customer was sent, in arrival order.
    pub fn received_by(&self, customer: &str) -> Vec<Received> {
        lock(&self.received)
            .iter()
            .filter(|r| r.customer == customer)
            .cloned()
            .collect()
    }

    /// Waits until `done` holds for what was received, at most `within`.
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Option<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let received = self.received();
            if done(&received) {
                return Some(received);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    /// Adds a fault.
    pub fn add_fault(&self, fault: Fault) {
        let until = fault
            .duration_ms
            .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
        lock(&self.faults).push((fault, until));
    }

    pub(crate) fn record_attempt(&self, attempt: Attempt) {
        lock(&self.attempts).push(attempt);
    }

    /// Every request to `/message` and `/authenticate`, faulted and refused ones included.
    pub fn attempts(&self) -> Vec<Attempt> {
        lock(&self.attempts).clone()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The first fault that applies, consuming one of its uses.
    pub(crate) fn take_fault(
        &self,
        business: Option<&str>,
        customer: Option<&str>,
    ) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let now = tokio::time::Instant::now();
        faults.retain(|(_, until)| until.is_none_or(|u| now < u));
        let index = faults
            .iter()
            .position(|(f, _)| f.matches(business, customer))?;
        let fault = faults[index].0.clone();
        if let Some(times) = faults[index].0.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                faults.remove(index);
            }
        }
        Some(fault)
    }
}
