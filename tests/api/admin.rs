//! The admin console over HTTP: access control, CSRF and same-origin checks,
//! fresh sign-in for credential changes, and the audit log.

use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, SPA, app_with_spa, hidden_field, location};
use crate::helpers::{TestApp, kid_of};

impl TestApp {
    /// Signs in through `/login?return_to=/admin` as `username`.
    pub async fn console_sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self
            .get(&format!("{}/login?return_to=%2Fadmin", self.address))
            .await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert_eq!(hidden_field(&html, "return_to"), "/admin");
        self.submit_login(&html, username, password).await
    }

    /// An admin page's HTML and its CSRF token.
    pub async fn admin_page(&self, path: &str) -> (u16, String) {
        let res = self.get(&format!("{}{path}", self.address)).await;
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn admin_post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.address)).form(form);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send().await.unwrap()
    }
}

pub async fn admin_app() -> (TestApp, String) {
    let app = app_with_spa().await;
    let (user, pass) = (app.admin_username.clone(), app.admin_password.clone());
    let res = app.console_sign_in(&user, &pass).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin");
    let (status, html) = app.admin_page("/admin").await;
    assert_eq!(status, 200);
    let csrf = hidden_field(&html, "csrf_token");
    (app, csrf)
}

fn is_disabled(app: &TestApp, username: &str) -> bool {
    tessera::db::users::find_user_by_username(&mut app.pool.get().unwrap(), username)
        .unwrap()
        .unwrap()
        .disabled
}

