//! Attachments for agents: downloading a conversation's files and uploading a reply's.
//!
//! Files live in Parley's blob store (`blobs.url`, the one ingest and outbound use), opened
//! on first use. A conversation's files are the blobs under `inbound/<business>/<tag>/`
//! (ingest's, the customer's) and `agent/<business>/<tag>/` (uploaded by its agents), where
//! `<tag>` is the conversation's redacted opaque id; an agent reaches no other blob, and a
//! reply may carry only its own conversation's files.

use std::sync::Arc;

use futures::TryStreamExt as _;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, path::Path};
use parley_proto::v1::{AttachmentRef, BlobRef};
use parley_runtime::BlobStoreConfig;
use parley_types::ConversationKey;
use sha2::{Digest as _, Sha256};
use tokio::sync::OnceCell;

/// The largest file an agent may upload.
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// How many bytes one download chunk carries at most.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

/// Why an attachment operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AttachmentError {
    /// No such blob.
    #[error("no such attachment")]
    NotFound,
    /// The blob store failed or is not configured.
    #[error("blob store: {0}")]
    Store(String),
}

/// The blob store, opened on first use.
pub(crate) struct Blobs {
    config: BlobStoreConfig,
    store: OnceCell<Arc<dyn ObjectStore>>,
}

/// Whether `key` is one of the conversation's files.
pub(crate) fn belongs_to(key: &str, conversation: &ConversationKey) -> bool {
    let tag = format!(
        "{}/{}/",
        conversation.business,
        conversation.opaque.redacted()
    );
    ["inbound/", "agent/"].iter().any(|root| {
        key.strip_prefix(root)
            .and_then(|rest| rest.strip_prefix(tag.as_str()))
            .is_some_and(|name| !name.is_empty() && !name.split('/').any(|p| p == ".."))
    })
}

impl Blobs {
    pub(crate) fn new(config: BlobStoreConfig) -> Self {
        Self {
            config,
            store: OnceCell::new(),
        }
    }

    async fn store(&self) -> Result<&Arc<dyn ObjectStore>, AttachmentError> {
        self.store
            .get_or_try_init(|| async {
                parley_runtime::open_blob_store(&self.config)
                    .map_err(|e| AttachmentError::Store(e.to_string()))
            })
            .await
    }

    /// A conversation's file as a stream of chunks, and its size.
    pub(crate) async fn open(
        &self,
        key: &str,
    ) -> Result<
        (
            u64,
            impl futures::Stream<Item = Result<bytes::Bytes, AttachmentError>> + use<>,
        ),
        AttachmentError,
    > {
        let found = self
            .store()
            .await?
            .get(&Path::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => AttachmentError::NotFound,
                other => AttachmentError::Store(other.to_string()),
            })?;
        let size = found.meta.size;
        let stream = found
            .into_stream()
            .map_err(|e| AttachmentError::Store(e.to_string()));
        Ok((size, stream))
    }

    /// Stores an agent's file for the conversation; what a reply carries to send it.
    pub(crate) async fn put(
        &self,
        conversation: &ConversationKey,
        name: &str,
        mime_type: &str,
        data: Vec<u8>,
    ) -> Result<AttachmentRef, AttachmentError> {
        let key = format!(
            "agent/{}/{}/{}",
            conversation.business,
            conversation.opaque.redacted(),
            uuid::Uuid::now_v7()
        );
        let sha256 = hex::encode(Sha256::digest(&data));
        let size_bytes = u64::try_from(data.len()).unwrap_or(u64::MAX);
        self.store()
            .await?
            .put(&Path::from(key.as_str()), PutPayload::from(data))
            .await
            .map_err(|e| AttachmentError::Store(e.to_string()))?;
        Ok(AttachmentRef {
            blob: Some(BlobRef {
                store: "blobs".into(),
                key,
                sha256,
                size_bytes,
            }),
            mime_type: mime_type.to_owned(),
            size_bytes,
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_conversations_own_files_belong_to_it() {
        let key = ConversationKey::parse("biz", "urn:mbid:someone").unwrap();
        let other = ConversationKey::parse("biz", "urn:mbid:someone-else").unwrap();
        let tag = key.opaque.redacted();
        assert!(belongs_to(&format!("inbound/biz/{tag}/in-1/0"), &key));
        assert!(belongs_to(&format!("agent/biz/{tag}/0190"), &key));
        assert!(!belongs_to(&format!("inbound/biz/{tag}/in-1/0"), &other));
        assert!(!belongs_to(&format!("inbound/biz2/{tag}/in-1/0"), &key));
        assert!(!belongs_to(&format!("inbound/biz/{tag}/"), &key));
        assert!(!belongs_to(&format!("inbound/biz/{tag}/../x/0"), &key));
        assert!(!belongs_to(&format!("outbound/biz/{tag}/0"), &key));
    }
}
