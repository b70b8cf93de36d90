//! Client authentication (RFC 6749 §2.3.1): one constant-time check for
//! every endpoint, whether the registration comes from the database or the
//! token endpoint's cache.

use std::fmt;

use crate::db::clients;
use crate::db::{Conn, DbError};
use crate::domain::error::OAuthError;
use crate::domain::secret;

use super::Client;
use super::assertion::Proven;

/// The credentials a client presented at an endpoint (RFC 6749 §2.3).
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `client_secret_basic` or `client_secret_post`.
    Secret { client_id: String, secret: String },
    /// A public client names itself and proves nothing.
    IdOnly { client_id: String },
    /// `private_key_jwt`, as presented: not yet checked.
    Assertion {
        client_id: String,
        assertion: String,
    },
    /// `private_key_jwt`, checked and its `jti` recorded.
    Proven(Proven),
}

impl ClientCredentials {
    /// The client these credentials name.
    pub fn client_id(&self) -> &str {
        match self {
            ClientCredentials::Secret { client_id, .. }
            | ClientCredentials::IdOnly { client_id }
            | ClientCredentials::Assertion { client_id, .. } => client_id,
            ClientCredentials::Proven(p) => p.client_id(),
        }
    }
}

impl fmt::Debug for ClientCredentials {
    // Keeps the secret out of any log line or panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredentials::Secret { client_id, .. } => {
                write!(f, "Secret {{ client_id: {client_id:?}, .. }}")
            }
            ClientCredentials::IdOnly { client_id } => write!(f, "IdOnly {{ {client_id:?} }}"),
            ClientCredentials::Assertion { client_id, .. } => {
                write!(f, "Assertion {{ client_id: {client_id:?}, .. }}")
            }
            ClientCredentials::Proven(p) => write!(f, "{p:?}"),
        }
    }
}

/// Finds the client and checks its credentials. Every failure is the same
/// `invalid_client`, and an unknown client still pays for a hash comparison,
/// so the answer does not reveal which client ids exist.
pub fn authenticate_client(
    conn: &mut Conn,
    creds: &ClientCredentials,
) -> Result<Client, OAuthError> {
    let client = find_client(conn, creds.client_id())?;
    check_credentials(client, creds)
}

/// Reads a registration by id.
pub fn find_client(conn: &mut Conn, client_id: &str) -> Result<Option<Client>, DbError> {
    clients::find_client(conn, client_id)?
        .map(Client::from_row)
        .transpose()
}

/// Checks presented credentials against the registration of the client they
/// name (`None`: no such client). Secrets compare in constant time, and an
/// unknown client costs the same hash as a known one.
pub fn check_credentials<C: std::borrow::Borrow<Client>>(
    client: Option<C>,
    creds: &ClientCredentials,
) -> Result<C, OAuthError> {
    let presented = match creds {
        ClientCredentials::Secret { secret, .. } => Some(secret.as_str()),
        _ => None,
    };
    let Some(client) = client else {
        if let Some(p) = presented {
            let _ = secret::verify_secret(p, &[0u8; 32]);
        }
        log::info!(
            "client authentication failed: unknown client {:?}",
            creds.client_id()
        );
        return Err(OAuthError::InvalidClient);
    };
    let c = client.borrow();
    let ok = match (creds, &c.secret_hash, &c.keys) {
        (ClientCredentials::Secret { secret, .. }, Some(hash), None) => {
            secret::verify_secret(secret, hash)
        }
        (ClientCredentials::IdOnly { .. }, None, None) => true,
        (ClientCredentials::Proven(_), None, Some(_)) => true,
        // Any other pairing: a public client presenting a secret, a
        // confidential one without, a method other than the registered
        // one, or an assertion nobody checked.
        _ => false,
    };
    if !ok {
        log::info!(
            "client authentication failed for client {:?}",
            creds.client_id()
        );
        return Err(OAuthError::InvalidClient);
    }
    Ok(client)
}
