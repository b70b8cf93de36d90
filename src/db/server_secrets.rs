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
