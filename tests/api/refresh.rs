//! Refresh-token rotation, reuse detection and the concurrency contract.

use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, SPA, location, query_param};
use crate::helpers::{TestApp, spawn_app_with};

/// Signs alice in through the SPA and returns the token response.
pub async fn sign_in(app: &TestApp, scope: &str) -> Value {
    let mut req = AuthRequest::new("spa", SPA);
    req.scope = scope.into();
    let code = app.sign_in_for_code(&req, "alice").await;
    app.redeem(&req, &code).await.json().await.unwrap()
}

pub async fn app_with(grace: i64) -> TestApp {
    let app = spawn_app_with(|s| s.refresh_reuse_grace = grace).await;
    app.add_user("alice", PASSWORD);
    app.add_public_client("spa", SPA, false);
    app
}

impl TestApp {
    pub async fn refresh(&self, client_id: &str, token: &str) -> reqwest::Response {
        self.post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", client_id),
            ],
        )
        .await
    }

    /// The feed as an admin-registered resource server sees it.
    pub async fn feed(&self, creds: (&str, &str), after: i64) -> Value {
        let res = self
            .http
            .get(format!("{}/revocations?after={after}", self.address))
            .basic_auth(creds.0, Some(creds.1))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

/// True when the feed lists an entry of `kind` for `value`.
pub fn feed_lists(feed: &Value, kind: &str, value: &str) -> bool {
    let entries = feed["entries"].as_array().expect("feed entries");
    entries
        .iter()
        .any(|e| e["type"] == kind && e["value"] == value)
}

fn error_code(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

#[tokio::test]
async fn every_refresh_rotates_and_a_reused_token_revokes_the_family_and_session() {
    // Arrange
    let app = app_with(0).await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let first = sign_in(&app, "openid profile").await;
    let rt0 = first["refresh_token"].as_str().unwrap().to_owned();
    let sid = crate::helpers::verify_access_token(
        first["access_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &app.address,
    )["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act
    let res = app.refresh("spa", &rt0).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let second: Value = res.json().await.unwrap();
    let rt1 = second["refresh_token"].as_str().unwrap().to_owned();
    let reuse = app.refresh("spa", &rt0).await;
    let reuse_status = reuse.status();
    let reuse_body: Value = reuse.json().await.unwrap();
    let newest: Value = app.refresh("spa", &rt1).await.json().await.unwrap();

    // Assert
    assert_ne!(rt1, rt0);
    assert_eq!(reuse_status, 400);
    assert_eq!(error_code(&reuse_body), "invalid_grant");
    assert_eq!(error_code(&newest), "invalid_grant");
    let after = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert_eq!(
        query_param(&location(&after), "error").as_deref(),
        Some("login_required")
    );
    let feed = app.feed(("api", &rs), 0).await;
    assert!(feed_lists(&feed, "sid", &sid), "{feed}");
}

async fn concurrent_refreshes(app: &TestApp, token: &str, n: usize) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let (http, url, token) = (
            app.http.clone(),
            format!("{}/token", app.address),
            token.to_owned(),
        );
        handles.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", "spa"),
                ])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_refreshes_in_strict_mode_let_exactly_one_through() {
    let app = app_with(0).await;
    for round in 0..3 {
        // Arrange
        let rt = sign_in(&app, "openid").await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();

        // Act
        let results = concurrent_refreshes(&app, &rt, 20).await;

        // Assert
        let ok: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        let grant_errors = results
            .iter()
            .filter(|(s, b)| *s == 400 && error_code(b) == "invalid_grant")
            .count();
        assert_eq!(ok.len(), 1, "round {round}: {results:?}");
        assert_eq!(grant_errors, 19, "round {round}: {results:?}");
        assert!(results.iter().all(|(s, _)| *s < 500));
        // The reuse revoked the family, including the winner's new token.
        let winner = ok[0]["refresh_token"].as_str().unwrap();
        let body: Value = app.refresh("spa", winner).await.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_grant", "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_grace_period_concurrent_refreshes_all_get_the_same_successor() {
    let app = app_with(5).await;
    for round in 0..3 {
        // Arrange
        let rt = sign_in(&app, "openid").await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();

        // Act
        let results = concurrent_refreshes(&app, &rt, 20).await;

        // Assert
        assert!(
            results.iter().all(|(s, _)| *s == 200),
            "round {round}: {results:?}"
        );
        let successors: std::collections::HashSet<&str> = results
            .iter()
            .map(|(_, b)| b["refresh_token"].as_str().unwrap())
            .collect();
        assert_eq!(successors.len(), 1, "round {round}");
        let successor = successors.into_iter().next().unwrap().to_owned();
        // The family stays valid: the successor rotates normally.
        let next = app.refresh("spa", &successor).await;
        assert_eq!(next.status(), 200, "round {round}");
        // Past the grace, presenting the original again is a reuse.
        app.clock.advance(6);
        let late: Value = app.refresh("spa", &rt).await.json().await.unwrap();
        assert_eq!(error_code(&late), "invalid_grant");
        let newest = next.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let body: Value = app.refresh("spa", &newest).await.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_grant", "the family was revoked");
    }
}

#[tokio::test]
async fn refresh_may_narrow_the_scope_but_never_widen_it() {
    let app = app_with(0).await;
    let rt = sign_in(&app, "openid profile").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let wider = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", "spa"),
                ("scope", "openid email"),
            ],
        )
        .await;
    let narrower = app
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", "spa"),
                ("scope", "openid"),
            ],
        )
        .await;

    assert_eq!(error_code(&wider.json().await.unwrap()), "invalid_scope");
    assert_eq!(narrower.status(), 200);
    let body: Value = narrower.json().await.unwrap();
    assert_eq!(body["scope"], "openid");
    // The successor keeps the original grant.
    let again: Value = app
        .refresh("spa", body["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["scope"], "openid profile");
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_own_client() {
    let app = app_with(0).await;
    app.add_public_client("other", "http://127.0.0.1:5174/callback", false);
    let rt = sign_in(&app, "openid").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let stolen: Value = app.refresh("other", &rt).await.json().await.unwrap();
    let own = app.refresh("spa", &rt).await;

    assert_eq!(error_code(&stolen), "invalid_grant");
    assert_eq!(
        own.status(),
        200,
        "a foreign client's attempt revokes nothing"
    );
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle_and_at_their_absolute_limit() {
    // Idle: unused for longer than the idle lifetime.
    let app = spawn_app_with(|s| {
        s.refresh_token_idle_ttl = 3600;
        s.session_idle_ttl = 90 * 86_400;
        s.session_ttl = 90 * 86_400;
    })
    .await;
    app.add_user("alice", PASSWORD);
    app.add_public_client("spa", SPA, false);
    let rt = sign_in(&app, "openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(3601);
    assert_eq!(
        error_code(&app.refresh("spa", &rt).await.json().await.unwrap()),
        "invalid_grant"
    );

    // Absolute: even a token in steady use ends with its family.
    let app = spawn_app_with(|s| {
        s.session_idle_ttl = 90 * 86_400;
        s.session_ttl = 90 * 86_400;
    })
    .await;
    app.add_user("alice", PASSWORD);
    app.add_public_client("spa", SPA, false);
    let rt = sign_in(&app, "openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut current = rt;
    let mut refused = None;
    for day in 0..40 {
        app.clock.advance(86_400 / 2);
        let res = app.refresh("spa", &current).await;
        if res.status() != 200 {
            refused = Some(day);
            break;
        }
        current = res.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        app.clock.advance(86_400 / 2);
    }
    assert!(
        matches!(refused, Some(d) if (29..=30).contains(&d)),
        "refused on day {refused:?}"
    );
}

#[tokio::test]
async fn disabling_a_user_revokes_their_refresh_tokens() {
    let app = app_with(0).await;
    let rt = sign_in(&app, "openid offline_access").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = app.cli(&["user", "disable", "alice"], None);
    assert!(out.status.success());

    assert_eq!(
        error_code(&app.refresh("spa", &rt).await.json().await.unwrap()),
        "invalid_grant"
    );
}

#[tokio::test]
async fn an_offline_token_keeps_working_after_sign_out_without_a_session_id() {
    let app = app_with(0).await;
    let tokens = sign_in(&app, "openid offline_access").await;
    let hint = tokens["id_token"].as_str().unwrap();
    app.get(&format!("{}/logout?id_token_hint={hint}", app.address))
        .await;

    let res = app
        .refresh("spa", tokens["refresh_token"].as_str().unwrap())
        .await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let claims = crate::helpers::verify_access_token(
        body["access_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &app.address,
    );
    assert!(
        claims.get("sid").is_none(),
        "the ended session's sid is not reused"
    );
}
