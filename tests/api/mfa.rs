//! A second factor after the password: TOTP enrolled by the CLI or, when
//! the policy requires one, right after the password; recovery codes; the
//! sign-in lock counting wrong codes; `amr` and `acr` in the ID token.
//! Codes are computed here from the enrolled secret (RFC 6238, written
//! independently of the server's own implementation).

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::authorize::{
    AuthRequest, PASSWORD, SPA, app_with_spa, hidden_field, location, query_param,
};
use crate::helpers::{TestApp, spawn_app_with, stdout_ok};

/// RFC 4648 base32, as authenticator apps read the `secret` parameter.
fn base32_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        buffer = (buffer << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The six-digit code for `secret` (base32) at unix time `at`.
pub(crate) fn totp(secret: &str, at: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &base32_decode(secret));
    let mac = hmac::sign(&key, &((at / 30) as u64).to_be_bytes());
    let h = mac.as_ref();
    let o = (h[19] & 0xf) as usize;
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    format!("{n:06}")
}

/// The key shown on an enrolment page.
pub(crate) fn enrolment_secret(page: &str) -> String {
    page.split("<code class=\"secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("a key on the enrolment page")
        .to_owned()
}

/// Where the recovery-codes page continues to.
fn continue_link(page: &str) -> String {
    page.split("<a href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a Continue link")
        .replace("&#38;", "&")
}

fn secret_of(uri: &str) -> String {
    query_param(uri, "secret").expect("a secret in the otpauth URI")
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

impl TestApp {
    /// Enrols `username`'s authenticator with the CLI; returns the secret.
    fn enrol_with_cli(&self, username: &str) -> String {
        let out = stdout_ok(&self.cli(&["user", "totp", username], None));
        let uri = out.trim();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            uri.starts_with(&format!("otpauth://totp/127.0.0.1:{username}?")),
            "{uri}"
        );
        secret_of(uri)
    }

    /// The password step of a fresh authorization request: its response.
    async fn password_step(
        &self,
        req: &AuthRequest,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.get(&req.url(self)).await.text().await.unwrap();
        self.submit_login(&page, username, password).await
    }

    /// Submits `code` on the code (or enrolment) page that `page` holds.
    async fn submit_code(&self, page: &str, code: &str) -> reqwest::Response {
        let csrf = hidden_field(page, "csrf_token");
        let return_to = hidden_field(page, "return_to");
        self.post_form(
            "/login/verify",
            &[
                ("code", code),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await
    }

    /// Follows a completed sign-in back to the client; redeems the code and
    /// returns the ID token's claims.
    async fn id_token_after(&self, req: &AuthRequest, to_authorize: &str) -> Value {
        let back = self.get(&format!("{}{to_authorize}", self.address)).await;
        assert_eq!(back.status(), 302);
        let code = query_param(&location(&back), "code").unwrap();
        let tokens: Value = self.redeem(req, &code).await.json().await.unwrap();
        claims_of(tokens["id_token"].as_str().unwrap())
    }
}

async fn text_of(res: reqwest::Response) -> (u16, String) {
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_user_without_a_second_factor_signs_in_with_the_password_alone() {
    // Arrange
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);

    // Act
    let res = app.password_step(&req, "alice", PASSWORD).await;

    // Assert
    assert_eq!(res.status(), 303);
    let claims = app.id_token_after(&req, &location(&res)).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "urn:tessera:loa:1fa");
}

#[tokio::test]
async fn totp_enrolled_with_the_cli_is_asked_for_after_the_password_and_used_once() {
    // Arrange
    let app = app_with_spa().await;
    let secret = app.enrol_with_cli("alice");
    let req = AuthRequest::new("spa", SPA);

    // Act: the password, a wrong code, then the right one.
    let (status, page) = text_of(app.password_step(&req, "alice", PASSWORD).await).await;
    let code = totp(&secret, app.clock.now());
    let wrong_code = if code == "000000" { "000001" } else { "000000" };
    let (wrong_status, wrong_page) = text_of(app.submit_code(&page, wrong_code).await).await;
    let right = app.submit_code(&wrong_page, &code).await;

    // Assert
    assert_eq!(status, 200);
    assert!(
        page.contains(">Verification code</label>") && page.contains(">Verify</button>"),
        "{page}"
    );
    assert_eq!(wrong_status, 401);
    assert!(wrong_page.contains("Incorrect verification code."));
    assert_eq!(right.status(), 303);
    let claims = app.id_token_after(&req, &location(&right)).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "urn:tessera:loa:2fa");

    // The same code once more, on a new sign-in: refused.
    let again = AuthRequest::new("spa", SPA).with("prompt", "login");
    let (_, page) = text_of(app.password_step(&again, "alice", PASSWORD).await).await;
    let (replay_status, replay_page) = text_of(app.submit_code(&page, &code).await).await;
    assert_eq!(replay_status, 401);
    assert!(replay_page.contains("Incorrect verification code."));
}

#[tokio::test]
async fn wrong_codes_count_toward_the_sign_in_lock() {
    // Arrange
    let app = app_with_spa().await;
    let secret = app.enrol_with_cli("alice");
    let req = AuthRequest::new("spa", SPA);
    let (_, mut page) = text_of(app.password_step(&req, "alice", PASSWORD).await).await;
    let code = totp(&secret, app.clock.now());
    let wrong = if code == "123456" { "654321" } else { "123456" };

    // Act: five wrong codes, then the right code, then the password form.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, next) = text_of(app.submit_code(&page, wrong).await).await;
        statuses.push(status);
        page = next;
    }
    let right = app.submit_code(&page, &code).await;
    let password_again = app
        .password_step(&AuthRequest::new("spa", SPA), "alice", PASSWORD)
        .await;

    // Assert: the fifth wrong code locks the username, as a fifth wrong
    // password would.
    assert_eq!(statuses, [401, 401, 401, 401, 429]);
    assert_eq!(right.status(), 429);
    assert_eq!(password_again.status(), 429);
}

