//! The admin console in a real headless Chromium: an admin signs in, revokes
//! a session, disables a user and deletes a client by clicking the buttons,
//! and the tokens those actions should kill stop working over HTTP.

use std::net::TcpListener;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, SPA, app_with_spa, hidden_field};
use crate::helpers::TestApp;
use crate::refresh::feed_lists;
use crate::webdriver::{Browser, screenshot_dir};

/// The second public client's redirect URI.
const OTHER: &str = "http://127.0.0.1:5174/callback";

/// Saves a screenshot of the viewport as `admin-{name}.png` and checks it is
/// a non-empty PNG.
async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot_png().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: a PNG");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("admin-{name}.png"));
    std::fs::write(&path, &png).unwrap();
    let written = std::fs::metadata(&path).unwrap().len();
    assert!(written > 1000, "{}: {written} bytes", path.display());
}

/// The `sid` claim of an access token (its payload, read without verifying).
fn sid_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().expect("a sid claim").to_owned()
}

/// Signs `username` in to `client_id` over HTTP (with `app.http`'s cookie
/// jar) and returns the refresh token and the session's `sid`.
async fn sign_in_over_http(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    username: &str,
) -> (String, String) {
    let req = AuthRequest::new(client_id, redirect_uri);
    let code = app.sign_in_for_code(&req, username).await;
    let res = app.redeem(&req, &code).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    let access = tokens["access_token"].as_str().expect("an access token");
    (refresh.to_owned(), sid_of(access))
}

