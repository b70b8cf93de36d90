//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): one family per grant,
//! rotation on every use, and reuse detection that revokes the family and
//! its session.
//!
//! A successor is derived from the presented token with a server-side keyed
//! MAC, so a retry of the same token within the configured grace gets the
//! very same successor back without any token being stored in plain text.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::db::refresh_tokens::{self, NewRefreshToken, RefreshTokenRow};
use crate::db::server_secrets::{find_server_secret, insert_server_secret};
use crate::db::{Conn, QueryError, sessions, users};
use crate::domain::at_rest::{SealError, Sealer, server_secret_label};
use crate::domain::client::{ClientCredentials, GrantType, authenticate_client};
use crate::domain::error::OAuthError;
use crate::domain::keys::KeyStore;
use crate::domain::revocation::{self, Scope as RevokeScope};
use crate::domain::scope::Scope;
use crate::domain::secret;
use crate::domain::session::is_live;
use crate::domain::tokens::{
    AccessTokenGrant, SignedInUser, TokenPolicy, TokenResponse, issue_access_token,
};
use crate::domain::user::split_roles;

const KEY_NAME: &str = "refresh_rotation_mac";

/// The MAC key that derives successors, kept in the database so every
/// server process and restart derives the same ones.
#[derive(Clone)]
pub struct RotationKey(hmac::Key);

impl std::fmt::Debug for RotationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RotationKey(..)")
    }
}

impl RotationKey {
    /// Loads the key, creating it on first use; stored sealed by `sealer`.
    pub fn load_or_create(conn: &mut Conn, sealer: &Sealer, now: i64) -> Result<Self, SealError> {
        let label = server_secret_label(KEY_NAME);
        // Insert-or-ignore, then read: concurrent first starts agree on one key.
        let fresh = sealer.seal(&label, &secret::random_bytes::<32>())?;
        insert_server_secret(conn, KEY_NAME, &fresh, now)?;
        let stored = find_server_secret(conn, KEY_NAME)?.ok_or(QueryError::NotFound)?;
        let bytes = sealer.open(&label, &stored)?;
        Ok(RotationKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// A key from raw bytes, for tests.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        RotationKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A keyed MAC of `data`, base64url (also binds admin CSRF tokens to a session).
    pub fn mac(&self, data: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, data.as_bytes()).as_ref())
    }

    /// The successor of a refresh token.
    pub fn successor(&self, token: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, token.as_bytes()).as_ref())
    }
}

/// Lifetimes and the reuse grace.
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    /// Absolute lifetime of a family, from sign-in.
    pub absolute_ttl: i64,
    /// A token unused for this long expires.
    pub idle_ttl: i64,
    /// Seconds during which a spent token gets its successor again (0 = strict).
    pub reuse_grace: i64,
    /// Access-token lifetime, for the revocation feed.
    pub access_ttl: i64,
}

/// Where a new family comes from.
#[derive(Debug, Clone)]
pub struct NewFamily<'a> {
    pub client_id: &'a str,
    pub user_id: i32,
    pub session_id: i32,
    pub session_expires_at: i64,
    pub code_hash: &'a [u8],
    pub scope: &'a str,
    /// The DPoP key the family is bound to.
    pub dpop_jkt: Option<&'a str>,
}

/// Starts a family for a fresh grant and returns its first token.
pub fn start_family(
    conn: &mut Conn,
    policy: &RefreshPolicy,
    f: &NewFamily,
    now: i64,
) -> Result<String, QueryError> {
    let token = secret::generate_token();
    let offline = f.scope.split(' ').any(|s| s == "offline_access");
    let expires_at = if offline {
        now + policy.absolute_ttl
    } else {
        (now + policy.absolute_ttl).min(f.session_expires_at)
    };
    refresh_tokens::insert_refresh_token(
        conn,
        &NewRefreshToken {
            token_hash: &secret::hash_secret(&token),
            client_id: f.client_id,
            user_id: f.user_id,
            session_id: Some(f.session_id),
            code_hash: Some(f.code_hash),
            scope: f.scope,
            offline,
            created_at: now,
            expires_at,
            family_id: &secret::random_id(),
            idle_expires_at: (now + policy.idle_ttl).min(expires_at),
            dpop_jkt: f.dpop_jkt,
        },
    )?;
    Ok(token)
}

