//! Why a webhook was refused, and the status Apple gets.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// A refused webhook. Each variant maps to one status; the body is a one-line reason.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// No `Authorization` header (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The token was refused (403).
    #[error("{0}")]
    Forbidden(String),
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The destination is not a business this MSP serves (404).
    #[error("{0}")]
    UnknownBusiness(String),
    /// The body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The event could not be stored; Apple should retry (503).
    #[error("{0}")]
    Unavailable(String),
}

impl IngestError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            IngestError::Forbidden(_) => StatusCode::FORBIDDEN,
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::UnknownBusiness(_) => StatusCode::NOT_FOUND,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut line = self.to_string();
        line.push('\n');
        (status, line).into_response()
    }
}
