//! The `tessera` command line against a temporary database.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tessera::config::Settings;
use tessera::db::users::find_user_by_username;
use tessera::domain::password::verify_password;

use tessera::db::DbOptions;

use crate::helpers::{run_cli, spawn_app, stdout_ok};
use crate::refresh::feed_lists;
use crate::test_db::TestDb;

fn temp_settings(db: &TestDb) -> Settings {
    Settings {
        database: db.url.clone(),
        ..Settings::default()
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn users_are_added_listed_and_disabled() {
    // Arrange
    let db = TestDb::new();
    let s = temp_settings(&db);

    // Act
    let added = stdout_ok(&run_cli(
        &s,
        &[
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--email",
            "alice@example.com",
            "--name",
            "Alice",
        ],
        Some("correct horse battery\n"),
    ));
    let generated = stdout_ok(&run_cli(&s, &["user", "add", "bob", "--admin"], None));
    stdout_ok(&run_cli(&s, &["user", "disable", "bob"], None));
    let listed = stdout_ok(&run_cli(&s, &["user", "list"], None));

    // Assert
    assert!(added.contains("created user alice"));
    assert!(
        !added.contains("password"),
        "a chosen password is never echoed"
    );
    assert!(generated.contains("password: "));
    let alice = listed.lines().find(|l| l.starts_with("alice")).unwrap();
    assert!(alice.contains("alice@example.com"));
    let bob = listed.lines().find(|l| l.starts_with("bob")).unwrap();
    assert!(
        bob.split_whitespace().filter(|w| *w == "yes").count() == 2,
        "{bob}"
    );
    // One trailing newline was stripped from the password read on stdin.
    let pool = tessera::db::open(&DbOptions::new(&s.database, 1).unwrap()).unwrap();
    let row = find_user_by_username(&mut pool.get().unwrap(), "alice")
        .unwrap()
        .unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(verify_password("correct horse battery", &row.password_hash));
}

#[test]
fn a_bad_or_unreachable_database_is_one_line_naming_the_variable_without_the_password() {
    for database in [
        "postgres://tessera:hunter2@127.0.0.1:1/tessera",
        "postgres://tessera:hunter2@/tessera",
        "mysql://tessera:hunter2@127.0.0.1/tessera",
    ] {
        let s = Settings {
            database: database.into(),
            ..Settings::default()
        };
        for args in [&["serve"][..], &["user", "list"][..]] {
            let out = run_cli(&s, args, None);
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(1), "{database} {args:?}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains("TESSERA_DATABASE"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn bad_arguments_give_one_line_and_a_non_zero_exit() {
    let db = TestDb::new();
    let s = temp_settings(&db);
    stdout_ok(&run_cli(&s, &["user", "add", "carol"], None));

    let cases: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec!["user", "add", "carol"], None),
        (
            vec!["user", "add", "dave", "--password-stdin"],
            Some("short\n"),
        ),
        (vec!["user", "disable", "nobody"], None),
        (vec!["user", "frobnicate"], None),
        (vec!["client", "add", "web"], None),
        (
            vec!["client", "add", "web", "--public", "--secret-stdin"],
            None,
        ),
        (
            vec![
                "client",
                "add",
                "web",
                "--redirect-uri",
                "http://evil.example/cb",
            ],
            None,
        ),
        (
            vec![
                "client",
                "add",
                "svc",
                "--grant-types",
                "client_credentials",
                "--secret-stdin",
            ],
            Some("too-short\n"),
        ),
        (
            vec!["client", "add", "svc", "--grant-types", "password"],
            None,
        ),
        (
            vec![
                "client",
                "add",
                "spa",
                "--public",
                "--grant-types",
                "client_credentials",
            ],
            None,
        ),
        (vec!["client", "remove", "nobody"], None),
        (vec!["keys", "rotate", "--later"], None),
    ];
    for (args, stdin) in cases {
        let out = run_cli(&s, &args, stdin);
        let err = stderr_of(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn bad_configuration_is_reported_by_variable_without_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["migrate"])
        .env("TESSERA_BIND", "not-an-address")
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(!out.status.success());
    assert!(err.contains("TESSERA_BIND"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn clients_added_with_the_cli_can_get_tokens_and_are_removed() {
    // Arrange
    let app = spawn_app().await;
    let secret = "a-chosen-secret-that-is-long-enough-0123456789";
    let rs_secret = app.add_confidential_client("rs", "client_credentials", "api:read");

    // Act
    let generated = stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "gen",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
        ],
        None,
    ));
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "chosen",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
            "--secret-stdin",
        ],
        Some(&format!("{secret}\n")),
    ));
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "spa",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:5173/cb",
            "--post-logout-redirect-uri",
            "http://127.0.0.1:5173/",
        ],
        None,
    ));
    let generated_secret = generated
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    let listed = stdout_ok(&app.cli(&["client", "list"], None));

    // Assert
    assert_eq!(generated_secret.len(), 43);
    assert!(
        listed.lines().any(|l| l.starts_with("spa")
            && l.contains("public")
            && l.contains("authorization_code,refresh_token")
            && l.contains("openid")),
        "{listed}"
    );
    app.client_credentials_token("gen", &generated_secret).await;
    app.client_credentials_token("chosen", secret).await;

    // The running server trusts a registration it read for
    // `client_cache_ttl` seconds; a removal by another process counts after that.
    stdout_ok(&app.cli(&["client", "remove", "gen"], None));
    app.clock.advance(app.settings.client_cache_ttl);
    let res = app
        .post_token(
            "grant_type=client_credentials",
            Some(("gen", &generated_secret)),
        )
        .await;
    assert_eq!(res.status(), 401);
    // Its tokens are revoked for resource servers too.
    let feed = app.feed(("rs", &rs_secret), 0).await;
    assert!(feed_lists(&feed, "client_id", "gen"), "{feed}");
}

