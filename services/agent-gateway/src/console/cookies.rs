//! The session cookie, the CSRF token, and the extractor every API handler signs in with.

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Method, header, request::Parts},
};
use sha2::{Digest as _, Sha256};

use super::{Console, api::ApiError};
use crate::desk::{DeskError, Session};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "parley_session";
/// The header a state change carries its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token of a session: derived from the session's secret, so only a page that
/// signed in (and read it from the sign-in answer or `/api/me`, which another origin cannot)
/// knows it, and it dies with the session.
pub(crate) fn csrf_token(session_token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"parley-console-csrf\0");
    hasher.update(session_token.as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// The `Set-Cookie` value that stores `token` for `max_age_seconds`.
pub(crate) fn session_cookie(token: &str, max_age_seconds: u64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn cleared_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// The session token of a request's cookie, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Whether a state-changing request comes from the console's own origin: an `Origin`
/// header, when the browser sends one, names the host the request was sent to.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// A signed-in agent: the request's session cookie names a live session and, for a state
/// change, the request carries the session's CSRF token and comes from the console's origin.
pub(crate) struct SignedInAgent {
    pub(crate) token: String,
    pub(crate) session: Session,
}

impl FromRequestParts<Arc<Console>> for SignedInAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers)
            .ok_or(ApiError::Desk(DeskError::Unauthenticated("sign in first")))?
            .to_owned();
        let session = console.desk.session(&token).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            if !same_origin(&parts.headers) {
                return Err(ApiError::Forbidden("the request comes from another origin"));
            }
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if sent.is_empty() || sent != csrf_token(&token) {
                return Err(ApiError::Forbidden("missing or wrong CSRF token"));
            }
        }
        Ok(Self { token, session })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; parley_session=abc ; b=2".parse().expect("header"),
        );
        assert_eq!(session_token(&headers), Some("abc"));
        headers.insert(header::COOKIE, "parley_session=".parse().expect("header"));
        assert_eq!(session_token(&headers), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_behind_tls() {
        let plain = session_cookie("t", 60, false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(session_cookie("t", 60, true).ends_with("; Secure"));
        assert!(cleared_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_origins_are_compared_by_host() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8090".parse().expect("header"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            "http://127.0.0.1:8090".parse().expect("header"),
        );
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "https://evil.test".parse().expect("header"));
        assert!(!same_origin(&headers));
    }
}
