//! Apple's MMCS blob store, in memory: uploads, downloads and interactive data references.

use std::{collections::HashMap, sync::Mutex};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

/// One stored (encrypted) blob.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The encrypted bytes.
    pub data: Bytes,
    /// Its `owner`.
    pub owner: String,
    /// Hex signature (SHA-256 of the bytes: Apple's real checksum algorithm is UNKNOWN, so
    /// MSPs must treat it as opaque).
    pub signature_hex: String,
}

#[derive(Default)]
struct Inner {
    /// upload token → (mmcs url, owner, announced size)
    pending: HashMap<String, (String, String, u64)>,
    /// mmcs url → blob
    blobs: HashMap<String, Blob>,
    /// download token → mmcs url
    downloads: HashMap<String, String>,
}

/// The in-memory store.
#[derive(Default)]
pub struct BlobStore {
    inner: Mutex<Inner>,
}

/// The checksum the simulator uses for signatures.
pub(crate) fn signature_of(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

impl BlobStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reserves an upload of `size` bytes; returns (upload token, mmcs url, owner).
    pub fn reserve(&self, public_base: &str, size: u64) -> (String, String, String) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mmcs_url = format!("{public_base}/mmcs/{token}");
        let owner = format!("owner-{}", &token[..8]);
        self.lock()
            .pending
            .insert(token.clone(), (mmcs_url.clone(), owner.clone(), size));
        (token, mmcs_url, owner)
    }

    /// Completes an upload; returns the signature bytes, or why it was refused.
    pub fn complete(&self, token: &str, data: Bytes) -> Result<Vec<u8>, String> {
        let mut inner = self.lock();
        let (url, owner, size) = inner
            .pending
            .remove(token)
            .ok_or_else(|| "unknown or used upload url".to_owned())?;
        if data.len() as u64 != size {
            return Err(format!("{} bytes uploaded, {size} announced", data.len()));
        }
        let signature = signature_of(&data);
        inner.blobs.insert(
            url,
            Blob {
                data,
                owner,
                signature_hex: hex::encode(&signature),
            },
        );
        Ok(signature)
    }

    /// Stores a blob directly (a device's attachment or interactive data reference).
    pub fn put(&self, public_base: &str, data: Bytes) -> (String, Blob) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let url = format!("{public_base}/mmcs/{token}");
        let blob = Blob {
            signature_hex: hex::encode(signature_of(&data)),
            data,
            owner: format!("owner-{}", &token[..8]),
        };
        self.lock().blobs.insert(url.clone(), blob.clone());
        (url, blob)
    }

    /// Checks a preDownload request and returns a download token.
    pub fn authorize_download(
        &self,
        mmcs_url: &str,
        owner: &str,
        signature: &[u8],
    ) -> Result<String, String> {
        let mut inner = self.lock();
        let blob = inner
            .blobs
            .get(mmcs_url)
            .ok_or_else(|| "unknown mmcs url".to_owned())?;
        if blob.owner != owner {
            return Err("owner does not match".into());
        }
        if hex::encode(signature) != blob.signature_hex {
            return Err("signature does not match".into());
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        inner.downloads.insert(token.clone(), mmcs_url.to_owned());
        Ok(token)
    }

    /// The bytes behind a download token.
    pub fn download(&self, token: &str) -> Option<Bytes> {
        let inner = self.lock();
        let url = inner.downloads.get(token)?;
        inner.blobs.get(url).map(|b| b.data.clone())
    }

    /// A blob by its mmcs url (tests).
    pub fn get(&self, mmcs_url: &str) -> Option<Blob> {
        self.lock().blobs.get(mmcs_url).cloned()
    }
}
