//! Storage of failed sign-in counters.

use diesel::prelude::*;

use super::Conn;
use super::schema::login_throttle;

/// A throttle counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct ThrottleRow {
    pub failures: i32,
    pub last_failure_at: i64,
    pub locked_until: i64,
}

/// The counter for `key`, if any.
pub fn find_throttle(conn: &mut Conn, key: &str) -> QueryResult<Option<ThrottleRow>> {
    login_throttle::table
        .find(key)
        .select((
            login_throttle::failures,
            login_throttle::last_failure_at,
            login_throttle::locked_until,
        ))
        .first(conn)
        .optional()
}

/// Writes the counter for `key`.
pub fn upsert_throttle(conn: &mut Conn, key: &str, row: ThrottleRow) -> QueryResult<()> {
    let counts = (
        login_throttle::failures.eq(row.failures),
        login_throttle::last_failure_at.eq(row.last_failure_at),
        login_throttle::locked_until.eq(row.locked_until),
    );
    super::per_backend!(conn, |c| diesel::insert_into(login_throttle::table)
        .values((login_throttle::key.eq(key), counts))
        .on_conflict(login_throttle::key)
        .do_update()
        .set(counts)
        .execute(c))
    .map(|_| ())
}

/// Clears the counter for `key`.
pub fn delete_throttle(conn: &mut Conn, key: &str) -> QueryResult<usize> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)
}

/// Deletes up to `limit` counters that are unlocked and idle since `before`.
pub fn delete_stale_throttles(
    conn: &mut Conn,
    now: i64,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let keys: Vec<String> = login_throttle::table
        .filter(login_throttle::locked_until.le(now))
        .filter(login_throttle::last_failure_at.le(before))
        .select(login_throttle::key)
        .limit(limit)
        .load(conn)?;
    diesel::delete(login_throttle::table.filter(login_throttle::key.eq_any(keys))).execute(conn)
}
