//! The browser sign-in flow over HTTP: authorization requests, the sign-in
//! form, sessions, consent and the authorization code grant.

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, verify_access_token};

pub const PASSWORD: &str = "correct horse battery";

/// A PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = format!(
        "{}{}",
        tessera::domain::secret::generate_token(),
        "-verifier"
    );
    let challenge = tessera::domain::pkce::s256(&verifier);
    (verifier, challenge)
}

/// The value of a hidden form field in an HTML page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

/// One query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A redirect's Location header.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// What a test client sends to `/authorize`.
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub challenge: String,
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(client_id: &str, redirect_uri: &str) -> Self {
        let (verifier, challenge) = pkce_pair();
        AuthRequest {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: "openid profile email".into(),
            state: tessera::domain::secret::generate_token(),
            nonce: tessera::domain::secret::generate_token(),
            verifier,
            challenge,
            extra: vec![],
        }
    }

    pub fn with(mut self, k: &str, v: &str) -> Self {
        self.extra.push((k.into(), v.into()));
        self
    }

    pub fn url(&self, app: &TestApp) -> String {
        self.url_at(&app.address)
    }

    /// The request's URL at `origin` (a server may be named otherwise than
    /// by its address, as by its issuer).
    pub fn url_at(&self, origin: &str) -> String {
        let mut u = url::Url::parse(&format!("{origin}/authorize")).unwrap();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scope)
                .append_pair("state", &self.state)
                .append_pair("nonce", &self.nonce)
                .append_pair("code_challenge", &self.challenge)
                .append_pair("code_challenge_method", "S256");
            for (k, v) in &self.extra {
                q.append_pair(k, v);
            }
        }
        u.to_string()
    }
}

impl TestApp {
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Submits the sign-in page that `page` holds.
    pub async fn submit_login(
        &self,
        page: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let csrf = hidden_field(page, "csrf_token");
        let return_to = hidden_field(page, "return_to");
        self.post_form(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await
    }

    /// Submits the consent page that `page` holds with `decision`.
    pub async fn submit_consent(&self, page: &str, decision: &str) -> reqwest::Response {
        let csrf = hidden_field(page, "csrf_token");
        let return_to = hidden_field(page, "return_to");
        self.post_form(
            "/consent",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("decision", decision),
            ],
        )
        .await
    }

    /// Runs the whole browser flow and returns the code from the redirect.
    pub async fn sign_in_for_code(&self, req: &AuthRequest, username: &str) -> String {
        let page = self.get(&req.url(self)).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let res = self.submit_login(&html, username, PASSWORD).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let back = self
            .get(&format!("{}{}", self.address, location(&res)))
            .await;
        assert_eq!(back.status(), 302);
        let to = location(&back);
        assert!(to.starts_with(&req.redirect_uri), "{to}");
        assert_eq!(
            query_param(&to, "state").as_deref(),
            Some(req.state.as_str())
        );
        assert_eq!(
            query_param(&to, "iss").as_deref(),
            Some(self.address.as_str())
        );
        query_param(&to, "code").unwrap()
    }

    /// Redeems a code as a public client.
    pub async fn redeem(&self, req: &AuthRequest, code: &str) -> reqwest::Response {
        self.post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &req.redirect_uri),
                ("client_id", &req.client_id),
                ("code_verifier", &req.verifier),
            ],
        )
        .await
    }
}

pub const SPA: &str = "http://127.0.0.1:5173/callback";

pub async fn app_with_spa() -> TestApp {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD);
    app.add_public_client("spa", SPA, false);
    app
}

#[tokio::test]
async fn the_code_flow_with_pkce_returns_verifiable_tokens() {
    // Arrange
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);

    // Act
    let code = app.sign_in_for_code(&req, "alice").await;
    let res = app.redeem(&req, &code).await;

    // Assert
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let jwks = app.jwks().await;
    let access = body["access_token"].as_str().unwrap();
    let claims = verify_access_token(access, &jwks, &app.address, &app.address);
    assert_eq!(claims["client_id"], "spa");
    assert!(claims["sid"].is_string());
    assert!(claims["auth_time"].is_i64());
    assert_eq!(claims["scope"], "email openid profile");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    let id_token = body["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["spa"]);
    v.set_issuer(&[&app.address]);
    let id: Value = jsonwebtoken::decode(id_token, &key, &v).unwrap().claims;
    assert_eq!(id["nonce"].as_str(), Some(req.nonce.as_str()));
    assert_eq!(id["sub"], claims["sub"]);
    assert_eq!(id["sid"], claims["sid"]);
    assert_eq!(id["at_hash"], tessera::domain::tokens::at_hash(access));
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "alice Example");
}

