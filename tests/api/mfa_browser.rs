//! Second factors and the account page in a real headless Chromium: the
//! "Verification code" step after the password, enrolling an authenticator
//! app from its QR page, and "Sign out" on the account page ending another
//! session everywhere. Screenshots go to `target/screenshots`.

use std::time::Duration;

use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, query_param};
use crate::helpers::{TestApp, spawn_app, spawn_app_with, stdout_ok};
use crate::mfa::totp;
use crate::refresh::feed_lists;
use crate::webdriver::{Browser, screenshot_dir};

pub(crate) fn save(name: &str, png: &[u8]) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// Waits (at most 10 s) for the page to show `text`.
pub(crate) async fn wait_for_text(browser: &Browser, text: &str) {
    for _ in 0..100 {
        if browser.page_source().await.contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never showed {text:?}: {}", browser.page_source().await);
}

/// Waits for the browser to reach `prefix`; returns the URL.
pub(crate) async fn wait_for_url(browser: &Browser, prefix: &str) -> String {
    for _ in 0..100 {
        let url = browser.current_url().await;
        if url.starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {prefix}; at {}", browser.current_url().await);
}

async fn fill(browser: &Browser, label: &str, text: &str) {
    let field = browser.find_by_label(label).await;
    browser.send_keys(&field, text).await;
}

pub(crate) async fn press(browser: &Browser, button: &str) {
    let xpath = format!("//button[normalize-space()='{button}']");
    let b = browser.find_xpath(&xpath).await;
    browser.click(&b).await;
}

pub(crate) async fn sign_in(browser: &Browser, username: &str, password: &str) {
    fill(browser, "Username", username).await;
    fill(browser, "Password", password).await;
    press(browser, "Sign in").await;
}

/// An app with alice and a public client that returns to `/healthz`.
async fn app_with_alice(app: TestApp) -> (TestApp, String) {
    app.add_user("alice", PASSWORD);
    let redirect_uri = format!("{}/healthz", app.address);
    app.add_public_client("spa", &redirect_uri, false);
    (app, redirect_uri)
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn browser_asks_for_the_code_and_the_account_page_signs_out_another_session() {
    // Arrange: alice signed in elsewhere (password only, with tokens), then
    // an authenticator app enrolled with the CLI.
    let (app, redirect_uri) = app_with_alice(spawn_app().await).await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let phone = app.new_browser();
    let req = AuthRequest::new("spa", &redirect_uri);
    let code = phone.sign_in_for_code(&req, "alice").await;
    let tokens: Value = phone.redeem(&req, &code).await.json().await.unwrap();
    let out = stdout_ok(&app.cli(&["user", "totp", "alice"], None));
    let secret = query_param(out.trim(), "secret").unwrap();
    let browser = Browser::start().await;

    // Act: sign in; the code page; the code.
    browser
        .goto(&AuthRequest::new("spa", &redirect_uri).url(&app))
        .await;
    sign_in(&browser, "alice", PASSWORD).await;
    wait_for_text(&browser, "Verification code").await;
    let code_page = browser.screenshot_png().await;
    fill(
        &browser,
        "Verification code",
        &totp(&secret, app.clock.now()),
    )
    .await;
    press(&browser, "Verify").await;
    let back = wait_for_url(&browser, &format!("{redirect_uri}?")).await;

    // Then the account page: "Sign out" on the phone's session.
    browser.goto(&format!("{}/account", app.address)).await;
    wait_for_text(&browser, "this browser").await;
    let account_page = browser.screenshot_png().await;
    let other = browser
        .find_xpath("//tr[not(contains(., 'this browser'))]//button[normalize-space()='Sign out']")
        .await;
    browser.click(&other).await;
    wait_for_text(&browser, "Signed out of that session.").await;

    // Assert
    save("verification-code.png", &code_page);
    save("account.png", &account_page);
    assert!(query_param(&back, "code").is_some(), "{back}");
    let refreshed: Value = phone
        .refresh("spa", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["error"], "invalid_grant");
    let feed = app.feed(("api", &rs), 0).await;
    assert_eq!(feed["entries"].as_array().unwrap().len(), 1, "{feed}");
    let sid = feed["entries"][0]["value"].as_str().unwrap();
    assert!(feed_lists(&feed, "sid", sid));
    let source = browser.page_source().await;
    assert_eq!(
        source.matches(">Sign out</button>").count(),
        1,
        "only this browser left"
    );
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn browser_enrols_an_authenticator_when_the_policy_requires_one() {
    // Arrange
    let app = spawn_app_with(|s| s.require_mfa = "all".into()).await;
    let (app, redirect_uri) = app_with_alice(app).await;
    let browser = Browser::start().await;

    // Act: the password leads to the QR page; the key's code confirms it.
    browser
        .goto(&AuthRequest::new("spa", &redirect_uri).url(&app))
        .await;
    sign_in(&browser, "alice", PASSWORD).await;
    wait_for_text(&browser, "Set up an authenticator app").await;
    let qr_page = browser.screenshot_png().await;
    let key = browser.find("code.secret").await;
    let secret = browser.text(&key).await;
    let qr_size = browser
        .execute("const r = document.querySelector('figure.qr svg').getBoundingClientRect(); return [r.width, r.height];")
        .await;
    fill(
        &browser,
        "Verification code",
        &totp(&secret, app.clock.now()),
    )
    .await;
    press(&browser, "Verify").await;
    wait_for_text(&browser, "Recovery codes").await;
    let codes_page = browser.screenshot_png().await;
    let codes = browser
        .execute("return [...document.querySelectorAll('ul.recovery-codes code')].map(c => c.textContent);")
        .await;
    let link = browser
        .find_xpath("//a[normalize-space()='Continue']")
        .await;
    browser.click(&link).await;
    let back = wait_for_url(&browser, &format!("{redirect_uri}?")).await;

    // Assert
    save("enrol-totp.png", &qr_page);
    save("recovery-codes.png", &codes_page);
    assert_eq!(secret.len(), 32, "a 160-bit key in base32: {secret}");
    assert!(
        qr_size[0].as_f64().unwrap() >= 150.0,
        "a QR code of a scannable size: {qr_size}"
    );
    assert_eq!(codes.as_array().unwrap().len(), 10, "{codes}");
    assert!(query_param(&back, "code").is_some(), "{back}");
    browser.quit().await;
}
