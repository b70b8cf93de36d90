//! Log lines of a real `tessera serve` process in the JSON format: every
//! line parses, carries timestamp, level, target, message and the id of the
//! request that caused it (also lines written in the blocking pool), and no
//! field holds a secret.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tessera::config::Settings;

use crate::authorize::{PASSWORD, hidden_field};
use crate::helpers::{run_cli, stdout_ok};
use crate::shutdown::{Server, start_server, wait_for_exit};
use crate::test_db::TestDb;

const SECRET: &str = "another-chosen-secret-long-enough-9876543210";
const WRONG: &str = "a wrong password 0xDEADBEEF";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_follow_each_request_by_its_id_and_hold_no_secret() {
    // Arrange
    let db = TestDb::new();
    let Server {
        mut child,
        port,
        stderr,
    } = start_server(
        &db,
        &[
            ("TESSERA_LOG_FORMAT", "json"),
            ("TESSERA_SHUTDOWN_DRAIN", "0"),
        ],
    );
    let settings = Settings {
        database: db.url.clone(),
        ..Settings::default()
    };
    let client = [
        "client",
        "add",
        "svc",
        "--grant-types",
        "client_credentials",
        "--scopes",
        "api:read",
        "--secret-stdin",
    ];
    stdout_ok(&run_cli(&settings, &client, Some(SECRET)));
    let user = ["user", "add", "alice", "--password-stdin"];
    stdout_ok(&run_cli(&settings, &user, Some(PASSWORD)));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    // Act: a token under a chosen id, a wrong password, a malformed id.
    let res = http
        .post(format!("{base}/token"))
        .header("X-Request-Id", "trace-token-1")
        .basic_auth("svc", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    let page = http
        .get(format!("{base}/login?return_to=%2Fadmin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failed = http
        .post(format!("{base}/login"))
        .header("X-Request-Id", "trace-login-1")
        .form(&[
            ("username", "alice"),
            ("password", WRONG),
            ("csrf_token", &hidden_field(&page, "csrf_token")),
            ("return_to", "/admin"),
        ])
        .send()
        .await
        .unwrap();
    let failed_status = failed.status();
    let malformed = http
        .get(format!("{base}/healthz"))
        .header("X-Request-Id", "forged\"id with spaces")
        .send()
        .await
        .unwrap();
    let generated = malformed.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status =
        tokio::task::spawn_blocking(move || wait_for_exit(&mut child, Duration::from_secs(20)))
            .await
            .unwrap();
    let logs = stderr.join().unwrap();

    // Assert: every line is one JSON object with the fields.
    assert_eq!(status.code(), Some(0), "{logs}");
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 5, "{logs}");
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line[field].is_string(), "{field} in {line}");
        }
        assert!(line.get("request_id").is_some(), "{line}");
    }
    let messages_of = |id: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["request_id"] == id)
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(echoed, "trace-token-1");
    let token = messages_of("trace-token-1");
    assert!(
        token.iter().any(|m| m.contains("\"POST /token\" 200")),
        "{token:?}"
    );
    // The failed sign-in is logged from the blocking pool, under the same id.
    assert_eq!(failed_status, 401);
    let login = messages_of("trace-login-1");
    assert!(
        login.iter().any(|m| m.contains("sign-in failed")),
        "{login:?}"
    );
    assert!(
        login.iter().any(|m| m.contains("\"POST /login\" 401")),
        "{login:?}"
    );
    // A malformed id is replaced, never echoed or logged.
    assert!(
        generated.len() >= 16 && !generated.contains(' '),
        "{generated}"
    );
    assert!(!logs.contains("forged"));
    let health = messages_of(&generated);
    assert!(
        health.iter().any(|m| m.contains("\"GET /healthz\" 200")),
        "{health:?}"
    );
    // No secret, password or token in any field.
    for secret in [SECRET, WRONG, PASSWORD, access_token.as_str()] {
        assert!(!logs.contains(secret), "a secret was logged");
    }
}
