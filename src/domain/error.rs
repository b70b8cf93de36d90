//! Protocol errors: the error codes of RFC 6749 §5.2 (and §4.1.2.1), plus
//! the internal failures a client must never see the details of.

use crate::db::DbError;

/// An error the token server reports to an OAuth client.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed. Carries no detail on purpose: which part
    /// was wrong would help an attacker, not a client.
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// A DPoP proof is missing, invalid or replayed (RFC 9449 §5).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(String),
    /// The proof must carry this server nonce (RFC 9449 §8); sent back in
    /// the `DPoP-Nonce` header.
    #[error("use_dpop_nonce")]
    UseDpopNonce(String),
    /// An authorization request refused with an error code of RFC 6749
    /// §4.1.2.1 or RFC 9126 (pushed requests are answered as JSON).
    #[error("{error}: {description}")]
    AuthorizationRejected {
        error: &'static str,
        description: String,
    },
    /// The request body is larger than the endpoint accepts.
    #[error("invalid_request: request body too large")]
    PayloadTooLarge,
    /// No endpoint at this path.
    #[error("not_found")]
    NotFound,
    /// The endpoint exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The database stayed locked for longer than the busy timeout.
    #[error("temporarily_unavailable")]
    TemporarilyUnavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl OAuthError {
    /// The RFC 6749 `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_)
            | OAuthError::PayloadTooLarge
            | OAuthError::NotFound
            | OAuthError::MethodNotAllowed(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidDpopProof(_) => "invalid_dpop_proof",
            OAuthError::UseDpopNonce(_) => "use_dpop_nonce",
            OAuthError::AuthorizationRejected { error, .. } => error,
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::Internal(_) => "server_error",
        }
    }

    /// A human-readable `error_description` that reveals nothing secret.
    pub fn description(&self) -> String {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidDpopProof(d)
            | OAuthError::AuthorizationRejected { description: d, .. } => d.clone(),
            OAuthError::InvalidClient => "client authentication failed".into(),
            OAuthError::UseDpopNonce(_) => {
                "the DPoP proof must carry the nonce in the DPoP-Nonce header".into()
            }
            OAuthError::UnsupportedGrantType => "the grant type is not supported".into(),
            OAuthError::PayloadTooLarge => "request body too large".into(),
            OAuthError::NotFound => "no such endpoint".into(),
            OAuthError::MethodNotAllowed(allowed) => format!("method not allowed; use {allowed}"),
            OAuthError::TemporarilyUnavailable => "the server is busy; retry shortly".into(),
            OAuthError::Internal(_) => "internal server error".into(),
        }
    }

    /// Wraps any internal failure.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        OAuthError::Internal(Box::new(e))
    }
}

impl From<DbError> for OAuthError {
    fn from(e: DbError) -> Self {
        if e.is_busy() {
            OAuthError::TemporarilyUnavailable
        } else {
            OAuthError::internal(e)
        }
    }
}

impl From<crate::db::QueryError> for OAuthError {
    fn from(e: crate::db::QueryError) -> Self {
        OAuthError::from(DbError::from(e))
    }
}