#[tokio::test]
async fn the_second_step_needs_the_password_step_first() {
    // Arrange: a code page from a real sign-in, then a browser without
    // its pending sign-in.
    let app = app_with_spa().await;
    let secret = app.enrol_with_cli("alice");
    let (_, page) = text_of(
        app.password_step(&AuthRequest::new("spa", SPA), "alice", PASSWORD)
            .await,
    )
    .await;
    let stranger = app.new_browser();
    let (_, login_page) = text_of(stranger.get(&format!("{}/login", stranger.address)).await).await;
    let csrf = hidden_field(&login_page, "csrf_token");

    // Act
    let code = totp(&secret, app.clock.now());
    let res = stranger
        .post_form(
            "/login/verify",
            &[("code", &code), ("csrf_token", &csrf), ("return_to", "")],
        )
        .await;

    // Assert
    let (status, body) = text_of(res).await;
    assert_eq!(status, 400);
    assert!(body.contains("Sign-in expired"), "{body}");
    // The pending sign-in itself still works.
    assert_eq!(app.submit_code(&page, &code).await.status(), 303);
}

#[tokio::test]
async fn require_mfa_admins_makes_an_admin_enrol_right_after_the_password() {
    // Arrange
    let app = spawn_app_with(|s| s.require_mfa = "admins".into()).await;
    app.add_user("alice", PASSWORD);
    app.add_public_client("spa", SPA, false);
    let (admin, admin_password) = (app.admin_username.clone(), app.admin_password.clone());
    let req = AuthRequest::new("spa", SPA);

    // Act: the admin's password leads to enrolment; a wrong first code
    // shows the same key again; the right one finishes the sign-in.
    let (status, page) = text_of(app.password_step(&req, &admin, &admin_password).await).await;
    let secret = enrolment_secret(&page);
    let code = totp(&secret, app.clock.now());
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (wrong_status, wrong_page) = text_of(app.submit_code(&page, wrong).await).await;
    let (done_status, done_page) = text_of(app.submit_code(&wrong_page, &code).await).await;

    // Assert
    assert_eq!(status, 200);
    assert!(
        page.contains("Set up an authenticator app") && page.contains("<svg"),
        "{page}"
    );
    assert_eq!(wrong_status, 401);
    assert!(wrong_page.contains(&secret));
    assert_eq!(done_status, 200);
    let codes: Vec<String> = done_page
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{done_page}");
    let next = continue_link(&done_page);
    let claims = app.id_token_after(&req, &next).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // A user who is not an admin is not asked.
    let alice = app.new_browser();
    let res = alice
        .password_step(&AuthRequest::new("spa", SPA), "alice", PASSWORD)
        .await;
    assert_eq!(res.status(), 303);

    // A recovery code stands in for a code, once.
    let again = AuthRequest::new("spa", SPA).with("prompt", "login");
    let (_, page) = text_of(app.password_step(&again, &admin, &admin_password).await).await;
    assert!(page.contains(">Verification code</label>"));
    let typed = codes[3].to_uppercase();
    let used = app.submit_code(&page, &typed).await;
    assert_eq!(used.status(), 303);
    let (_, page) = text_of(
        app.password_step(
            &AuthRequest::new("spa", SPA).with("prompt", "login"),
            &admin,
            &admin_password,
        )
        .await,
    )
    .await;
    assert_eq!(app.submit_code(&page, &codes[3]).await.status(), 401);
}

