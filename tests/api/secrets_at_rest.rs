//! Secrets at rest: with `secret_key_file` set, signing keys, server
//! secrets and users' TOTP secrets are stored only encrypted; a wrong or missing key stops the
//! server with one clear error; `tessera secrets rekey` re-encrypts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tessera::db::second_factors::list_totp_secrets;
use tessera::db::server_secrets::list_server_secrets;
use tessera::db::signing_keys::list_stored_private_keys;
use tessera::domain::at_rest::{Sealer, server_secret_label, signing_key_label, totp_secret_label};
use tessera::domain::clock::Clock;
use tessera::startup::Application;

use crate::helpers::{TestApp, spawn_app_on, stdout_ok, verify_access_token};
use crate::shutdown::{Server, start_server, wait_for_exit};
use crate::test_db::TestDb;

/// The PKCS#8 header of an RSA private key: `AlgorithmIdentifier`
/// (rsaEncryption, NULL) then the OCTET STRING holding the key.
const RSA_PKCS8_HEADER: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04,
];

/// A fresh random key file (hex) in its own directory.
struct KeyFile {
    path: PathBuf,
    _dir: TempDir,
}

impl KeyFile {
    fn new() -> Self {
        use rand::RngCore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(&path, hex + "\n").unwrap();
        KeyFile { path, _dir: dir }
    }

    fn setting(&self) -> String {
        self.path.display().to_string()
    }

    fn sealer(&self) -> Sealer {
        Sealer::from_key_file(&self.path).unwrap()
    }
}

/// Every stored secret as (label, stored bytes).
fn stored_secrets(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let mut conn = app.pool.get().unwrap();
    let keys = list_stored_private_keys(&mut conn).unwrap();
    let secrets = list_server_secrets(&mut conn).unwrap();
    let totp = list_totp_secrets(&mut conn).unwrap();
    keys.into_iter()
        .map(|(kid, v)| (signing_key_label(&kid), v))
        .chain(
            secrets
                .into_iter()
                .filter(|(name, _)| name != "secret_key_check")
                .map(|(name, v)| (server_secret_label(&name), v)),
        )
        .chain(totp.into_iter().map(|(id, v)| (totp_secret_label(id), v)))
        .collect()
}

/// Gives alice an authenticator app with the CLI.
fn enrol_alice(app: &TestApp) {
    app.add_user("alice", "correct horse battery");
    stdout_ok(&app.cli(&["user", "totp", "alice"], None));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The bytes of a SQLite database as a copy of it would have them: the
/// main file and its write-ahead log.
fn sqlite_dump(db: &TestDb) -> Vec<u8> {
    let mut all = std::fs::read(&db.url).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}-wal", db.url)) {
        all.extend(wal);
    }
    all
}

/// Searches `dump` for each secret's plain bytes, in 16-byte pieces at
/// several offsets so a partial copy is found too.
fn leaked_pieces(dump: &[u8], plain_secrets: &[Vec<u8>]) -> usize {
    plain_secrets
        .iter()
        .flat_map(|p| {
            (0..p.len().saturating_sub(16))
                .step_by(97)
                .map(|i| &p[i..i + 16])
        })
        .filter(|piece| contains(dump, piece))
        .count()
}

async fn issue_and_verify(app: &TestApp, client_id: &str, secret: &str) -> String {
    let token = app.client_credentials_token(client_id, secret).await;
    let jwks = app.jwks().await;
    verify_access_token(&token, &jwks, &app.settings.issuer, &app.settings.issuer);
    token
}

