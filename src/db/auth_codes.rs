//! Storage of authorization codes (as SHA-256 hashes).

use diesel::prelude::*;

use super::Conn;
use super::schema::auth_codes;

/// A stored authorization code.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct AuthCodeRow {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub session_id: i32,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub access_jti: Option<String>,
    pub access_expires_at: Option<i64>,
    /// The DPoP key the code is bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

/// Stores a new code.
pub fn insert_auth_code(conn: &mut Conn, row: &AuthCodeRow) -> QueryResult<()> {
    diesel::insert_into(auth_codes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Finds a code by its hash.
pub fn find_auth_code(conn: &mut Conn, hash: &[u8]) -> QueryResult<Option<AuthCodeRow>> {
    auth_codes::table
        .find(hash)
        .select(AuthCodeRow::as_select())
        .first(conn)
        .optional()
}

/// Marks an unused code used (compare-and-set); returns 0 when it was
/// already used, so exactly one redemption can win.
pub fn update_auth_code_used(conn: &mut Conn, hash: &[u8], now: i64) -> QueryResult<usize> {
    diesel::update(
        auth_codes::table
            .find(hash)
            .filter(auth_codes::used_at.is_null()),
    )
    .set(auth_codes::used_at.eq(now))
    .execute(conn)
}

/// Records the access token a code produced, so a replay can revoke it.
pub fn update_auth_code_access(
    conn: &mut Conn,
    hash: &[u8],
    jti: &str,
    expires_at: i64,
) -> QueryResult<usize> {
    diesel::update(auth_codes::table.find(hash))
        .set((
            auth_codes::access_jti.eq(jti),
            auth_codes::access_expires_at.eq(expires_at),
        ))
        .execute(conn)
}

/// Deletes up to `limit` codes that expired before `before`.
pub fn delete_expired_auth_codes(conn: &mut Conn, before: i64, limit: i64) -> QueryResult<usize> {
    let hashes: Vec<Vec<u8>> = auth_codes::table
        .filter(auth_codes::expires_at.le(before))
        .select(auth_codes::code_hash)
        .limit(limit)
        .load(conn)?;
    diesel::delete(auth_codes::table.filter(auth_codes::code_hash.eq_any(hashes))).execute(conn)
}
