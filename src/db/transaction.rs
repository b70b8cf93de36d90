//! Transactions that make a check and the write depending on it atomic
//! across every connection and every process sharing the database.
//!
//! SQLite: `BEGIN IMMEDIATE` takes the single write lock up front.
//! PostgreSQL: `SERIALIZABLE` isolation gives the same guarantee (the outcome
//! equals some one-at-a-time order), at the price of aborting one side of a
//! conflict; the aborted attempt is run again from the start. A step whose
//! check is a conditional write can use [`with_row_locks`] instead, which
//! PostgreSQL runs without serialisable's bookkeeping and false conflicts.

use std::cell::Cell;
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::TransactionManager;
use diesel::connection::{AnsiTransactionManager, Instrumentation, InstrumentationEvent};
use diesel::result::DatabaseErrorKind;
use rand::Rng;

use super::{Conn, QueryError};

/// How long a conflicted PostgreSQL transaction keeps being retried.
const RETRY_FOR: Duration = Duration::from_secs(8);

thread_local! {
    // Set when a statement on this thread failed to serialise. Diesel runs
    // statements synchronously, so within one attempt every statement of the
    // connection runs on this thread; the flag survives the closure mapping
    // the error into a domain type.
    static SERIALIZATION_FAILED: Cell<bool> = const { Cell::new(false) };
}

struct SerializationWatch;

impl Instrumentation for SerializationWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error: Some(QueryError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)),
            ..
        } = event
        {
            SERIALIZATION_FAILED.set(true);
        }
    }
}

/// Makes `conn` report serialisation failures to [`immediate`].
pub(super) fn watch_serialization_failures(conn: &mut diesel::PgConnection) {
    conn.set_instrumentation(SerializationWatch);
}

/// Runs `f` so that what it reads and what it writes form one atomic step
/// with respect to every other writer. Inside another transaction it becomes
/// a savepoint of that one, so steps that are each atomic can be composed
/// into one atomic step. On PostgreSQL `f` may run more than once: it must
/// not have effects outside the database.
pub fn immediate<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    F: FnMut(&mut Conn) -> Result<T, E>,
    E: From<QueryError>,
{
    run(conn, "BEGIN ISOLATION LEVEL SERIALIZABLE", f)
}

/// Runs `f` as one transaction whose correctness rests on conditional
/// writes (`UPDATE ... WHERE <expected state>`, checking the row count), not
/// on isolation. On SQLite it is [`immediate`]. On PostgreSQL it runs at
/// READ COMMITTED: a conditional UPDATE waits for a concurrent writer of the
/// same row and re-checks its condition against the committed row, and each
/// later statement sees what that writer committed. Cheaper than
/// SERIALIZABLE and never aborted for a conflict on rows it does not write.
pub fn with_row_locks<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    F: FnMut(&mut Conn) -> Result<T, E>,
    E: From<QueryError>,
{
    run(conn, "BEGIN ISOLATION LEVEL READ COMMITTED", f)
}

fn run<T, E, F>(conn: &mut Conn, postgres_begin: &str, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut Conn) -> Result<T, E>,
    E: From<QueryError>,
{
    let nested = <Conn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some());
    if nested {
        return conn.transaction(f);
    }
    let begin = match conn {
        Conn::Sqlite(_) => "BEGIN IMMEDIATE",
        Conn::Postgres(_) => postgres_begin,
    };
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        SERIALIZATION_FAILED.set(false);
        let result = attempt_once(conn, begin, &mut f);
        let conflicted = SERIALIZATION_FAILED.replace(false);
        match result {
            Err(_) if conflicted && started.elapsed() < RETRY_FOR => {
                attempt += 1;
                // Jittered backoff, so the contenders do not collide again in step.
                let cap = 1u64 << attempt.min(6);
                let wait = rand::thread_rng().gen_range(0..=cap);
                std::thread::sleep(Duration::from_millis(wait));
            }
            other => return other,
        }
    }
}

fn attempt_once<T, E, F>(conn: &mut Conn, begin: &str, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut Conn) -> Result<T, E>,
    E: From<QueryError>,
{
    super::per_backend!(&mut *conn, |c| {
        AnsiTransactionManager::begin_transaction_sql(c, begin)
    })?;
    match f(conn) {
        Ok(value) => {
            <Conn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback leaves the connection broken; the pool drops it.
            let _ = <Conn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::execute_sql;

    fn count(conn: &mut Conn) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<N>(conn)
            .unwrap()
            .n
    }

    #[test]
    fn a_nested_immediate_step_is_a_savepoint_of_the_outer_one() {
        let mut conn = Conn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        execute_sql(&mut conn, "CREATE TABLE t (x INTEGER)").unwrap();

        let outer: Result<(), QueryError> = immediate(&mut conn, |conn| {
            execute_sql(conn, "INSERT INTO t VALUES (1)")?;
            let inner: Result<(), QueryError> = immediate(conn, |conn| {
                execute_sql(conn, "INSERT INTO t VALUES (2)")?;
                Err(QueryError::RollbackTransaction)
            });
            assert!(inner.is_err());
            assert_eq!(count(conn), 1);
            Ok(())
        });
        outer.unwrap();
        assert_eq!(count(&mut conn), 1);

        // A failing outer step takes its nested steps with it.
        let failed: Result<(), QueryError> = immediate(&mut conn, |conn| {
            immediate(conn, |conn| execute_sql(conn, "INSERT INTO t VALUES (3)"))?;
            Err(QueryError::RollbackTransaction)
        });
        assert!(failed.is_err());
        assert_eq!(count(&mut conn), 1);
    }
}
