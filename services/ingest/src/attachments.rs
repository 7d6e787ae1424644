//! Downloading, checking and decrypting what a message carries by reference, before the event
//! is published: attachments (into the blob store, streamed) and interactive data references
//! (decoded through Apple's `/decodePayload`). A failure is reported in the event; the text
//! of the message is never lost because of it.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use base64::Engine as _;
use object_store::{buffered::BufWriter, path::Path};
use parley_apple::{
    client::ClientError,
    crypto::AttachmentKey,
    model::{Attachment, InteractiveDataRef, Message},
};
use parley_proto::v1::{
    AttachmentFailure, AttachmentFailureReason as Reason, AttachmentRef, BlobRef,
    InboundAttachment, inbound_attachment::Outcome,
};
use parley_types::{ConversationKey, EventId};
use parley_wire::inbound::ResolvedDataRef;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::Ingest;

/// The largest interactive data reference downloaded (they start at 10 KB; list pickers with
/// images can be large).
const MAX_DATA_REF_BYTES: u64 = 16 * 1024 * 1024;

/// What was resolved for one message.
pub(crate) struct Resolved {
    pub(crate) attachments: Vec<InboundAttachment>,
    pub(crate) data_ref: Option<ResolvedDataRef>,
}

struct Failure {
    reason: Reason,
    detail: String,
    retry: bool,
}

impl Failure {
    fn final_(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            retry: false,
        }
    }
}

fn classify(error: &ClientError, while_: Reason) -> Failure {
    let (reason, retry) = match error {
        ClientError::Timeout => (Reason::Timeout, true),
        ClientError::SizeMismatch { .. } => (Reason::SizeMismatch, true),
        ClientError::TooLarge { .. } => (Reason::TooLarge, false),
        ClientError::Sink(_) => (Reason::StoreFailed, true),
        ClientError::Status {
            status: 404 | 410, ..
        } => (Reason::Expired, false),
        ClientError::Status { status, .. } if *status >= 500 || *status == 429 => (while_, true),
        ClientError::Network(_) => (while_, true),
        _ => (while_, false),
    };
    Failure {
        reason,
        detail: error.to_string(),
        retry,
    }
}

/// The hex signature Apple's `preDownload` wants (as Base64 of its bytes).
fn signature_hex(signature: Option<&str>, signature_base64: Option<&str>) -> Option<String> {
    if let Some(hex) = signature.filter(|s| !s.is_empty()) {
        return Some(hex.to_owned());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature_base64?.trim())
        .ok()?;
    Some(hex::encode(bytes))
}

/// Where something sent by reference is and how to read it.
struct Locator {
    url: String,
    owner: String,
    signature_hex: String,
    key: AttachmentKey,
    size: u64,
}

/// The fields Apple's attachment and data-reference dictionaries share.
struct RawLocator<'a> {
    url: Option<&'a str>,
    owner: Option<&'a str>,
    signature: Option<&'a str>,
    signature_base64: Option<&'a str>,
    key: Option<&'a str>,
    size: Option<u64>,
}

impl RawLocator<'_> {
    /// Checks every field; `what` names the reference in the failure, `limit` bounds the size.
    fn check(self, what: &str, limit: u64) -> Result<Locator, Failure> {
        let invalid =
            |field: &str| Failure::final_(Reason::InvalidMetadata, format!("{what}: no {field}"));
        let locator = Locator {
            url: self.url.ok_or_else(|| invalid("url"))?.to_owned(),
            owner: self.owner.ok_or_else(|| invalid("owner"))?.to_owned(),
            signature_hex: signature_hex(self.signature, self.signature_base64)
                .ok_or_else(|| invalid("usable signature"))?,
            key: AttachmentKey::parse(self.key.unwrap_or_default())
                .map_err(|e| Failure::final_(Reason::DecryptionFailed, format!("{what}: {e}")))?,
            size: self.size.ok_or_else(|| invalid("size"))?,
        };
        if locator.size > limit {
            return Err(Failure::final_(
                Reason::TooLarge,
                format!("{what}: {} bytes", locator.size),
            ));
        }
        Ok(locator)
    }
}

/// Asks Apple where to download `locator` from and streams the decrypted bytes to `sink`.
async fn fetch<W: AsyncWrite + Unpin>(
    ingest: &Ingest,
    business: &str,
    locator: &Locator,
    sink: &mut W,
) -> Result<(), Failure> {
    let download_url = ingest
        .inner
        .apple
        .pre_download(
            business,
            &locator.url,
            &locator.signature_hex,
            &locator.owner,
        )
        .await
        .map_err(|e| classify(&e, Reason::PreDownloadFailed))?;
    ingest
        .inner
        .apple
        .download_decrypted(&download_url, locator.size, &locator.key, sink)
        .await
        .map(|_| ())
        .map_err(|e| classify(&e, Reason::DownloadFailed))
}

