//! `GET /metrics`: absent without a token, refused with a wrong one, and
//! counters that move with traffic. Counters are process-wide and tests run
//! in parallel, so the checks are on increases, never exact totals.

use crate::authorize::{AuthRequest, PASSWORD, SPA};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const TOKEN: &str = "a-metrics-token-that-is-long-enough-0123";

impl TestApp {
    async fn scrape(&self, token: Option<&str>) -> (u16, String) {
        let mut req = self.http.get(format!("{}/metrics", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_are_off_without_a_token() {
    let app = spawn_app().await;

    let (status, _) = app.scrape(Some(TOKEN)).await;

    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_scrape_needs_the_token_and_counters_move_with_traffic() {
    // Arrange
    let app = spawn_app_with(|s| s.metrics_token = TOKEN.into()).await;
    app.add_user("alice", PASSWORD);
    app.add_public_client("spa", SPA, false);
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let (refused, _) = app.scrape(Some("not-the-token")).await;
    let (missing, _) = app.scrape(None).await;
    let (status, before) = app.scrape(Some(TOKEN)).await;

    // Act: two tokens, a failed sign-in.
    app.client_credentials_token("svc", &secret).await;
    app.client_credentials_token("svc", &secret).await;
    let page = app.get(&AuthRequest::new("spa", SPA).url(&app)).await;
    let html = page.text().await.unwrap();
    app.submit_login(&html, "alice", "wrong password").await;
    let (_, after) = app.scrape(Some(TOKEN)).await;

    // Assert
    assert_eq!((refused, missing, status), (401, 401, 200));
    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    assert!(
        grew(r#"tessera_tokens_issued_total{grant_type="client_credentials"}"#) >= 2.0,
        "{after}"
    );
    assert!(grew(r#"tessera_events_total{event="sign_in.failed"}"#) >= 1.0);
    assert!(grew(r#"tessera_http_requests_total{route="/token",status="200"}"#) >= 2.0);
    assert!(grew(r#"tessera_http_request_duration_seconds_count{route="/token"}"#) >= 2.0);
    assert!(grew("tessera_db_pool_wait_seconds_count") >= 1.0);
    for gauge in [
        r#"tessera_db_pool_connections{state="idle"}"#,
        r#"tessera_db_pool_connections{state="in_use"}"#,
        "tessera_revocation_feed_entries",
        "tessera_signing_key_age_seconds",
        r#"tessera_background_job_runs_total{job="key_check",outcome="ok"}"#,
    ] {
        assert!(
            after.lines().any(|l| l.starts_with(gauge)),
            "{gauge} in {after}"
        );
    }
    // Route patterns, not paths: an id never becomes a label.
    assert!(!after.contains("route=\"/authorize?"));
}