#[tokio::test]
async fn the_console_requires_and_resets_a_users_second_factor() {
    // Arrange
    let (app, csrf) = crate::admin::admin_app().await;
    let alice = app.new_browser();

    // Act: require MFA of alice; she enrols at her next sign-in.
    let required = app
        .admin_post(
            "/admin/users/alice/require-mfa",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    let req = AuthRequest::new("spa", SPA);
    let (_, page) = text_of(alice.password_step(&req, "alice", PASSWORD).await).await;
    let secret = enrolment_secret(&page);
    let (enrolled, _) = text_of(
        alice
            .submit_code(&page, &totp(&secret, app.clock.now()))
            .await,
    )
    .await;
    let (_, list) = app.admin_page("/admin/users").await;
    let (_, user_page) = app.admin_page("/admin/users/alice").await;
    let reset = app
        .admin_post(
            "/admin/users/alice/reset-mfa",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    let (_, after_reset) = app.admin_page("/admin/users/alice").await;
    let unrequired = app
        .admin_post(
            "/admin/users/alice/unrequire-mfa",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    let again = app
        .new_browser()
        .password_step(&AuthRequest::new("spa", SPA), "alice", PASSWORD)
        .await;

    // Assert
    assert_eq!(required.status(), 303);
    assert!(page.contains("Set up an authenticator app"), "{page}");
    assert_eq!(enrolled, 200);
    assert!(list.contains("authenticator app"), "{list}");
    assert!(user_page.contains("MFA required") && user_page.contains(">Reset MFA</button>"));
    assert_eq!(reset.status(), 303);
    assert!(after_reset.contains("authenticator app, recovery codes and passkeys are removed"));
    assert!(!after_reset.contains(">Reset MFA</button>"));
    assert_eq!(unrequired.status(), 303);
    assert_eq!(again.status(), 303, "the password alone signs in again");
    let audit = app.admin_page("/admin/audit").await.1;
    assert!(audit.contains("user.mfa_required") && audit.contains("user.mfa_reset"));
}

#[tokio::test]
async fn acr_values_asks_a_password_only_session_for_a_second_factor() {
    // Arrange: a session signed in with the password alone.
    let app = app_with_spa().await;
    let first = AuthRequest::new("spa", SPA);
    app.sign_in_for_code(&first, "alice").await;
    let two = "urn:tessera:loa:2fa";

    // Act: the client asks for a second factor, silently and then not.
    let silent = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("acr_values", two)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    let req = AuthRequest::new("spa", SPA).with("acr_values", two);
    let (status, page) = text_of(app.get(&req.url(&app)).await).await;
    // She has no second factor yet: the password leads to enrolment.
    let (_, enrol) = text_of(app.submit_login(&page, "alice", PASSWORD).await).await;
    let secret = enrolment_secret(&enrol);
    let (_, done) = text_of(
        app.submit_code(&enrol, &totp(&secret, app.clock.now()))
            .await,
    )
    .await;
    let next = continue_link(&done);
    let claims = app.id_token_after(&req, &next).await;

    // Assert
    assert_eq!(
        query_param(&location(&silent), "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(status, 200, "the sign-in page again");
    assert!(page.contains(">Password</label>"));
    assert_eq!(claims["acr"], two);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    // The session now has two factors: the next such request goes through.
    let again = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("acr_values", two)
                .url(&app),
        )
        .await;
    assert!(query_param(&location(&again), "code").is_some());
}

#[tokio::test]
async fn discovery_lists_the_acr_values_and_the_amr_claims() {
    let app = spawn_app_with(|_| {}).await;
    let (_, _, doc) = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        doc["acr_values_supported"],
        serde_json::json!(["urn:tessera:loa:1fa", "urn:tessera:loa:2fa"])
    );
    let claims = doc["claims_supported"].as_array().unwrap();
    assert!(claims.contains(&"amr".into()) && claims.contains(&"acr".into()));
}

#[tokio::test]
async fn requiring_mfa_reaches_sessions_signed_in_before_it() {
    // Arrange: alice signed in with her password alone.
    let (app, csrf) = crate::admin::admin_app().await;
    let alice = app.new_browser();
    alice
        .sign_in_for_code(&AuthRequest::new("spa", SPA), "alice")
        .await;
    let before = alice
        .get(&AuthRequest::new("spa", SPA).url(&alice))
        .await
        .status();

    // Act
    app.admin_post(
        "/admin/users/alice/require-mfa",
        &[("csrf_token", &csrf)],
        None,
    )
    .await;
    let (status, page) = text_of(alice.get(&AuthRequest::new("spa", SPA).url(&alice)).await).await;
    let account = alice.get(&format!("{}/account", alice.address)).await;

    // Assert: the session no longer suffices; signing in again enrols.
    assert_eq!(before, 302, "the session was enough before");
    assert_eq!(status, 200);
    assert!(page.contains(">Password</label>"), "{page}");
    assert_eq!(account.status(), 303);
    assert_eq!(location(&account), "/login?return_to=%2Faccount");
    let enrol = alice.submit_login(&page, "alice", PASSWORD).await;
    assert!(
        enrol
            .text()
            .await
            .unwrap()
            .contains("Set up an authenticator app")
    );
}
