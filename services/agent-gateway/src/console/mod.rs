//! The web console: the [`Desk`]'s calls over HTTP for a browser, with live events over
//! server-sent events.
//!
//! - Static assets ([`assets`]: HTML, CSS and ES modules committed in the repository and
//!   embedded in the binary, no build step) at `/`.
//! - A JSON API under `/api` ([`api`]). Signing in (`POST /api/session` with the agent's
//!   token) sets the session cookie ([`cookies`]: HttpOnly, SameSite=Strict, Secure behind
//!   TLS) and answers the CSRF token the page sends back as `X-CSRF-Token` on every state
//!   change; a request without it, with another session's, or from another origin is
//!   refused with 403 and changes nothing.
//! - `GET /api/events` ([`events`]): the agent's log as server-sent events whose `id` is the
//!   log cursor, so a browser's reconnect (`Last-Event-ID`) resumes where it stopped; the
//!   stream also keeps the agent's presence alive while the console is open.
//!
//! It must not hold rules of its own: who may read or do what is the desk's.

mod api;
mod assets;
mod cookies;
mod events;
mod json;

use std::sync::Arc;

use axum::Router;

use crate::desk::Desk;

/// How the console is served.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// The console is reached over HTTPS (a TLS-terminating proxy in front): the session
    /// cookie is marked `Secure`.
    pub secure_cookies: bool,
}

/// What every console handler works with.
pub(crate) struct Console {
    pub(crate) desk: Arc<Desk>,
    pub(crate) options: ConsoleOptions,
}

/// The console's routes: assets at `/`, the API under `/api`.
pub(crate) fn router(desk: Arc<Desk>, options: ConsoleOptions) -> Router {
    let console = Arc::new(Console { desk, options });
    assets::routes()
        .merge(api::routes())
        .merge(events::routes())
        .layer(axum::middleware::map_response(assets::security_headers))
        .with_state(console)
}