#[tokio::test]
async fn with_a_secret_key_no_private_key_material_is_stored() {
    // Arrange: a server with a secret key that has signed a token.
    let key = KeyFile::new();
    let db = Arc::new(TestDb::new());
    let app = spawn_app_on(db.clone(), |s| s.secret_key_file = key.setting()).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "");
    issue_and_verify(&app, "svc", &secret).await;
    enrol_alice(&app);

    // Act: read every stored secret as a copy of the database has it.
    let stored = stored_secrets(&app);

    // Assert: at least the signing key and the MAC key, each stored sealed
    // (no PKCS#8 header, not the plain value) and opening with the key.
    assert!(stored.len() >= 2, "stored secrets: {}", stored.len());
    let sealer = key.sealer();
    let mut plain = Vec::new();
    for (label, value) in &stored {
        let opened = sealer.open(label, value).unwrap();
        assert!(
            !contains(value, RSA_PKCS8_HEADER),
            "{label} stored in plain"
        );
        assert!(!contains(value, &opened[..16]), "{label} stored in plain");
        plain.push(opened);
    }
    assert!(
        plain.iter().any(|p| contains(p, RSA_PKCS8_HEADER)),
        "a signing key was among the opened secrets"
    );
    assert!(
        plain.iter().any(|p| p.len() == 20),
        "a TOTP secret was among the opened secrets"
    );
    if !db.is_postgres() {
        drop(app);
        let dump = sqlite_dump(&db);
        assert!(
            !contains(&dump, RSA_PKCS8_HEADER),
            "a private key in the file"
        );
        assert_eq!(leaked_pieces(&dump, &plain), 0, "secret bytes in the file");
    }
}

#[tokio::test]
async fn without_a_secret_key_the_same_search_finds_the_keys() {
    // The control for the test above: the search does find plain keys.
    let db = Arc::new(TestDb::new());
    let app = spawn_app_on(db.clone(), |_| {}).await;
    let stored = stored_secrets(&app);
    assert!(stored.iter().any(|(_, v)| v.starts_with(&[0x30])));
    if !db.is_postgres() {
        let plain: Vec<Vec<u8>> = stored.into_iter().map(|(_, v)| v).collect();
        drop(app);
        let dump = sqlite_dump(&db);
        assert!(contains(&dump, RSA_PKCS8_HEADER));
        assert!(leaked_pieces(&dump, &plain) > 0);
    }
}

#[tokio::test]
async fn an_unencrypted_database_is_encrypted_once_a_key_is_configured() {
    // Arrange: a database run without a key, with a token signed.
    let db = Arc::new(TestDb::new());
    let before = spawn_app_on(db.clone(), |_| {}).await;
    let secret = before.add_confidential_client("svc", "client_credentials", "");
    let token = issue_and_verify(&before, "svc", &secret).await;
    let plain: Vec<(String, Vec<u8>)> = stored_secrets(&before);
    let issuer = before.settings.issuer.clone();
    drop(before);

    // Act: start it with a key.
    let key = KeyFile::new();
    let after = spawn_app_on(db, |s| s.secret_key_file = key.setting()).await;

    // Assert: every secret is now sealed with the same content, and the
    // token signed before still verifies against the published keys.
    let sealer = key.sealer();
    let sealed = stored_secrets(&after);
    assert_eq!(sealed.len(), plain.len());
    for ((label, was), (label_now, now)) in plain.iter().zip(&sealed) {
        assert_eq!(label, label_now);
        assert_ne!(was, now, "{label} still plain");
        assert_eq!(&sealer.open(label, now).unwrap(), was);
    }
    // (each test server has its own issuer: the token has the first one's)
    let jwks = after.jwks().await;
    verify_access_token(&token, &jwks, &issuer, &issuer);
    issue_and_verify(&after, "svc", &secret).await;
}

#[tokio::test]
async fn rekey_reencrypts_every_secret_and_only_the_new_key_opens_them() {
    // Arrange: a server on key A that has signed a token.
    let (a, b) = (KeyFile::new(), KeyFile::new());
    let db = Arc::new(TestDb::new());
    let app = spawn_app_on(db.clone(), |s| s.secret_key_file = a.setting()).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "");
    let token = issue_and_verify(&app, "svc", &secret).await;
    enrol_alice(&app);
    let under_a: Vec<Vec<u8>> = stored_secrets(&app)
        .iter()
        .map(|(l, v)| a.sealer().open(l, v).unwrap())
        .collect();

    // Act: rekey from A to B with the CLI.
    let out = app.cli(&["secrets", "rekey", "--new-key-file", &b.setting()], None);
    let printed = stdout_ok(&out);

    // Assert: the same secrets, now opening only under B; a server starts on
    // B and still verifies the old token; a start on A is refused.
    assert!(printed.contains("re-encrypted"), "{printed}");
    let stored = stored_secrets(&app);
    let under_b: Vec<Vec<u8>> = stored
        .iter()
        .map(|(l, v)| b.sealer().open(l, v).unwrap())
        .collect();
    assert_eq!(under_a, under_b);
    assert!(stored.iter().all(|(l, v)| a.sealer().open(l, v).is_err()));
    let on_b = spawn_app_on(db.clone(), |s| s.secret_key_file = b.setting()).await;
    let jwks = on_b.jwks().await;
    verify_access_token(&token, &jwks, &app.settings.issuer, &app.settings.issuer);
    issue_and_verify(&on_b, "svc", &secret).await;
    let err = build_error(&db, &a.setting()).await;
    assert!(err.contains("does not match"), "{err}");
    let missing = app.cli(
        &["secrets", "rekey", "--new-key-file", "/nonexistent"],
        None,
    );
    assert!(!missing.status.success());
}

