//! Storage of users' consents to third-party clients.

use diesel::prelude::*;

use super::Conn;
use super::schema::{clients, consents};

/// The scope a user consented to for a client, if any.
pub fn find_consent(conn: &mut Conn, user_id: i32, client_id: &str) -> QueryResult<Option<String>> {
    consents::table
        .find((user_id, client_id))
        .select(consents::scope)
        .first(conn)
        .optional()
}

/// Stores (or widens) a consent.
pub fn upsert_consent(
    conn: &mut Conn,
    user_id: i32,
    client_id: &str,
    scope: &str,
    now: i64,
) -> QueryResult<()> {
    let row = (
        consents::user_id.eq(user_id),
        consents::client_id.eq(client_id),
        consents::scope.eq(scope),
        consents::granted_at.eq(now),
    );
    let update = (consents::scope.eq(scope), consents::granted_at.eq(now));
    super::per_backend!(conn, |c| diesel::insert_into(consents::table)
        .values(row)
        .on_conflict((consents::user_id, consents::client_id))
        .do_update()
        .set(update)
        .execute(c))
    .map(|_| ())
}

/// Withdraws a consent; returns 0 when there was none.
pub fn delete_consent(conn: &mut Conn, user_id: i32, client_id: &str) -> QueryResult<usize> {
    diesel::delete(consents::table.find((user_id, client_id))).execute(conn)
}

/// A user's consents with their clients' names: (client id, name, scope,
/// granted at), by client name.
pub fn list_user_consents(
    conn: &mut Conn,
    user_id: i32,
) -> QueryResult<Vec<(String, String, String, i64)>> {
    consents::table
        .inner_join(clients::table)
        .filter(consents::user_id.eq(user_id))
        .order(clients::name.asc())
        .select((
            consents::client_id,
            clients::name,
            consents::scope,
            consents::granted_at,
        ))
        .load(conn)
}
