//! A fresh database per test, on the backend the environment asks for.
//!
//! `TESSERA_TEST_BACKEND=postgres` runs the API tests on PostgreSQL: each
//! test gets its own database on the server named by `TESSERA_TEST_POSTGRES`
//! (an admin URL such as `postgres://postgres@127.0.0.1:5432/postgres`),
//! dropped when the test ends. Without it every test uses a SQLite file in a
//! temporary directory. Tests that need PostgreSQL whatever the backend
//! (several instances on one database) use [`TestDb::postgres`].

use diesel::Connection;
use diesel::connection::SimpleConnection;
use tempfile::TempDir;

/// The variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_VAR: &str = "TESSERA_TEST_POSTGRES";

/// A database that exists for the life of this value.
pub struct TestDb {
    /// What `TESSERA_DATABASE` would be set to.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<TempDir>,
}

impl TestDb {
    /// A database on the backend selected by `TESSERA_TEST_BACKEND`.
    pub fn new() -> Self {
        match std::env::var("TESSERA_TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::postgres()
                .unwrap_or_else(|| panic!("TESSERA_TEST_BACKEND=postgres needs {POSTGRES_VAR}")),
            Ok("sqlite") | Err(_) => Self::sqlite(),
            Ok(other) => panic!("unknown TESSERA_TEST_BACKEND {other:?}"),
        }
    }

    /// A SQLite file in a fresh temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDb {
            url: dir.path().join("tessera.db").display().to_string(),
            postgres: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or None when no server is configured.
    pub fn postgres() -> Option<Self> {
        let admin = std::env::var(POSTGRES_VAR).ok().filter(|v| !v.is_empty())?;
        let name = format!("tessera_test_{}", random_suffix());
        let mut conn = diesel::PgConnection::establish(&admin).expect("connect to test PostgreSQL");
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let mut url = url::Url::parse(&admin).expect("admin URL");
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            url: url.to_string(),
            postgres: Some((admin, name)),
            _dir: None,
        })
    }

    /// True when this database is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            // Servers of the test may still hold connections: end them.
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Skips a PostgreSQL-only test with a visible reason when no server is set.
#[macro_export]
macro_rules! postgres_or_skip {
    () => {
        match $crate::test_db::TestDb::postgres() {
            Some(db) => db,
            None => {
                eprintln!(
                    "skipped: {} is not set (.ci/run starts a PostgreSQL server and sets it)",
                    $crate::test_db::POSTGRES_VAR
                );
                return;
            }
        }
    };
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}
