//! Copying a whole database into an empty one (`tessera migrate-to`): every
//! table, every row with every column as stored, ids included, so sessions,
//! refresh tokens, signing keys and resource servers' feed cursors carry on.
//!
//! The source is read inside one transaction, so the copy is one consistent
//! snapshot even if something still writes to it. The target is written
//! inside one transaction, so a failure leaves it as empty as it was. Rows
//! move in pages ordered by primary key, so a large table never has to fit
//! in memory.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;

use super::schema::{
    audit_log, auth_codes, client_assertions, clients, consents, dpop_proofs, feed_counters,
    login_throttle, logout_deliveries, passkey_ceremonies, passkeys, pushed_requests,
    recovery_codes, refresh_tokens, revocation_events, revoked_access_tokens, server_secrets,
    session_clients, sessions, signing_keys, user_totp, users,
};
use super::{Conn, QueryError};

mod rows;
use rows::{
    AuditCopy, AuthCodeCopy, ClientAssertionCopy, ClientCopy, ConsentCopy, DpopProofCopy,
    FeedCounterCopy, LogoutDeliveryCopy, PasskeyCeremonyCopy, PasskeyCopy, PushedRequestCopy,
    RecoveryCodeCopy, RefreshTokenCopy, RevocationEventCopy, RevokedAccessTokenCopy,
    ServerSecretCopy, SessionClientCopy, SessionCopy, SigningKeyCopy, ThrottleCopy, UserCopy,
    UserTotpCopy,
};

/// Rows per page. The widest table has 15 columns: 7,500 bind parameters per
/// insert, far below PostgreSQL's limit of 65,535.
const BATCH: i64 = 500;

/// Every table, each after the tables its foreign keys point to.
pub const TABLES: [&str; 22] = [
    "users",
    "user_totp",
    "recovery_codes",
    "passkeys",
    "passkey_ceremonies",
    "clients",
    "signing_keys",
    "server_secrets",
    "sessions",
    "auth_codes",
    "pushed_requests",
    "client_assertions",
    "dpop_proofs",
    "session_clients",
    "logout_deliveries",
    "refresh_tokens",
    "revoked_access_tokens",
    "feed_counters",
    "revocation_events",
    "consents",
    "login_throttle",
    "audit_log",
];

/// Tables whose `id` PostgreSQL takes from an identity sequence. Copied rows
/// carry their ids, so each sequence is moved past them afterwards, or the
/// next insert would collide with a copied row. (Feed ids come from the
/// `feed_counters` row, copied as it is; its sequence is moved all the same.)
const IDENTITY_TABLES: [&str; 7] = [
    "users",
    "passkeys",
    "logout_deliveries",
    "sessions",
    "refresh_tokens",
    "revocation_events",
    "audit_log",
];

/// Rows copied into one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub rows: i64,
}

/// Why a copy did not happen. Every case leaves the target unchanged.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty (table {table} holds data); \
         migrate-to copies only into an empty database, nothing was copied"
    )]
    TargetNotEmpty { table: &'static str, rows: i64 },
    #[error("{table}: copied {copied} rows of {expected}; nothing was copied")]
    Incomplete {
        table: &'static str,
        copied: i64,
        expected: i64,
    },
    #[error("copying {table} failed, nothing was copied: {cause}")]
    Table {
        table: &'static str,
        cause: QueryError,
    },
    #[error("database query failed, nothing was copied")]
    Query(#[from] QueryError),
}

/// Copies every row of `source` into `target`, which must hold nothing but
/// what migrations put there, and returns the rows copied per table.
pub fn copy_database(source: &mut Conn, target: &mut Conn) -> Result<Vec<TableCount>, CopyError> {
    in_snapshot(source, |source| {
        super::immediate(target, |target| copy_all(&mut *source, target))
    })
}

/// Row counts of every table, in copy order.
pub fn count_tables(conn: &mut Conn) -> QueryResult<Vec<TableCount>> {
    TABLES
        .into_iter()
        .map(|table| count_table(conn, table).map(|rows| TableCount { table, rows }))
        .collect()
}

/// Runs `f` in one read transaction: one snapshot for every page it reads.
fn in_snapshot<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, CopyError>,
) -> Result<T, CopyError> {
    match &mut *conn {
        // In WAL mode the first read fixes the snapshot; writers go on.
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
        Conn::Postgres(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ),
    }?;
    let result = f(conn);
    // Nothing was written: ending with a rollback loses nothing.
    let ended = <Conn as Connection>::TransactionManager::rollback_transaction(conn);
    let value = result?;
    ended?;
    Ok(value)
}