/// Polls the browser's URL until it is `url` (at most 10 s).
async fn wait_for_url(browser: &Browser, url: &str) {
    for _ in 0..100 {
        if browser.current_url().await == url {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached {url}; at {}", browser.current_url().await);
}

/// Opens `/admin` signed out and checks it sends the browser to sign in.
async fn open_console_signed_out(browser: &Browser, app: &TestApp) {
    browser.goto(&format!("{}/admin", app.address)).await;
    let sign_in_page = format!("{}/login?return_to=%2Fadmin", app.address);
    wait_for_url(browser, &sign_in_page).await;
}

/// Fills the sign-in form with the admin's credentials, finding the fields by
/// their labels, submits it and waits to land on the sessions page.
async fn sign_in_as_admin(browser: &Browser, app: &TestApp) {
    let user_field = browser.find_by_label("Username").await;
    browser.send_keys(&user_field, &app.admin_username).await;
    let password_field = browser.find_by_label("Password").await;
    browser
        .send_keys(&password_field, &app.admin_password)
        .await;
    click_button(browser, "Sign in").await;
    wait_for_url(browser, &format!("{}/admin", app.address)).await;
}

/// Signs the admin in through the console's redirect to the sign-in page.
async fn admin_signs_in(browser: &Browser, app: &TestApp) {
    open_console_signed_out(browser, app).await;
    sign_in_as_admin(browser, app).await;
}

/// Clicks the first button reading `text`.
pub async fn click_button(browser: &Browser, text: &str) {
    let xpath = format!("//button[normalize-space()='{text}']");
    let button = browser.find_xpath(&xpath).await;
    browser.click(&button).await;
}

/// Opens an admin page and returns its heading.
async fn open(browser: &Browser, app: &TestApp, path: &str) -> String {
    browser.goto(&format!("{}{path}", app.address)).await;
    let h1 = browser.find("main h1").await;
    browser.text(&h1).await
}

/// The flash message the page shows after an action.
async fn flash(browser: &Browser) -> String {
    let message = browser.find("p.flash").await;
    browser.text(&message).await
}

/// A refresh-token request's status and OAuth error code.
async fn refresh_outcome(app: &TestApp, client_id: &str, token: &str) -> (u16, String) {
    let res = app.refresh(client_id, token).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or("").to_owned())
}

/// True when the refresh token is still stored at all.
fn refresh_token_stored(app: &TestApp, token: &str) -> bool {
    let hash = tessera::domain::secret::hash_secret(token);
    tessera::db::refresh_tokens::find_refresh_token_state(&mut app.pool.get().unwrap(), &hash)
        .unwrap()
        .is_some()
}

/// Serves `html` for every path from another port on 127.0.0.1 (the same
/// site as the server, so the browser sends its cookies) and returns that
/// origin.
fn serve_page_elsewhere(html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = actix_web::HttpServer::new(move || {
        let html = html.clone();
        actix_web::App::new().default_service(actix_web::web::to(move || {
            let html = html.clone();
            async move {
                actix_web::HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(html)
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    origin
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn an_admin_revokes_a_users_session_in_the_browser() {
    // Arrange
    let app = app_with_spa().await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let (refresh_token, sid) = sign_in_over_http(&app, "spa", SPA, "alice").await;
    let browser = Browser::start().await;

    // Act: the console sends a signed-out browser to sign in, and back.
    open_console_signed_out(&browser, &app).await;
    screenshot(&browser, "sign-in").await;
    sign_in_as_admin(&browser, &app).await;

    // Assert: alice's session is listed with its client, and every page
    // of the console opens.
    let h1 = browser.find("main h1").await;
    assert_eq!(browser.text(&h1).await, "Active sessions");
    let row_xpath = format!("//tr[.//button[@data-sid='{sid}']]");
    let row = browser.find_xpath(&row_xpath).await;
    let row_text = browser.text(&row).await;
    assert!(row_text.contains("alice"), "{row_text}");
    assert!(row_text.contains("spa"), "{row_text}");
    screenshot(&browser, "sessions").await;
    for (path, heading, name) in [
        ("/admin/users", "Users", "users"),
        ("/admin/users/alice", "alice", "user"),
        ("/admin/clients", "Clients", "clients"),
        ("/admin/clients/spa", "spa", "client"),
        ("/admin/keys", "Signing keys", "keys"),
    ] {
        assert_eq!(open(&browser, &app, path).await, heading, "{path}");
        screenshot(&browser, name).await;
    }

    // Act: revoke alice's session from its row.
    assert_eq!(open(&browser, &app, "/admin").await, "Active sessions");
    let revoke = browser
        .find_xpath(&format!("//button[@data-sid='{sid}']"))
        .await;
    browser.click(&revoke).await;

    // Assert: the console confirms it and no longer lists the session.
    assert_eq!(flash(&browser).await, "Session revoked.");
    assert_eq!(
        browser.current_url().await,
        format!("{}/admin", app.address)
    );
    let source = browser.page_source().await;
    assert!(!source.contains(&format!("data-sid=\"{sid}\"")), "{source}");
    screenshot(&browser, "session-revoked").await;
    // The audit log records who revoked it.
    assert_eq!(open(&browser, &app, "/admin/audit").await, "Audit log");
    let source = browser.page_source().await;
    assert!(source.contains("session.revoked"), "{source}");
    assert!(source.contains(&format!("sid {sid}")), "{source}");
    screenshot(&browser, "audit").await;
    browser.quit().await;

    // Assert: alice's refresh token is dead and resource servers hear of it.
    let (status, error) = refresh_outcome(&app, "spa", &refresh_token).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    let feed = app.feed(("api", &rs), 0).await;
    assert!(feed_lists(&feed, "sid", &sid), "{feed}");
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn an_admin_disables_a_user_and_deletes_a_client_in_the_browser() {
    // Arrange
    let app = app_with_spa().await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let (alice_token, alice_sid) = sign_in_over_http(&app, "spa", SPA, "alice").await;
    let browser = Browser::start().await;
    admin_signs_in(&browser, &app).await;

    // Act: disable alice from her page.
    assert_eq!(open(&browser, &app, "/admin/users/alice").await, "alice");
    click_button(&browser, "Disable").await;

    // Assert: the page confirms it, shows her disabled and offers Enable.
    assert_eq!(
        flash(&browser).await,
        "alice is disabled; their sessions and tokens are revoked."
    );
    let alice_page = format!("{}/admin/users/alice", app.address);
    assert_eq!(browser.current_url().await, alice_page);
    let summary = browser.find("main h1 + p").await;
    let summary = browser.text(&summary).await;
    assert!(summary.contains("disabled"), "{summary}");
    browser
        .find_xpath("//button[normalize-space()='Enable']")
        .await;
    screenshot(&browser, "user-disabled").await;
    // Her refresh token is dead and her session is in the feed.
    let (status, error) = refresh_outcome(&app, "spa", &alice_token).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
    let feed = app.feed(("api", &rs), 0).await;
    assert!(feed_lists(&feed, "sid", &alice_sid), "{feed}");

    // Arrange: bob signs in to a second client. `app.http`'s jar still holds
    // alice's session cookie, which no longer signs anyone in.
    app.add_user("bob", PASSWORD);
    app.add_public_client("other", OTHER, false);
    let (bob_token, _) = sign_in_over_http(&app, "other", OTHER, "bob").await;

    // Act: delete the client from its page.
    assert_eq!(open(&browser, &app, "/admin/clients/other").await, "other");
    click_button(&browser, "Delete client").await;

    // Assert: the console confirms it and no longer lists the client.
    assert_eq!(
        flash(&browser).await,
        "Client other deleted; its tokens are revoked."
    );
    let clients_page = format!("{}/admin/clients", app.address);
    assert_eq!(browser.current_url().await, clients_page);
    let source = browser.page_source().await;
    assert!(
        !source.contains("href=\"/admin/clients/other\""),
        "{source}"
    );
    assert!(source.contains("href=\"/admin/clients/spa\""), "{source}");
    screenshot(&browser, "client-deleted").await;
    browser.quit().await;

    // Assert: the client is gone, so is bob's refresh token, and the feed
    // tells resource servers to reject the client's access tokens.
    let (status, error) = refresh_outcome(&app, "other", &bob_token).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(!refresh_token_stored(&app, &bob_token));
    let feed = app.feed(("api", &rs), 0).await;
    assert!(feed_lists(&feed, "client_id", "other"), "{feed}");
    // Registering the id again does not bring the token back.
    app.add_public_client("other", OTHER, false);
    let (status, error) = refresh_outcome(&app, "other", &bob_token).await;
    assert_eq!((status, error.as_str()), (400, "invalid_grant"));
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn a_page_on_another_origin_cannot_post_to_the_console_through_the_admins_browser() {
    // Arrange: the admin is signed in; a page on another port of the same
    // host (so the browser sends the admin's cookies with its posts) holds a
    // form to revoke alice's session. It even carries the admin's real CSRF
    // token, so only the same-origin check stands in its way.
    let app = app_with_spa().await;
    let rs = app.add_confidential_client("api", "client_credentials", "api:read");
    let (refresh_token, sid) = sign_in_over_http(&app, "spa", SPA, "alice").await;
    let browser = Browser::start().await;
    admin_signs_in(&browser, &app).await;
    let source = browser.page_source().await;
    let csrf = hidden_field(&source, "csrf_token");
    let button = source.find(&format!("data-sid=\"{sid}\"")).unwrap();
    let action = source[..button].rfind("/admin/sessions/").unwrap();
    let action = &source[action..button];
    let action = &action[..action.find('"').unwrap()];
    assert!(action.ends_with("/revoke"), "{action}");
    let form = format!(
        "<!doctype html><title>Win a prize</title>\
         <form method=\"post\" action=\"{}{action}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <button type=\"submit\">Claim</button></form>",
        app.address
    );
    let elsewhere = serve_page_elsewhere(form);
    browser.goto(&format!("{elsewhere}/prize")).await;

    // Act
    click_button(&browser, "Claim").await;

    // Assert: the console refuses, and nothing changed.
    let alert = browser.find("[role=alert]").await;
    assert_eq!(
        browser.text(&alert).await,
        "The request did not come from the admin console."
    );
    assert_eq!(
        browser.current_url().await,
        format!("{}{action}", app.address)
    );
    assert_eq!(open(&browser, &app, "/admin").await, "Active sessions");
    browser
        .find_xpath(&format!("//button[@data-sid='{sid}']"))
        .await;
    browser.quit().await;
    let (status, _) = refresh_outcome(&app, "spa", &refresh_token).await;
    assert_eq!(status, 200);
    let feed = app.feed(("api", &rs), 0).await;
    assert!(!feed_lists(&feed, "sid", &sid), "{feed}");
}
