//! SQLite storage: the connection pool, per-connection pragmas, embedded
//! migrations and the helper that runs blocking queries off the async executor.
//! This folder is the only place that imports diesel.

pub mod audit;
pub mod auth_codes;
pub mod clients;
pub mod consents;
pub mod refresh_tokens;
pub mod revocation_events;
pub mod revocations;
pub mod schema;
pub mod server_secrets;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod users;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, result::DatabaseErrorKind};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use diesel::SqliteConnection as Conn;
pub use diesel::result::Error as QueryError;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a connection waits for SQLite's single write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Pool checkout waits longer than the busy timeout, so a waiting writer
/// reports a busy database rather than a pool time-out.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared pool of SQLite connections.
pub type DbPool = Pool<ConnectionManager<SqliteConnection>>;

/// Everything that can go wrong between a handler and the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not check out a database connection")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query failed")]
    Query(#[from] QueryError),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("the blocking task was cancelled")]
    Cancelled,
}

impl DbError {
    /// True when SQLite gave up waiting for its write lock: the request may be retried.
    pub fn is_busy(&self) -> bool {
        match self {
            DbError::Query(e) => is_busy(e),
            DbError::Pool(_) => true,
            _ => false,
        }
    }
}

/// True when a query failed only because another connection held the write lock.
pub fn is_busy(e: &QueryError) -> bool {
    match e {
        QueryError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let m = info.message();
            m.contains("database is locked") || m.contains("database is busy")
        }
        _ => false,
    }
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            BUSY_TIMEOUT.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens the database file, switches it to WAL, applies pending migrations and
/// builds the pool. WAL is a property of the file, so it is set once here
/// before any pooled connection exists.
pub fn open(path: &str, max_connections: u32) -> Result<DbPool, DbError> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| DbError::Migration(format!("cannot open database {path}: {e}")))?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
        BUSY_TIMEOUT.as_millis()
    ))?;
    migrate(&mut conn)?;
    drop(conn);

    let manager = ConnectionManager::<SqliteConnection>::new(path);
    Pool::builder()
        .max_size(max_connections)
        .connection_timeout(CHECKOUT_TIMEOUT)
        // A SQLite connection is a file handle, not a socket that can drop:
        // r2d2's default `SELECT 1` on every checkout only costs a parse.
        .test_on_check_out(false)
        .connection_customizer(Box::new(Pragmas))
        .build(manager)
        .map_err(|e| DbError::Migration(format!("cannot build connection pool: {e}")))
}

/// Applies every embedded migration that has not run yet.
pub fn migrate(conn: &mut SqliteConnection) -> Result<usize, DbError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// A trivial round trip, for health checks.
pub fn ping(conn: &mut SqliteConnection) -> Result<(), QueryError> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Counts the rows of a table (for operators and tests). Only known table
/// names are accepted, since the name is put into the SQL text.
pub fn count_rows(conn: &mut SqliteConnection, table: &str) -> Result<i64, QueryError> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    const TABLES: [&str; 9] = [
        "auth_codes",
        "clients",
        "consents",
        "login_throttle",
        "refresh_tokens",
        "revocation_events",
        "revoked_access_tokens",
        "sessions",
        "users",
    ];
    if !TABLES.contains(&table) {
        return Err(QueryError::NotFound);
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .map(|c| c.n)
}

/// Runs raw SQL (for operators' maintenance and tests of database rules).
pub fn execute_sql(conn: &mut SqliteConnection, sql: &str) -> Result<(), QueryError> {
    conn.batch_execute(sql)
}

/// Runs blocking database work on actix's blocking thread pool. The pool
/// checkout happens inside the closure because it can block too, and the
/// connection is returned before the future resolves, so no connection is
/// ever held across an `.await`.
pub async fn run<F, T, E>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn: PooledConnection<_> = pool.get().map_err(DbError::Pool)?;
        f(&mut conn)
    })
    .await
    .map_err(|_| E::from(DbError::Cancelled))?
}

/// Runs `f` in an `IMMEDIATE` transaction, so a check and the write that
/// depends on it cannot interleave with another writer. Inside another
/// transaction it becomes a savepoint of that one, so steps that are each
/// atomic can be composed into one atomic step.
pub fn immediate<T, E, F>(conn: &mut SqliteConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, E>,
    E: From<QueryError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let nested = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some());
    if nested {
        conn.transaction(f)
    } else {
        conn.immediate_transaction(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &mut SqliteConnection) -> i64 {
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
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
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
