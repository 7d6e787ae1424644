//! A client for Apple's MSP REST API: `/message`, `/authenticate`, `/preUpload`, upload,
//! `/preDownload`, download and `/decodePayload`, on a configurable base URL, with pooled
//! connections, timeouts, the cached JWT, and every failure classified as retryable or final.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use base64::Engine as _;
use futures::StreamExt as _;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::{
    crypto::AttachmentKey,
    jwt::{JwtError, JwtSigner},
};

/// Apple's production base URL.
pub const APPLE_BASE_URL: &str = "https://mspgw.push.apple.com/v1";

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API base URL (the simulator's in tests).
    pub base_url: String,
    /// The longest one request may take (Apple waits 30 s for us; we wait at most this).
    pub request_timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// How long idle pooled connections are kept.
    pub pool_idle_timeout: Duration,
    /// The largest attachment accepted (Apple's limit is 100 MB).
    pub max_attachment_bytes: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: APPLE_BASE_URL.into(),
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            pool_idle_timeout: Duration::from_secs(90),
            max_attachment_bytes: 100 * 1024 * 1024,
        }
    }
}

/// Why a failed call failed, for the caller's retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later (network, timeout, 5xx, 429), no sooner than `retry_after` if given.
    Retryable {
        /// Apple's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Do not try again.
    Final(FinalReason),
}

/// Why a failure is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalReason {
    /// 400: the request is malformed or misses a field.
    BadRequest,
    /// 401: no authorization (our bug or configuration).
    Unauthorized,
    /// 403: the token was refused (wrong secret or MSP id).
    Forbidden,
    /// 404: the destination is unknown: the customer cannot be reached.
    Unreachable,
    /// Another 4xx, an unusable response to a request that may have taken effect, or a
    /// local set-up error.
    Other,
}

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The client could not be built or the request could not be formed.
    #[error("client set-up: {0}")]
    Setup(String),
    /// The token could not be made.
    #[error("token: {0}")]
    Token(#[from] JwtError),
    /// Connecting or transferring failed.
    #[error("network: {0}")]
    Network(String),
    /// No answer in time.
    #[error("no answer within the timeout")]
    Timeout,
    /// Apple answered with an error status.
    #[error("apple answered {status}: {detail}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After`, if sent.
        retry_after: Option<Duration>,
        /// The start of the response body.
        detail: String,
    },
    /// A success response could not be understood.
    #[error("unusable response: {0}")]
    Response(String),
    /// A download was longer or shorter than announced.
    #[error("downloaded {received} bytes, {expected} announced")]
    SizeMismatch {
        /// Announced size.
        expected: u64,
        /// Received so far.
        received: u64,
    },
    /// An attachment is larger than allowed.
    #[error("attachment of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Writing the decrypted download failed.
    #[error("writing the download: {0}")]
    Sink(String),
}

impl ClientError {
    /// Retryable or final, and why.
    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::Network(_) | ClientError::Timeout | ClientError::SizeMismatch { .. } => {
                ErrorClass::Retryable { retry_after: None }
            }
            ClientError::Status {
                status,
                retry_after,
                ..
            } => classify_status(*status, *retry_after),
            ClientError::Setup(_)
            | ClientError::Token(_)
            | ClientError::Response(_)
            | ClientError::TooLarge { .. }
            | ClientError::Sink(_) => ErrorClass::Final(FinalReason::Other),
        }
    }
}

/// Classifies an HTTP status from Apple.
pub fn classify_status(status: u16, retry_after: Option<Duration>) -> ErrorClass {
    match status {
        400 => ErrorClass::Final(FinalReason::BadRequest),
        401 => ErrorClass::Final(FinalReason::Unauthorized),
        403 => ErrorClass::Final(FinalReason::Forbidden),
        404 => ErrorClass::Final(FinalReason::Unreachable),
        408 | 429 | 500..=599 => ErrorClass::Retryable { retry_after },
        _ => ErrorClass::Final(FinalReason::Other),
    }
}

/// Parses `Retry-After`: delta seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The headers of a `/message` or `/authenticate` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendHeaders {
    /// The message id (also the body's `id`).
    pub id: String,
    /// The business id (`Source-Id`).
    pub business_id: String,
    /// The customer's opaque id (`Destination-Id`).
    pub customer_id: String,
    /// `auto-reply: true` when a bot wrote the message.
    pub auto_reply: bool,
    /// `msp-agent`: who sent it (Apple logs the first 64 characters).
    pub msp_agent: Option<String>,
    /// `include-data-ref: true` asks for a reusable reference to large interactive data.
    pub include_data_ref: bool,
}

/// `/preUpload`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PreUpload {
    /// Where to POST the encrypted bytes.
    #[serde(rename = "upload-url")]
    pub upload_url: String,
    /// The attachment's `url`.
    #[serde(rename = "mmcs-url")]
    pub mmcs_url: String,
    /// The attachment's `owner`.
    #[serde(rename = "mmcs-owner")]
    pub mmcs_owner: String,
}

