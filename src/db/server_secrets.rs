//! Storage of server-side secrets that are not signing keys.

use diesel::prelude::*;

use super::Conn;
use super::schema::server_secrets;

/// A named secret, if stored.
pub fn find_server_secret(conn: &mut Conn, name: &str) -> QueryResult<Option<Vec<u8>>> {
    server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .first(conn)
        .optional()
}

/// Stores a named secret unless one exists.
pub fn insert_server_secret(
    conn: &mut Conn,
    name: &str,
    value: &[u8],
    now: i64,
) -> QueryResult<usize> {
    let row = (
        server_secrets::name.eq(name),
        server_secrets::value.eq(value),
        server_secrets::created_at.eq(now),
    );
    super::per_backend!(conn, |c| diesel::insert_into(server_secrets::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
}

/// Every stored secret by name, as stored.
pub fn list_server_secrets(conn: &mut Conn) -> QueryResult<Vec<(String, Vec<u8>)>> {
    server_secrets::table
        .select((server_secrets::name, server_secrets::value))
        .load(conn)
}

/// Replaces the stored form of a secret (re-encryption).
pub fn update_server_secret(conn: &mut Conn, name: &str, value: &[u8]) -> QueryResult<usize> {
    diesel::update(server_secrets::table.find(name))
        .set(server_secrets::value.eq(value))
        .execute(conn)
}
