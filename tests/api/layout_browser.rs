//! Every sign-in and admin page in headless Chromium at a phone's width
//! (390 px) and a laptop's (1200 px): a full-page screenshot of each in
//! `target/screenshots/layout-{page}-{width}.png`, and a check
//! (`layout_check.js`) that no heading, label, control, help text or button
//! overlaps another and nothing runs off the screen sideways.

use serde_json::Value;

use crate::admin_browser::click_button;
use crate::authorize::{AuthRequest, app_with_spa};
use crate::webdriver::{Browser, screenshot_dir};

/// A phone (an iPhone 12 to 15 is 390 CSS px wide) and a laptop.
const WIDTHS: [u32; 2] = [390, 1200];
/// The height of the window before it grows to show the whole page.
const MIN_HEIGHT: u32 = 800;
/// Returns the layout faults on the current page (see its comments).
const LAYOUT_CHECK: &str = include_str!("layout_check.js");
/// The third-party client's redirect URI.
const PARTNER: &str = "http://127.0.0.1:5175/callback";

/// Checks and screenshots the current page at every width, adding each
/// fault found to `faults` with the page's name and the width.
async fn inspect(browser: &Browser, page: &str, faults: &mut Vec<String>) {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for width in WIDTHS {
        // As tall as the page, so the screenshot shows all of it.
        browser.set_window_size(width, MIN_HEIGHT).await;
        let height = "return document.documentElement.scrollHeight \
                      + window.outerHeight - window.innerHeight";
        let height = browser.execute(height).await;
        let height = height.as_u64().expect("a height") as u32;
        if height > MIN_HEIGHT {
            browser.set_window_size(width, height).await;
        }
        let viewport = browser.execute("return window.innerWidth").await;
        assert_eq!(viewport, width, "{page}: the viewport's width");

        let found = browser.execute(LAYOUT_CHECK).await;
        let found = found.as_array().expect("a list of faults");
        faults.extend(found.iter().map(|f| match f {
            Value::String(f) => format!("{page} at {width} px: {f}"),
            other => panic!("{page}: not a fault: {other}"),
        }));

        let png = browser.screenshot_png().await;
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{page}: a PNG");
        std::fs::write(dir.join(format!("layout-{page}-{width}.png")), &png).unwrap();
    }
}

/// Types into the control labelled `label`.
async fn fill(browser: &Browser, label: &str, text: &str) {
    let field = browser.find_by_label(label).await;
    browser.send_keys(&field, text).await;
}

/// Opens `path` and waits for its main heading.
async fn open(browser: &Browser, address: &str, path: &str) {
    browser.goto(&format!("{address}{path}")).await;
    browser.find("main h1").await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn every_sign_in_and_admin_page_fits_a_phone_and_a_laptop_without_overlaps() {
    // Arrange: a third-party client, so signing in leads to consent. The
    // admin signs in for it, so the console opens afterwards without
    // another sign-in and lists the browser's session.
    let app = app_with_spa().await;
    app.add_public_client("partner", PARTNER, true);
    let browser = Browser::start().await;
    let mut faults = Vec::new();

    // Act and Assert: the sign-in page, after a failure too, and consent.
    browser
        .goto(&AuthRequest::new("partner", PARTNER).url(&app))
        .await;
    fill(&browser, "Username", &app.admin_username).await;
    inspect(&browser, "sign-in", &mut faults).await;
    fill(&browser, "Password", "not the password").await;
    click_button(&browser, "Sign in").await;
    browser.find("[role=alert]").await;
    // The form keeps the username.
    inspect(&browser, "sign-in-failed", &mut faults).await;
    fill(&browser, "Password", &app.admin_password).await;
    click_button(&browser, "Sign in").await;
    browser
        .find_xpath("//button[normalize-space()='Allow']")
        .await;
    inspect(&browser, "consent", &mut faults).await;

    // Act and Assert: every page of the console.
    for (path, page) in [
        ("/admin", "admin-sessions"),
        ("/admin/users", "admin-users"),
        ("/admin/users/alice", "admin-user"),
        ("/admin/clients", "admin-clients"),
        ("/admin/clients/spa", "admin-client"),
        ("/admin/audit", "admin-audit"),
    ] {
        open(&browser, &app.address, path).await;
        inspect(&browser, page, &mut faults).await;
    }
    // A second key makes the page offer "Revoke key"; the flash shows too.
    open(&browser, &app.address, "/admin/keys").await;
    click_button(&browser, "Rotate now").await;
    browser.find("p.flash").await;
    inspect(&browser, "admin-keys", &mut faults).await;
    // A new user's one-time password.
    open(&browser, &app.address, "/admin/users").await;
    fill(&browser, "Username", "carol").await;
    click_button(&browser, "Create user").await;
    browser.find("#secret").await;
    inspect(&browser, "admin-user-created", &mut faults).await;
    // A confidential client's secret, the longest one-time value.
    open(&browser, &app.address, "/admin/clients").await;
    fill(&browser, "Client ID", "reports").await;
    let uris = "Redirect URIs (one per line)";
    fill(&browser, uris, "https://reports.example.com/callback").await;
    let confidential = browser.find("input[name=kind][value=confidential]");
    browser.click(&confidential.await).await;
    click_button(&browser, "Register client").await;
    browser.find("#secret").await;
    inspect(&browser, "admin-client-registered", &mut faults).await;
    open(&browser, &app.address, "/admin/no-such-page").await;
    inspect(&browser, "admin-not-found", &mut faults).await;

    // Act and Assert: signing out, and the error page.
    open(&browser, &app.address, "/logout").await;
    inspect(&browser, "sign-out", &mut faults).await;
    click_button(&browser, "Sign out").await;
    browser
        .find_xpath("//h1[normalize-space()='Signed out']")
        .await;
    inspect(&browser, "signed-out", &mut faults).await;
    open(&browser, &app.address, "/authorize?client_id=nobody").await;
    browser.find("[role=alert]").await;
    inspect(&browser, "error", &mut faults).await;
    browser.quit().await;

    assert!(faults.is_empty(), "layout faults:\n{}", faults.join("\n"));
}
