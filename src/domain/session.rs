//! Browser sessions: created at sign-in, found by the hash of the cookie
//! value, ended by sign-out or revocation. Ending a session also revokes the
//! refresh tokens bound to it (those without `offline_access`).

use crate::db::sessions::{self, NewSession, SessionRow};
use crate::db::users::UserRow;
use crate::db::{Conn, QueryError};

use super::secret;

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Ends after this long without activity.
    pub idle_ttl: i64,
    /// Ends this long after sign-in, whatever the activity.
    pub absolute_ttl: i64,
    /// Access-token lifetime: how long an ended session's `sid` stays on the
    /// revocation feed.
    pub access_ttl: i64,
}

/// A live session with its (enabled) user.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub session: SessionRow,
    pub user: UserRow,
}

/// A new session and the cookie value that names it (returned once; only
/// its hash is stored).
#[derive(Debug)]
pub struct NewBrowserSession {
    pub cookie_value: String,
    pub session: SessionRow,
}

/// Starts a session for a user who just signed in.
pub fn start_session(
    conn: &mut Conn,
    policy: &SessionPolicy,
    user_id: i32,
    ip: &str,
    user_agent: &str,
    amr: &str,
    now: i64,
) -> Result<NewBrowserSession, QueryError> {
    let cookie_value = secret::generate_token();
    let sid = secret::random_id();
    let agent: String = user_agent.chars().take(256).collect();
    let session = sessions::insert_session(
        conn,
        &NewSession {
            sid: &sid,
            token_hash: &secret::hash_secret(&cookie_value),
            user_id,
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: (now + policy.idle_ttl).min(now + policy.absolute_ttl),
            absolute_expires_at: now + policy.absolute_ttl,
            ip,
            user_agent: &agent,
            amr,
        },
    )?;
    Ok(NewBrowserSession {
        cookie_value,
        session,
    })
}

/// True when a stored session may still be used at `now`.
pub fn is_live(s: &SessionRow, user: &UserRow, now: i64) -> bool {
    s.ended_at.is_none() && now < s.idle_expires_at && now < s.absolute_expires_at && !user.disabled
}

/// The live session named by a cookie value, if any; records the activity.
pub fn find_active(
    conn: &mut Conn,
    policy: &SessionPolicy,
    cookie_value: &str,
    now: i64,
) -> Result<Option<ActiveSession>, QueryError> {
    let hash = secret::hash_secret(cookie_value);
    let Some((session, user)) = sessions::find_session_by_token_hash(conn, &hash)? else {
        return Ok(None);
    };
    if !is_live(&session, &user, now) {
        return Ok(None);
    }
    // Only write when a minute has passed, to keep reads read-only.
    if now - session.last_seen_at >= 60 {
        let idle = (now + policy.idle_ttl).min(session.absolute_expires_at);
        sessions::update_session_seen(conn, session.id, now, idle)?;
    }
    Ok(Some(ActiveSession { session, user }))
}
