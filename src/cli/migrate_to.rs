//! `tessera migrate-to URL`: copy the whole database that the settings name
//! (normally SQLite) into an empty PostgreSQL database, row for row.
//!
//! The servers must be stopped first: a write to the source after the copy
//! would not reach the new database.

use anyhow::Context;

use crate::config::{Settings, env_name};
use crate::db::copy::copy_database;
use crate::db::{self, DbOptions, DbTarget};

/// Copies the database the settings name into the empty PostgreSQL database
/// at `url`, creating its schema first.
pub(super) fn migrate_to(settings: &Settings, url: &str) -> anyhow::Result<()> {
    let source = settings.db_options()?;
    let target = match DbTarget::parse(url) {
        Ok(t @ DbTarget::Postgres(_)) => t,
        // Never echo the argument: it may hold a password.
        Ok(DbTarget::Sqlite(_)) => {
            anyhow::bail!("migrate-to copies into PostgreSQL: give a postgres:// URL")
        }
        Err(e) => anyhow::bail!("migrate-to: the target URL: {e}"),
    };
    anyhow::ensure!(
        !same_database(&source.target, &target),
        "migrate-to: the target {} is the database {} already names",
        target.redacted(),
        env_name("database")
    );

    let from = super::open(settings)?;
    let into = db::open(&DbOptions {
        target: target.clone(),
        max_connections: 1,
        ..source
    })
    .context("the target database")?;
    let (mut from, mut into) = (from.get()?, into.get()?);
    let counts = copy_database(&mut from, &mut into)?;

    println!(
        "copied {} to {}:",
        settings.database_redacted(),
        target.redacted()
    );
    println!("  {:<24} {:>10}", "TABLE", "ROWS");
    for c in &counts {
        println!("  {:<24} {:>10}", c.table, c.rows);
    }
    println!(
        "{} rows in all; point {} of every server at the new database",
        counts.iter().map(|c| c.rows).sum::<i64>(),
        env_name("database")
    );
    Ok(())
}

/// True when two targets name one PostgreSQL database (same host, port and
/// database name, whatever the user, password or options).
fn same_database(a: &DbTarget, b: &DbTarget) -> bool {
    let key = |t: &DbTarget| match t {
        DbTarget::Postgres(raw) => url::Url::parse(raw).ok().map(|u| {
            let db = u.path().trim_start_matches('/').to_owned();
            let db = if db.is_empty() {
                u.username().to_owned()
            } else {
                db
            };
            (
                u.host_str().unwrap_or_default().to_ascii_lowercase(),
                u.port().unwrap_or(5432),
                db,
            )
        }),
        DbTarget::Sqlite(_) => None,
    };
    matches!((key(a), key(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_database_is_recognised_whatever_the_credentials() {
        let t = |s: &str| DbTarget::parse(s).unwrap();
        let a = t("postgres://tessera:one@DB.example/tessera");
        assert!(same_database(
            &a,
            &t("postgresql://other:two@db.example:5432/tessera?sslmode=require")
        ));
        assert!(!same_database(&a, &t("postgres://db.example/tessera2")));
        assert!(!same_database(&a, &t("postgres://db.example:5433/tessera")));
        assert!(!same_database(&t("./tessera.db"), &t("./tessera.db")));
    }
}
