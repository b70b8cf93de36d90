//! The sign-in flow in a real headless Chromium, driven through chromedriver.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};
use crate::webdriver::{Browser, screenshot_dir};

/// A random PKCE verifier (43+ url-safe characters) and its S256 challenge.
fn pkce_pair() -> (String, String) {
    let verifier = format!("{}-browser", tessera::domain::secret::generate_token());
    assert!(verifier.len() >= 43);
    let challenge = tessera::domain::pkce::s256(&verifier);
    (verifier, challenge)
}

/// An authorization request URL for the `spa` client.
fn authorize_url(
    app: &TestApp,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
    extra: &str,
) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "spa")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid profile email")
        .append_pair("state", state)
        .append_pair("nonce", &format!("nonce-{state}"))
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{}/authorize?{query}{extra}", app.address)
}

/// Polls the browser's URL until it starts with `prefix` (at most 10 s) and
/// returns its query parameters.
async fn wait_for_redirect(browser: &Browser, prefix: &str) -> HashMap<String, String> {
    for _ in 0..100 {
        let current = browser.current_url().await;
        if current.starts_with(prefix) {
            let url = url::Url::parse(&current).unwrap();
            return url.query_pairs().into_owned().collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {prefix}; at {}", browser.current_url().await);
}

/// Fills the sign-in form, finding the fields by their labels, and submits it.
async fn sign_in(browser: &Browser, username: &str, password: &str) {
    let user_field = browser.find_by_label("Username").await;
    browser.send_keys(&user_field, username).await;
    let password_field = browser.find_by_label("Password").await;
    browser.send_keys(&password_field, password).await;
    let button = browser
        .find_xpath("//button[normalize-space()='Sign in']")
        .await;
    browser.click(&button).await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn browser_sign_in_returns_a_code_that_redeems_for_tokens() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("alice", "correct horse battery staple");
    let redirect_uri = format!("{}/healthz", app.address);
    app.add_public_client("spa", &redirect_uri, false);
    let (verifier, challenge) = pkce_pair();
    let browser = Browser::start().await;

    // Act
    browser
        .goto(&authorize_url(&app, &redirect_uri, "first", &challenge, ""))
        .await;
    let png = browser.screenshot_png().await;
    sign_in(&browser, "alice", "correct horse battery staple").await;
    let params = wait_for_redirect(&browser, &format!("{redirect_uri}?")).await;

    // Assert
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sign-in.png"), &png).unwrap();
    assert_eq!(params.get("state").map(String::as_str), Some("first"));
    assert_eq!(params.get("iss"), Some(&app.address));
    let code = params.get("code").expect("a code");
    let res = app
        .http
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("client_id", "spa"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");

    // Act: the session cookie signs the browser in without the form.
    let (_, challenge) = pkce_pair();
    let again = authorize_url(&app, &redirect_uri, "second", &challenge, "&prompt=none");
    browser.goto(&again).await;
    let params = wait_for_redirect(&browser, &format!("{redirect_uri}?")).await;

    // Assert
    assert_eq!(params.get("state").map(String::as_str), Some("second"));
    assert!(params.contains_key("code"), "{params:?}");
    assert!(!params.contains_key("error"), "{params:?}");
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn browser_shows_the_same_message_for_a_wrong_password() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("alice", "correct horse battery staple");
    let redirect_uri = format!("{}/healthz", app.address);
    app.add_public_client("spa", &redirect_uri, false);
    let (_, challenge) = pkce_pair();
    let browser = Browser::start().await;
    let mut messages = Vec::new();

    for (username, password) in [("alice", "wrong password"), ("nobody", "any password")] {
        browser
            .goto(&authorize_url(&app, &redirect_uri, "s", &challenge, ""))
            .await;

        // Act
        sign_in(&browser, username, password).await;
        let alert = browser.find("[role=alert]").await;
        messages.push(browser.text(&alert).await);

        // Assert
        let current = browser.current_url().await;
        assert_eq!(current, format!("{}/login", app.address));
        assert!(
            browser
                .page_source()
                .await
                .contains("Incorrect username or password.")
        );
        // The form is there to try again.
        browser.find_by_label("Password").await;
    }

    // Assert: a wrong password reads the same as an unknown user.
    assert_eq!(messages, ["Incorrect username or password."; 2]);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn browser_signs_in_with_a_pushed_request() {
    // Arrange: the client pushes the request; the browser gets a reference.
    let app = spawn_app().await;
    app.add_user("alice", "correct horse battery staple");
    let redirect_uri = format!("{}/healthz", app.address);
    app.add_public_client("spa", &redirect_uri, false);
    let (verifier, challenge) = pkce_pair();
    let full = authorize_url(&app, &redirect_uri, "pushed", &challenge, "");
    let form: Vec<(String, String)> = url::Url::parse(&full)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let pushed: Value = app
        .http
        .post(format!("{}/par", app.address))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request_uri = pushed["request_uri"].as_str().expect("a request_uri");
    let by_reference = format!(
        "{}/authorize?{}",
        app.address,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", "spa")
            .append_pair("request_uri", request_uri)
            .finish()
    );
    let browser = Browser::start().await;

    // Act
    browser.goto(&by_reference).await;
    sign_in(&browser, "alice", "correct horse battery staple").await;
    let params = wait_for_redirect(&browser, &format!("{redirect_uri}?")).await;

    // Assert: the pushed state came back and the code redeems.
    assert_eq!(params.get("state").map(String::as_str), Some("pushed"));
    let res = app
        .http
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params.get("code").expect("a code")),
            ("redirect_uri", &redirect_uri),
            ("client_id", "spa"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Act: the same reference again, as a bookmark or a replay would.
    browser.goto(&by_reference).await;
    let params = wait_for_redirect(&browser, &format!("{redirect_uri}?")).await;

    // Assert
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("invalid_request_uri")
    );
    browser.quit().await;
}
