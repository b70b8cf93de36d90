//! A signed-in user's own account: their sessions, their password and the
//! applications they consented to. What the account page does, without HTTP.
//! Ending a session takes the same path as an admin's revoke.

use crate::db::users::{self, UserRow};
use crate::db::{Conn, QueryError, consents, refresh_tokens, sessions};

use super::admin;
use super::audit::{self, Actor};
use super::login::{self, SignInFailure};
use super::password::{self, PasswordError};
use super::revocation::{self, Scope as RevokeScope};
use super::user::UserError;

/// One of the user's live sessions.
#[derive(Debug, Clone)]
pub struct OwnSession {
    pub id: i32,
    /// The session of the browser looking at the page.
    pub current: bool,
    pub ip: String,
    pub user_agent: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

/// The user's live sessions, most recently used first.
pub fn own_sessions(
    conn: &mut Conn,
    user: &UserRow,
    current_session: i32,
    now: i64,
) -> Result<Vec<OwnSession>, QueryError> {
    Ok(
        sessions::list_live_sessions(conn, now, Some(&user.username), 500)?
            .into_iter()
            .map(|(s, _)| OwnSession {
                current: s.id == current_session,
                id: s.id,
                ip: s.ip,
                user_agent: s.user_agent,
                signed_in_at: s.auth_time,
                last_seen_at: s.last_seen_at,
            })
            .collect(),
    )
}

/// Ends one of the user's own sessions (revoking its refresh tokens and
/// putting its `sid` on the revocation feed); false when it is not theirs
/// or already ended.
pub fn end_own_session(
    conn: &mut Conn,
    actor: &Actor,
    user_id: i32,
    session_id: i32,
    access_ttl: i64,
    now: i64,
) -> Result<bool, QueryError> {
    match sessions::find_session(conn, session_id)? {
        Some((s, _)) if s.user_id == user_id => {
            admin::revoke_session(conn, actor, session_id, access_ttl, now)
        }
        _ => Ok(false),
    }
}

/// What a password change came to.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// Changed; this many other sessions were ended.
    Changed { ended: usize },
    /// The current password was wrong (counted like a failed sign-in).
    Refused(SignInFailure),
    /// The new password is not acceptable.
    Invalid(String),
}

/// Changes the user's password after checking the current one, and ends
/// every other session of theirs: whoever else knew the old password is
/// signed out everywhere.
#[allow(clippy::too_many_arguments)]
pub fn change_password(
    conn: &mut Conn,
    actor: &Actor,
    user: &UserRow,
    current: &str,
    new: &str,
    keep_session: i32,
    access_ttl: i64,
    now: i64,
) -> Result<PasswordChange, UserError> {
    if let Some(retry_after) = login::locked(conn, &user.username, actor.ip, now)? {
        return Ok(PasswordChange::Refused(SignInFailure::Throttled {
            retry_after,
        }));
    }
    if !password::verify_password(current, &user.password_hash) {
        let failure =
            login::credential_failed(conn, user, actor.ip, "user.password_change_refused", now)?;
        return Ok(PasswordChange::Refused(failure));
    }
    let hash = match password::hash_password(new) {
        Ok(h) => h,
        Err(e @ (PasswordError::TooShort | PasswordError::TooLong)) => {
            return Ok(PasswordChange::Invalid(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let ended = crate::db::immediate(conn, |conn| {
        users::update_user_password(conn, &user.username, &hash)?;
        let mut ended = 0;
        for id in sessions::list_open_session_ids(conn, user.id)? {
            if id != keep_session
                && revocation::end_session_in_tx(
                    conn,
                    id,
                    RevokeScope::Everything,
                    access_ttl,
                    now,
                )?
            {
                ended += 1;
            }
        }
        audit::record(
            conn,
            actor,
            "user.password_changed",
            &user.username,
            &format!("{ended} other session(s) ended"),
            now,
        )?;
        Ok::<_, QueryError>(ended)
    })?;
    Ok(PasswordChange::Changed { ended })
}

/// An application the user consented to.
#[derive(Debug, Clone)]
pub struct AppConsent {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: i64,
}

/// The applications the user consented to.
pub fn consents(conn: &mut Conn, user_id: i32) -> Result<Vec<AppConsent>, QueryError> {
    Ok(consents::list_user_consents(conn, user_id)?
        .into_iter()
        .map(|(client_id, client_name, scope, granted_at)| AppConsent {
            client_id,
            client_name,
            scope,
            granted_at,
        })
        .collect())
}

/// Withdraws the user's consent to a client and revokes the refresh tokens
/// it holds for them: the application must ask again. False when there was
/// no consent.
pub fn withdraw_consent(
    conn: &mut Conn,
    actor: &Actor,
    user: &UserRow,
    client_id: &str,
    now: i64,
) -> Result<bool, QueryError> {
    crate::db::immediate(conn, |conn| {
        if consents::delete_consent(conn, user.id, client_id)? == 0 {
            return Ok(false);
        }
        let revoked =
            refresh_tokens::revoke_user_client_refresh_tokens(conn, user.id, client_id, now)?;
        audit::record(
            conn,
            actor,
            "consent.withdrawn",
            &user.username,
            &format!("client {client_id}; {revoked} refresh token(s) revoked"),
            now,
        )?;
        Ok(true)
    })
}
