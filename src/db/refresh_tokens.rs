//! Storage of refresh tokens (as SHA-256 hashes).

use diesel::prelude::*;

use super::schema::refresh_tokens;

/// A refresh token about to be stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a [u8],
    pub client_id: &'a str,
    pub user_id: i32,
    pub session_id: Option<i32>,
    pub code_hash: Option<&'a [u8]>,
    pub scope: &'a str,
    pub offline: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Stores a new refresh token.
pub fn insert_refresh_token(conn: &mut SqliteConnection, t: &NewRefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(t)
        .execute(conn)
        .map(|_| ())
}

/// Revokes every live refresh token issued from a code.
pub fn revoke_refresh_tokens_by_code(
    conn: &mut SqliteConnection,
    code_hash: &[u8],
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::code_hash.eq(code_hash))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes the live, session-bound (not offline) refresh tokens of a session.
pub fn revoke_session_refresh_tokens(
    conn: &mut SqliteConnection,
    session_id: i32,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::session_id.eq(session_id))
            .filter(refresh_tokens::offline.eq(false))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Whether a stored refresh token is live: (offline, revoked) by hash.
pub fn find_refresh_token_state(
    conn: &mut SqliteConnection,
    hash: &[u8],
) -> QueryResult<Option<(bool, Option<i64>, i64)>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            refresh_tokens::offline,
            refresh_tokens::revoked_at,
            refresh_tokens::expires_at,
        ))
        .first(conn)
        .optional()
}
