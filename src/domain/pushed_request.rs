//! Pushed authorization requests (RFC 9126): a client sends the parameters
//! of an authorization request over the back channel, gets a short-lived
//! `request_uri`, and the browser carries only that reference to
//! `/authorize`. Nothing in the address bar can be read or changed.

use std::collections::{BTreeMap, HashMap};

use crate::db::pushed_requests::{self, PushedRequestRow};
use crate::db::{Conn, QueryError};

use super::authorize::{self, AuthorizeError};
use super::client::Client;
use super::error::OAuthError;
use super::secret;

/// The prefix of every `request_uri` this server hands out (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a client has to send the browser to `/authorize`.
pub const PUSHED_TTL: i64 = 60;
/// How long the user then has to sign in and consent.
pub const SIGN_IN_WINDOW: i64 = 600;

/// The authorization parameters this server acts on; anything else in a
/// push is ignored (RFC 6749 §3.1) and not stored. Client credentials are
/// not among them.
const STORED_PARAMS: [&str; 15] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "acr_values",
    "dpop_jkt",
    "response_mode",
    "request",
];

/// What `/par` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// The pushed request an authorization request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRef {
    pub request_hash: Vec<u8>,
    /// The session a user signed in to for this request, if one did.
    pub signed_in_session: Option<i32>,
}

/// The parameters of a pushed request, found by its reference.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub params: HashMap<String, String>,
    pub pushed: PushedRef,
    /// False when it was already used or has expired: the client then
    /// hears `invalid_request_uri` at its redirect URI.
    pub live: bool,
}

/// Validates a pushed request exactly as `/authorize` would and stores it.
/// `client` has already authenticated; `form` is the body of the push.
pub fn push(
    conn: &mut Conn,
    client: &Client,
    form: &HashMap<String, String>,
    now: i64,
) -> Result<Pushed, OAuthError> {
    if form.get("request_uri").is_some_and(|v| !v.is_empty()) {
        return Err(OAuthError::InvalidRequest(
            "request_uri cannot be pushed".into(),
        ));
    }
    let params: BTreeMap<String, String> = form
        .iter()
        .filter(|(k, v)| STORED_PARAMS.contains(&k.as_str()) && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain([("client_id".to_owned(), client.client_id.clone())])
        .collect();
    let as_map: HashMap<String, String> = params.clone().into_iter().collect();
    authorize::validate(conn, &as_map, true).map_err(rejected)?;
    let random = secret::generate_token();
    let request_uri = format!("{REQUEST_URI_PREFIX}{random}");
    let stored = serde_json::to_string(&params).map_err(OAuthError::internal)?;
    pushed_requests::insert_pushed_request(
        conn,
        &PushedRequestRow {
            request_hash: secret::hash_secret(&request_uri).to_vec(),
            client_id: client.client_id.clone(),
            params: stored,
            created_at: now,
            expires_at: now + PUSHED_TTL,
            arrived_at: None,
            used_at: None,
            signed_in_session_id: None,
        },
    )?;
    log::info!(
        "authorization request pushed by client {:?}",
        client.client_id
    );
    Ok(Pushed {
        request_uri,
        expires_in: PUSHED_TTL,
    })
}

/// An authorization-endpoint error as a JSON error for `/par` (RFC 9126 §2.3).
fn rejected(e: AuthorizeError) -> OAuthError {
    match e {
        AuthorizeError::Page(message) => OAuthError::InvalidRequest(message),
        AuthorizeError::Redirect {
            error, description, ..
        } => match error {
            "invalid_request" => OAuthError::InvalidRequest(description),
            "invalid_scope" => OAuthError::InvalidScope(description),
            "unauthorized_client" => OAuthError::UnauthorizedClient(description),
            _ => OAuthError::AuthorizationRejected { error, description },
        },
    }
}

/// For an authorization request that carries a `request_uri`, the pushed
/// parameters it refers to; `None` for an ordinary request. The first
/// arrival gives the user [`SIGN_IN_WINDOW`] to finish. A reference that
/// is unknown or names another client is an error page: nothing in it can
/// be trusted to redirect to.
pub fn resolve(
    conn: &mut Conn,
    params: &HashMap<String, String>,
    now: i64,
) -> Result<Result<Option<Resolved>, AuthorizeError>, QueryError> {
    let Some(request_uri) = params.get("request_uri") else {
        return Ok(Ok(None));
    };
    // One answer for every unknown reference: which kind it was would only
    // help someone guessing references.
    let unusable = || {
        Ok(Err(AuthorizeError::Page(
            "This sign-in request is unknown. Go back to the application and start again."
                .to_owned(),
        )))
    };
    let Some(client_id) = params.get("client_id").filter(|c| !c.is_empty()) else {
        return Ok(Err(AuthorizeError::Page(
            "The request has no client_id.".to_owned(),
        )));
    };
    if !request_uri.starts_with(REQUEST_URI_PREFIX) {
        return unusable();
    }
    let hash = secret::hash_secret(request_uri).to_vec();
    let Some(row) = pushed_requests::find_pushed_request(conn, &hash)? else {
        return unusable();
    };
    if &row.client_id != client_id {
        return unusable();
    }
    let Ok(params) = serde_json::from_str::<HashMap<String, String>>(&row.params) else {
        return unusable();
    };
    let arrived_now = row.used_at.is_none()
        && row.arrived_at.is_none()
        && pushed_requests::update_pushed_request_arrived(conn, &hash, now, now + SIGN_IN_WINDOW)?
            == 1;
    let live = row.used_at.is_none() && (arrived_now || row.expires_at > now);
    Ok(Ok(Some(Resolved {
        params,
        pushed: PushedRef {
            request_hash: hash,
            signed_in_session: row.signed_in_session_id,
        },
        live,
    })))
}

/// Spends a pushed request on the code or error it ended with; `false`
/// when it was already spent or expired (another tab or a replay won).
pub fn spend(conn: &mut Conn, pushed: &PushedRef, now: i64) -> Result<bool, QueryError> {
    Ok(pushed_requests::update_pushed_request_used(conn, &pushed.request_hash, now)? == 1)
}

/// The parameters of the authorization request a sign-in page came from:
/// the pushed ones when it names a pushed request, else `params` itself.
pub fn requested_params(
    conn: &mut Conn,
    params: &HashMap<String, String>,
) -> Result<HashMap<String, String>, QueryError> {
    let (Some(request_uri), Some(client_id)) = (params.get("request_uri"), params.get("client_id"))
    else {
        return Ok(params.clone());
    };
    let hash = secret::hash_secret(request_uri);
    Ok(pushed_requests::find_pushed_request(conn, &hash)?
        .filter(|row| &row.client_id == client_id)
        .and_then(|row| serde_json::from_str(&row.params).ok())
        .unwrap_or_default())
}

/// After a sign-in from a page whose authorization request is `params`:
/// when that names a pushed request, records the new session on it, which
/// is what satisfies the request's `prompt=login`.
pub fn record_sign_in(
    conn: &mut Conn,
    params: &HashMap<String, String>,
    session_id: i32,
) -> Result<(), QueryError> {
    let (Some(request_uri), Some(client_id)) = (params.get("request_uri"), params.get("client_id"))
    else {
        return Ok(());
    };
    let hash = secret::hash_secret(request_uri);
    pushed_requests::update_pushed_request_signed_in(conn, &hash, client_id, session_id)?;
    Ok(())
}
