//! Apple accepted a message but its sent record could not be written (Redis refused the
//! write): the message is retried, not acknowledged without its record, and the retry writes
//! the record without POSTing the message to Apple again. Apple's documentation does not say
//! that it drops a second POST of the same id, so outbound must not send one.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use parley_apple_sim::DeviceKind;
use parley_proto::v1::delivery_result::Outcome;
use parley_state::{
    facts::SCOPE_SENT,
    intercept::{Fault, Faulty},
};

use crate::harness::platform_with_store;

/// Refuses the first `record` sent-record writes and the first `transcript` transcript
/// appends.
fn refusing(record: u32, transcript: u32) -> impl Fn(&'static str) -> Fault + Send + Sync {
    let records = AtomicU32::new(0);
    let transcripts = AtomicU32::new(0);
    move |operation| match operation {
        "remember_then_complete" | "remember"
            if records.fetch_add(1, Ordering::SeqCst) < record =>
        {
            Fault::Refuse
        }
        "append_transcript" if transcripts.fetch_add(1, Ordering::SeqCst) < transcript => {
            Fault::Refuse
        }
        _ => Fault::Pass,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_record_that_cannot_be_written_is_retried_without_sending_again() {
    // More refusals than outbound retries in place, so the message goes round a redelivery;
    // and the transcript's first append refused too, as when Redis is briefly away (on the
    // code before this test, that redelivery found no record and POSTed the message again).
    let p = platform_with_store(
        |_| {},
        |inner| {
            Arc::new(Faulty {
                inner,
                faults: Arc::new(refusing(4, 1)),
            })
        },
    )
    .await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let first = p.text(&key, "your order shipped").await;
    let outcome = p.outcome_of(&first, Duration::from_secs(20)).await;
    assert!(
        matches!(outcome.outcome, Some(Outcome::Sent(_))),
        "{outcome:?}"
    );
    // The final result is published after every POST of it: Apple got it once.
    let received = p
        .received(&device.customer, 1, Duration::from_secs(5))
        .await;
    assert_eq!(
        received.len(),
        1,
        "sent to Apple more than once: {received:?}"
    );
    // ... and the record is there, so any later redelivery only publishes.
    let id = &first.meta.as_ref().unwrap().event_id;
    assert!(
        p.backends
            .store
            .is_remembered(&key, SCOPE_SENT, id)
            .await
            .unwrap(),
        "acknowledged without its sent record"
    );
    // The conversation goes on, in order.
    let second = p.text(&key, "it arrives tomorrow").await;
    let outcome = p.outcome_of(&second, Duration::from_secs(20)).await;
    assert!(
        matches!(outcome.outcome, Some(Outcome::Sent(_))),
        "{outcome:?}"
    );
    let received = p
        .received(&device.customer, 2, Duration::from_secs(5))
        .await;
    assert_eq!(received.len(), 2, "{received:?}");
}
