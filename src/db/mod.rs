//! Storage: one connection type for SQLite and PostgreSQL, the pool, embedded
//! migrations per backend, transactions, and the helper that runs blocking
//! queries off the async executor. This folder is the only place that
//! imports diesel, and the only place that knows which backend is in use.
//!
//! Why `#[derive(MultiConnection)]`: every query is written once in diesel's
//! portable DSL and runs on either backend. The few statements that truly
//! differ (upserts, which the portable dialect lacks) match on the variant in
//! the storage function that needs them ([`per_backend!`]).

pub mod audit;
pub mod auth_codes;
pub mod client_assertions;
pub mod clients;
pub mod consents;
pub mod copy;
pub mod dpop_proofs;
pub mod logout_deliveries;
pub mod passkeys;
pub mod pool;
pub mod pushed_requests;
pub mod refresh_tokens;
pub mod revocation_events;
pub mod revocations;
pub mod schema;
pub mod second_factors;
pub mod server_secrets;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
mod transaction;
pub mod users;

use diesel::connection::SimpleConnection;
use diesel::result::DatabaseErrorKind;

pub use diesel::result::Error as QueryError;
pub use pool::{DbOptions, DbPool, DbTarget, is_migrated, open};
pub use transaction::{immediate, with_row_locks};

/// A connection to whichever backend the database URL names.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection type, so a
/// statement outside the portable dialect is written once and type-checked
/// for each backend.
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
pub(crate) use per_backend;

/// Everything that can go wrong between a handler and the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not check out a database connection")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query failed")]
    Query(#[from] QueryError),
    #[error("{0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("the blocking task was cancelled")]
    Cancelled,
}

impl DbError {
    /// True when the database was busy, unreachable or the pool exhausted:
    /// the request may be retried later and the client gets a 503.
    pub fn is_busy(&self) -> bool {
        match self {
            DbError::Query(e) => is_busy(e),
            DbError::Pool(_) => true,
            _ => false,
        }
    }
}

/// True when a query failed for a reason that passes: SQLite's write lock
/// was held too long, PostgreSQL could not serialise a transaction, a
/// statement timed out, or the connection to the server dropped.
pub fn is_busy(e: &QueryError) -> bool {
    match e {
        QueryError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        QueryError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        QueryError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let m = info.message();
            m.contains("database is locked")
                || m.contains("database is busy")
                || m.contains("statement timeout")
                || m.contains("terminating connection")
                || m.contains("server closed the connection")
                || m.contains("connection to server")
                || m.contains("no connection to the server")
        }
        _ => false,
    }
}

/// True when an insert failed because the row's unique key is taken.
pub fn is_unique_violation(e: &QueryError) -> bool {
    matches!(
        e,
        QueryError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A trivial round trip, for health checks.
pub fn ping(conn: &mut Conn) -> Result<(), QueryError> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Counts the rows of a table (for operators and tests). Only known table
/// names are accepted, since the name is put into the SQL text.
pub fn count_rows(conn: &mut Conn, table: &str) -> Result<i64, QueryError> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::BigInt;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    const TABLES: [&str; 10] = [
        "auth_codes",
        "clients",
        "consents",
        "dpop_proofs",
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
pub fn execute_sql(conn: &mut Conn, sql: &str) -> Result<(), QueryError> {
    conn.batch_execute(sql)
}

/// Runs blocking database work on actix's blocking thread pool. The pool
/// checkout happens inside the closure because it can block too, and the
/// connection is returned before the future resolves, so no connection is
/// ever held across an `.await`.
pub async fn run<F, T, E>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    let request_id = crate::logging::current_request_id();
    actix_web::web::block(move || {
        crate::logging::with_request_id(request_id, || {
            let waited = std::time::Instant::now();
            let conn = pool.get();
            crate::metrics::pool_wait(waited.elapsed().as_secs_f64());
            let mut conn = conn.map_err(DbError::Pool)?;
            f(&mut conn)
        })
    })
    .await
    .map_err(|_| E::from(DbError::Cancelled))?
}
