//! The `jti`s of accepted client assertions, kept until they expire.

use diesel::prelude::*;

use super::Conn;
use super::schema::client_assertions;

/// Records a client's assertion `jti`; false when it was already recorded
/// (a replay), on this instance or any other.
pub fn insert_client_assertion(
    conn: &mut Conn,
    client_id: &str,
    jti: &str,
    expires_at: i64,
) -> QueryResult<bool> {
    let row = (
        client_assertions::client_id.eq(client_id),
        client_assertions::jti.eq(jti),
        client_assertions::expires_at.eq(expires_at),
    );
    let inserted = super::per_backend!(conn, |c| diesel::insert_into(client_assertions::table)
        .values(row)
        .on_conflict((client_assertions::client_id, client_assertions::jti))
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Deletes up to `limit` records that expired before `before`.
pub fn delete_expired_client_assertions(
    conn: &mut Conn,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let keys: Vec<(String, String)> = client_assertions::table
        .filter(client_assertions::expires_at.le(before))
        .select((client_assertions::client_id, client_assertions::jti))
        .limit(limit)
        .load(conn)?;
    let mut deleted = 0;
    for (client_id, jti) in keys {
        deleted += diesel::delete(client_assertions::table.find((client_id, jti))).execute(conn)?;
    }
    Ok(deleted)
}
