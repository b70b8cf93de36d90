//! Revocation (RFC 7009), introspection (RFC 7662), the revocation feed and
//! housekeeping.

use serde_json::Value;

use crate::authorize::{AuthRequest, SPA, location, query_param};
use crate::helpers::TestApp;
use crate::refresh::{app_with, sign_in};

impl TestApp {
    async fn introspect(&self, creds: (&str, &str), token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/introspect", self.address))
            .basic_auth(creds.0, Some(creds.1))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn active(&self, creds: (&str, &str), token: &str) -> Value {
        let res = self.introspect(creds, token).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        res.json().await.unwrap()
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_and_unknown_tokens_get_200() {
    // Arrange
    let app = app_with(0).await;
    let tokens = sign_in(&app, "openid").await;
    let rt0 = tokens["refresh_token"].as_str().unwrap();
    let rt1 = app.refresh("spa", rt0).await.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.add_public_client("other", "http://127.0.0.1:5174/callback", false);

    // Act
    let foreign = app
        .post_form("/revoke", &[("token", &rt1), ("client_id", "other")])
        .await;
    let still_ok = app.introspect_refresh_live(&rt1);
    let own = app
        .post_form(
            "/revoke",
            &[
                ("token", rt0),
                ("client_id", "spa"),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    let unknown = app
        .post_form(
            "/revoke",
            &[("token", "no-such-token"), ("client_id", "spa")],
        )
        .await;

    // Assert
    assert_eq!(foreign.status(), 200);
    assert!(still_ok, "another client's revocation changed nothing");
    assert_eq!(own.status(), 200);
    assert_eq!(unknown.status(), 200);
    let body: Value = app.refresh("spa", &rt1).await.json().await.unwrap();
    assert_eq!(
        body["error"], "invalid_grant",
        "revoking the spent token took the whole family"
    );
}

impl TestApp {
    fn introspect_refresh_live(&self, token: &str) -> bool {
        !self.refresh_token_revoked(token)
    }
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_and_fed_to_verifiers() {
    // Arrange
    let app = app_with(0).await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let tokens = sign_in(&app, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let jti =
        crate::helpers::verify_access_token(access, &app.jwks().await, &app.address, &app.address)
            ["jti"]
            .clone();

    // Act
    let res = app
        .post_form(
            "/revoke",
            &[
                ("token", access),
                ("client_id", "spa"),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;

    // Assert
    assert_eq!(res.status(), 200);
    assert_eq!(app.userinfo(access).await.status(), 401);
    assert_eq!(
        app.active(("api", &rs), access).await,
        serde_json::json!({"active": false})
    );
    let feed = app.feed(("api", &rs), 0).await;
    let entry = feed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "jti")
        .unwrap()
        .clone();
    assert_eq!(entry["value"], jti);
    // The session itself is untouched.
    let still = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert!(query_param(&location(&still), "code").is_some());
}

#[tokio::test]
async fn introspection_describes_live_tokens_and_nothing_else() {
    // Arrange
    let app = app_with(0).await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let creds = ("api", rs.as_str());
    let tokens = sign_in(&app, "openid profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let other = crate::helpers::spawn_app().await;
    let foreign_secret = other.add_confidential_client("svc", "client_credentials", "x");
    let foreign = other.client_credentials_token("svc", &foreign_secret).await;

    // Act
    let a = app.active(creds, access).await;
    let r = app.active(creds, refresh).await;
    let public = app
        .post_form("/introspect", &[("token", access), ("client_id", "spa")])
        .await;

    // Assert
    assert_eq!(a["active"], true);
    assert_eq!(a["client_id"], "spa");
    assert_eq!(a["scope"], "openid profile");
    assert_eq!(a["token_type"], "Bearer");
    assert!(a["sub"].is_string() && a["exp"].is_i64() && a["iat"].is_i64() && a["sid"].is_string());
    assert_eq!(r["active"], true);
    assert_eq!(r["token_type"], "refresh_token");
    assert_eq!(r["sid"], a["sid"]);
    assert_eq!(r["sub"], a["sub"]);
    assert_eq!(public.status(), 401, "only confidential clients introspect");
    let inactive = serde_json::json!({"active": false});
    for token in [foreign.as_str(), "garbage", "a.b.c", ""] {
        if token.is_empty() {
            continue;
        }
        assert_eq!(app.active(creds, token).await, inactive, "{token}");
    }
    // A revoked session's access token is inactive although unexpired.
    app.get(&format!(
        "{}/logout?id_token_hint={}",
        app.address,
        tokens["id_token"].as_str().unwrap()
    ))
    .await;
    assert_eq!(app.active(creds, access).await, inactive);
    assert_eq!(app.active(creds, refresh).await, inactive);
    // And an expired one too.
    let fresh = sign_in_again(&app).await;
    app.clock.advance(app.settings.access_token_ttl + 1);
    assert_eq!(app.active(creds, &fresh).await, inactive);
}

async fn sign_in_again(app: &TestApp) -> String {
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;
    app.redeem(&req, &code).await.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_feed_lists_a_revoked_session_with_stable_cursors_until_it_no_longer_matters() {
    // Arrange
    let app = app_with(0).await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let creds = ("api", rs.as_str());
    let tokens = sign_in(&app, "openid").await;
    let claims = crate::helpers::verify_access_token(
        tokens["access_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.address,
        &app.address,
    );
    let empty = app.feed(creds, 0).await;
    assert_eq!(empty["entries"], serde_json::json!([]));
    assert_eq!(empty["next_cursor"], 0);

    // Act: the user signs out.
    app.get(&format!(
        "{}/logout?id_token_hint={}",
        app.address,
        tokens["id_token"].as_str().unwrap()
    ))
    .await;
    let page = app.feed(creds, 0).await;

    // Assert: one poll shows the sid, relevant until its access tokens expire.
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["type"], "sid");
    assert_eq!(entries[0]["value"], claims["sid"]);
    assert!(entries[0]["relevant_until"].as_i64().unwrap() >= claims["exp"].as_i64().unwrap());
    let cursor = page["next_cursor"].as_i64().unwrap();
    assert_eq!(cursor, entries[0]["cursor"].as_i64().unwrap());
    // Polling from the cursor gives nothing new, and the same page again from 0.
    assert_eq!(
        app.feed(creds, cursor).await["entries"],
        serde_json::json!([])
    );
    assert_eq!(app.feed(creds, 0).await, page);
    // Later revocations get later cursors.
    let second = sign_in_again(&app).await;
    app.post_form("/revoke", &[("token", &second), ("client_id", "spa")])
        .await;
    let later = app.feed(creds, cursor).await;
    assert!(later["entries"][0]["cursor"].as_i64().unwrap() > cursor);
    // Once no affected token can be valid, the entry is gone.
    app.clock.advance(app.settings.access_token_ttl + 31);
    assert_eq!(app.feed(creds, 0).await["entries"], serde_json::json!([]));
    // Only confidential clients read the feed.
    let public = app
        .http
        .get(format!("{}/revocations", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 401);
}

fn count(app: &TestApp, table: &str) -> i64 {
    let conn = &mut app.pool.get().unwrap();
    tessera::db::count_rows(conn, table).unwrap()
}

#[tokio::test]
async fn housekeeping_removes_only_what_can_no_longer_matter() {
    // Arrange: a live grant, an ended session with a fed sid, an unused code.
    let app = app_with(0).await;
    let live = sign_in(&app, "openid offline_access").await;
    let live_rt = live["refresh_token"].as_str().unwrap().to_owned();
    let code_req = AuthRequest::new("spa", SPA);
    let res = app.get(&code_req.url(&app)).await;
    assert!(query_param(&location(&res), "code").is_some());
    let ended = sign_in_ended(&app).await;
    let before = (
        count(&app, "auth_codes"),
        count(&app, "sessions"),
        count(&app, "revocation_events"),
    );

    // Act: nothing is stale yet.
    let now = app.clock.now();
    let first = tessera::domain::housekeeping::purge(&mut app.pool.get().unwrap(), now).unwrap();

    // Assert
    assert_eq!(first, Default::default());
    assert_eq!(
        (
            count(&app, "auth_codes"),
            count(&app, "sessions"),
            count(&app, "revocation_events")
        ),
        before
    );

    // Act: two days later.
    app.clock.advance(2 * 86_400);
    let purged =
        tessera::domain::housekeeping::purge(&mut app.pool.get().unwrap(), app.clock.now())
            .unwrap();

    // Assert: codes, the ended session, its tokens and the feed entry went...
    assert!(purged.codes >= 3, "{purged:?}");
    assert!(purged.sessions >= 1, "{purged:?}");
    assert!(purged.feed_entries >= 1, "{purged:?}");
    assert!(purged.refresh_tokens >= 1, "{purged:?}");
    assert!(!ended.is_empty());
    // ...while the live offline grant still refreshes.
    let res = app.refresh("spa", &live_rt).await;
    assert_eq!(res.status(), 200);
}

/// Signs in and out again; returns the ended grant's refresh token.
async fn sign_in_ended(app: &TestApp) -> String {
    let mut req = AuthRequest::new("spa", SPA);
    req.scope = "openid".into();
    let res = app.get(&req.url(app)).await;
    let code = query_param(&location(&res), "code").unwrap();
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
    app.get(&format!(
        "{}/logout?id_token_hint={}",
        app.address,
        tokens["id_token"].as_str().unwrap()
    ))
    .await;
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_background_task_purges_on_its_own() {
    let app = crate::helpers::spawn_app_with(|s| s.housekeeping_interval = 1).await;
    app.add_user("alice", crate::authorize::PASSWORD);
    app.add_public_client("spa", SPA, false);
    sign_in(&app, "openid").await;
    sign_in_ended(&app).await;
    assert!(count(&app, "revocation_events") >= 1);

    app.clock.advance(2 * 86_400);

    let mut left = i64::MAX;
    for _ in 0..50 {
        left = count(&app, "revocation_events") + count(&app, "auth_codes");
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0);
}
