//! Storage of pushed authorization requests (RFC 9126), keyed by the
//! SHA-256 hash of their `request_uri`.

use diesel::prelude::*;

use super::Conn;
use super::schema::pushed_requests;

/// A stored pushed request; `params` is the request's parameters as a JSON
/// object of strings.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pushed_requests)]
pub struct PushedRequestRow {
    pub request_hash: Vec<u8>,
    pub client_id: String,
    pub params: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub arrived_at: Option<i64>,
    pub used_at: Option<i64>,
    pub signed_in_session_id: Option<i32>,
}

/// Stores a new pushed request.
pub fn insert_pushed_request(conn: &mut Conn, row: &PushedRequestRow) -> QueryResult<()> {
    diesel::insert_into(pushed_requests::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Finds a pushed request by its hash.
pub fn find_pushed_request(conn: &mut Conn, hash: &[u8]) -> QueryResult<Option<PushedRequestRow>> {
    pushed_requests::table
        .find(hash)
        .select(PushedRequestRow::as_select())
        .first(conn)
        .optional()
}

/// Records the browser's first arrival at `/authorize` and moves the expiry
/// to `expires_at`; only the first arrival, before the original expiry,
/// changes anything (returns 0 otherwise).
pub fn update_pushed_request_arrived(
    conn: &mut Conn,
    hash: &[u8],
    now: i64,
    expires_at: i64,
) -> QueryResult<usize> {
    diesel::update(
        pushed_requests::table
            .find(hash)
            .filter(pushed_requests::arrived_at.is_null())
            .filter(pushed_requests::expires_at.gt(now)),
    )
    .set((
        pushed_requests::arrived_at.eq(now),
        pushed_requests::expires_at.eq(expires_at),
    ))
    .execute(conn)
}

/// Marks an unused, unexpired request used (compare-and-set): exactly one
/// authorization code can come from it. Returns 0 when another use won.
pub fn update_pushed_request_used(conn: &mut Conn, hash: &[u8], now: i64) -> QueryResult<usize> {
    diesel::update(
        pushed_requests::table
            .find(hash)
            .filter(pushed_requests::used_at.is_null())
            .filter(pushed_requests::expires_at.gt(now)),
    )
    .set(pushed_requests::used_at.eq(now))
    .execute(conn)
}

/// Records the session a user signed in to for this request (the sign-in
/// a pushed `prompt=login` asked for); 0 when unknown, foreign or used.
pub fn update_pushed_request_signed_in(
    conn: &mut Conn,
    hash: &[u8],
    client_id: &str,
    session_id: i32,
) -> QueryResult<usize> {
    diesel::update(
        pushed_requests::table
            .find(hash)
            .filter(pushed_requests::client_id.eq(client_id))
            .filter(pushed_requests::used_at.is_null()),
    )
    .set(pushed_requests::signed_in_session_id.eq(session_id))
    .execute(conn)
}

/// Deletes up to `limit` requests that expired before `before`.
pub fn delete_expired_pushed_requests(
    conn: &mut Conn,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let hashes: Vec<Vec<u8>> = pushed_requests::table
        .filter(pushed_requests::expires_at.le(before))
        .select(pushed_requests::request_hash)
        .limit(limit)
        .load(conn)?;
    diesel::delete(pushed_requests::table.filter(pushed_requests::request_hash.eq_any(hashes)))
        .execute(conn)
}
