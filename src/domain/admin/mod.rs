//! What the admin console does, as plain functions: listing sessions and
//! users, revoking, disabling, resetting passwords, editing clients. Every
//! change is audited with the acting admin. Sessions here; users and clients
//! in their own modules.

mod client_registrations;
mod user_accounts;

pub use client_registrations::{
    ClientEdit, create_client, delete_client, find_client, rotate_client_secret, update_client,
};
pub use user_accounts::{
    create_user, list_users, reset_mfa, reset_password, second_factors_of, set_disabled,
    set_require_mfa, set_roles, user_factors, user_grants,
};

use crate::db::{Conn, QueryError, sessions, users};
use crate::domain::audit::{self, Actor};
use crate::domain::revocation::{self, Scope as RevokeScope};
use crate::domain::user::UserError;

/// Feed entry kind for a deleted client: reject its access tokens.
pub const KIND_CLIENT: &str = "client_id";

/// A live session as the admin sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: i32,
    pub sid: String,
    pub username: String,
    pub clients: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// Live sessions, newest activity first, optionally for one username.
pub fn list_sessions(
    conn: &mut Conn,
    username: Option<&str>,
    now: i64,
) -> Result<Vec<SessionView>, QueryError> {
    let rows = sessions::list_live_sessions(conn, now, username, 500)?;
    let ids: Vec<i32> = rows.iter().map(|(s, _)| s.id).collect();
    let clients = sessions::list_session_clients(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(s, username)| SessionView {
            clients: clients
                .iter()
                .filter(|(id, _)| *id == s.id)
                .map(|(_, c)| c.clone())
                .collect(),
            id: s.id,
            sid: s.sid,
            username,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.idle_expires_at.min(s.absolute_expires_at),
        })
        .collect())
}

/// Ends one session with every refresh-token family bound to it, and feeds
/// its `sid`, in one transaction.
pub fn revoke_session(
    conn: &mut Conn,
    actor: &Actor,
    session_id: i32,
    access_ttl: i64,
    now: i64,
) -> Result<bool, QueryError> {
    crate::db::immediate(conn, |conn| {
        let Some((s, u)) = sessions::find_session(conn, session_id)? else {
            return Ok(false);
        };
        let ended = revocation::end_session_in_tx(
            conn,
            session_id,
            RevokeScope::Everything,
            access_ttl,
            now,
        )?;
        audit::record(
            conn,
            actor,
            "session.revoked",
            &u.username,
            &format!("sid {}", s.sid),
            now,
        )?;
        Ok(ended)
    })
}

/// Ends every session of a user.
pub fn revoke_user_sessions(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    access_ttl: i64,
    now: i64,
) -> Result<usize, UserError> {
    let user = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    let n = crate::db::immediate(conn, |conn| {
        let mut n = 0;
        for id in sessions::list_open_session_ids(conn, user.id)? {
            if revocation::end_session_in_tx(conn, id, RevokeScope::Everything, access_ttl, now)? {
                n += 1;
            }
        }
        audit::record(
            conn,
            actor,
            "user.sessions_revoked",
            username,
            &format!("{n} session(s)"),
            now,
        )?;
        Ok::<_, QueryError>(n)
    })?;
    Ok(n)
}