enum Outcome {
    /// Rotated now, or a retry within the grace: the successor and the user.
    Rotated {
        spent: Box<RefreshTokenRow>,
        subject: String,
        roles: String,
        sid: Option<(String, i64)>,
    },
    Reused,
}

fn invalid(msg: &str) -> OAuthError {
    OAuthError::InvalidGrant(msg.to_owned())
}

/// Authenticates the client, rotates the token and issues a new access token.
#[allow(clippy::too_many_arguments)]
pub fn exchange(
    conn: &mut Conn,
    keys: &KeyStore,
    tokens: &TokenPolicy,
    policy: &RefreshPolicy,
    rotation: &RotationKey,
    creds: &ClientCredentials,
    presented: &str,
    requested_scope: Option<&str>,
    dpop_jkt: Option<&str>,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(conn, creds)?;
    if !client.allows(GrantType::RefreshToken) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use refresh tokens".into(),
        ));
    }
    let successor = rotation.successor(presented);
    // A public client's family is bound to the first key it proves, even if
    // it started without one (RFC 9449 §5).
    let dpop = Dpop {
        proved: dpop_jkt,
        bind: dpop_jkt.filter(|_| client.is_public()),
    };
    let requested = requested_scope
        .map(Scope::parse)
        .transpose()
        .map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
    // The spend is a conditional UPDATE; a lost race is judged again below.
    let outcome = with_busy_retry(|| {
        crate::db::with_row_locks(conn, |conn| {
            rotate(
                conn,
                policy,
                &client.client_id,
                presented,
                &successor,
                requested.as_ref(),
                dpop,
                now,
            )
        })
    })?;
    let (spent, subject, roles, sid) = match outcome {
        Outcome::Rotated {
            spent,
            subject,
            roles,
            sid,
        } => (spent, subject, roles, sid),
        Outcome::Reused => return Err(invalid("the refresh token was already used")),
    };
    let scope = match requested {
        Some(asked) => asked,
        None => Scope::parse(&spent.scope).map_err(|_| invalid("stored scope is invalid"))?,
    };
    let access = issue_access_token(
        keys,
        tokens,
        &AccessTokenGrant {
            subject: &subject,
            client_id: &client.client_id,
            scope: &scope,
            user: sid.as_ref().map(|(sid, auth_time)| SignedInUser {
                sid,
                auth_time: *auth_time,
            }),
            roles: Some(&split_roles(&roles)),
            alg: client.signing_alg,
            jkt: dpop_jkt,
        },
        now,
    )?;
    let mut response = TokenResponse::of(access, now);
    response.refresh_token = Some(successor);
    Ok(response)
}

/// SQLite reports a busy database when its lock wait ran out; the rotation
/// is retried a few times rather than turned into a server error.
fn with_busy_retry<T>(mut f: impl FnMut() -> Result<T, OAuthError>) -> Result<T, OAuthError> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(OAuthError::TemporarilyUnavailable) if attempt < 3 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 * attempt));
            }
            other => return other,
        }
    }
}

/// The DPoP key a refresh request proved, and the one to bind the
/// successor to if the family is not bound yet.
#[derive(Debug, Clone, Copy)]
struct Dpop<'a> {
    proved: Option<&'a str>,
    bind: Option<&'a str>,
}

