//! Opening the blob store (attachments, large interactive payloads).

use std::sync::Arc;

use object_store::{ObjectStore, local::LocalFileSystem, prefix::PrefixStore};

use crate::{BlobStoreConfig, Error, Result};

/// Opens the store `config.url` names: a local directory (`file:///path`, created if
/// missing) or an S3-compatible bucket (`s3://bucket/prefix` with `options`).
pub fn open_blob_store(config: &BlobStoreConfig) -> Result<Arc<dyn ObjectStore>> {
    if let Some(path) = config.url.strip_prefix("file://") {
        std::fs::create_dir_all(path)
            .map_err(|e| Error::setting("blobs.url", format!("cannot create {path}: {e}")))?;
        let store = LocalFileSystem::new_with_prefix(path)
            .map_err(|e| Error::setting("blobs.url", e.to_string()))?;
        return Ok(Arc::new(store));
    }
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // TLS to S3 uses rustls with ring (already in the tree); either concurrent installer
        // wins, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let url =
        url::Url::parse(&config.url).map_err(|e| Error::setting("blobs.url", e.to_string()))?;
    let options = config
        .options
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_owned()));
    let (store, prefix) = object_store::parse_url_opts(&url, options)
        .map_err(|e| Error::setting("blobs.url", e.to_string()))?;
    if prefix.as_ref().is_empty() {
        Ok(Arc::from(store))
    } else {
        Ok(Arc::new(PrefixStore::new(store, prefix)))
    }
}

#[cfg(test)]
mod tests {
    use object_store::{ObjectStoreExt as _, PutPayload, path::Path};

    use super::*;

    #[tokio::test]
    async fn a_local_directory_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_blob_store(&BlobStoreConfig {
            url: format!("file://{}/blobs", dir.path().display()),
            options: Default::default(),
        })
        .unwrap();
        let path = Path::from("a/b.bin");
        store
            .put(&path, PutPayload::from_static(b"hello"))
            .await
            .unwrap();
        let got = store.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(&got[..], b"hello");
        assert!(dir.path().join("blobs/a/b.bin").is_file());
    }

    #[test]
    fn bad_urls_name_the_setting() {
        let error = open_blob_store(&BlobStoreConfig {
            url: "s3://".into(),
            options: Default::default(),
        })
        .err()
        .unwrap();
        assert!(error.to_string().contains("blobs.url"), "{error}");
    }
}
