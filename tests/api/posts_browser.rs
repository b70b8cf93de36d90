//! The posts example (`examples/posts`) against a real Tessera: the API's
//! 401/403/404 answers over HTTP (RFC 6750 §3, RFC 9449 §7), and the SPA's
//! sign-in, DPoP-bound publishing and deleting, sign-out and session
//! revocation in headless Chromium.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera::config::Settings;

use crate::authorize::{AuthRequest, PASSWORD, hidden_field, location, query_param};
use crate::dpop::{ProofFor, ProofKey, at_token};
use crate::helpers::{TestApp, spawn_app, spawn_app_with, stdout_ok};
use crate::webdriver::Browser;

#[path = "../../examples/posts/app.rs"]
mod posts_app;

use posts_app::PostsConfig;

/// The scopes the SPA asks for.
const SPA_SCOPE: &str = "openid profile posts:write";
/// How often the posts API polls the revocation feed in these tests.
const POLL: Duration = Duration::from_secs(1);

/// Tessera with the example's clients and users, and the posts app using it.
struct Posts {
    app: TestApp,
    /// The posts app's origin, e.g. `http://127.0.0.1:41234`.
    url: String,
}

impl Posts {
    /// Starts Tessera (after `adjust`), registers `posts-spa`, `posts-api`,
    /// `alice`, `bob` and `mod` (a moderator) with the CLI, as setup.sh
    /// does, and starts the posts app in-process with a 1 s feed poll.
    async fn start(adjust: impl FnOnce(&mut Settings), leeway: Duration) -> Posts {
        let app = spawn_app_with(adjust).await;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let home = format!("{url}/");
        let spa = [
            "client",
            "add",
            "posts-spa",
            "--public",
            "--name",
            "Posts",
            "--redirect-uri",
            &home,
            "--post-logout-redirect-uri",
            &home,
            "--scopes",
            SPA_SCOPE,
            "--dpop",
        ];
        stdout_ok(&app.cli(&spa, None));
        let secret = cli_client(&app, "posts-api", "posts:read");
        for (user, role) in [("alice", None), ("bob", None), ("mod", Some("moderator"))] {
            let mut args = vec!["user", "add", user, "--password-stdin"];
            args.extend(role.iter().flat_map(|r| ["--role", r]));
            stdout_ok(&app.cli(&args, Some(&format!("{PASSWORD}\n"))));
        }
        let config = PostsConfig {
            api_secret: Some(secret),
            feed_poll_interval: POLL,
            leeway,
            public_url: url.clone(),
            ..PostsConfig::new(&app.address)
        };
        let server = posts_app::build(config, listener).await.unwrap();
        tokio::spawn(server);
        Posts { app, url }
    }

    /// Tessera and the posts app with default settings.
    async fn with_defaults() -> Posts {
        Posts::start(|_| {}, tessera_verifier::DEFAULT_LEEWAY).await
    }