/// The compare-and-set at the heart of rotation, inside one transaction.
#[allow(clippy::too_many_arguments)]
fn rotate(
    conn: &mut Conn,
    policy: &RefreshPolicy,
    client_id: &str,
    presented: &str,
    successor: &str,
    requested: Option<&Scope>,
    dpop: Dpop,
    now: i64,
) -> Result<Outcome, OAuthError> {
    let row = refresh_tokens::find_refresh_token(conn, &secret::hash_secret(presented))?
        .ok_or_else(|| invalid("the refresh token is invalid"))?;
    if row.client_id != client_id {
        // Someone else's token: refuse, but revoke nothing on their behalf.
        return Err(invalid("the refresh token was issued to another client"));
    }
    if row.revoked_at.is_some() {
        return Err(invalid("the refresh token was revoked"));
    }
    // A bound token is refused without its key, before anything is spent:
    // a stolen refresh token is no use to whoever lacks the key.
    if row.dpop_jkt.is_some() && row.dpop_jkt.as_deref() != dpop.proved {
        return Err(OAuthError::InvalidDpopProof(
            "the refresh token is bound to another DPoP key".into(),
        ));
    }
    // Checked before anything is spent, so a bad request costs nothing.
    let granted = Scope::parse(&row.scope).map_err(|_| invalid("stored scope is invalid"))?;
    if requested.is_some_and(|r| !r.is_subset(&granted)) {
        return Err(OAuthError::InvalidScope(
            "a refresh cannot widen the scope".into(),
        ));
    }
    let user = users::find_user_by_id(conn, row.user_id)?.filter(|u| !u.disabled);
    let Some(user) = user else {
        return Err(invalid("the user is disabled"));
    };
    let session = match row.session_id {
        Some(id) => sessions::find_session(conn, id)?,
        None => None,
    };
    let live_session = session.as_ref().filter(|(s, u)| is_live(s, u, now));
    let sid = live_session.map(|(s, _)| (s.sid.clone(), s.auth_time));
    if let Some(spent_at) = row.spent_at {
        let succ = refresh_tokens::find_refresh_token(conn, &secret::hash_secret(successor))?;
        let retry = policy.reuse_grace > 0
            && now - spent_at <= policy.reuse_grace
            && succ
                .as_ref()
                .is_some_and(|s| s.revoked_at.is_none() && s.spent_at.is_none());
        if retry {
            return Ok(Outcome::Rotated {
                spent: Box::new(row),
                subject: user.subject,
                roles: user.roles,
                sid,
            });
        }
        refresh_tokens::revoke_refresh_family(conn, &row.family_id, now)?;
        if let Some((s, _)) = &session {
            revocation::end_session_in_tx(
                conn,
                s.id,
                RevokeScope::Everything,
                policy.access_ttl,
                now,
            )?;
        }
        crate::domain::audit::record(
            conn,
            &crate::domain::audit::Actor::SYSTEM,
            "refresh.reuse_detected",
            &format!("user id {}", row.user_id),
            &format!("client {client_id}; family revoked"),
            now,
        )?;
        log::warn!(
            "security: refresh token reuse detected for client {client_id:?}, user id {}; family revoked",
            row.user_id
        );
        return Ok(Outcome::Reused);
    }
    if row.expires_at <= now || row.idle_expires_at <= now {
        return Err(invalid("the refresh token has expired"));
    }
    if !row.offline && live_session.is_none() {
        return Err(invalid("the sign-in session has ended"));
    }
    if refresh_tokens::update_refresh_token_spent(conn, row.id, now)? == 0 {
        // A concurrent request spent it first and has committed (the UPDATE
        // waited for it): this is a second use of a spent token. The row is
        // spent now, so the second look cannot come back here.
        return rotate(
            conn, policy, client_id, presented, successor, requested, dpop, now,
        );
    }
    refresh_tokens::insert_refresh_token(
        conn,
        &NewRefreshToken {
            token_hash: &secret::hash_secret(successor),
            client_id: &row.client_id,
            user_id: row.user_id,
            session_id: row.session_id,
            code_hash: row.code_hash.as_deref(),
            scope: &row.scope,
            offline: row.offline,
            created_at: now,
            expires_at: row.expires_at,
            family_id: &row.family_id,
            idle_expires_at: (now + policy.idle_ttl).min(row.expires_at),
            dpop_jkt: row.dpop_jkt.as_deref().or(dpop.bind),
        },
    )?;
    Ok(Outcome::Rotated {
        spent: Box::new(row),
        subject: user.subject,
        roles: user.roles,
        sid,
    })
}
