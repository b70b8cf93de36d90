//! The account page (`/account`): a user's own sessions, where "Sign out"
//! ends one everywhere (refresh tokens, revocation feed); their password;
//! their authenticator app; the applications they consented to. Changes
//! need the session's CSRF token and a same-origin request.

use serde_json::Value;

use crate::authorize::{
    AuthRequest, PASSWORD, SPA, app_with_spa, hidden_field, location, query_param,
};
use crate::helpers::TestApp;
use crate::refresh::feed_lists;

impl TestApp {
    /// Signs in through `/login?return_to=/account`.
    async fn account_sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        let html = self
            .get(&format!("{}/login?return_to=%2Faccount", self.address))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(hidden_field(&html, "return_to"), "/account");
        self.submit_login(&html, username, password).await
    }

    /// The account page's status and HTML.
    async fn account_page(&self) -> (u16, String) {
        let res = self.get(&format!("{}/account", self.address)).await;
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Posts an account form with the page's CSRF token.
    async fn account_post(
        &self,
        path: &str,
        csrf: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = vec![("csrf_token", csrf)];
        form.extend_from_slice(extra);
        self.post_form(path, &form).await
    }

    /// Signs in for tokens (a code redeemed by the SPA).
    async fn tokens_for(&self, username: &str) -> Value {
        let req = AuthRequest::new("spa", SPA);
        let code = self.sign_in_for_code(&req, username).await;
        self.redeem(&req, &code).await.json().await.unwrap()
    }
}