    /// A request to the posts app, with a DPoP-bound token and a fresh proof
    /// for it if given.
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        caller: Option<&Caller>,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.url);
        let req = self.app.http.request(method.clone(), &url);
        match caller {
            Some(c) => {
                let proof = c.key.proof(&ProofFor {
                    htm: method.as_str(),
                    htu: url,
                    token: Some(&c.token),
                    nonce: None,
                    iat: crate::instances::unix_now(),
                });
                req.header("Authorization", format!("DPoP {}", c.token))
                    .header("DPoP", proof)
            }
            None => req,
        }
    }

    /// `POST /api/posts` with a title.
    async fn create(&self, caller: &Caller, title: &str) -> reqwest::Response {
        let post = json!({ "title": title, "body": "Some text." });
        let req = self.request(reqwest::Method::POST, "/api/posts", Some(caller));
        req.json(&post).send().await.unwrap()
    }

    /// `POST /api/posts` with a token sent as a bearer token, no proof.
    async fn create_as_bearer(&self, token: &str, title: &str) -> reqwest::Response {
        let post = json!({ "title": title, "body": "Some text." });
        let url = format!("{}/api/posts", self.url);
        let req = self.app.http.post(url).bearer_auth(token);
        req.json(&post).send().await.unwrap()
    }

    /// `DELETE /api/posts/{id}`.
    async fn delete(&self, caller: Option<&Caller>, id: &Value) -> reqwest::Response {
        let path = format!("/api/posts/{id}");
        let req = self.request(reqwest::Method::DELETE, &path, caller);
        req.send().await.unwrap()
    }

    /// A client_credentials token bound to a new key.
    async fn client_caller(&self, client_id: &str, secret: &str) -> Caller {
        let key = ProofKey::new();
        let form = [("grant_type", "client_credentials")];
        let proof = key.proof(&at_token(&self.app));
        let res = self
            .app
            .token_with_proof(&form, Some((client_id, secret)), Some(&proof))
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "DPoP");
        Caller {
            token: access_token(&body),
            key,
        }
    }

    /// The titles `GET /api/posts` lists.
    async fn titles(&self) -> Vec<String> {
        let res = self.request(reqwest::Method::GET, "/api/posts", None);
        let list: Vec<Value> = res.send().await.unwrap().json().await.unwrap();
        let titles = list.iter().map(|p| p["title"].as_str().unwrap().to_owned());
        titles.collect()
    }

    /// Signs `username` in to `posts-spa` over HTTP in a fresh cookie jar
    /// (another browser), as the SPA does: the code redeemed with a DPoP
    /// proof carrying the server's nonce.
    async fn sign_in_over_http(&self, username: &str) -> Caller {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        let mut req = AuthRequest::new("posts-spa", &format!("{}/", self.url));
        req.scope = SPA_SCOPE.into();
        let html = http
            .get(req.url(&self.app))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = [
            ("username", username),
            ("password", PASSWORD),
            ("csrf_token", &hidden_field(&html, "csrf_token")),
            ("return_to", &hidden_field(&html, "return_to")),
        ];
        let login = format!("{}/login", self.app.address);
        let res = http.post(login).form(&form).send().await.unwrap();
        assert_eq!(res.status(), 303, "{username} signs in");
        let next = format!("{}{}", self.app.address, location(&res));
        let back = http.get(next).send().await.unwrap();
        let code = query_param(&location(&back), "code").expect("a code");
        let redeem = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &req.redirect_uri),
            ("client_id", "posts-spa"),
            ("code_verifier", &req.verifier),
        ];
        // posts-spa is registered with --dpop: the first proof is answered
        // with the nonce to put in the next one.
        let key = ProofKey::new();
        let proof = key.proof(&at_token(&self.app));
        let res = self.app.token_with_proof(&redeem, None, Some(&proof)).await;
        assert_eq!(res.status(), 400);
        let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_owned();
        let with_nonce = ProofFor {
            nonce: Some(&nonce),
            ..at_token(&self.app)
        };
        let res = self
            .app
            .token_with_proof(&redeem, None, Some(&key.proof(&with_nonce)))
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        Caller {
            token: access_token(&body),
            key,
        }
    }
}

/// A caller of the posts API: a DPoP-bound access token and its key.
struct Caller {
    token: String,
    key: ProofKey,
}

/// Registers a client_credentials client with the CLI; returns its secret.
fn cli_client(app: &TestApp, client_id: &str, scopes: &str) -> String {
    let args = [
        "client",
        "add",
        client_id,
        "--grant-types",
        "client_credentials",
        "--scopes",
        scopes,
    ];
    let out = stdout_ok(&app.cli(&args, None));
    let line = out.lines().find_map(|l| l.strip_prefix("client_secret: "));
    line.expect("the CLI prints the secret").to_owned()
}

