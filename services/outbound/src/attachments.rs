//! Sending attachments: read the plaintext from the blob store, encrypt it with a fresh key,
//! `preUpload`, upload, and describe it for the message (streamed, never held whole).

use futures::TryStreamExt as _;
use object_store::{ObjectStore, ObjectStoreExt as _, path::Path};
use parley_apple::{
    client::{AppleClient, ClientError},
    crypto::AttachmentKey,
    model::Attachment,
};
use parley_proto::v1::AttachmentRef;

/// Why an attachment could not be sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UploadError {
    /// The blob is missing or unreadable.
    #[error("attachment blob: {0}")]
    Blob(String),
    /// Apple refused or failed.
    #[error("attachment upload: {0}")]
    Apple(#[from] ClientError),
}

/// Uploads every attachment of a text, in order, and returns Apple's dictionaries.
pub(crate) async fn upload_all(
    apple: &AppleClient,
    blobs: &dyn ObjectStore,
    business: &str,
    attachments: &[AttachmentRef],
) -> Result<Vec<Attachment>, UploadError> {
    let mut uploaded = Vec::with_capacity(attachments.len());
    for attachment in attachments {
        let blob = attachment
            .blob
            .as_ref()
            .ok_or_else(|| UploadError::Blob("the attachment names no blob".into()))?;
        let path = Path::from(blob.key.as_str());
        let found = blobs
            .get(&path)
            .await
            .map_err(|e| UploadError::Blob(format!("{}: {e}", blob.key)))?;
        let size = found.meta.size;
        let reader = tokio_util::io::StreamReader::new(
            found
                .into_stream()
                .map_err(|e| std::io::Error::other(e.to_string())),
        );
        let key = AttachmentKey::generate();
        let slot = apple.pre_upload(business, size).await?;
        let receipt = apple
            .upload_encrypted(&slot.upload_url, &key, reader, size)
            .await?;
        uploaded.push(
            Attachment::new(attachment.name.clone(), attachment.mime_type.clone(), size)
                .with_upload(
                    slot.mmcs_url,
                    slot.mmcs_owner,
                    key.to_wire(),
                    receipt.file_checksum,
                ),
        );
    }
    Ok(uploaded)
}