pub(crate) async fn resolve(
    ingest: &Ingest,
    key: &ConversationKey,
    event_id: &EventId,
    message: &Message,
) -> Resolved {
    let deadline = tokio::time::Instant::now() + ingest.inner.download_budget;
    let mut attachments = Vec::new();
    for (index, attachment) in message.attachments().iter().enumerate() {
        let outcome = match store_attachment(ingest, key, event_id, index, attachment, deadline)
            .await
        {
            Ok(stored) => Outcome::Stored(stored),
            Err(failure) => {
                metrics::counter!("parley_ingest_attachment_failures_total", "reason" => failure.reason.as_str_name())
                    .increment(1);
                tracing::warn!(index, reason = failure.reason.as_str_name(), detail = %failure.detail, "attachment not stored");
                Outcome::Failed(AttachmentFailure {
                    name: attachment.name.clone().unwrap_or_default(),
                    mime_type: attachment.mime_type.clone().unwrap_or_default(),
                    size_bytes: attachment.size_bytes().unwrap_or(0),
                    reason: failure.reason as i32,
                    detail: failure.detail,
                })
            }
        };
        attachments.push(InboundAttachment {
            outcome: Some(outcome),
        });
    }
    let data_ref = match &message.interactive_data_ref {
        Some(reference) => Some(
            match decode_data_ref(ingest, key, reference, deadline).await {
                Ok(json) => ResolvedDataRef::Decoded(json),
                Err(failure) => {
                    tracing::warn!(reason = failure.reason.as_str_name(), detail = %failure.detail, "interactive data reference not resolved");
                    ResolvedDataRef::Failed {
                        reason: failure.reason,
                        detail: failure.detail,
                    }
                }
            },
        ),
        None => None,
    };
    Resolved {
        attachments,
        data_ref,
    }
}

/// Retries `attempt` until it succeeds, fails for good, the attempts run out or the
/// deadline passes.
async fn with_retries<T, F, Fut>(
    ingest: &Ingest,
    deadline: tokio::time::Instant,
    mut attempt: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut last = Failure::final_(Reason::Timeout, "no time left to download");
    for round in 0..ingest.inner.download_attempts {
        let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) else {
            break;
        };
        match tokio::time::timeout(left, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(failure)) if !failure.retry => return Err(failure),
            Ok(Err(failure)) => last = failure,
            Err(_) => {
                return Err(Failure::final_(
                    Reason::Timeout,
                    "the download budget ran out",
                ));
            }
        }
        // A short pause before the next try; the budget bounds the total.
        tokio::time::sleep(Duration::from_millis(200 * u64::from(round + 1))).await;
    }
    Err(last)
}

async fn store_attachment(
    ingest: &Ingest,
    key: &ConversationKey,
    event_id: &EventId,
    index: usize,
    attachment: &Attachment,
    deadline: tokio::time::Instant,
) -> Result<AttachmentRef, Failure> {
    let locator = RawLocator {
        url: attachment.url.as_deref(),
        owner: attachment.owner.as_deref(),
        signature: attachment.signature.as_deref(),
        signature_base64: attachment.signature_base64.as_deref(),
        key: attachment.key.as_deref(),
        size: attachment.size_bytes(),
    }
    .check(
        &format!("attachment {index}"),
        ingest.inner.max_attachment_bytes,
    )?;
    let path = Path::from(format!(
        "inbound/{}/{}/{}/{index}",
        key.business,
        key.opaque.redacted(),
        event_id
    ));
    let business = key.business.to_string();
    let (sha256, stored) = with_retries(ingest, deadline, || async {
        let mut sink = Hashing::new(BufWriter::new(ingest.inner.blobs.clone(), path.clone()));
        if let Err(failure) = fetch(ingest, &business, &locator, &mut sink).await {
            let _ = sink.inner.abort().await;
            return Err(failure);
        }
        sink.inner.shutdown().await.map_err(|e| Failure {
            reason: Reason::StoreFailed,
            detail: e.to_string(),
            retry: true,
        })?;
        Ok((hex::encode(sink.hasher.finalize()), sink.written))
    })
    .await?;
    Ok(AttachmentRef {
        blob: Some(BlobRef {
            store: "blobs".into(),
            key: path.to_string(),
            sha256,
            size_bytes: stored,
        }),
        mime_type: attachment.mime_type.clone().unwrap_or_default(),
        size_bytes: stored,
        name: attachment.name.clone().unwrap_or_default(),
    })
}

async fn decode_data_ref(
    ingest: &Ingest,
    key: &ConversationKey,
    reference: &InteractiveDataRef,
    deadline: tokio::time::Instant,
) -> Result<serde_json::Value, Failure> {
    let bid = reference
        .bid
        .as_deref()
        .ok_or_else(|| Failure::final_(Reason::InvalidMetadata, "interactiveDataRef: no bid"))?;
    let locator = RawLocator {
        url: reference.url.as_deref(),
        owner: reference.owner.as_deref(),
        signature: reference.signature.as_deref(),
        signature_base64: reference.signature_base64.as_deref(),
        key: reference.key.as_deref(),
        size: reference.size.as_ref().and_then(|s| s.as_u64()),
    }
    .check("interactiveDataRef", MAX_DATA_REF_BYTES)?;
    let business = key.business.to_string();
    with_retries(ingest, deadline, || async {
        let mut plain = Vec::new();
        fetch(ingest, &business, &locator, &mut plain).await?;
        ingest
            .inner
            .apple
            .decode_payload(&business, bid, plain)
            .await
            // A payload Apple cannot decode was decrypted with the wrong key or corrupted.
            .map_err(|e| classify(&e, Reason::DecryptionFailed))
    })
    .await
}

/// Hashes and counts what passes through to `inner`.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Hashing<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.hasher.update(&buf[..n]);
                this.written += n as u64;
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
