//! Revocation in one place: ending sessions, revoking refresh-token
//! families and access tokens, and appending each to the revocation feed so
//! offline verifiers learn of it (the entry lasts as long as a token it
//! affects could still be accepted).

use crate::db::refresh_tokens;
use crate::db::revocation_events::{self, RevocationEventRow};
use crate::db::{Conn, QueryError, revocations, sessions};

use super::backchannel_logout;
use super::tokens::LEEWAY;

/// Feed entry kind for a revoked session id.
pub const KIND_SID: &str = "sid";
/// Feed entry kind for a revoked access token id.
pub const KIND_JTI: &str = "jti";

/// Which refresh tokens go with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Sign-out: `offline_access` grants survive.
    SessionBound,
    /// Revocation by an admin or after a token reuse: everything goes.
    Everything,
}

/// Ends a session, revokes its refresh tokens and puts its `sid` on the feed
/// until every access token of the session has expired. One transaction.
/// Returns false when the session had already ended.
pub fn end_session(
    conn: &mut Conn,
    session_id: i32,
    scope: Scope,
    access_ttl: i64,
    now: i64,
) -> Result<bool, QueryError> {
    crate::db::immediate(conn, |conn| {
        end_session_in_tx(conn, session_id, scope, access_ttl, now)
    })
}

/// [`end_session`] inside a caller's transaction.
pub fn end_session_in_tx(
    conn: &mut Conn,
    session_id: i32,
    scope: Scope,
    access_ttl: i64,
    now: i64,
) -> Result<bool, QueryError> {
    let ended = sessions::revoke_session(conn, session_id, now)? > 0;
    refresh_tokens::revoke_session_refresh_tokens(
        conn,
        session_id,
        scope == Scope::Everything,
        now,
    )?;
    if ended && let Some(s) = sessions::find_session(conn, session_id)? {
        revocation_events::insert_revocation_event(
            conn,
            KIND_SID,
            &s.0.sid,
            now + access_ttl + LEEWAY as i64,
            now,
        )?;
        let told = backchannel_logout::enqueue(conn, session_id, &s.0.sid, &s.1.subject, now)?;
        log::info!(
            "session {} ended; {told} back-channel logout(s) queued",
            s.0.sid
        );
    }
    Ok(ended)
}

/// Revokes an access token by `jti` until its expiry, and feeds it.
pub fn revoke_access_token(
    conn: &mut Conn,
    jti: &str,
    exp: i64,
    now: i64,
) -> Result<(), QueryError> {
    if exp + (LEEWAY as i64) <= now || revocations::is_access_token_revoked(conn, jti)? {
        return Ok(());
    }
    revocations::insert_revoked_access_token(conn, jti, exp, now)?;
    revocation_events::insert_revocation_event(conn, KIND_JTI, jti, exp + LEEWAY as i64, now)
}

/// Ends every session of a user and revokes all their refresh tokens.
pub fn revoke_user(
    conn: &mut Conn,
    user_id: i32,
    access_ttl: i64,
    now: i64,
) -> Result<(), QueryError> {
    crate::db::immediate(conn, |conn| {
        for id in sessions::list_open_session_ids(conn, user_id)? {
            end_session_in_tx(conn, id, Scope::Everything, access_ttl, now)?;
        }
        refresh_tokens::revoke_user_refresh_tokens(conn, user_id, now)?;
        Ok(())
    })
}

/// A page of the feed: entries after `cursor` that still matter.
pub fn feed(
    conn: &mut Conn,
    cursor: i32,
    limit: i64,
    now: i64,
) -> Result<Vec<RevocationEventRow>, QueryError> {
    revocation_events::list_revocation_events_after(conn, cursor, now, limit)
}
