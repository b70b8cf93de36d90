//! Storage of refresh tokens (as SHA-256 hashes), grouped in families: one
//! family per grant, one live token per family at a time.

use diesel::prelude::*;

use super::Conn;
use super::schema::{refresh_tokens, sessions, users};

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: i32,
    pub token_hash: Vec<u8>,
    pub client_id: String,
    pub user_id: i32,
    pub session_id: Option<i32>,
    pub code_hash: Option<Vec<u8>>,
    pub scope: String,
    pub offline: bool,
    pub created_at: i64,
    /// The family's absolute expiry, carried from token to token.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub family_id: String,
    pub spent_at: Option<i64>,
    pub idle_expires_at: i64,
    /// The DPoP key the family is bound to (public clients, RFC 9449 §5).
    pub dpop_jkt: Option<String>,
}

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
    pub family_id: &'a str,
    pub idle_expires_at: i64,
    pub dpop_jkt: Option<&'a str>,
}

/// Stores a new refresh token.
pub fn insert_refresh_token(conn: &mut Conn, t: &NewRefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(t)
        .execute(conn)
        .map(|_| ())
}

/// Finds a token by hash.
pub fn find_refresh_token(conn: &mut Conn, hash: &[u8]) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Finds a token with its user's subject and its session's `sid`.
pub fn find_refresh_token_details(
    conn: &mut Conn,
    hash: &[u8],
) -> QueryResult<Option<(RefreshTokenRow, String, Option<String>)>> {
    refresh_tokens::table
        .inner_join(users::table)
        .left_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            RefreshTokenRow::as_select(),
            users::subject,
            sessions::sid.nullable(),
        ))
        .first(conn)
        .optional()
}

/// Marks a live token spent (compare-and-set); 0 means someone else did first.
pub fn update_refresh_token_spent(conn: &mut Conn, id: i32, now: i64) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::spent_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(now))
    .execute(conn)
}

/// Revokes every token of a family.
pub fn revoke_refresh_family(conn: &mut Conn, family_id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes every live refresh token issued from a code.
pub fn revoke_refresh_tokens_by_code(
    conn: &mut Conn,
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

/// Revokes a session's refresh tokens; offline ones only when asked.
pub fn revoke_session_refresh_tokens(
    conn: &mut Conn,
    session_id: i32,
    include_offline: bool,
    now: i64,
) -> QueryResult<usize> {
    let q = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    let q = if include_offline {
        q
    } else {
        q.filter(refresh_tokens::offline.eq(false))
    };
    let ids: Vec<i32> = q.select(refresh_tokens::id).load(conn)?;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::id.eq_any(ids)))
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)
}

/// Revokes every refresh token of a user.
pub fn revoke_user_refresh_tokens(conn: &mut Conn, user_id: i32, now: i64) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes every refresh token a user's grants gave one client.
pub fn revoke_user_client_refresh_tokens(
    conn: &mut Conn,
    user_id: i32,
    client_id: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::client_id.eq(client_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Deletes up to `limit` tokens that can no longer matter: past their
/// family's absolute expiry, or revoked more than `revoked_before`.
/// Spent tokens of live families stay, so their reuse is still detected.
pub fn delete_dead_refresh_tokens(
    conn: &mut Conn,
    now: i64,
    revoked_before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let ids: Vec<i32> = refresh_tokens::table
        .filter(
            refresh_tokens::expires_at
                .le(now)
                .or(refresh_tokens::revoked_at.le(revoked_before)),
        )
        .select(refresh_tokens::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(ids))).execute(conn)
}

/// Whether a stored refresh token is live: (offline, revoked) by hash.
pub fn find_refresh_token_state(
    conn: &mut Conn,
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

/// A user's live grants: (client, scope, offline, family start) per family.
pub fn list_user_grants(
    conn: &mut Conn,
    user_id: i32,
    now: i64,
) -> QueryResult<Vec<(String, String, bool, i64)>> {
    refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .filter(refresh_tokens::spent_at.is_null())
        .filter(refresh_tokens::expires_at.gt(now))
        .order(refresh_tokens::created_at.desc())
        .select((
            refresh_tokens::client_id,
            refresh_tokens::scope,
            refresh_tokens::offline,
            refresh_tokens::created_at,
        ))
        .load(conn)
}