#[tokio::test]
async fn the_console_sends_visitors_to_sign_in_and_back() {
    // Arrange
    let app = app_with_spa().await;

    // Act
    let res = app.get(&format!("{}/admin/users?q=al", app.address)).await;

    // Assert
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?return_to=%2Fadmin%2Fusers%3Fq%3Dal");
    let (user, pass) = (app.admin_username.clone(), app.admin_password.clone());
    let signed_in = app.console_sign_in(&user, &pass).await;
    assert_eq!(location(&signed_in), "/admin");
    let (status, html) = app.admin_page("/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("Active sessions"));
    assert!(html.contains(&user), "the admin's own session is listed");
    assert!(html.contains(">Revoke</button>"));
}

#[tokio::test]
async fn a_non_admin_gets_403_everywhere() {
    // Arrange
    let app = app_with_spa().await;
    app.console_sign_in("alice", PASSWORD).await;

    // Act + Assert
    for path in [
        "/admin",
        "/admin/users",
        "/admin/users/alice",
        "/admin/clients",
        "/admin/clients/spa",
        "/admin/keys",
        "/admin/audit",
    ] {
        let (status, _) = app.admin_page(path).await;
        assert_eq!(status, 403, "{path}");
    }
    for path in [
        "/admin/sessions/1/revoke",
        "/admin/users",
        "/admin/users/alice/disable",
        "/admin/clients",
        "/admin/clients/spa/delete",
        "/admin/keys/rotate",
        "/admin/keys/rotate-now",
        "/admin/keys/revoke",
    ] {
        let res = app.admin_post(path, &[("csrf_token", "x")], None).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    assert!(!is_disabled(&app, "alice"));
}

#[tokio::test]
async fn forged_posts_change_nothing() {
    // Arrange
    let (app, csrf) = admin_app().await;

    // Act
    let no_token = app
        .admin_post("/admin/users/alice/disable", &[], None)
        .await;
    let wrong_token = app
        .admin_post(
            "/admin/users/alice/disable",
            &[("csrf_token", &"x".repeat(43))],
            None,
        )
        .await;
    let other_origin = app
        .admin_post(
            "/admin/users/alice/disable",
            &[("csrf_token", &csrf)],
            Some("https://evil.example"),
        )
        .await;
    let null_origin = app
        .admin_post(
            "/admin/users/alice/disable",
            &[("csrf_token", &csrf)],
            Some("null"),
        )
        .await;
    let cross_site = app
        .http
        .post(format!("{}/admin/users/alice/disable", app.address))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();

    // Assert
    for (name, res) in [
        ("no token", no_token),
        ("wrong token", wrong_token),
        ("other origin", other_origin),
        ("null origin", null_origin),
        ("cross-site", cross_site),
    ] {
        assert_eq!(res.status(), 403, "{name}");
    }
    assert!(!is_disabled(&app, "alice"));

    // The genuine form post works.
    let ok = app
        .admin_post(
            "/admin/users/alice/disable",
            &[("csrf_token", &csrf)],
            Some(&app.address),
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert!(is_disabled(&app, "alice"));
}

#[tokio::test]
async fn revoking_a_session_revokes_its_tokens_and_feeds_its_sid() {
    // Arrange
    let (app, csrf) = admin_app().await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let alice = TestAppBrowser::new(&app).await;
    let req = AuthRequest::new("spa", SPA);
    let code = alice.app.sign_in_for_code(&req, "alice").await;
    let tokens: Value = alice.app.redeem(&req, &code).await.json().await.unwrap();
    let (_, html) = app.admin_page("/admin?user=alice").await;
    let start = html.find("/admin/sessions/").unwrap() + "/admin/sessions/".len();
    let id: String = html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(html.contains("spa"), "the session lists its client");

    // Act
    let res = app
        .admin_post(
            &format!("/admin/sessions/{id}/revoke"),
            &[("csrf_token", &csrf)],
            None,
        )
        .await;

    // Assert
    assert_eq!(res.status(), 303);
    let body: Value = alice
        .app
        .refresh("spa", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let feed = app.feed(("api", &rs), 0).await;
    assert!(
        feed["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "sid")
    );
    let (_, after) = app.admin_page("/admin").await;
    assert!(
        after.contains("Session revoked."),
        "a flash message confirms it"
    );
}

/// A second cookie jar against the same server: another browser.
struct TestAppBrowser<'a> {
    app: TestApp2<'a>,
}

struct TestApp2<'a> {
    base: &'a TestApp,
    http: reqwest::Client,
}

impl<'a> TestAppBrowser<'a> {
    async fn new(base: &'a TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        TestAppBrowser {
            app: TestApp2 { base, http },
        }
    }
}

impl TestApp2<'_> {
    async fn sign_in_for_code(&self, req: &AuthRequest, username: &str) -> String {
        let a = &self.base.address;
        let html = self
            .http
            .get(req.url(self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let res = self
            .http
            .post(format!("{a}/login"))
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("csrf_token", &hidden_field(&html, "csrf_token")),
                ("return_to", &hidden_field(&html, "return_to")),
            ])
            .send()
            .await
            .unwrap();
        let back = self
            .http
            .get(format!("{a}{}", location(&res)))
            .send()
            .await
            .unwrap();
        crate::authorize::query_param(&location(&back), "code").unwrap()
    }

    async fn redeem(&self, req: &AuthRequest, code: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/token", self.base.address))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &req.redirect_uri),
                ("client_id", &req.client_id),
                ("code_verifier", &req.verifier),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn refresh(&self, client_id: &str, token: &str) -> reqwest::Response {
        self.base.refresh(client_id, token).await
    }
}

#[tokio::test]
async fn credential_changes_need_a_recent_sign_in() {
    // Arrange
    let (app, csrf) = admin_app().await;
    app.clock.advance(11 * 60);

    // Act
    let res = app
        .admin_post(
            "/admin/users/alice/reset-password",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    let rotate = app
        .admin_post("/admin/keys/rotate", &[("csrf_token", &csrf)], None)
        .await;

    // Assert
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login?return_to=%2Fadmin%2Fusers%2Falice"),
        "{}",
        location(&res)
    );
    assert!(location(&rotate).starts_with("/login?return_to=%2Fadmin%2Fkeys"));
    let row = tessera::db::users::find_user_by_username(&mut app.pool.get().unwrap(), "alice")
        .unwrap()
        .unwrap();
    assert!(
        tessera::domain::password::verify_password(PASSWORD, &row.password_hash),
        "unchanged"
    );
    // Signing in again allows it, and the new password is shown once.
    let (user, pass) = (app.admin_username.clone(), app.admin_password.clone());
    app.console_sign_in(&user, &pass).await;
    let (_, html) = app.admin_page("/admin/users/alice").await;
    let fresh = hidden_field(&html, "csrf_token");
    let res = app
        .admin_post(
            "/admin/users/alice/reset-password",
            &[("csrf_token", &fresh)],
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let start = page.find(r#"<code id="secret">"#).unwrap() + r#"<code id="secret">"#.len();
    let new_password = &page[start..start + 24];
    let row = tessera::db::users::find_user_by_username(&mut app.pool.get().unwrap(), "alice")
        .unwrap()
        .unwrap();
    assert!(tessera::domain::password::verify_password(
        new_password,
        &row.password_hash
    ));
}

#[tokio::test]
async fn clients_are_created_edited_rotated_and_deleted_from_the_console() {
    // Arrange
    let (app, csrf) = admin_app().await;

    // Act: register a confidential client.
    let res = app
        .admin_post(
            "/admin/clients",
            &[
                ("csrf_token", &csrf),
                ("client_id", "reports"),
                ("name", "Reports"),
                ("kind", "confidential"),
                ("grant_client_credentials", "yes"),
                ("scopes", "reports:read"),
            ],
            None,
        )
        .await;

    // Assert: its secret works once shown.
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let start = page.find(r#"<code id="secret">"#).unwrap() + r#"<code id="secret">"#.len();
    let secret = page[start..start + 43].to_owned();
    app.client_credentials_token("reports", &secret).await;

    // Edit: rename and widen the scopes.
    let res = app
        .admin_post(
            "/admin/clients/reports",
            &[
                ("csrf_token", &csrf),
                ("name", "Reporting"),
                ("grant_client_credentials", "yes"),
                ("scopes", "reports:read reports:write"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, html) = app.admin_page("/admin/clients/reports").await;
    assert!(html.contains(r#"value="Reporting""#));
    let body: Value = app
        .post_token(
            "grant_type=client_credentials&scope=reports:write",
            Some(("reports", &secret)),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "reports:write");

    // Invalid edits are refused with a message.
    let bad = app
        .admin_post(
            "/admin/clients/reports",
            &[
                ("csrf_token", &csrf),
                ("name", "R"),
                ("redirect_uris", "http://evil.example/cb"),
                ("grant_authorization_code", "yes"),
                ("scopes", "x"),
            ],
            None,
        )
        .await;
    assert_eq!(bad.status(), 303);
    let (_, html) = app.admin_page("/admin/clients/reports").await;
    assert!(html.contains("Not saved"), "{html}");

    // Rotate: the old secret stops working.
    let res = app
        .admin_post(
            "/admin/clients/reports/rotate-secret",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    let page = res.text().await.unwrap();
    let start = page.find(r#"<code id="secret">"#).unwrap() + r#"<code id="secret">"#.len();
    let rotated = page[start..start + 43].to_owned();
    assert_eq!(
        app.post_token("grant_type=client_credentials", Some(("reports", &secret)))
            .await
            .status(),
        401
    );
    app.client_credentials_token("reports", &rotated).await;

    // Delete.
    let res = app
        .admin_post(
            "/admin/clients/reports/delete",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.post_token("grant_type=client_credentials", Some(("reports", &rotated)))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_audit_log_records_sign_ins_and_admin_actions_without_secrets() {
    // Arrange
    let (app, csrf) = admin_app().await;
    let page = app
        .get(&format!("{}/login", app.address))
        .await
        .text()
        .await
        .unwrap();
    app.submit_login(&page, "alice", "wrong password").await;

    // Act
    let created = app
        .admin_post(
            "/admin/users",
            &[
                ("csrf_token", &csrf),
                ("username", "carol"),
                ("email", "carol@example.com"),
            ],
            None,
        )
        .await;
    let html = created.text().await.unwrap();
    let start = html.find(r#"<code id="secret">"#).unwrap() + r#"<code id="secret">"#.len();
    let password = html[start..start + 24].to_owned();
    let (_, audit) = app.admin_page("/admin/audit").await;
    let (_, filtered) = app.admin_page("/admin/audit?action=user.created").await;

    // Assert
    for action in ["sign_in.succeeded", "sign_in.failed", "user.created"] {
        assert!(audit.contains(action), "{action}");
    }
    assert!(!audit.contains(&password));
    assert!(!audit.contains("wrong password"));
    assert!(filtered.contains("carol") && !filtered.contains("sign_in.failed"));
    // Append-only: the database refuses to change history.
    let mut conn = app.pool.get().unwrap();
    assert!(tessera::db::execute_sql(&mut conn, "DELETE FROM audit_log").is_err());
}

#[tokio::test]
async fn a_leaked_key_is_replaced_and_revoked_from_the_console() {
    // Arrange: a token from the key that leaks, and a rotation pending.
    let (app, csrf) = admin_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let leaked_token = app.client_credentials_token("svc", &secret).await;
    let leaked = kid_of(&leaked_token);
    let (_, page) = app.admin_page("/admin/keys").await;
    assert!(page.contains("Rotate now") && page.contains("Rotate and sign at once"));
    assert!(
        !page.contains("Revoke key"),
        "the only key cannot be revoked"
    );
    let res = app
        .admin_post("/admin/keys/rotate", &[("csrf_token", &csrf)], None)
        .await;
    assert_eq!(res.status(), 303);
    let pending = crate::helpers::kids_of(&app.jwks().await, "RS256")
        .into_iter()
        .find(|k| *k != leaked)
        .unwrap();

    // Act: rotate and sign at once.
    let res = app
        .admin_post("/admin/keys/rotate-now", &[("csrf_token", &csrf)], None)
        .await;

    // Assert: this instance signs with the new key at once; the pending key is gone.
    assert_eq!(location(&res), "/admin/keys");
    let (_, page) = app.admin_page("/admin/keys").await;
    assert!(page.contains("sign from now on"), "{page}");
    assert!(
        page.contains("The pending keys") && page.contains(&pending),
        "{page}"
    );
    let fresh = kid_of(&app.client_credentials_token("svc", &secret).await);
    assert!(fresh != leaked && fresh != pending);
    let jwks = app.jwks().await;
    assert!(jwks.find(&pending).is_none());
    assert!(jwks.find(&leaked).is_some());
    assert!(page.contains("Revoke key") && page.contains(&format!(r#"<option value="{leaked}">"#)));
    assert!(page.contains("<td>ES256</td>") && page.contains("<td>RS256</td>"));

    // Act: revoke the leaked key; the key signing now is refused.
    let res = app
        .admin_post(
            "/admin/keys/revoke",
            &[("csrf_token", &csrf), ("kid", &leaked)],
            None,
        )
        .await;
    assert_eq!(location(&res), "/admin/keys");
    let (_, page) = app.admin_page("/admin/keys").await;
    assert!(
        page.contains(&format!("Key {leaked} was revoked")),
        "{page}"
    );
    app.admin_post(
        "/admin/keys/revoke",
        &[("csrf_token", &csrf), ("kid", &fresh)],
        None,
    )
    .await;
    let (_, page) = app.admin_page("/admin/keys").await;
    assert!(page.contains("Not revoked"), "{page}");

    // Assert
    let jwks = app.jwks().await;
    assert!(jwks.find(&leaked).is_none());
    assert!(jwks.find(&fresh).is_some());
    assert_eq!(
        app.active(("svc", &secret), &leaked_token).await["active"],
        false
    );
    let (_, audit) = app.admin_page("/admin/audit").await;
    assert!(audit.contains("keys.revoked") && audit.contains("keys.dropped"));
}