/// The upload's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// `singleFile.fileChecksum`: the attachment's `signature-base64`.
    pub file_checksum: String,
}

#[derive(Deserialize)]
struct UploadResponse {
    #[serde(rename = "singleFile")]
    single_file: SingleFile,
}

#[derive(Deserialize)]
struct SingleFile {
    #[serde(rename = "fileChecksum")]
    file_checksum: String,
}

#[derive(Deserialize)]
struct PreDownload {
    #[serde(rename = "download-url")]
    download_url: String,
}

/// The client. Cheap to clone; clones share the connection pool and the token cache.
#[derive(Clone)]
pub struct AppleClient {
    http: reqwest::Client,
    base_url: String,
    signer: Arc<JwtSigner>,
    config: ClientConfig,
}

impl std::fmt::Debug for AppleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn network(error: reqwest::Error) -> ClientError {
    if error.is_timeout() {
        ClientError::Timeout
    } else {
        ClientError::Network(error.to_string())
    }
}

impl AppleClient {
    /// A client signing with `signer` (an outbound [`JwtSigner`]).
    ///
    /// TLS uses rustls with the *ring* provider; if the process has no default rustls crypto
    /// provider yet, this installs ring's as the default.
    pub fn new(config: ClientConfig, signer: Arc<JwtSigner>) -> Result<Self, ClientError> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may install one concurrently; either is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Self {
            http,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            signer,
            config,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn authorization(&self) -> Result<String, ClientError> {
        Ok(self.signer.authorization(SystemTime::now())?)
    }

    /// Turns a non-success response into [`ClientError::Status`].
    async fn check(response: reqwest::Response) -> Result<reqwest::Response, ClientError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let detail = response
            .text()
            .await
            .map(|body| body.chars().take(200).collect())
            .unwrap_or_default();
        Err(ClientError::Status {
            status: status.as_u16(),
            retry_after,
            detail,
        })
    }