fn copy_all(source: &mut Conn, target: &mut Conn) -> Result<Vec<TableCount>, CopyError> {
    for table in TABLES {
        // Migrations create the feed counter; everything else must be absent.
        let rows = count_table(target, table)?;
        if table != "feed_counters" && rows > 0 {
            return Err(CopyError::TargetNotEmpty { table, rows });
        }
    }
    diesel::delete(feed_counters::table).execute(target)?;

    let mut copied = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let rows =
            copy_table(source, target, table).map_err(|cause| CopyError::Table { table, cause })?;
        copied.push(TableCount { table, rows });
    }
    // Paging by key must not have skipped a row: check before committing.
    for &TableCount { table, rows } in &copied {
        for expected in [count_table(source, table)?, count_table(target, table)?] {
            if expected != rows {
                return Err(CopyError::Incomplete {
                    table,
                    copied: rows,
                    expected,
                });
            }
        }
    }
    if let Conn::Postgres(c) = target {
        let sql: String = IDENTITY_TABLES
            .iter()
            .map(|t| {
                format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                     COALESCE(MAX(id), 0) + 1, false) FROM {t};"
                )
            })
            .collect();
        c.batch_execute(&sql)?;
    }
    Ok(copied)
}

fn count_table(conn: &mut Conn, table: &str) -> QueryResult<i64> {
    macro_rules! count {
        ($t:ident) => {
            $t::table.count().get_result(conn)
        };
    }
    match table {
        "users" => count!(users),
        "clients" => count!(clients),
        "signing_keys" => count!(signing_keys),
        "server_secrets" => count!(server_secrets),
        "sessions" => count!(sessions),
        "auth_codes" => count!(auth_codes),
        "pushed_requests" => count!(pushed_requests),
        "client_assertions" => count!(client_assertions),
        "dpop_proofs" => count!(dpop_proofs),
        "session_clients" => count!(session_clients),
        "logout_deliveries" => count!(logout_deliveries),
        "refresh_tokens" => count!(refresh_tokens),
        "revoked_access_tokens" => count!(revoked_access_tokens),
        "feed_counters" => count!(feed_counters),
        "revocation_events" => count!(revocation_events),
        "consents" => count!(consents),
        "login_throttle" => count!(login_throttle),
        "user_totp" => count!(user_totp),
        "recovery_codes" => count!(recovery_codes),
        "passkeys" => count!(passkeys),
        "passkey_ceremonies" => count!(passkey_ceremonies),
        "audit_log" => count!(audit_log),
        _ => Err(QueryError::NotFound),
    }
}

/// Copies one table page by page; `$after` filters rows after the last one
/// copied (`$last`), in the order `$order`.
macro_rules! copy_pages {
    ($src:ident, $dst:ident, $t:ident, $row:ty, $order:expr, |$last:ident| $after:expr) => {{
        let mut copied = 0i64;
        let mut previous: Option<$row> = None;
        loop {
            let mut page = $t::table
                .select(<$row>::as_select())
                .order($order)
                .limit(BATCH)
                .into_boxed();
            if let Some($last) = &previous {
                page = page.filter($after);
            }
            let rows: Vec<$row> = page.load($src)?;
            if !rows.is_empty() {
                // The portable dialect has no multi-row insert: one per backend.
                super::per_backend!(&mut *$dst, |c| diesel::insert_into($t::table)
                    .values(&rows)
                    .execute(c))?;
            }
            copied += rows.len() as i64;
            if (rows.len() as i64) < BATCH {
                break Ok(copied);
            }
            previous = rows.into_iter().last();
        }
    }};
}

