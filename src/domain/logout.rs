//! RP-Initiated Logout 1.0: which post-logout redirect is allowed, and
//! ending the browser session.

use crate::db::{Conn, QueryError, clients, sessions};

use super::audit::{self, Actor};
use super::client::Client;
use super::keys::KeyStore;
use super::revocation::{self, Scope};
use super::session::{self, SessionPolicy};
use super::tokens::verify_id_token_hint;

/// The parameters of a logout request.
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What a logout request asked for, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutPlan {
    /// The session the hint names (its `sid`), when the hint was valid.
    pub hinted_sid: Option<String>,
    /// Where to send the browser afterwards, with `state` appended.
    pub redirect: Option<String>,
}

/// Why a logout request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LogoutError {
    /// The post-logout redirect URI is not registered for the client.
    UnregisteredRedirect,
    /// `client_id` and the hint's audience disagree.
    ClientMismatch,
}

/// Checks the hint and the post-logout redirect. A redirect is allowed only
/// to a URI registered for the client the hint (or `client_id`) names.
pub fn plan(
    conn: &mut Conn,
    keys: &KeyStore,
    issuer: &str,
    req: &LogoutRequest,
    now: i64,
) -> Result<Result<LogoutPlan, LogoutError>, QueryError> {
    let hint = req
        .id_token_hint
        .as_deref()
        .and_then(|h| verify_id_token_hint(keys, issuer, h, now).ok());
    if let (Some(h), Some(c)) = (&hint, &req.client_id)
        && h.aud != *c
    {
        return Ok(Err(LogoutError::ClientMismatch));
    }
    let client_id = hint
        .as_ref()
        .map(|h| h.aud.as_str())
        .or(req.client_id.as_deref());
    let redirect = match (req.post_logout_redirect_uri.as_deref(), client_id) {
        (None, _) => None,
        (Some(_), None) => return Ok(Err(LogoutError::UnregisteredRedirect)),
        (Some(uri), Some(cid)) => {
            let client = clients::find_client(conn, cid)?.and_then(|r| Client::from_stored(r).ok());
            let registered =
                client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r.matches(uri)));
            if !registered {
                return Ok(Err(LogoutError::UnregisteredRedirect));
            }
            let pairs: Vec<(&str, &str)> = req
                .state
                .as_deref()
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            Some(super::authorize::redirect_url(uri, &pairs))
        }
    };
    Ok(Ok(LogoutPlan {
        hinted_sid: hint.map(|h| h.sid),
        redirect,
    }))
}

/// Ends the browser's own session and the one the hint names (each with its
/// session-bound refresh tokens).
pub fn sign_out(
    conn: &mut Conn,
    policy: &SessionPolicy,
    plan: &LogoutPlan,
    cookie_value: Option<&str>,
    now: i64,
) -> Result<(), QueryError> {
    if let Some(c) = cookie_value
        && let Some(s) = session::find_active(conn, policy, c, now)?
    {
        let ttl = policy.access_ttl;
        revocation::end_session(conn, s.session.id, Scope::SessionBound, ttl, now)?;
        let actor = Actor {
            name: &s.user.username,
            ip: &s.session.ip,
        };
        let detail = format!("sid {}", s.session.sid);
        audit::record(
            conn,
            &actor,
            "session.signed_out",
            &s.user.username,
            &detail,
            now,
        )?;
    }
    if let Some(sid) = &plan.hinted_sid
        && let Some(s) = sessions::find_session_by_sid(conn, sid)?
        && revocation::end_session(conn, s.id, Scope::SessionBound, policy.access_ttl, now)?
    {
        let detail = format!("sid {sid} (id_token_hint)");
        audit::record(conn, &Actor::SYSTEM, "session.signed_out", "", &detail, now)?;
    }
    Ok(())
}