/// The access token of a token response.
fn access_token(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The `WWW-Authenticate` header of a response ("" if none).
fn challenge(res: &reqwest::Response) -> String {
    let value = res.headers().get("www-authenticate");
    value
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Asserts a 401 with a DPoP challenge (the requests use DPoP) containing
/// `reason`.
fn assert_refused(res: &reqwest::Response, reason: &str) {
    assert_eq!(res.status(), 401, "{reason}");
    let challenge = challenge(res);
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(challenge.contains(reason), "{challenge} lacks {reason}");
}

/// Asks the admin console to revoke every session of `username` (over
/// HTTP, with the console's CSRF token).
async fn admin_revokes_sessions_of(app: &TestApp, username: &str) {
    let (admin, password) = (app.admin_username.clone(), app.admin_password.clone());
    assert_eq!(app.console_sign_in(&admin, &password).await.status(), 303);
    let (status, html) = app.admin_page(&format!("/admin?user={username}")).await;
    assert_eq!(status, 200);
    let csrf = hidden_field(&html, "csrf_token");
    let ids: Vec<String> = html
        .split("/admin/sessions/")
        .skip(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
        .collect();
    assert!(!ids.is_empty(), "{username} has a session to revoke");
    for id in ids {
        let path = format!("/admin/sessions/{id}/revoke");
        let res = app.admin_post(&path, &[("csrf_token", &csrf)], None).await;
        assert_eq!(res.status(), 303, "revoking session {id}");
    }
}

#[tokio::test]
async fn the_spa_is_served_with_a_strict_csp_and_anyone_may_read_posts() {
    // Arrange
    let posts = Posts::with_defaults().await;

    // Act
    let page = posts
        .request(reqwest::Method::GET, "/", None)
        .send()
        .await
        .unwrap();
    let config = posts.request(reqwest::Method::GET, "/api/config", None);
    let config: Value = config.send().await.unwrap().json().await.unwrap();

    // Assert
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected = format!(
        "default-src 'self'; connect-src 'self' {}; frame-ancestors 'none'",
        posts.app.address
    );
    assert_eq!(csp, expected);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script src="/app.js" defer></script>"#));
    assert_eq!(html.matches("<script").count(), 1, "no inline script");
    assert_eq!(
        config,
        json!({ "issuer": posts.app.address, "client_id": "posts-spa" })
    );
    assert!(
        posts.titles().await.is_empty(),
        "GET /api/posts needs no token"
    );
}

#[tokio::test]
async fn deleting_without_a_token_is_refused_with_a_challenge() {
    // Arrange
    let posts = Posts::with_defaults().await;

    // Act
    let res = posts.delete(None, &json!(1)).await;

    // Assert
    assert_eq!(res.status(), 401);
    assert!(challenge(&res).starts_with("Bearer"), "{}", challenge(&res));
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    // Arrange
    let posts = Posts::with_defaults().await;
    let writer = cli_client(&posts.app, "writer", "posts:write");
    let genuine = posts.client_caller("writer", &writer).await;
    let other = spawn_app().await;
    let other_secret = other.add_confidential_client("writer", "client_credentials", "posts:write");
    let foreign = other
        .client_credentials_token("writer", &other_secret)
        .await;
    let parts: Vec<&str> = genuine.token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!("{}.{}.", encode(&none_header), parts[1]);
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], encode(&claims), parts[2]);

    // Act + Assert: each with a valid proof for it, by a key of its own.
    let cases = [
        (foreign, "signing key is unknown"),
        (alg_none, "algorithm is not allowed"),
        (tampered, "signature is invalid"),
        ("not-a-jwt".to_owned(), "malformed"),
    ];
    for (token, reason) in cases {
        let forger = Caller {
            token,
            key: ProofKey::new(),
        };
        assert_refused(&posts.create(&forger, "Forged").await, reason);
    }
    assert_eq!(posts.create(&genuine, "Genuine").await.status(), 201);
    assert_eq!(posts.titles().await, ["Genuine"]);
}

#[tokio::test]
async fn a_bound_token_without_its_key_and_an_unbound_token_cannot_write() {
    // Arrange
    let posts = Posts::with_defaults().await;
    let writer = cli_client(&posts.app, "writer", "posts:write");
    let genuine = posts.client_caller("writer", &writer).await;
    let unbound = posts.app.client_credentials_token("writer", &writer).await;

    // Act + Assert: the bound token as a bearer token, or with a proof by
    // another key, is refused...
    let as_bearer = posts.create_as_bearer(&genuine.token, "Lifted").await;
    assert_eq!(as_bearer.status(), 401);
    assert!(
        challenge(&as_bearer).contains("DPoP-bound"),
        "{}",
        challenge(&as_bearer)
    );
    let thief = Caller {
        token: genuine.token.clone(),
        key: ProofKey::new(),
    };
    let res = posts.create(&thief, "Stolen").await;
    assert_refused(&res, r#"error="invalid_dpop_proof""#);
    // ...and so is a bearer token that was never bound.
    let res = posts.create_as_bearer(&unbound, "Unbound").await;
    assert_refused(&res, "the token is not DPoP-bound");
    assert!(posts.titles().await.is_empty());
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    // Arrange: ten-second tokens, and no leeway in the posts API.
    let posts = Posts::start(|s| s.access_token_ttl = 10, Duration::ZERO).await;
    let writer = cli_client(&posts.app, "writer", "posts:write");
    let token = posts.client_caller("writer", &writer).await;
    assert_eq!(posts.create(&token, "While fresh").await.status(), 201);

    // Act
    tokio::time::sleep(Duration::from_secs(11)).await;
    let res = posts.create(&token, "Too late").await;

    // Assert
    assert_refused(&res, "expired");
    assert_eq!(posts.titles().await, ["While fresh"]);
}

#[tokio::test]
async fn a_token_without_posts_write_is_forbidden() {
    // Arrange: aud is the issuer by default, so this token verifies.
    let posts = Posts::with_defaults().await;
    let reader = cli_client(&posts.app, "reader", "posts:read");
    let token = posts.client_caller("reader", &reader).await;

    // Act
    let create = posts.create(&token, "Nope").await;
    let delete = posts.delete(Some(&token), &json!(1)).await;

    // Assert
    for res in [create, delete] {
        assert_eq!(res.status(), 403);
        assert!(challenge(&res).contains(r#"error="insufficient_scope""#));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope");
    }
    assert!(posts.titles().await.is_empty());
}

#[tokio::test]
async fn only_the_author_or_a_moderator_may_delete_a_post() {
    // Arrange
    let posts = Posts::with_defaults().await;
    let alice = posts.sign_in_over_http("alice").await;
    let bob = posts.sign_in_over_http("bob").await;
    let moderator = posts.sign_in_over_http("mod").await;
    let first: Value = posts.create(&alice, "First").await.json().await.unwrap();
    let second: Value = posts.create(&alice, "Second").await.json().await.unwrap();

    // Act
    let by_bob = posts.delete(Some(&bob), &first["id"]).await;
    let by_alice = posts.delete(Some(&alice), &first["id"]).await;
    let again = posts.delete(Some(&alice), &first["id"]).await;
    let by_mod = posts.delete(Some(&moderator), &second["id"]).await;

    // Assert
    assert_eq!(by_bob.status(), 403);
    let body: Value = by_bob.json().await.unwrap();
    let expected = "only the author or a moderator may delete this post";
    assert_eq!(
        body,
        json!({ "error": "forbidden", "error_description": expected })
    );
    assert_eq!(by_alice.status(), 204);
    assert_eq!(again.status(), 404);
    assert_eq!(by_mod.status(), 204);
    assert!(posts.titles().await.is_empty());
}

#[tokio::test]
async fn a_revoked_session_is_refused_within_two_poll_intervals() {
    // Arrange
    let posts = Posts::with_defaults().await;
    let token = posts.sign_in_over_http("alice").await;
    assert_eq!(posts.create(&token, "Before").await.status(), 201);

    // Act: probe with a harmless request (there is no post 999) until the
    // API notices; 404 means the token was still accepted.
    admin_revokes_sessions_of(&posts.app, "alice").await;
    let revoked = Instant::now();
    let mut res = posts.delete(Some(&token), &json!(999)).await;
    while res.status() == 404 && revoked.elapsed() < 2 * POLL + Duration::from_millis(500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        res = posts.delete(Some(&token), &json!(999)).await;
    }

    // Assert: the token has not expired; only its session was revoked.
    assert_refused(&res, "revoked");
    assert_refused(&posts.create(&token, "After").await, "revoked");
    assert_eq!(posts.titles().await, ["Before"]);
}

/// Where screenshots go: `target/screenshots` (as in `browser.rs`).
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

/// Polls the text of `css` until it is `expected` (at most 10 s).
async fn wait_for_text(browser: &Browser, css: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        let element = browser.find(css).await;
        // A page that navigates meanwhile (sign-out) is read again.
        if let Some(text) = browser.try_text(&element).await {
            last = text;
            if last == expected {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} reads {last:?}, not {expected:?}");
}

/// Clicks the first button reading `text`.
async fn click_button(browser: &Browser, text: &str) {
    let xpath = format!("//button[normalize-space()='{text}']");
    let button = browser.find_xpath(&xpath).await;
    browser.click(&button).await;
}

/// Opens the SPA, clicks "Sign in" and signs `username` in on Tessera's
/// page (so this browser must not have a Tessera session yet).
async fn spa_sign_in(browser: &Browser, posts: &Posts, username: &str) {
    browser.goto(&format!("{}/", posts.url)).await;
    // Enabled once the SPA has read the issuer's discovery document.
    let sign_in = browser.find("#sign-in:enabled").await;
    browser.click(&sign_in).await;
    let user_field = browser.find_by_label("Username").await;
    browser.send_keys(&user_field, username).await;
    let password_field = browser.find_by_label("Password").await;
    browser.send_keys(&password_field, PASSWORD).await;
    click_button(browser, "Sign in").await;
    wait_for_text(browser, "#user", &format!("Signed in as {username}")).await;
    assert_eq!(browser.current_url().await, format!("{}/", posts.url));
}

/// The list item of the post titled `title` (no apostrophes).
fn post_xpath(title: &str) -> String {
    format!("//ul[@id='posts']/li[h3[normalize-space()='{title}']]")
}

/// Fills the new-post form by its labels and clicks "Publish".
async fn fill_and_publish(browser: &Browser, title: &str) {
    let title_field = browser.find_by_label("Title").await;
    browser.send_keys(&title_field, title).await;
    let body_field = browser.find_by_label("Body").await;
    browser
        .send_keys(&body_field, "Written in the browser.")
        .await;
    click_button(browser, "Publish").await;
}

/// Publishes a post and waits for it to be listed.
async fn publish(browser: &Browser, title: &str) {
    fill_and_publish(browser, title).await;
    browser.find_xpath(&post_xpath(title)).await;
}

/// Clicks the Delete button of the post titled `title`.
async fn click_delete(browser: &Browser, title: &str) {
    let xpath = format!("{}//button[@class='delete']", post_xpath(title));
    let button = browser.find_xpath(&xpath).await;
    browser.click(&button).await;
}

/// Polls the page until no post is titled `title` (at most 10 s).
async fn wait_until_gone(browser: &Browser, title: &str) {
    let heading = format!("<h3>{title}</h3>");
    for _ in 0..100 {
        if !browser.page_source().await.contains(&heading) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the post {title:?} is still listed");
}

/// Saves a screenshot of the viewport as `{name}.png`.
async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot_png().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn authors_delete_their_own_posts_and_moderators_anyones() {
    // Arrange
    let posts = Posts::with_defaults().await;
    let browser = Browser::start().await;
    spa_sign_in(&browser, &posts, "alice").await;

    // Act: alice publishes a post and deletes it again.
    publish(&browser, "First post").await;
    assert_eq!(posts.titles().await, ["First post"]);
    click_delete(&browser, "First post").await;
    wait_until_gone(&browser, "First post").await;

    // Assert
    wait_for_text(&browser, "#status", "Post deleted.").await;
    assert!(posts.titles().await.is_empty());

    // Act: she publishes another and signs out.
    publish(&browser, "Hello from alice").await;
    click_button(&browser, "Sign out").await;

    // Assert: back in the SPA, signed out there and at Tessera.
    wait_for_text(&browser, "#status", "You have signed out.").await;
    assert_eq!(browser.current_url().await, format!("{}/", posts.url));
    browser.find("#sign-in:not([hidden])").await;

    // Act: bob signs in (Tessera asks for a password again: alice's session
    // is over) and tries to delete alice's post.
    spa_sign_in(&browser, &posts, "bob").await;
    click_delete(&browser, "Hello from alice").await;

    // Assert
    let refusal = "Only the author or a moderator may delete this post.";
    wait_for_text(&browser, "#message", refusal).await;
    assert_eq!(posts.titles().await, ["Hello from alice"]);
    screenshot(&browser, "posts-spa").await;
    browser.quit().await;

    // Act: a moderator deletes it, in another browser.
    let moderator = Browser::start().await;
    spa_sign_in(&moderator, &posts, "mod").await;
    click_delete(&moderator, "Hello from alice").await;

    // Assert
    wait_until_gone(&moderator, "Hello from alice").await;
    wait_for_text(&moderator, "#message", "").await;
    assert!(posts.titles().await.is_empty());
    moderator.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn a_revoked_session_signs_the_spa_out() {
    // Arrange
    let posts = Posts::with_defaults().await;
    let browser = Browser::start().await;
    spa_sign_in(&browser, &posts, "alice").await;
    publish(&browser, "Before revocation").await;

    // Act: an admin revokes her session while her access token has minutes
    // left; the API learns of it from the feed within two polls.
    admin_revokes_sessions_of(&posts.app, "alice").await;
    tokio::time::sleep(2 * POLL + Duration::from_millis(500)).await;
    fill_and_publish(&browser, "After revocation").await;

    // Assert: a 401, then a refused refresh, so the SPA signs out.
    wait_for_text(&browser, "#status", "You have been signed out.").await;
    let ended = "Your session has ended. Please sign in again.";
    wait_for_text(&browser, "#message", ended).await;
    browser.find("#sign-in:not([hidden])").await;
    assert_eq!(posts.titles().await, ["Before revocation"]);
    browser.quit().await;
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn the_spa_keeps_alice_signed_in_past_her_token_lifetime_by_refreshing() {
    // Arrange: ten-second access tokens and no leeway, so a token the SPA
    // did not replace would be refused after ten seconds.
    let posts = Posts::start(|s| s.access_token_ttl = 10, Duration::ZERO).await;
    let browser = Browser::start().await;
    spa_sign_in(&browser, &posts, "alice").await;

    // Act
    tokio::time::sleep(Duration::from_secs(12)).await;
    publish(&browser, "Still signed in").await;

    // Assert
    wait_for_text(&browser, "#status", "Published.").await;
    wait_for_text(&browser, "#message", "").await;
    wait_for_text(&browser, "#user", "Signed in as alice").await;
    assert_eq!(posts.titles().await, ["Still signed in"]);
    browser.quit().await;
}

/// The SPA's stored DPoP key as the page's own storage has it:
/// `{extractable, algorithm}` of the private key, or null.
async fn stored_key(browser: &Browser) -> Value {
    // A returned promise is awaited by WebDriver (W3C "execute script").
    browser
        .execute(
            "return new Promise((resolve) => {
               const open = indexedDB.open('posts-dpop', 1);
               open.onupgradeneeded = () => open.result.createObjectStore('keys');
               open.onerror = () => resolve(null);
               open.onsuccess = () => {
                 const get = open.result.transaction('keys').objectStore('keys').get('dpop');
                 get.onsuccess = () => resolve(get.result ? {
                   extractable: get.result.privateKey.extractable,
                   algorithm: get.result.privateKey.algorithm.name,
                 } : null);
                 get.onerror = () => resolve(null);
               };
             });",
        )
        .await
}

#[tokio::test]
#[ignore = "needs chromium"]
async fn a_token_taken_out_of_the_page_is_useless_without_the_pages_key() {
    // Arrange: alice signs in; a script in the page (as an injected script
    // or an extension could) copies every Authorization header it sees.
    let posts = Posts::with_defaults().await;
    let browser = Browser::start().await;
    spa_sign_in(&browser, &posts, "alice").await;
    let key = stored_key(&browser).await;
    assert_eq!(key, json!({ "extractable": false, "algorithm": "ECDSA" }));
    browser
        .execute(
            "window.copied = [];
             const original = window.fetch;
             window.fetch = function (input, init) {
               const headers = (init && init.headers) || {};
               if (headers.Authorization) {
                 window.copied.push({ authorization: headers.Authorization, proof: headers.DPoP });
               }
               return original.apply(this, arguments);
             };",
        )
        .await;

    // Act: she publishes through the page (DPoP-bound, a proof per request).
    publish(&browser, "Signed by the page").await;
    let copied = browser.execute("return window.copied;").await;
    let first = &copied[0];
    let token = first["authorization"]
        .as_str()
        .unwrap()
        .strip_prefix("DPoP ")
        .expect("the page uses the DPoP scheme")
        .to_owned();
    let proof = first["proof"].as_str().unwrap().to_owned();

    // Assert: with a plain HTTP client the copied token gets nowhere: as a
    // bearer token, with the copied proof again, or with a proof from
    // another key.
    let as_bearer = posts.create_as_bearer(&token, "Lifted").await;
    assert_eq!(as_bearer.status(), 401);
    let url = format!("{}/api/posts", posts.url);
    let replayed = posts
        .app
        .http
        .post(&url)
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", &proof)
        .json(&json!({ "title": "Replayed", "body": "" }))
        .send()
        .await
        .unwrap();
    assert_refused(&replayed, "already used");
    let forged = Caller {
        token,
        key: ProofKey::new(),
    };
    assert_refused(
        &posts.create(&forged, "Forged").await,
        r#"error="invalid_dpop_proof""#,
    );
    assert_eq!(posts.titles().await, ["Signed by the page"]);

    // Signing out deletes the key; the next sign-in binds a new one.
    click_button(&browser, "Sign out").await;
    wait_for_text(&browser, "#status", "You have signed out.").await;
    assert_eq!(stored_key(&browser).await, Value::Null);
    browser.quit().await;
}
