//! Errors: the simulator's own, and Apple's refusals of an MSP request.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// Why the simulated Apple refused a request: the status Apple answers with and a one-line
/// reason (Apple's real bodies are empty or terse; ours say what was wrong, for tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {reason}")]
pub struct Rejection {
    /// The HTTP status.
    pub status: u16,
    /// What was wrong.
    pub reason: String,
}

impl Rejection {
    /// 400: malformed or missing field.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self {
            status: 400,
            reason: reason.into(),
        }
    }

    /// 401: no authorization header.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self {
            status: 401,
            reason: reason.into(),
        }
    }

    /// 403: the token failed validation.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self {
            status: 403,
            reason: reason.into(),
        }
    }

    /// 404: unknown destination, business or blob.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self {
            status: 404,
            reason: reason.into(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.reason).into_response()
    }
}

/// A simulator failure (set-up, device side).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is unusable.
    #[error("simulator configuration: {0}")]
    Config(String),
    /// Binding or serving failed.
    #[error("simulator server: {0}")]
    Server(String),
    /// A device could not reach the MSP.
    #[error("device could not deliver to the MSP: {0}")]
    Delivery(String),
    /// The device was asked something impossible (unknown device, bad input).
    #[error("device: {0}")]
    Device(String),
}