/// The database id of the session an ID token names.
fn session_id(app: &TestApp, id_token: &str) -> i32 {
    let claims: Value = {
        use base64::Engine;
        let payload = id_token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let sid = claims["sid"].as_str().unwrap();
    let mut conn = app.pool.get().unwrap();
    tessera::db::sessions::find_session_by_sid(&mut conn, sid)
        .unwrap()
        .unwrap()
        .id
}

async fn refresh_error(app: &TestApp, tokens: &Value) -> String {
    let body: Value = app
        .refresh("spa", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    body["error"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn sign_out_on_the_account_page_ends_a_session_everywhere() {
    // Arrange: alice on her phone (with tokens) and on this browser.
    let app = app_with_spa().await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let phone = app.new_browser();
    let tokens = phone.tokens_for("alice").await;
    let phone_session = session_id(&app, tokens["id_token"].as_str().unwrap());
    let signed_in = app.account_sign_in("alice", PASSWORD).await;
    assert_eq!(location(&signed_in), "/account");
    let (status, html) = app.account_page().await;
    let csrf = hidden_field(&html, "csrf_token");

    // Act
    let res = app
        .account_post(
            &format!("/account/sessions/{phone_session}/end"),
            &csrf,
            &[],
        )
        .await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(html.matches(">Sign out</button>").count(), 2, "{html}");
    assert!(html.contains("(this browser)"));
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account");
    let (_, after) = app.account_page().await;
    assert!(after.contains("Signed out of that session."));
    assert_eq!(after.matches(">Sign out</button>").count(), 1);
    assert_eq!(refresh_error(&phone, &tokens).await, "invalid_grant");
    let feed = app.feed(("api", &rs), 0).await;
    let sid = {
        let mut conn = app.pool.get().unwrap();
        tessera::db::sessions::find_session(&mut conn, phone_session)
            .unwrap()
            .unwrap()
            .0
            .sid
    };
    assert!(feed_lists(&feed, "sid", &sid), "{feed}");
    let phone_page = phone.get(&format!("{}/account", app.address)).await;
    assert_eq!(phone_page.status(), 303, "the phone is signed out");
}

#[tokio::test]
async fn a_user_cannot_end_another_users_session_nor_post_from_elsewhere() {
    // Arrange
    let app = app_with_spa().await;
    app.add_user("bob", PASSWORD);
    let alice = app.new_browser();
    let tokens = alice.tokens_for("alice").await;
    let alice_session = session_id(&app, tokens["id_token"].as_str().unwrap());
    app.account_sign_in("bob", PASSWORD).await;
    let (_, html) = app.account_page().await;
    let csrf = hidden_field(&html, "csrf_token");

    // Act
    let other = app
        .account_post(
            &format!("/account/sessions/{alice_session}/end"),
            &csrf,
            &[],
        )
        .await;
    let cross_site = app
        .http
        .post(format!(
            "{}/account/sessions/{alice_session}/end",
            app.address
        ))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let no_token = app
        .account_post(
            &format!("/account/sessions/{alice_session}/end"),
            "forged",
            &[],
        )
        .await;

    // Assert
    assert_eq!(other.status(), 303);
    let (_, after) = app.account_page().await;
    assert!(after.contains("That session had already ended."));
    assert_eq!(cross_site.status(), 403);
    assert_eq!(no_token.status(), 403);
    assert_eq!(
        refresh_error(&alice, &tokens).await,
        "",
        "alice's session lives on"
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_elsewhere() {
    // Arrange
    let app = app_with_spa().await;
    let phone = app.new_browser();
    let tokens = phone.tokens_for("alice").await;
    app.account_sign_in("alice", PASSWORD).await;
    let (_, html) = app.account_page().await;
    let csrf = hidden_field(&html, "csrf_token");
    let new = "a much longer new password";

    // Act
    let wrong = app
        .account_post(
            "/account/password",
            &csrf,
            &[("current_password", "not it"), ("new_password", new)],
        )
        .await;
    let (_, wrong_page) = app.account_page().await;
    let right = app
        .account_post(
            "/account/password",
            &csrf,
            &[("current_password", PASSWORD), ("new_password", new)],
        )
        .await;
    let (_, right_page) = app.account_page().await;

    // Assert
    assert_eq!(
        (wrong.status().as_u16(), right.status().as_u16()),
        (303, 303)
    );
    assert!(wrong_page.contains("The current password is not correct."));
    assert!(
        right_page.contains("Password changed. Other sessions signed out: 1."),
        "{right_page}"
    );
    assert_eq!(refresh_error(&phone, &tokens).await, "invalid_grant");
    let old = app.new_browser().account_sign_in("alice", PASSWORD).await;
    assert_eq!(old.status(), 401);
    let fresh = app.new_browser().account_sign_in("alice", new).await;
    assert_eq!(fresh.status(), 303);
}

#[tokio::test]
async fn an_authenticator_set_up_on_the_account_page_is_asked_for_at_sign_in() {
    // Arrange
    let app = app_with_spa().await;
    app.account_sign_in("alice", PASSWORD).await;
    let (_, html) = app.account_page().await;
    let csrf = hidden_field(&html, "csrf_token");
    assert!(html.contains(">Set up an authenticator app</button>"));

    // Act: set up, one wrong code, then the right one.
    let setup = app.account_post("/account/totp", &csrf, &[]).await;
    let page = setup.text().await.unwrap();
    let secret = crate::mfa::enrolment_secret(&page);
    let enrolment = hidden_field(&page, "enrolment");
    let code = crate::mfa::totp(&secret, app.clock.now());
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let refused = app
        .account_post(
            "/account/totp/confirm",
            &csrf,
            &[("enrolment", &enrolment), ("code", wrong)],
        )
        .await;
    let confirmed = app
        .account_post(
            "/account/totp/confirm",
            &csrf,
            &[("enrolment", &enrolment), ("code", &code)],
        )
        .await;

    // Assert
    assert_eq!(refused.status(), 401);
    assert_eq!(confirmed.status(), 200);
    let codes_page = confirmed.text().await.unwrap();
    assert_eq!(codes_page.matches("<li><code>").count(), 10);
    let (_, html) = app.account_page().await;
    assert!(html.contains("Recovery codes left: 10."), "{html}");
    // The next sign-in asks for a code; the one just used is spent.
    let other = app.new_browser();
    let req = AuthRequest::new("spa", SPA);
    let login = other.get(&req.url(&other)).await.text().await.unwrap();
    let page = other
        .submit_login(&login, "alice", PASSWORD)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Verification code</label>"));
    // A tampered enrolment is refused.
    let rest = enrolment.split_once('.').unwrap().1;
    let forged = format!("{}.{rest}", "A".repeat(32));
    let tampered = app
        .account_post(
            "/account/totp/confirm",
            &csrf,
            &[("enrolment", &forged), ("code", &code)],
        )
        .await;
    assert_eq!(tampered.status(), 303);
}

#[tokio::test]
async fn setting_up_an_authenticator_needs_a_recent_sign_in() {
    // Arrange
    let app = app_with_spa().await;
    app.account_sign_in("alice", PASSWORD).await;
    let (_, html) = app.account_page().await;
    let csrf = hidden_field(&html, "csrf_token");
    app.clock.advance(11 * 60);

    // Act
    let res = app.account_post("/account/totp", &csrf, &[]).await;

    // Assert
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?return_to=%2Faccount");
}

#[tokio::test]
async fn withdrawing_consent_revokes_the_applications_tokens() {
    // Arrange: alice consented to a third-party application.
    let app = app_with_spa().await;
    let cb = "https://partner.example/cb";
    app.add_public_client("partner", cb, true);
    let req = AuthRequest::new("partner", cb);
    let page = app.get(&req.url(&app)).await.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let consent = app.get(&format!("{}{}", app.address, location(&res))).await;
    let allowed = app
        .submit_consent(&consent.text().await.unwrap(), "allow")
        .await;
    let code = query_param(&location(&allowed), "code").unwrap();
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
    let (_, html) = app.account_page().await;
    let csrf = hidden_field(&html, "csrf_token");

    // Act
    let res = app
        .account_post("/account/consents/partner/withdraw", &csrf, &[])
        .await;

    // Assert
    assert!(html.contains("Withdraw consent"), "{html}");
    assert_eq!(res.status(), 303);
    let body: Value = app
        .refresh("partner", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let again = app
        .get(
            &AuthRequest::new("partner", cb)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert_eq!(
        query_param(&location(&again), "error").as_deref(),
        Some("consent_required")
    );
}