#[tokio::test]
async fn the_sign_in_page_is_labelled_and_carries_security_headers() {
    // Arrange
    let app = app_with_spa().await;

    // Act
    let res = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("login_hint", "alice")
                .url(&app),
        )
        .await;

    // Assert
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["set-cookie"].to_str().unwrap().contains("tessera_csrf="));
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<label for="username">Username</label>"#));
    assert!(html.contains(r#"<label for="password">Password</label>"#));
    assert!(html.contains(r#"<button type="submit">Sign in</button>"#));
    assert!(
        html.contains(r#"value="alice""#),
        "login_hint prefills the username"
    );
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn an_unknown_client_or_unregistered_redirect_uri_is_never_redirected_to() {
    let app = app_with_spa().await;
    for req in [
        AuthRequest::new("nobody", SPA),
        AuthRequest::new("spa", "http://127.0.0.1:5173/evil"),
        AuthRequest::new("spa", "http://127.0.0.1:5173/callback/"),
    ] {
        let res = app.get(&req.url(&app)).await;
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("location").is_none());
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Invalid sign-in request")
        );
    }
}

#[tokio::test]
async fn other_request_errors_go_back_to_the_client_with_state() {
    // Arrange
    let app = app_with_spa().await;
    let base = AuthRequest::new("spa", SPA);
    let no_pkce = format!(
        "{}/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid&state=s1",
        app.address,
        url::form_urlencoded::byte_serialize(SPA.as_bytes()).collect::<String>()
    );
    let plain = no_pkce.replace("state=s1", "state=s1&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghij123&code_challenge_method=plain");
    let cases = vec![
        (
            base.url(&app)
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (no_pkce, "invalid_request"),
        (plain, "invalid_request"),
        (
            AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
            "login_required",
        ),
        (
            base.url(&app).replace("scope=openid", "scope=openid+admin"),
            "invalid_scope",
        ),
        (
            AuthRequest::new("spa", SPA)
                .with("request", "eyJ")
                .url(&app),
            "request_not_supported",
        ),
    ];

    for (url, expected) in cases {
        // Act
        let res = app.get(&url).await;

        // Assert
        assert_eq!(res.status(), 302, "{url}");
        let to = location(&res);
        assert!(to.starts_with(SPA), "{to}");
        assert_eq!(
            query_param(&to, "error").as_deref(),
            Some(expected),
            "{url}"
        );
        assert!(query_param(&to, "state").is_some());
        assert_eq!(
            query_param(&to, "iss").as_deref(),
            Some(app.address.as_str())
        );
        assert!(query_param(&to, "code").is_none());
    }
}

#[tokio::test]
async fn a_wrong_verifier_or_redirect_uri_is_invalid_grant() {
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;

    let mut wrong = AuthRequest::new("spa", SPA);
    wrong.redirect_uri = req.redirect_uri.clone();
    let res = app.redeem(&wrong, &code).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");

    let res = app
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "spa"),
                ("code_verifier", &req.verifier),
            ],
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // The failed attempts did not spend the code.
    assert_eq!(app.redeem(&req, &code).await.status(), 200);
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued() {
    // Arrange
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;
    let first: Value = app.redeem(&req, &code).await.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status(), 200);

    // Act
    let replay = app.redeem(&req, &code).await;

    // Assert
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(app.userinfo(access).await.status(), 401);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert!(app.refresh_token_revoked(refresh));
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;

    app.clock.advance(61);

    let res = app.redeem(&req, &code).await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_second_client_reuses_the_session_and_prompt_login_or_max_age_ask_again() {
    // Arrange
    let app = app_with_spa().await;
    app.add_public_client("other", "http://127.0.0.1:5174/callback", false);
    app.sign_in_for_code(&AuthRequest::new("spa", SPA), "alice")
        .await;

    // Act: single sign-on, even with prompt=none.
    let sso = AuthRequest::new("other", "http://127.0.0.1:5174/callback").with("prompt", "none");
    let res = app.get(&sso.url(&app)).await;

    // Assert
    assert_eq!(res.status(), 302);
    let code = query_param(&location(&res), "code").unwrap();
    assert_eq!(app.redeem(&sso, &code).await.status(), 200);

    // prompt=login shows the form although a session exists, and signing in
    // again satisfies it without a loop.
    let again = AuthRequest::new("spa", SPA).with("prompt", "login");
    let page = app.get(&again.url(&app)).await;
    assert_eq!(page.status(), 200);
    let res = app
        .submit_login(&page.text().await.unwrap(), "alice", PASSWORD)
        .await;
    let back = app.get(&format!("{}{}", app.address, location(&res))).await;
    assert_eq!(back.status(), 302);
    assert!(query_param(&location(&back), "code").is_some());

    // max_age: a sign-in older than allowed asks again.
    app.clock.advance(120);
    let res = app
        .get(&AuthRequest::new("spa", SPA).with("max_age", "60").url(&app))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("max_age", "60")
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_look_alike_and_are_throttled() {
    // Arrange
    let app = app_with_spa().await;
    let url = AuthRequest::new("spa", SPA).url(&app);
    let page = app.get(&url).await.text().await.unwrap();

    // Act
    let wrong = app.submit_login(&page, "alice", "wrong password").await;
    let wrong_status = wrong.status();
    let wrong_html = wrong.text().await.unwrap();
    let unknown = app.submit_login(&page, "mallory", "wrong password").await;
    let unknown_status = unknown.status();
    let unknown_html = unknown.text().await.unwrap();

    // Assert
    assert_eq!(wrong_status, 401);
    assert_eq!(unknown_status, wrong_status);
    assert!(wrong_html.contains("Incorrect username or password."));
    assert!(unknown_html.contains("Incorrect username or password."));

    // Five failures lock the username, whether or not it exists.
    for name in ["alice", "mallory"] {
        let mut last = None;
        for _ in 0..5 {
            let res = app.submit_login(&page, name, "wrong password").await;
            last = Some((res.status(), res.text().await.unwrap()));
        }
        let (status, html) = last.unwrap();
        assert_eq!(status, 429, "{name}");
        assert!(html.contains("Too many failed sign-in attempts"), "{name}");
    }
    // Even the right password waits until the lock ends.
    let locked = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    app.clock.advance(120);
    let ok = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(ok.status(), 303);
}

#[tokio::test]
async fn disabled_users_cannot_sign_in() {
    let app = app_with_spa().await;
    tessera::domain::user::disable_user(
        &mut app.pool.get().unwrap(),
        "alice",
        300,
        app.clock.now(),
    )
    .unwrap();
    let page = app
        .get(&AuthRequest::new("spa", SPA).url(&app))
        .await
        .text()
        .await
        .unwrap();

    let res = app.submit_login(&page, "alice", PASSWORD).await;

    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Incorrect username or password.")
    );
}

#[tokio::test]
async fn a_sign_in_without_the_csrf_token_is_refused() {
    let app = app_with_spa().await;
    let page = app
        .get(&AuthRequest::new("spa", SPA).url(&app))
        .await
        .text()
        .await
        .unwrap();
    let return_to = hidden_field(&page, "return_to");

    let missing = app
        .post_form(
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("return_to", &return_to),
            ],
        )
        .await;
    let forged = app
        .post_form(
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("return_to", &return_to),
                ("csrf_token", "x".repeat(43).as_str()),
            ],
        )
        .await;

    assert_eq!(missing.status(), 403);
    assert_eq!(forged.status(), 403);
    assert!(
        missing
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("tessera_session"))
    );
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_lax() {
    let app = app_with_spa().await;
    let page = app
        .get(&AuthRequest::new("spa", SPA).url(&app))
        .await
        .text()
        .await
        .unwrap();

    let res = app.submit_login(&page, "alice", PASSWORD).await;

    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(!cookie.contains("Secure"), "plain-http issuer");
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("tessera_session=");
    assert_eq!(value.len(), 43);
}

#[tokio::test]
async fn third_party_clients_ask_for_consent_once_and_a_denial_is_reported() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD);
    let cb = "https://partner.example/cb";
    app.add_public_client("partner", cb, true);
    let req = AuthRequest::new("partner", cb);

    // Act: sign in, then the consent page.
    let page = app.get(&req.url(&app)).await.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let consent = app.get(&format!("{}{}", app.address, location(&res))).await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(html.contains("<code>email</code>") && html.contains("<code>openid</code>"));
    let allowed = app.submit_consent(&html, "allow").await;

    // Assert
    assert_eq!(allowed.status(), 302);
    let code = query_param(&location(&allowed), "code").unwrap();
    assert_eq!(app.redeem(&req, &code).await.status(), 200);
    // Remembered: the next request goes straight through.
    let again = app
        .get(
            &AuthRequest::new("partner", cb)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert!(query_param(&location(&again), "code").is_some());
    // A wider request asks again; a denial goes back as access_denied.
    let wider = AuthRequest::new("partner", cb).with("prompt", "consent");
    let html = app.get(&wider.url(&app)).await.text().await.unwrap();
    let denied = app.submit_consent(&html, "deny").await;
    assert_eq!(
        query_param(&location(&denied), "error").as_deref(),
        Some("access_denied")
    );
    // Withdrawn consent is asked for again.
    let out = app.cli(&["user", "revoke-consent", "alice", "partner"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = app
        .get(
            &AuthRequest::new("partner", cb)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert_eq!(
        query_param(&location(&after), "error").as_deref(),
        Some("consent_required")
    );
}

#[tokio::test]
async fn allowing_a_prompt_consent_request_gives_a_code_without_asking_again() {
    // Arrange: signed in; the client asks for consent explicitly.
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD);
    let cb = "https://partner.example/cb";
    app.add_public_client("partner", cb, true);
    let req = AuthRequest::new("partner", cb).with("prompt", "consent");
    let page = app.get(&req.url(&app)).await.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let html = app
        .get(&format!("{}{}", app.address, location(&res)))
        .await
        .text()
        .await
        .unwrap();

    // Act
    let allowed = app.submit_consent(&html, "allow").await;

    // Assert: the code, not the consent page again.
    assert_eq!(allowed.status(), 302);
    let code = query_param(&location(&allowed), "code").expect("a code");
    assert_eq!(app.redeem(&req, &code).await.status(), 200);
}

#[tokio::test]
async fn a_confidential_client_authenticates_to_redeem_its_code() {
    // Arrange
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD);
    let secret =
        app.add_confidential_client("web", "authorization_code refresh_token", "openid profile");
    let req = AuthRequest::new("web", "http://127.0.0.1:9/callback");
    let mut req = req;
    req.scope = "openid".into();
    let code = app.sign_in_for_code(&req, "alice").await;
    let form = |code: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), req.redirect_uri.clone()),
            ("code_verifier".to_owned(), req.verifier.clone()),
        ]
    };

    // Act
    let unauthenticated = app
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "web"),
            ],
        )
        .await;
    let ok = app
        .http
        .post(format!("{}/token", app.address))
        .basic_auth("web", Some(&secret))
        .form(&form(&code))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn cors_allows_only_registered_redirect_origins() {
    let app = app_with_spa().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, format!("{}/token", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };

    let allowed = preflight("http://127.0.0.1:5173").await.unwrap();
    let refused = preflight("https://evil.example").await.unwrap();
    let jwks = app
        .http
        .get(format!("{}/jwks.json", app.address))
        .header("Origin", "http://127.0.0.1:5173")
        .send()
        .await
        .unwrap();

    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://127.0.0.1:5173"
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(
        jwks.headers()["access-control-allow-origin"],
        "http://127.0.0.1:5173"
    );
    let discovery = app
        .http
        .get(format!("{}/.well-known/openid-configuration", app.address))
        .header("Origin", "http://127.0.0.1:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(
        discovery.headers()["access-control-allow-origin"],
        "http://127.0.0.1:5173"
    );
}