#[test]
fn first_start_prints_working_admin_credentials_once() {
    // Arrange
    let test_db = TestDb::new();
    let db = test_db.url.clone();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("serve")
            .env("TESSERA_DATABASE", &db)
            .env("TESSERA_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let read_until_serving = |child: &mut std::process::Child| {
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        for line in stdout.lines() {
            let line = line.unwrap();
            let done = line.starts_with("Tessera is serving");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    };

    // Act
    let mut first = start();
    let first_out = read_until_serving(&mut first);
    first.kill().unwrap();
    let first_err = String::from_utf8_lossy(&first.wait_with_output().unwrap().stderr).into_owned();
    let mut second = start();
    let second_out = read_until_serving(&mut second);
    second.kill().unwrap();
    second.wait().unwrap();

    // Assert
    let field = |name: &str| {
        first_out
            .iter()
            .find_map(|l| l.trim().strip_prefix(name).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {name} in {first_out:?}"))
    };
    let username = field("username: ");
    let password = field("password: ");
    assert_eq!(username, "admin");
    assert!(
        !first_err.contains(&password),
        "the password reached the log"
    );
    let pool = tessera::db::open(&DbOptions::new(&db, 1).unwrap()).unwrap();
    let row = find_user_by_username(&mut pool.get().unwrap(), &username)
        .unwrap()
        .unwrap();
    assert!(row.is_admin);
    assert!(verify_password(&password, &row.password_hash));
    assert!(
        !second_out.iter().any(|l| l.contains("password")),
        "{second_out:?}"
    );
}

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let db = TestDb::new();
    let s = temp_settings(&db);
    stdout_ok(&run_cli(&s, &["migrate"], None));
    let out = stdout_ok(&run_cli(&s, &["migrate"], None));
    assert!(out.contains("up to date"));
    if !db.is_postgres() {
        assert!(std::path::Path::new(&s.database).exists());
    }
    let pool = tessera::db::open(&DbOptions::new(&s.database, 1).unwrap()).unwrap();
    let users = tessera::db::count_rows(&mut pool.get().unwrap(), "users").unwrap();
    assert_eq!(users, 0, "migrate creates the schema and nothing else");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn migrate_to_moves_every_row_to_postgres_and_refuses_a_non_empty_target() {
    use std::sync::Arc;

    use serde_json::Value;
    use tessera::db::audit::list_audit;
    use tessera::db::copy::count_tables;

    use crate::authorize::{PASSWORD, SPA};
    use crate::helpers::spawn_app_on;
    use crate::refresh::sign_in;

    // Arrange: real state on a SQLite server.
    let pg = crate::postgres_or_skip!();
    let pg_url = pg.url.clone();
    let old = spawn_app_on(Arc::new(TestDb::sqlite()), |_| {}).await;
    stdout_ok(&old.cli(
        &["user", "add", "alice", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    ));
    let added = stdout_ok(&old.cli(
        &[
            "client",
            "add",
            "api",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
        ],
        None,
    ));
    let api_secret = added
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    let api = ("api", api_secret.as_str());
    old.add_public_client("spa", SPA, false);
    let tokens = sign_in(&old, "openid").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let revoked = old
        .post_form(
            "/revoke",
            &[
                ("token", tokens["access_token"].as_str().unwrap()),
                ("client_id", "spa"),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let old_feed = old.feed(api, 0).await;
    let old_entry = old_feed["entries"][0].clone();
    let old_cursor = old_entry["cursor"].as_i64().unwrap();
    let mut old_kids: Vec<_> = old
        .jwks()
        .await
        .keys
        .into_iter()
        .map(|k| k.common.key_id)
        .collect();
    old_kids.sort();
    let old_counts = count_tables(&mut old.pool.get().unwrap()).unwrap();
    let old_audit = list_audit(&mut old.pool.get().unwrap(), None, None, 0, 1000).unwrap();
    assert!(old_audit.len() >= 2, "the CLI commands were audited");

    // Act
    let out = old.cli(&["migrate-to", &pg_url], None);
    let printed = stdout_ok(&out);
    let copied_pool = tessera::db::open(&DbOptions::new(&pg_url, 1).unwrap()).unwrap();
    let new_counts = count_tables(&mut copied_pool.get().unwrap()).unwrap();
    let new_audit = list_audit(&mut copied_pool.get().unwrap(), None, None, 0, 1000).unwrap();
    let new = spawn_app_on(Arc::new(pg), |_| {}).await;

    // Assert: every table has the same rows, the audit log the same ids.
    assert_eq!(new_counts, old_counts);
    for c in &old_counts {
        assert!(
            printed.lines().any(|l| l
                .split_whitespace()
                .take(2)
                .eq([c.table, &c.rows.to_string()])),
            "{} not reported in {printed}",
            c.table
        );
    }
    let ids = |rows: &[tessera::db::audit::AuditRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&new_audit), ids(&old_audit));
    // The user signs in with the same password; the old refresh token refreshes.
    let fresh = sign_in(&new, "openid").await;
    assert!(fresh["access_token"].is_string(), "{fresh}");
    let refreshed = new.refresh("spa", &refresh_token).await;
    assert_eq!(
        refreshed.status(),
        200,
        "{}",
        refreshed.text().await.unwrap()
    );
    // The client secret still works and the signing keys are the same.
    new.client_credentials_token("api", &api_secret).await;
    let mut new_kids: Vec<_> = new
        .jwks()
        .await
        .keys
        .into_iter()
        .map(|k| k.common.key_id)
        .collect();
    new_kids.sort();
    assert_eq!(new_kids, old_kids);
    // The feed keeps its entry and cursor; a new entry gets a later one.
    let new_feed = new.feed(api, 0).await;
    assert_eq!(new_feed["entries"][0], old_entry, "{new_feed}");
    let revoked = new
        .post_form(
            "/revoke",
            &[
                ("token", fresh["access_token"].as_str().unwrap()),
                ("client_id", "spa"),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let later: Value = new.feed(api, old_cursor).await;
    assert!(
        later["entries"][0]["cursor"].as_i64().unwrap() > old_cursor,
        "{later}"
    );

    // A second copy into the now non-empty database is refused.
    let again = old.cli(&["migrate-to", &pg_url], None);
    let err = stderr_of(&again);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not empty"), "{err}");
    // So is a target that is not PostgreSQL, or the source itself.
    for target in ["./elsewhere.db", "postgres://u:hunter2@/db"] {
        let out = old.cli(&["migrate-to", target], None);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    assert!(!std::path::Path::new("./elsewhere.db").exists());
    let same = run_cli(&new.settings, &["migrate-to", &pg_url], None);
    assert!(
        stderr_of(&same).contains("already names"),
        "{}",
        stderr_of(&same)
    );
}