    async fn send_to(
        &self,
        path: &str,
        headers: &SendHeaders,
        json: Vec<u8>,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        let mut request = self
            .http
            .post(self.url(path))
            .header(http::header::AUTHORIZATION, self.authorization()?)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("id", &headers.id)
            .header("Source-Id", &headers.business_id)
            .header("Destination-Id", &headers.customer_id);
        if headers.auto_reply {
            request = request.header("auto-reply", "true");
        }
        if let Some(agent) = &headers.msp_agent {
            request = request.header("msp-agent", truncate_chars(agent, 64));
        }
        if headers.include_data_ref {
            request = request.header("include-data-ref", "true");
        }
        let response = Self::check(request.body(json).send().await.map_err(network)?).await?;
        let body = response.bytes().await.map_err(network)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| ClientError::Response(format!("the answer is not JSON: {e}")))
    }

    /// `POST /message` with a JSON body. Returns Apple's answer body when it sent one (a
    /// `dataRef` for large interactive data).
    pub async fn send_message(
        &self,
        headers: &SendHeaders,
        json: Vec<u8>,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        self.send_to("/message", headers, json).await
    }

    /// `POST /authenticate` (authentication requests go there, not to `/message`).
    pub async fn authenticate(
        &self,
        headers: &SendHeaders,
        json: Vec<u8>,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        self.send_to("/authenticate", headers, json).await
    }

    /// `GET /preUpload` for `size` encrypted bytes.
    pub async fn pre_upload(&self, business_id: &str, size: u64) -> Result<PreUpload, ClientError> {
        if size > self.config.max_attachment_bytes {
            return Err(ClientError::TooLarge {
                size,
                limit: self.config.max_attachment_bytes,
            });
        }
        let response = self
            .http
            .get(self.url("/preUpload"))
            .header(http::header::AUTHORIZATION, self.authorization()?)
            .header("Source-Id", business_id)
            .header("MMCS-Size", size.to_string())
            .send()
            .await
            .map_err(network)?;
        let response = Self::check(response).await?;
        response
            .json()
            .await
            .map_err(|e| ClientError::Response(format!("preUpload answer: {e}")))
    }

    /// Encrypts `plaintext` (read as a stream, `size` bytes) with `key` and POSTs it to the
    /// upload URL, without holding it in memory.
    pub async fn upload_encrypted<R>(
        &self,
        upload_url: &str,
        key: &AttachmentKey,
        plaintext: R,
        size: u64,
    ) -> Result<Uploaded, ClientError>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let cipher = key.cipher();
        let chunks = futures::stream::unfold(
            (plaintext, cipher, vec![0u8; 64 * 1024]),
            |(mut reader, mut cipher, mut buffer)| async move {
                match reader.read(&mut buffer).await {
                    Ok(0) => None,
                    Ok(n) => {
                        let mut chunk = buffer[..n].to_vec();
                        cipher.apply(&mut chunk);
                        Some((Ok::<_, std::io::Error>(chunk), (reader, cipher, buffer)))
                    }
                    Err(error) => Some((Err(error), (reader, cipher, buffer))),
                }
            },
        );
        let response = self
            .http
            .post(upload_url)
            .header(http::header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .map_err(network)?;
        let answer: UploadResponse = Self::check(response)
            .await?
            .json()
            .await
            .map_err(|e| ClientError::Response(format!("upload answer: {e}")))?;
        Ok(Uploaded {
            file_checksum: answer.single_file.file_checksum,
        })
    }

    /// `GET /preDownload` for an attachment or interactive data reference; returns the
    /// download URL. `signature_hex` is the reference's hex `signature`: Apple wants its bytes
    /// Base64-encoded in `MMCS-Signature`.
    pub async fn pre_download(
        &self,
        business_id: &str,
        mmcs_url: &str,
        signature_hex: &str,
        owner: &str,
    ) -> Result<String, ClientError> {
        let signature = hex::decode(signature_hex.trim())
            .map_err(|e| ClientError::Setup(format!("signature is not hex: {e}")))?;
        let response = self
            .http
            .get(self.url("/preDownload"))
            .header(http::header::AUTHORIZATION, self.authorization()?)
            .header("source-id", business_id)
            .header("MMCS-Url", mmcs_url)
            .header(
                "MMCS-Signature",
                base64::engine::general_purpose::STANDARD.encode(signature),
            )
            .header("MMCS-Owner", owner)
            .send()
            .await
            .map_err(network)?;
        let answer: PreDownload = Self::check(response)
            .await?
            .json()
            .await
            .map_err(|e| ClientError::Response(format!("preDownload answer: {e}")))?;
        Ok(answer.download_url)
    }

    /// Downloads `expected_size` encrypted bytes, checks the size as they arrive, decrypts
    /// them with `key` and writes the plaintext to `sink`, holding one chunk at a time.
    pub async fn download_decrypted<W>(
        &self,
        download_url: &str,
        expected_size: u64,
        key: &AttachmentKey,
        sink: &mut W,
    ) -> Result<u64, ClientError>
    where
        W: AsyncWrite + Unpin,
    {
        if expected_size > self.config.max_attachment_bytes {
            return Err(ClientError::TooLarge {
                size: expected_size,
                limit: self.config.max_attachment_bytes,
            });
        }
        let response =
            Self::check(self.http.get(download_url).send().await.map_err(network)?).await?;
        let mut cipher = key.cipher();
        let mut received = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(network)?;
            received += chunk.len() as u64;
            if received > expected_size {
                return Err(ClientError::SizeMismatch {
                    expected: expected_size,
                    received,
                });
            }
            let mut plain = chunk.to_vec();
            cipher.apply(&mut plain);
            sink.write_all(&plain)
                .await
                .map_err(|e| ClientError::Sink(e.to_string()))?;
        }
        if received != expected_size {
            return Err(ClientError::SizeMismatch {
                expected: expected_size,
                received,
            });
        }
        sink.flush()
            .await
            .map_err(|e| ClientError::Sink(e.to_string()))?;
        Ok(received)
    }

    /// `POST /decodePayload`: turns a decrypted interactive data reference into JSON. The body
    /// is the raw decrypted bytes, as Apple's sample sends them.
    pub async fn decode_payload(
        &self,
        business_id: &str,
        bid: &str,
        decrypted: Vec<u8>,
    ) -> Result<serde_json::Value, ClientError> {
        let response = self
            .http
            .post(self.url("/decodePayload"))
            .header(http::header::AUTHORIZATION, self.authorization()?)
            .header("source-id", business_id)
            .header("bid", bid)
            .header(http::header::ACCEPT, "*/*")
            .body(decrypted)
            .send()
            .await
            .map_err(network)?;
        Self::check(response)
            .await?
            .json()
            .await
            .map_err(|e| ClientError::Response(format!("decodePayload answer: {e}")))
    }
}

/// The first `max` characters of `text` (never splitting a character).
pub fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        use ErrorClass::*;
        use FinalReason::*;
        let after = Some(Duration::from_secs(7));
        assert_eq!(classify_status(400, None), Final(BadRequest));
        assert_eq!(classify_status(401, None), Final(Unauthorized));
        assert_eq!(classify_status(403, None), Final(Forbidden));
        assert_eq!(classify_status(404, None), Final(Unreachable));
        assert_eq!(classify_status(410, None), Final(Other));
        assert_eq!(
            classify_status(429, after),
            Retryable { retry_after: after }
        );
        assert_eq!(classify_status(500, None), Retryable { retry_after: None });
        assert_eq!(
            classify_status(503, after),
            Retryable { retry_after: after }
        );
        assert_eq!(
            ClientError::Timeout.class(),
            Retryable { retry_after: None }
        );
        assert_eq!(
            ClientError::Network("reset".into()).class(),
            Retryable { retry_after: None }
        );
        assert_eq!(ClientError::Response("x".into()).class(), Final(Other));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn msp_agent_truncates_on_characters() {
        let long = "é".repeat(70);
        assert_eq!(truncate_chars(&long, 64).chars().count(), 64);
        assert_eq!(truncate_chars("short", 64), "short");
    }
}
