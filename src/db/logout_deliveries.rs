//! Back-channel logout: which clients hold tokens of a session, and the
//! outbox of logout tokens still to deliver.

use diesel::prelude::*;

use super::Conn;
use super::schema::{clients, logout_deliveries, session_clients};

/// One logout token to deliver.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = logout_deliveries)]
pub struct DeliveryRow {
    pub id: i32,
    pub client_id: String,
    pub uri: String,
    pub sid: String,
    pub sub: String,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub give_up_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
}

/// Records that `client_id` received tokens for a session (once).
pub fn insert_session_client(conn: &mut Conn, session_id: i32, client_id: &str) -> QueryResult<()> {
    let row = (
        session_clients::session_id.eq(session_id),
        session_clients::client_id.eq(client_id),
    );
    super::per_backend!(conn, |c| diesel::insert_into(session_clients::table)
        .values(row)
        .on_conflict((session_clients::session_id, session_clients::client_id))
        .do_nothing()
        .execute(c))
    .map(|_| ())
}

/// Queues a logout token for every client of the session that registered
/// a back-channel logout URI; returns how many.
pub fn enqueue_for_session(
    conn: &mut Conn,
    session_id: i32,
    sid: &str,
    sub: &str,
    now: i64,
    give_up_at: i64,
) -> QueryResult<usize> {
    let targets: Vec<(String, Option<String>)> = session_clients::table
        .inner_join(clients::table)
        .filter(session_clients::session_id.eq(session_id))
        .filter(clients::backchannel_logout_uri.is_not_null())
        .select((clients::client_id, clients::backchannel_logout_uri))
        .load(conn)?;
    let mut queued = 0;
    for (client_id, uri) in targets {
        let Some(uri) = uri else { continue };
        queued += diesel::insert_into(logout_deliveries::table)
            .values((
                logout_deliveries::client_id.eq(&client_id),
                logout_deliveries::uri.eq(&uri),
                logout_deliveries::sid.eq(sid),
                logout_deliveries::sub.eq(sub),
                logout_deliveries::created_at.eq(now),
                logout_deliveries::attempts.eq(0),
                logout_deliveries::next_attempt_at.eq(now),
                logout_deliveries::give_up_at.eq(give_up_at),
            ))
            .execute(conn)?;
    }
    Ok(queued)
}

/// Unfinished deliveries due at `now`, oldest first.
pub fn list_due_deliveries(conn: &mut Conn, now: i64, limit: i64) -> QueryResult<Vec<DeliveryRow>> {
    logout_deliveries::table
        .filter(logout_deliveries::finished_at.is_null())
        .filter(logout_deliveries::next_attempt_at.le(now))
        .order(logout_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
}

/// Claims a due delivery by moving its next attempt to `lease_until`, if
/// nobody moved it since it was read as `seen_next_attempt_at`; 0 when
/// another instance claimed it first.
pub fn claim_delivery(
    conn: &mut Conn,
    id: i32,
    seen_next_attempt_at: i64,
    lease_until: i64,
) -> QueryResult<usize> {
    diesel::update(
        logout_deliveries::table
            .find(id)
            .filter(logout_deliveries::finished_at.is_null())
            .filter(logout_deliveries::next_attempt_at.eq(seen_next_attempt_at)),
    )
    .set(logout_deliveries::next_attempt_at.eq(lease_until))
    .execute(conn)
}

/// Records a failed attempt and when to try again, if the claim made with
/// `lease_until` still holds (0 otherwise).
pub fn update_delivery_retry(
    conn: &mut Conn,
    id: i32,
    lease_until: i64,
    attempts: i32,
    next_attempt_at: i64,
    outcome: &str,
) -> QueryResult<usize> {
    diesel::update(
        logout_deliveries::table
            .find(id)
            .filter(logout_deliveries::finished_at.is_null())
            .filter(logout_deliveries::next_attempt_at.eq(lease_until)),
    )
    .set((
        logout_deliveries::attempts.eq(attempts),
        logout_deliveries::next_attempt_at.eq(next_attempt_at),
        logout_deliveries::outcome.eq(outcome),
    ))
    .execute(conn)
}

/// Records the end of a delivery (delivered, dropped or given up), if the
/// claim made with `lease_until` still holds (0 otherwise).
pub fn update_delivery_finished(
    conn: &mut Conn,
    id: i32,
    lease_until: i64,
    attempts: i32,
    now: i64,
    outcome: &str,
) -> QueryResult<usize> {
    diesel::update(
        logout_deliveries::table
            .find(id)
            .filter(logout_deliveries::finished_at.is_null())
            .filter(logout_deliveries::next_attempt_at.eq(lease_until)),
    )
    .set((
        logout_deliveries::attempts.eq(attempts),
        logout_deliveries::finished_at.eq(now),
        logout_deliveries::outcome.eq(outcome),
    ))
    .execute(conn)
}

/// Deletes up to `limit` deliveries that finished before `before`.
pub fn delete_finished_deliveries(conn: &mut Conn, before: i64, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i32> = logout_deliveries::table
        .filter(logout_deliveries::finished_at.le(before))
        .select(logout_deliveries::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(logout_deliveries::table.filter(logout_deliveries::id.eq_any(ids))).execute(conn)
}