/// The error of building a server on `db` with this key file.
async fn build_error(db: &TestDb, key_file: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = tessera::config::Settings {
        issuer: format!("http://127.0.0.1:{port}"),
        bind: format!("127.0.0.1:{port}"),
        database: db.url.clone(),
        secret_key_file: key_file.to_owned(),
        ..Default::default()
    };
    match Application::build_with_listener(settings, listener, Clock::system()).await {
        Ok(_) => panic!("the server started"),
        Err(e) => format!("{e:#}"),
    }
}

/// Runs `tessera serve` expecting it to fail at start; returns its stderr.
fn failed_start(db: &TestDb, key_file: Option<&Path>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.arg("serve")
        .env("TESSERA_DATABASE", &db.url)
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("TESSERA_SECRET_KEY_FILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(path) = key_file {
        cmd.env("TESSERA_SECRET_KEY_FILE", path);
    }
    let mut child = cmd.spawn().unwrap();
    let status = wait_for_exit(&mut child, Duration::from_secs(20));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!status.success(), "started: {stdout}");
    assert!(!stdout.contains("Tessera is serving"), "{stdout}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_or_missing_key_stops_the_server_with_one_clear_error() {
    // Arrange: a database sealed by a server process on key A.
    let db = TestDb::new();
    let (a, b) = (KeyFile::new(), KeyFile::new());
    let first = terminate(start_server(
        &db,
        &[("TESSERA_SECRET_KEY_FILE", &a.setting())],
    ));
    assert!(!first.contains("no secret_key_file"), "{first}");

    // Act + Assert: key B, no key, a malformed key file: each refused with
    // one error line that says what to do, and no token signed.
    let wrong = failed_start(&db, Some(&b.path));
    assert_eq!(error_lines(&wrong), 1, "{wrong}");
    assert!(wrong.contains("does not match"), "{wrong}");
    let missing = failed_start(&db, None);
    assert_eq!(error_lines(&missing), 1, "{missing}");
    assert!(missing.contains("TESSERA_SECRET_KEY_FILE"), "{missing}");
    let bad = a.path.with_file_name("short.key");
    std::fs::write(&bad, "0123").unwrap();
    let malformed = failed_start(&db, Some(&bad));
    assert!(malformed.contains("64 hex digits"), "{malformed}");

    // And key A still serves.
    let again = terminate(start_server(
        &db,
        &[("TESSERA_SECRET_KEY_FILE", &a.setting())],
    ));
    assert!(again.contains("secrets at rest are encrypted"), "{again}");
}

#[test]
fn without_a_key_a_start_prints_one_warning_line() {
    let db = TestDb::new();
    let log = terminate(start_server(&db, &[]));
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("no secret_key_file is configured"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("a copy of the database can mint tokens"));
}

fn error_lines(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.starts_with("error:")).count()
}

/// Stops a server with SIGTERM once it answers (its signal handling is set
/// up by then), expecting a clean exit.
fn terminate(
    Server {
        mut child,
        port,
        stderr,
    }: Server,
) -> String {
    let healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let answered = (0..100).any(|_| {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            use std::io::{Read, Write};
            s.write_all(healthz.as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out.starts_with("HTTP/1.1 200"))
        });
        ok.unwrap_or(false) || {
            std::thread::sleep(Duration::from_millis(50));
            false
        }
    });
    assert!(answered, "the server never answered /healthz");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(wait_for_exit(&mut child, Duration::from_secs(20)).success());
    stderr.join().unwrap()
}
