//! Storage of browser sessions.

use diesel::prelude::*;

use super::Conn;
use super::schema::{sessions, users};
use super::users::UserRow;

/// A stored browser session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i32,
    pub sid: String,
    pub token_hash: Vec<u8>,
    pub user_id: i32,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    pub ended_at: Option<i64>,
    /// How the user signed in: RFC 8176 values, space-separated.
    pub amr: String,
}

/// A session about to be stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub sid: &'a str,
    pub token_hash: &'a [u8],
    pub user_id: i32,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub amr: &'a str,
}

/// Stores a new session.
pub fn insert_session(conn: &mut Conn, s: &NewSession) -> QueryResult<SessionRow> {
    // The portable dialect cannot return a `Selectable` row: read it back.
    let id: i32 = diesel::insert_into(sessions::table)
        .values(s)
        .returning(sessions::id)
        .get_result(conn)?;
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
}

/// Finds a session and its user by the hash of the cookie value.
pub fn find_session_by_token_hash(
    conn: &mut Conn,
    hash: &[u8],
) -> QueryResult<Option<(SessionRow, UserRow)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(hash))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Finds a session and its user by internal id.
pub fn find_session(conn: &mut Conn, id: i32) -> QueryResult<Option<(SessionRow, UserRow)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Waits for any transaction ending the session to commit, and keeps it
/// from being ended until this transaction commits (PostgreSQL `FOR
/// SHARE`). On SQLite the transaction's write lock already does both.
pub fn lock_session(conn: &mut Conn, id: i32) -> QueryResult<()> {
    match conn {
        Conn::Postgres(c) => sessions::table
            .find(id)
            .select(sessions::id)
            .for_share()
            .first::<i32>(c)
            .optional()
            .map(|_| ()),
        Conn::Sqlite(_) => Ok(()),
    }
}

/// Finds a session by its public `sid`.
pub fn find_session_by_sid(conn: &mut Conn, sid: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::sid.eq(sid))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// Records activity: moves `last_seen_at` and the idle expiry.
pub fn update_session_seen(
    conn: &mut Conn,
    id: i32,
    now: i64,
    idle_expires_at: i64,
) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::idle_expires_at.eq(idle_expires_at),
        ))
        .execute(conn)
}

/// Ends a session (sign-out or revocation); returns 0 when already ended.
pub fn revoke_session(conn: &mut Conn, id: i32, now: i64) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)
}

/// The ids of a user's sessions that have not ended.
pub fn list_open_session_ids(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<i32>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .select(sessions::id)
        .load(conn)
}

/// Deletes up to `limit` sessions that ended, or expired, before `before`.
pub fn delete_finished_sessions(
    conn: &mut Conn,
    now: i64,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let ids: Vec<i32> = sessions::table
        .filter(
            sessions::ended_at
                .le(before)
                .or(sessions::absolute_expires_at.le(before.min(now)))
                .or(sessions::idle_expires_at.le(before.min(now))),
        )
        .select(sessions::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(sessions::table.filter(sessions::id.eq_any(ids))).execute(conn)
}

/// Live sessions with their usernames, newest first, optionally for one user.
pub fn list_live_sessions(
    conn: &mut Conn,
    now: i64,
    username: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(SessionRow, String)>> {
    let mut q = sessions::table
        .inner_join(users::table)
        .filter(sessions::ended_at.is_null())
        .filter(sessions::absolute_expires_at.gt(now))
        .filter(sessions::idle_expires_at.gt(now))
        .into_boxed();
    if let Some(u) = username {
        q = q.filter(users::username.eq(u.to_owned()));
    }
    q.order(sessions::last_seen_at.desc())
        .limit(limit)
        .select((SessionRow::as_select(), users::username))
        .load(conn)
}

/// The clients that received codes or refresh tokens in these sessions.
pub fn list_session_clients(
    conn: &mut Conn,
    session_ids: &[i32],
) -> QueryResult<Vec<(i32, String)>> {
    use super::schema::{auth_codes, refresh_tokens};
    let mut out: Vec<(i32, String)> = auth_codes::table
        .filter(auth_codes::session_id.eq_any(session_ids))
        .select((auth_codes::session_id, auth_codes::client_id))
        .distinct()
        .load(conn)?;
    let from_tokens: Vec<(Option<i32>, String)> = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq_any(session_ids))
        .select((refresh_tokens::session_id, refresh_tokens::client_id))
        .distinct()
        .load(conn)?;
    out.extend(
        from_tokens
            .into_iter()
            .filter_map(|(s, c)| s.map(|s| (s, c))),
    );
    out.sort();
    out.dedup();
    Ok(out)
}
