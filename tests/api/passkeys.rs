//! Passkeys. In a real headless Chromium with a virtual authenticator (the
//! W3C WebAuthn WebDriver extension): one registered on `/account`, then a
//! sign-in with it and no username, then as the second factor after the
//! password. Over HTTP: ceremonies are single-use, malformed answers get a
//! clear refusal, and a server on an IP-address issuer offers no passkeys.
//! WebAuthn refuses IP-address origins, so these servers' issuer is
//! `http://localhost:PORT` (still bound to 127.0.0.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::authorize::{AuthRequest, PASSWORD, hidden_field, query_param};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::mfa_browser::{press, save, sign_in, wait_for_text, wait_for_url};
use crate::webdriver::Browser;

/// A server whose issuer is `http://localhost:PORT`, with alice and a
/// public client returning to `/healthz`; returns the issuer too.
async fn localhost_app() -> (TestApp, String) {
    let app = spawn_app_with(|s| s.issuer = s.issuer.replace("127.0.0.1", "localhost")).await;
    app.add_user("alice", PASSWORD);
    let issuer = app.settings.issuer.clone();
    app.add_public_client("spa", &format!("{issuer}/healthz"), false);
    (app, issuer)
}

/// The ID token claims of the code in `url`, redeemed by the SPA.
async fn id_token_claims(app: &TestApp, req: &AuthRequest, url: &str) -> Value {
    let code = query_param(url, "code").expect("a code");
    let tokens: Value = app.redeem(req, &code).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let payload = URL_SAFE_NO_PAD
        .decode(id_token.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn a_passkey_added_on_the_account_page_signs_in_without_a_username() {
    // Arrange
    let (app, issuer) = localhost_app().await;
    let redirect_uri = format!("{issuer}/healthz");
    let browser = Browser::start().await;
    let authenticator = browser.add_virtual_authenticator().await;

    // Act: sign in with the password, add a passkey on the account page.
    browser
        .goto(&format!("{issuer}/login?return_to=%2Faccount"))
        .await;
    sign_in(&browser, "alice", PASSWORD).await;
    wait_for_text(&browser, "Add a passkey").await;
    let name = browser.find_by_label("Passkey name").await;
    browser.send_keys(&name, "Test laptop").await;
    press(&browser, "Add a passkey").await;
    wait_for_text(&browser, "Test laptop").await;
    let account = browser.screenshot_png().await;
    let held = browser.virtual_credentials(&authenticator).await;

    // Then signed out, a sign-in with the passkey alone.
    browser.delete_cookies().await;
    let req = AuthRequest::new("spa", &redirect_uri);
    browser.goto(&req.url_at(&issuer)).await;
    wait_for_text(&browser, "Sign in with a passkey").await;
    let login = browser.screenshot_png().await;
    press(&browser, "Sign in with a passkey").await;
    let back = wait_for_url(&browser, &format!("{redirect_uri}?")).await;
    let claims = id_token_claims(&app, &req, &back).await;

    // Then the password, and the passkey as the second factor.
    browser.delete_cookies().await;
    let req2 = AuthRequest::new("spa", &redirect_uri);
    browser.goto(&req2.url_at(&issuer)).await;
    sign_in(&browser, "alice", PASSWORD).await;
    wait_for_text(&browser, "Use a passkey").await;
    press(&browser, "Use a passkey").await;
    let back2 = wait_for_url(&browser, &format!("{redirect_uri}?")).await;
    let claims2 = id_token_claims(&app, &req2, &back2).await;

    // Assert
    save("account-passkey.png", &account);
    save("sign-in-passkey.png", &login);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        held[0]["isResidentCredential"], true,
        "a discoverable credential"
    );
    assert_eq!(claims["amr"], json!(["hwk", "mfa"]), "{claims}");
    assert_eq!(claims["acr"], "urn:tessera:loa:2fa");
    assert_eq!(claims2["amr"], json!(["pwd", "hwk", "mfa"]), "{claims2}");
    let added = {
        let mut conn = app.pool.get().unwrap();
        tessera::domain::audit::list(&mut conn, Some("passkey.added"), Some("alice"), 0, 10)
            .unwrap()
    };
    assert_eq!(added.len(), 1, "the new passkey is audited");
    browser.quit().await;
}

/// A sign-in page's CSRF token (the cookie stays in the app's jar).
async fn login_csrf(app: &TestApp) -> String {
    let page = app.get(&format!("{}/login", app.address)).await;
    hidden_field(&page.text().await.unwrap(), "csrf_token")
}

#[tokio::test]
async fn a_sign_in_ceremony_is_spent_once_and_bad_answers_are_refused_clearly() {
    // Arrange
    let (app, _) = localhost_app().await;
    let csrf = login_csrf(&app).await;
    let start: Value = app
        .post_form("/login/passkey/start", &[("csrf_token", &csrf)])
        .await
        .json()
        .await
        .unwrap();
    let ceremony = start["ceremony"].as_str().unwrap().to_owned();
    let fake = json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA",
                     "userHandle": null},
        "extensions": {}
    })
    .to_string();
    let finish = |credential: String, ceremony: String| {
        let (app, csrf) = (&app, csrf.clone());
        async move {
            let res = app
                .post_form(
                    "/login/passkey/finish",
                    &[
                        ("csrf_token", &csrf),
                        ("ceremony", &ceremony),
                        ("credential", &credential),
                    ],
                )
                .await;
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body["error"].as_str().unwrap_or("").to_owned())
        }
    };

    // Act
    let malformed = finish("{not json".into(), ceremony.clone()).await;
    let forged = finish(fake.clone(), ceremony.clone()).await;
    let replayed = finish(fake, ceremony).await;
    let no_csrf = app
        .post_form("/login/passkey/start", &[("csrf_token", "forged")])
        .await;

    // Assert
    assert!(
        start["options"]["publicKey"]["challenge"].is_string(),
        "{start}"
    );
    assert_eq!(start["options"]["publicKey"]["rpId"], "localhost");
    assert_eq!(malformed, (400, "The passkey answer is malformed.".into()));
    assert_eq!(forged, (400, "The passkey was not accepted.".into()));
    assert_eq!(
        replayed,
        (
            400,
            "This passkey request expired or was already used. Try again.".into()
        )
    );
    assert_eq!(no_csrf.status(), 403);
    let refusals = {
        let mut conn = app.pool.get().unwrap();
        tessera::domain::audit::list(&mut conn, Some("passkey.refused"), None, 0, 10).unwrap()
    };
    assert_eq!(refusals.len(), 3, "each refusal is audited");
}

#[tokio::test]
async fn a_server_on_an_ip_address_offers_no_passkeys() {
    // Arrange
    let app = spawn_app().await;
    let csrf = login_csrf(&app).await;

    // Act
    let page = app
        .get(&format!("{}/login", app.address))
        .await
        .text()
        .await
        .unwrap();
    let start = app
        .post_form("/login/passkey/start", &[("csrf_token", &csrf)])
        .await;

    // Assert
    assert!(!page.contains("Sign in with a passkey"));
    assert_eq!(start.status(), 404);
}
