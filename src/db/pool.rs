//! Which database a URL names, the connection pool for it, per-connection
//! settings, and the embedded migrations of each backend.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Conn, DbError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite connection waits for the single write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Serialises migrations of instances that start together on one
/// PostgreSQL database (an arbitrary, fixed advisory-lock key).
const MIGRATION_LOCK_KEY: i64 = 0x0074_6573_7365_7261;

/// The shared pool of connections.
pub type DbPool = Pool<Manager>;

/// The database a `database` setting names.
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite file path.
    Sqlite(String),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl DbTarget {
    /// Reads a setting: a PostgreSQL URL, or else a SQLite path.
    pub fn parse(database: &str) -> Result<Self, String> {
        let lower = database.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let url = url::Url::parse(database.trim()).map_err(|e| format!("invalid URL: {e}"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("the PostgreSQL URL has no host".into());
            }
            Ok(DbTarget::Postgres(database.trim().to_owned()))
        } else if lower.contains("://") {
            Err("only SQLite paths and postgres:// URLs are supported".into())
        } else if database.trim().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(DbTarget::Sqlite(database.to_owned()))
        }
    }

    /// The target for messages and logs: a URL's password is masked.
    pub fn redacted(&self) -> String {
        match self {
            DbTarget::Sqlite(path) => path.clone(),
            DbTarget::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "postgres://(unparsable)".into(),
            },
        }
    }
}

impl std::fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub target: DbTarget,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// How long a new PostgreSQL connection may take, and how long a request
    /// waits for a pooled connection before it gets a 503.
    pub connect_timeout: Duration,
    /// Longest a single PostgreSQL statement may run (0: no limit).
    pub statement_timeout: Duration,
}

impl DbOptions {
    /// Options with the default timeouts.
    pub fn new(database: &str, max_connections: u32) -> Result<Self, DbError> {
        Ok(DbOptions {
            target: DbTarget::parse(database).map_err(DbError::Connect)?,
            max_connections,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        })
    }
}

/// Opens connections for the pool and keeps them usable.
#[derive(Debug)]
pub struct Manager {
    options: DbOptions,
}

impl Manager {
    fn connect_raw(&self) -> Result<Conn, diesel::ConnectionError> {
        match &self.options.target {
            DbTarget::Sqlite(path) => SqliteConnection::establish(path).map(Conn::Sqlite),
            DbTarget::Postgres(url) => {
                let url = with_connect_timeout(url, self.options.connect_timeout);
                PgConnection::establish(&url).map(Conn::Postgres)
            }
        }
    }

    fn prepare(&self, conn: &mut Conn) -> Result<(), diesel::result::Error> {
        match conn {
            Conn::Sqlite(c) => c.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                SQLITE_BUSY_TIMEOUT.as_millis()
            )),
            Conn::Postgres(c) => {
                super::transaction::watch_serialization_failures(c);
                c.batch_execute(&format!(
                    "SET statement_timeout = {}; SET lock_timeout = {}; SET TIME ZONE 'UTC';",
                    self.options.statement_timeout.as_millis(),
                    self.options.statement_timeout.as_millis()
                ))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        let mut conn = self
            .connect_raw()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        self.prepare(&mut conn)
            .map_err(diesel::r2d2::Error::QueryError)?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.is_broken()
    }
}

/// libpq waits for an unreachable host as long as the kernel does unless
/// told otherwise: bound it, keeping any timeout the URL sets itself.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={}", timeout.as_secs().max(1))
}

/// Opens the database, applies pending migrations (one instance at a time on
/// PostgreSQL) and builds the pool.
pub fn open(options: &DbOptions) -> Result<DbPool, DbError> {
    let manager = Manager {
        options: options.clone(),
    };
    let target = options.target.redacted();
    let mut conn = manager
        .connect()
        .map_err(|e| DbError::Connect(format!("cannot connect to {target}: {}", one_line(&e))))?;
    if let Conn::Sqlite(c) = &mut conn {
        // WAL is a property of the file: set once, before pooled connections exist.
        c.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    migrate(&mut conn)?;
    drop(conn);

    let is_sqlite = matches!(options.target, DbTarget::Sqlite(_));
    Ok(Pool::builder()
        .max_size(options.max_connections)
        .min_idle(Some(if is_sqlite { 0 } else { 1 }))
        // Longer than SQLite's busy timeout, so a waiting writer reports a
        // busy database rather than a pool time-out.
        .connection_timeout(if is_sqlite {
            SQLITE_BUSY_TIMEOUT * 2
        } else {
            options.connect_timeout
        })
        // A SQLite connection is a file handle that cannot drop; a
        // PostgreSQL connection is a socket that can, and is checked.
        .test_on_check_out(!is_sqlite)
        .build_unchecked(manager))
}

/// libpq's messages span lines; start-up errors are one line.
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies every embedded migration that has not run yet.
/// True when every embedded migration has been applied to this database.
pub fn is_migrated(conn: &mut Conn) -> Result<bool, DbError> {
    let pending = match conn {
        Conn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        Conn::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    pending
        .map(|p| !p)
        .map_err(|e| DbError::Migration(e.to_string()))
}

pub fn migrate(conn: &mut Conn) -> Result<usize, DbError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match conn {
        Conn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|applied| applied.len())
            .map_err(failed),
        Conn::Postgres(c) => {
            // Instances starting together take turns; the lock ends with the
            // session if this process dies half-way.
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.len())
                .map_err(failed);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_and_passwords_are_masked() {
        let pg = DbTarget::parse("postgres://tessera:s3cret@db.example:5432/tessera").unwrap();
        assert!(matches!(pg, DbTarget::Postgres(_)));
        assert!(!pg.redacted().contains("s3cret"));
        assert!(!format!("{pg:?}").contains("s3cret"));
        assert!(matches!(
            DbTarget::parse("postgresql://h/db").unwrap(),
            DbTarget::Postgres(_)
        ));
        assert_eq!(
            DbTarget::parse("./tessera.db").unwrap(),
            DbTarget::Sqlite("./tessera.db".into())
        );
        assert!(DbTarget::parse("mysql://h/db").is_err());
        assert!(DbTarget::parse("postgres://").is_err());
        assert!(DbTarget::parse(" ").is_err());
    }

    #[test]
    fn connect_timeouts_are_added_once() {
        let t = Duration::from_secs(3);
        assert_eq!(
            with_connect_timeout("postgres://h/db", t),
            "postgres://h/db?connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=require", t),
            "postgres://h/db?sslmode=require&connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9", t),
            "postgres://h/db?connect_timeout=9"
        );
    }
}
