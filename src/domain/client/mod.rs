//! Client registrations (RFC 6749 §2): what a client is, how it is
//! registered (`registration`) and how it proves who it is (`authentication`).

pub mod assertion;
mod authentication;
pub mod jwks_uri;
pub mod key_set;
mod registration;

pub use authentication::{ClientCredentials, authenticate_client, check_credentials, find_client};
pub use registration::{
    ClientError, ClientKind, KeySource, NewClient, RegisteredClient, list_clients, register_client,
    remove_client, web_url,
};
pub(crate) use registration::{check_grants, parse_grants};

use std::fmt;

use jsonwebtoken::jwk::JwkSet;

use crate::db::clients::{self, ClientRow};
use crate::db::{Conn, DbError};

use super::keys::SigningAlg;
use super::redirect_uri::RedirectUri;
use super::scope::Scope;

/// Scopes a client gets when registered without `--scopes`.
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

/// A grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    /// Every grant type the server implements, in discovery order.
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// Parses the RFC 6749 name.
    pub fn parse(s: &str) -> Option<Self> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The RFC 6749 name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered client, as the protocol code sees it.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// `None` exactly for public clients.
    secret_hash: Option<Vec<u8>>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub created_at: i64,
    /// Third-party clients show a consent page before the first grant.
    pub consent_required: bool,
    /// Authorization requests must be pushed first (RFC 9126 §5).
    pub require_par: bool,
    /// The public keys of a `private_key_jwt` client.
    pub keys: Option<ClientKeys>,
    /// Where logout tokens go (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// How the client's ID, access and logout tokens are signed.
    pub signing_alg: SigningAlg,
    /// Its access tokens must be DPoP-bound (`dpop_bound_access_tokens`,
    /// RFC 9449 §5.2): a token request without a proof is refused.
    pub dpop_bound: bool,
}

/// Where a `private_key_jwt` client's public keys are.
#[derive(Debug, Clone)]
pub enum ClientKeys {
    /// Registered with the client.
    Set(JwkSet),
    /// Fetched from the client's `jwks_uri`.
    Uri(String),
}

impl Client {
    /// Public clients cannot keep a secret or a key (RFC 6749 §2.1).
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none() && self.keys.is_none()
    }

    /// The `token_endpoint_auth_method` (RFC 7591 §2) this client uses.
    pub fn auth_method(&self) -> &'static str {
        match (&self.secret_hash, &self.keys) {
            (_, Some(_)) => "private_key_jwt",
            (Some(_), None) => "client_secret_basic",
            (None, None) => "none",
        }
    }

    /// True when the client is registered for `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Reads a stored registration.
    pub fn from_stored(row: ClientRow) -> Result<Self, DbError> {
        Self::from_row(row)
    }

    fn from_row(row: ClientRow) -> Result<Self, DbError> {
        let corrupt = |what: &str| {
            DbError::Migration(format!(
                "client {}: stored {what} is invalid",
                row.client_id
            ))
        };
        let uris = |json: &str| -> Result<Vec<RedirectUri>, DbError> {
            let list: Vec<String> = serde_json::from_str(json).map_err(|_| corrupt("URI list"))?;
            list.iter()
                .map(|u| RedirectUri::parse(u).map_err(|_| corrupt("URI")))
                .collect()
        };
        let keys = match (&row.jwks, &row.jwks_uri) {
            (Some(json), _) => Some(ClientKeys::Set(
                key_set::parse(json).map_err(|_| corrupt("JWK Set"))?,
            )),
            (None, Some(uri)) => Some(ClientKeys::Uri(uri.clone())),
            (None, None) => None,
        };
        Ok(Client {
            keys,
            signing_alg: SigningAlg::from_stored(&row.signing_alg)
                .map_err(|_| corrupt("signing algorithm"))?,
            backchannel_logout_uri: row.backchannel_logout_uri,
            redirect_uris: uris(&row.redirect_uris)?,
            post_logout_redirect_uris: uris(&row.post_logout_redirect_uris)?,
            grant_types: row
                .grant_types
                .split(' ')
                .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("grant type")))
                .collect::<Result<_, _>>()?,
            scopes: Scope::parse(&row.scopes).map_err(|_| corrupt("scope"))?,
            client_id: row.client_id,
            name: row.name,
            secret_hash: row.secret_hash,
            created_at: row.created_at,
            consent_required: row.consent_required,
            require_par: row.require_par,
            dpop_bound: row.dpop_bound,
        })
    }
}

/// True when `origin` is the origin of some client's registered redirect
/// URI: the only origins allowed to call the token endpoints from a browser.
pub fn origin_is_registered(conn: &mut Conn, origin: &str) -> Result<bool, crate::db::QueryError> {
    let rows = clients::list_clients(conn)?;
    Ok(rows.iter().any(|r| {
        serde_json::from_str::<Vec<String>>(&r.redirect_uris)
            .unwrap_or_default()
            .iter()
            .filter_map(|u| url::Url::parse(u).ok())
            .any(|u| u.origin().is_tuple() && u.origin().ascii_serialization() == origin)
    }))
}
