//! Storage of the revocation feed.

use diesel::prelude::*;

use super::schema::revocation_events;

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

/// Appends an entry.
pub fn insert_revocation_event(
    conn: &mut SqliteConnection,
    kind: &str,
    value: &str,
    relevant_until: i64,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(revocation_events::table)
        .values((
            revocation_events::kind.eq(kind),
            revocation_events::value.eq(value),
            revocation_events::relevant_until.eq(relevant_until),
            revocation_events::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Entries after `cursor` that still matter at `now`, oldest first.
pub fn list_revocation_events_after(
    conn: &mut SqliteConnection,
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
pub fn delete_stale_revocation_events(
    conn: &mut SqliteConnection,
    now: i64,
    limit: i64,
) -> QueryResult<usize> {
    let ids: Vec<i32> = revocation_events::table
        .filter(revocation_events::relevant_until.le(now))
        .select(revocation_events::id)
        .limit(limit)
        .load(conn)?;
    diesel::delete(revocation_events::table.filter(revocation_events::id.eq_any(ids))).execute(conn)
}
