//! Storage of access tokens revoked before they expire.

use diesel::prelude::*;

use super::Conn;
use super::schema::revoked_access_tokens;

/// Records a revoked access token; a repeat is ignored.
pub fn insert_revoked_access_token(
    conn: &mut Conn,
    jti: &str,
    expires_at: i64,
    now: i64,
) -> QueryResult<()> {
    let row = (
        revoked_access_tokens::jti.eq(jti),
        revoked_access_tokens::expires_at.eq(expires_at),
        revoked_access_tokens::revoked_at.eq(now),
    );
    super::per_backend!(conn, |c| diesel::insert_into(revoked_access_tokens::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
    .map(|_| ())
}

/// True when the access token with this `jti` was revoked.
pub fn is_access_token_revoked(conn: &mut Conn, jti: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(revoked_access_tokens::table.find(jti))).get_result(conn)
}

/// Deletes up to `limit` entries whose token has expired anyway.
pub fn delete_expired_revoked_access_tokens(
    conn: &mut Conn,
    now: i64,
    limit: i64,
) -> QueryResult<usize> {
    let jtis: Vec<String> = revoked_access_tokens::table
        .filter(revoked_access_tokens::expires_at.le(now))
        .select(revoked_access_tokens::jti)
        .limit(limit)
        .load(conn)?;
    diesel::delete(revoked_access_tokens::table.filter(revoked_access_tokens::jti.eq_any(jtis)))
        .execute(conn)
}
