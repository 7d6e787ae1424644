//! Authentication (`data.authenticate`, capabilities `AUTH` and `AUTH2`;
//! apple-mfb-api.md §6.8).
//!
//! The request is `authenticate.oauth2`, either the AUTH2 code flow
//! (`{responseType: "code", scope, state, redirectURI}`) or the deprecated token flow
//! (`{responseType, scope, state, clientSecret, responseEncryptionKey}`). The legacy reply is
//! `authenticate {status, token}`. UNKNOWN what an AUTH2 reply carries: a `code` key is read if
//! present (speculative, no source), and anything else stays in `extra`.

use serde::{Deserialize, Serialize};

use crate::model::common::{Extra, string_enum};

string_enum! {
    /// `authenticate.status` in the device's reply.
    pub enum AuthenticationStatus {
        /// A status this crate does not know.
        Unknown(String);
        /// `authenticated` (Apple's sample output).
        Authenticated = "authenticated",
        /// `failed`: inferred from `BCAuthenticationResponseStatusFailed`; the real failure
        /// value is UNKNOWN, so any other value is kept in `Unknown`.
        Failed = "failed",
    }
}

/// `data.authenticate`: the request (`oauth2`) or the reply (`status`, `token`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Authenticate {
    /// Request: OAuth2 parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Request>,
    /// Reply: outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AuthenticationStatus>,
    /// Reply (legacy flow): the access token, encrypted to `responseEncryptionKey`, Base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Reply (AUTH2, speculative): an authorization code, if the device returns one here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `authenticate.oauth2`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OAuth2Request {
    /// `code` for AUTH2; the legacy flow uses the provider's response type.
    #[serde(
        rename = "responseType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_type: Option<String>,
    /// Scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    /// Opaque state, echoed by the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// AUTH2: where the provider redirects with `code` and `state`.
    #[serde(
        rename = "redirectURI",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub redirect_uri: Option<String>,
    /// Legacy: the client secret.
    #[serde(
        rename = "clientSecret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_secret: Option<String>,
    /// Legacy: Base64 of an uncompressed P-384 public point (97 bytes), made per request.
    #[serde(
        rename = "responseEncryptionKey",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_encryption_key: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OAuth2Request {
    /// An AUTH2 (authorization code) request.
    pub fn authorization_code(
        scope: Vec<String>,
        state: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            response_type: Some("code".to_owned()),
            scope: Some(scope),
            state: Some(state.into()),
            redirect_uri: Some(redirect_uri.into()),
            ..Self::default()
        }
    }

    /// A legacy (deprecated, capability `AUTH`) request.
    pub fn legacy(
        response_type: impl Into<String>,
        scope: Vec<String>,
        state: impl Into<String>,
        client_secret: impl Into<String>,
        response_encryption_key: impl Into<String>,
    ) -> Self {
        Self {
            response_type: Some(response_type.into()),
            scope: Some(scope),
            state: Some(state.into()),
            redirect_uri: None,
            client_secret: Some(client_secret.into()),
            response_encryption_key: Some(response_encryption_key.into()),
            extra: Extra::new(),
        }
    }

    /// Whether this is the AUTH2 code flow (`responseType: "code"`).
    pub fn is_authorization_code(&self) -> bool {
        self.response_type.as_deref() == Some("code")
    }
}
