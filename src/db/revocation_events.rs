//! Storage of the revocation feed.

use diesel::prelude::*;

use super::Conn;
use super::schema::{feed_counters, revocation_events};

/// The `feed_counters` row that numbers revocation events.
const FEED: &str = "revocation_events";

/// One feed entry.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = revocation_events)]
pub struct RevocationEventRow {
    pub id: i32,
    pub kind: String,
    pub value: String,
    pub relevant_until: i64,
    pub created_at: i64,
}

/// Appends an entry. Its id comes from the `feed_counters` row, updated in
/// the same transaction: the row lock makes every other writer wait until
/// this entry commits, so ids become visible in order and a poller that
/// follows the cursor never passes an entry that has yet to commit.
pub fn insert_revocation_event(
    conn: &mut Conn,
    kind: &str,
    value: &str,
    relevant_until: i64,
    now: i64,
) -> QueryResult<()> {
    super::immediate(conn, |conn| {
        let id: i32 = diesel::update(feed_counters::table.find(FEED))
            .set(feed_counters::last_id.eq(feed_counters::last_id + 1))
            .returning(feed_counters::last_id)
            .get_result(conn)?;
        diesel::insert_into(revocation_events::table)
            .values((
                revocation_events::id.eq(id),
                revocation_events::kind.eq(kind),
                revocation_events::value.eq(value),
                revocation_events::relevant_until.eq(relevant_until),
                revocation_events::created_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    })
}

/// Entries after `cursor` that still matter at `now`, oldest first.
pub fn list_revocation_events_after(
    conn: &mut Conn,
    cursor: i32,
    now: i64,
    limit: i64,
) -> QueryResult<Vec<RevocationEventRow>> {
    revocation_events::table
        .filter(revocation_events::id.gt(cursor))
        .filter(revocation_events::relevant_until.gt(now))
        .order(revocation_events::id.asc())
        .limit(limit)
        .select(RevocationEventRow::as_select())
        .load(conn)
}

/// Deletes up to `limit` entries that no longer matter.
pub fn delete_stale_revocation_events(conn: &mut Conn, now: i64, limit: i64) -> QueryResult<usize> {
    let ids: Vec<i32> = revocation_events::table
        .filter(revocation_events::relevant_until.le(now))
        .select(revocation_events::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(revocation_events::table.filter(revocation_events::id.eq_any(ids))).execute(conn)
}