fn copy_table(src: &mut Conn, dst: &mut Conn, table: &str) -> QueryResult<i64> {
    // A table with a one-column key: the next page starts after the last key.
    macro_rules! by_key {
        ($t:ident, $row:ty, $key:ident) => {
            copy_pages!(src, dst, $t, $row, $t::$key.asc(), |r| $t::$key.gt(&r.$key))
        };
    }
    // A two-column key: after the last (a, b) in (a, b) order.
    macro_rules! by_pair {
        ($t:ident, $row:ty, $a:ident, $b:ident) => {
            copy_pages!(src, dst, $t, $row, ($t::$a.asc(), $t::$b.asc()), |r| $t::$a
                .gt(&r.$a)
                .or($t::$a.eq(&r.$a).and($t::$b.gt(&r.$b))))
        };
    }
    match table {
        "users" => by_key!(users, UserCopy, id),
        "user_totp" => by_key!(user_totp, UserTotpCopy, user_id),
        "recovery_codes" => by_pair!(recovery_codes, RecoveryCodeCopy, user_id, code_hash),
        "passkeys" => by_key!(passkeys, PasskeyCopy, id),
        "passkey_ceremonies" => by_key!(passkey_ceremonies, PasskeyCeremonyCopy, id_hash),
        "clients" => by_key!(clients, ClientCopy, client_id),
        "signing_keys" => by_key!(signing_keys, SigningKeyCopy, kid),
        "server_secrets" => by_key!(server_secrets, ServerSecretCopy, name),
        "sessions" => by_key!(sessions, SessionCopy, id),
        "auth_codes" => by_key!(auth_codes, AuthCodeCopy, code_hash),
        "pushed_requests" => by_key!(pushed_requests, PushedRequestCopy, request_hash),
        "session_clients" => by_pair!(session_clients, SessionClientCopy, session_id, client_id),
        "logout_deliveries" => by_key!(logout_deliveries, LogoutDeliveryCopy, id),
        "client_assertions" => by_pair!(client_assertions, ClientAssertionCopy, client_id, jti),
        "dpop_proofs" => by_pair!(dpop_proofs, DpopProofCopy, jkt, jti),
        "refresh_tokens" => by_key!(refresh_tokens, RefreshTokenCopy, id),
        "revoked_access_tokens" => by_key!(revoked_access_tokens, RevokedAccessTokenCopy, jti),
        "feed_counters" => by_key!(feed_counters, FeedCounterCopy, name),
        "revocation_events" => by_key!(revocation_events, RevocationEventCopy, id),
        "consents" => by_pair!(consents, ConsentCopy, user_id, client_id),
        "login_throttle" => by_key!(login_throttle, ThrottleCopy, key),
        "audit_log" => by_key!(audit_log, AuditCopy, id),
        _ => Err(QueryError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use diesel::debug_query;
    use diesel::sqlite::Sqlite;

    use super::*;
    use crate::db::{execute_sql, pool::migrate};

    fn migrated() -> Conn {
        let mut conn = Conn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        execute_sql(&mut conn, "PRAGMA foreign_keys = ON").unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn every_table_and_every_column_is_copied() {
        #[derive(QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let mut names: Vec<String> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%'",
        )
        .load::<Name>(&mut migrated())
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
        names.sort();
        let mut copied = TABLES.map(String::from).to_vec();
        copied.sort();
        assert_eq!(names, copied, "a new table needs a row struct here");

        macro_rules! all_columns {
            ($($t:ident: $row:ty),+) => {$(
                assert_eq!(
                    debug_query::<Sqlite, _>(&$t::table.select(<$row>::as_select())).to_string(),
                    debug_query::<Sqlite, _>(&$t::table.select($t::all_columns)).to_string(),
                    "{} needs every column in its row struct", stringify!($t)
                );
            )+};
        }
        all_columns!(users: UserCopy, clients: ClientCopy, signing_keys: SigningKeyCopy,
            server_secrets: ServerSecretCopy, sessions: SessionCopy, auth_codes: AuthCodeCopy,
            pushed_requests: PushedRequestCopy, client_assertions: ClientAssertionCopy,
            dpop_proofs: DpopProofCopy,
            session_clients: SessionClientCopy, logout_deliveries: LogoutDeliveryCopy,
            refresh_tokens: RefreshTokenCopy, revoked_access_tokens: RevokedAccessTokenCopy,
            feed_counters: FeedCounterCopy, revocation_events: RevocationEventCopy,
            consents: ConsentCopy, login_throttle: ThrottleCopy, audit_log: AuditCopy,
            user_totp: UserTotpCopy, recovery_codes: RecoveryCodeCopy, passkeys: PasskeyCopy,
            passkey_ceremonies: PasskeyCeremonyCopy);
    }

    #[test]
    fn rows_are_copied_page_by_page_and_a_non_empty_target_is_refused() {
        // Arrange: more rows than a page in two tables, one of them keyed by two columns.
        let mut source = migrated();
        execute_sql(
            &mut source,
            "INSERT INTO users (id, subject, username, password_hash, created_at)
               WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1201)
               SELECT i * 2, 's' || i, 'u' || i, '$argon2id$h', 0 FROM n;
             INSERT INTO clients (client_id, name, redirect_uris, post_logout_redirect_uris,
               grant_types, scopes, created_at) VALUES ('a', 'A', '[]', '[]', '[]', '', 0),
               ('b', 'B', '[]', '[]', '[]', '', 0);
             INSERT INTO consents (user_id, client_id, scope, granted_at)
               SELECT id, c.client_id, 'openid', 0 FROM users, clients c;
             UPDATE feed_counters SET last_id = 41;
             INSERT INTO revocation_events VALUES (41, 'sid', 'x', 9, 1);",
        )
        .unwrap();
        let mut target = migrated();

        // Act
        let copied = copy_database(&mut source, &mut target).unwrap();
        let again = copy_database(&mut source, &mut target);

        // Assert
        assert_eq!(copied, count_tables(&mut source).unwrap());
        assert_eq!(copied, count_tables(&mut target).unwrap());
        let rows = |t: &str| copied.iter().find(|c| c.table == t).unwrap().rows;
        assert_eq!((rows("users"), rows("consents")), (1201, 2402));
        let max_id: Option<i32> = users::table
            .select(diesel::dsl::max(users::id))
            .get_result(&mut target)
            .unwrap();
        let last_id: i32 = feed_counters::table
            .select(feed_counters::last_id)
            .get_result(&mut target)
            .unwrap();
        assert_eq!((max_id, last_id), (Some(2402), 41));
        assert!(
            matches!(
                again,
                Err(CopyError::TargetNotEmpty {
                    table: "users",
                    rows: 1201
                })
            ),
            "{again:?}"
        );
    }
}
