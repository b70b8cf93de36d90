//! Pushed authorization requests (RFC 9126): `/par`, `/authorize` with a
//! `request_uri`, single use, expiry and clients that must push.

use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, SPA, app_with_spa, location, query_param};
use crate::helpers::{TestApp, stdout_ok};

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

impl AuthRequest {
    /// The request's parameters as a `/par` body.
    pub(crate) fn pushed_form(&self, app: &TestApp) -> Vec<(String, String)> {
        let url = url::Url::parse(&self.url(app)).unwrap();
        url.query_pairs().into_owned().collect()
    }
}

impl TestApp {
    /// `POST /par` with `form`, optionally with Basic credentials.
    pub(crate) async fn push(
        &self,
        form: &[(String, String)],
        basic: Option<(&str, &str)>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("{}/par", self.address)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// Pushes `req` as a public client and returns the `request_uri`.
    async fn push_ok(&self, req: &AuthRequest) -> String {
        let res = self.push(&req.pushed_form(self), None).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        body["request_uri"].as_str().unwrap().to_owned()
    }

    pub(crate) fn by_reference(&self, client_id: &str, request_uri: &str) -> String {
        let mut u = url::Url::parse(&format!("{}/authorize", self.address)).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("request_uri", request_uri);
        u.to_string()
    }

    /// Follows `/authorize` by reference through the sign-in page to the
    /// redirect back to the client; returns where it went.
    pub(crate) async fn sign_in_by_reference(&self, client_id: &str, request_uri: &str) -> String {
        let page = self.get(&self.by_reference(client_id, request_uri)).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            !html.contains("code_challenge"),
            "only the reference travels through the browser"
        );
        let res = self.submit_login(&html, "alice", PASSWORD).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let back = self
            .get(&format!("{}{}", self.address, location(&res)))
            .await;
        assert_eq!(back.status(), 302);
        location(&back)
    }
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_pushed_request_signs_in_and_its_request_uri_is_single_use() {
    // Arrange
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);

    // Act: push, then send the browser with nothing but the reference.
    let res = app.push(&req.pushed_form(&app), None).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let to = app.sign_in_by_reference("spa", &request_uri).await;

    // Assert: the code arrives with the pushed state and redeems with PKCE.
    assert_eq!(body["expires_in"], 60);
    assert!(request_uri.starts_with(PREFIX), "{request_uri}");
    assert!(to.starts_with(SPA), "{to}");
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(req.state.as_str())
    );
    let code = query_param(&to, "code").unwrap();
    let tokens = app.redeem(&req, &code).await;
    assert_eq!(tokens.status(), 200);
    let replay = app.get(&app.by_reference("spa", &request_uri)).await;
    assert_eq!(replay.status(), 302, "a request_uri gives one code");
    let to = location(&replay);
    assert!(to.starts_with(SPA), "{to}");
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request_uri")
    );
    assert_eq!(query_param(&to, "code"), None);
}

#[tokio::test]
async fn parameters_in_the_address_bar_do_not_override_the_pushed_ones() {
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let request_uri = app.push_ok(&req).await;

    let mut tampered = url::Url::parse(&app.by_reference("spa", &request_uri)).unwrap();
    tampered
        .query_pairs_mut()
        .append_pair("redirect_uri", "http://127.0.0.1:6666/steal")
        .append_pair("state", "forged")
        .append_pair("scope", "openid offline_access");
    let page = app.get(tampered.as_str()).await;
    let html = page.text().await.unwrap();
    let res = app.submit_login(&html, "alice", PASSWORD).await;
    let back = app.get(&format!("{}{}", app.address, location(&res))).await;

    let to = location(&back);
    assert!(to.starts_with(SPA), "{to}");
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(req.state.as_str())
    );
}

#[tokio::test]
async fn an_unused_request_uri_expires_after_sixty_seconds() {
    let app = app_with_spa().await;
    let request_uri = app.push_ok(&AuthRequest::new("spa", SPA)).await;

    app.clock.advance(61);

    let res = app.get(&app.by_reference("spa", &request_uri)).await;
    assert_eq!(res.status(), 302);
    let to = location(&res);
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request_uri")
    );
}

#[tokio::test]
async fn arriving_in_time_leaves_the_user_time_to_sign_in() {
    // Arrange: the browser arrives within the minute, the user is slow.
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let request_uri = app.push_ok(&req).await;
    let page = app.get(&app.by_reference("spa", &request_uri)).await;
    let html = page.text().await.unwrap();
    app.clock.advance(5 * 60);

    // Act
    let res = app.submit_login(&html, "alice", PASSWORD).await;
    let back = app.get(&format!("{}{}", app.address, location(&res))).await;

    // Assert
    assert_eq!(back.status(), 302);
    assert!(query_param(&location(&back), "code").is_some());
}

#[tokio::test]
async fn a_request_uri_only_works_for_the_client_that_pushed_it() {
    let app = app_with_spa().await;
    app.add_public_client("other", "http://127.0.0.1:5174/callback", false);
    let request_uri = app.push_ok(&AuthRequest::new("spa", SPA)).await;

    let foreign = app.get(&app.by_reference("other", &request_uri)).await;
    let made_up = app
        .get(&app.by_reference("spa", &format!("{PREFIX}made-up")))
        .await;
    let other_scheme = app
        .get(&app.by_reference("spa", "https://attacker.example/request.jwt"))
        .await;

    for res in [foreign, made_up, other_scheme] {
        assert_eq!(res.status(), 400, "no redirect for an untrusted reference");
        assert!(res.text().await.unwrap().contains("start again"));
    }
    // The foreign attempt did not spend it.
    let to = app.sign_in_by_reference("spa", &request_uri).await;
    assert!(query_param(&to, "code").is_some());
}

#[tokio::test]
async fn prompt_login_in_a_pushed_request_asks_once() {
    // Arrange: a session exists; the pushed request asks to sign in again.
    let app = app_with_spa().await;
    app.sign_in_for_code(&AuthRequest::new("spa", SPA), "alice")
        .await;
    let req = AuthRequest::new("spa", SPA).with("prompt", "login");
    let request_uri = app.push_ok(&req).await;

    // Act
    let to = app.sign_in_by_reference("spa", &request_uri).await;

    // Assert: the form was shown despite the live session, and the one
    // sign-in made for the request satisfied it (no loop back to the form).
    assert!(query_param(&to, "code").is_some(), "{to}");
}

#[tokio::test]
async fn an_error_sent_to_the_client_spends_the_pushed_request() {
    // Arrange: no session, and the request says prompt=none.
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA).with("prompt", "none");
    let request_uri = app.push_ok(&req).await;

    // Act
    let first = app.get(&app.by_reference("spa", &request_uri)).await;
    app.sign_in_for_code(&AuthRequest::new("spa", SPA), "alice")
        .await;
    let again = app.get(&app.by_reference("spa", &request_uri)).await;

    // Assert: told login_required, it cannot turn into a code later.
    let error = |res: &reqwest::Response| query_param(&location(res), "error");
    assert_eq!(error(&first).as_deref(), Some("login_required"));
    assert_eq!(error(&again).as_deref(), Some("invalid_request_uri"));
}

#[tokio::test]
async fn only_the_authorization_parameters_are_stored() {
    // Arrange
    let app = app_with_spa().await;
    let secret = app.add_confidential_client("web", "authorization_code", "openid");
    let mut req = AuthRequest::new("web", "http://127.0.0.1:9/callback");
    req.scope = "openid".into();
    let mut form = req.pushed_form(&app);
    form.push(("client_secret".into(), secret));
    form.push(("made_up".into(), "x".into()));

    // Act
    let res = app.push(&form, None).await;

    // Assert
    assert_eq!(res.status(), 201);
    let stored: Vec<String> = {
        use diesel::prelude::*;
        use tessera::db::schema::pushed_requests;
        pushed_requests::table
            .select(pushed_requests::params)
            .load(&mut app.pool.get().unwrap())
            .unwrap()
    };
    assert_eq!(stored.len(), 1);
    let params: Value = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(params["client_id"], "web");
    assert_eq!(params["state"], req.state.as_str());
    assert!(params.get("client_secret").is_none(), "{params}");
    assert!(params.get("made_up").is_none(), "{params}");
}

#[tokio::test]
async fn par_validates_the_request_as_authorize_would() {
    // Arrange
    let app = app_with_spa().await;
    let secret = app.add_confidential_client("web", "authorization_code", "openid api");
    let base = AuthRequest::new("spa", SPA);
    let with = |k: &str, v: &str| {
        let mut form = base.pushed_form(&app);
        form.retain(|(name, _)| name != k);
        if !v.is_empty() {
            form.push((k.to_owned(), v.to_owned()));
        }
        form
    };

    // Act and assert, one refusal at a time.
    let cases = [
        (
            with("redirect_uri", "http://127.0.0.1:6666/cb"),
            "invalid_request",
        ),
        (with("code_challenge", ""), "invalid_request"),
        (with("scope", "openid admin:everything"), "invalid_scope"),
        (with("response_type", "token"), "unsupported_response_type"),
        (
            with("request_uri", &format!("{PREFIX}x")),
            "invalid_request",
        ),
        (with("request", "eyJ.eyJ.sig"), "request_not_supported"),
    ];
    for (form, expected) in cases {
        assert_eq!(
            error_of(app.push(&form, None).await).await,
            (400, expected.into())
        );
    }
    let form: Vec<(String, String)> = with("client_id", "web")
        .into_iter()
        .filter(|(k, _)| k != "redirect_uri" && k != "scope")
        .chain([
            ("redirect_uri".into(), "http://127.0.0.1:9/callback".into()),
            ("scope".into(), "openid api".into()),
        ])
        .collect();
    assert_eq!(
        error_of(app.push(&form, Some(("web", "wrong-secret"))).await).await,
        (401, "invalid_client".into())
    );
    assert_eq!(
        error_of(app.push(&form, None).await).await,
        (401, "invalid_client".into()),
        "a confidential client must authenticate"
    );
    assert_eq!(
        error_of(app.push(&with("client_id", "nobody"), None).await).await,
        (401, "invalid_client".into())
    );
    let ok = app.push(&form, Some(("web", &secret))).await;
    assert_eq!(ok.status(), 201);
    let res = app.get(&format!("{}/par", app.address)).await;
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn a_client_registered_with_require_par_must_push() {
    // Arrange
    let app = app_with_spa().await;
    let redirect = "http://127.0.0.1:5175/callback";
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "strict",
            "--public",
            "--redirect-uri",
            redirect,
            "--require-par",
        ],
        None,
    ));
    let req = AuthRequest::new("strict", redirect);

    // Act
    let direct = app.get(&req.url(&app)).await;
    let request_uri = app.push_ok(&req).await;
    let pushed = app.sign_in_by_reference("strict", &request_uri).await;

    // Assert
    assert_eq!(direct.status(), 302);
    let to = location(&direct);
    assert!(to.starts_with(redirect), "{to}");
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(query_param(&pushed, "code").is_some(), "{pushed}");
}

#[tokio::test]
async fn consent_works_for_a_pushed_request_even_with_prompt_consent() {
    // Arrange: a third-party client asks for consent after the sign-in.
    let app = app_with_spa().await;
    let redirect = "http://127.0.0.1:5176/callback";
    app.add_public_client("third", redirect, true);
    let req = AuthRequest::new("third", redirect).with("prompt", "consent");
    let request_uri = app.push_ok(&req).await;
    let page = app.get(&app.by_reference("third", &request_uri)).await;
    let res = app
        .submit_login(&page.text().await.unwrap(), "alice", PASSWORD)
        .await;
    let consent = app.get(&format!("{}{}", app.address, location(&res))).await;
    let html = consent.text().await.unwrap();

    // Act
    let res = app.submit_consent(&html, "allow").await;

    // Assert
    assert_eq!(res.status(), 302);
    let to = location(&res);
    assert!(to.starts_with(redirect), "{to}");
    assert!(query_param(&to, "code").is_some(), "{to}");
}

#[tokio::test]
async fn the_console_sets_and_clears_require_par() {
    // Arrange
    let (app, csrf) = crate::admin::admin_app().await;
    let redirect = "http://127.0.0.1:5177/callback";
    let direct_error = |app: &TestApp| {
        let url = AuthRequest::new("console-spa", redirect).url(app);
        let http = app.http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            match res.status().as_u16() {
                302 => query_param(&location(&res), "error"),
                status => Some(format!("status {status}")),
            }
        }
    };

    // Act: create with the box ticked.
    let res = app
        .admin_post(
            "/admin/clients",
            &[
                ("csrf_token", &csrf),
                ("client_id", "console-spa"),
                ("kind", "public"),
                ("redirect_uris", redirect),
                ("grant_authorization_code", "yes"),
                ("scopes", "openid profile email"),
                ("require_par", "yes"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), 303);

    // Assert: enforced, shown ticked, and cleared by an edit without it.
    assert_eq!(direct_error(&app).await.as_deref(), Some("invalid_request"));
    let (_, html) = app.admin_page("/admin/clients/console-spa").await;
    assert!(
        html.contains(r#"name="require_par" value="yes" checked"#),
        "{html}"
    );
    let res = app
        .admin_post(
            "/admin/clients/console-spa",
            &[
                ("csrf_token", &csrf),
                ("name", "Console SPA"),
                ("redirect_uris", redirect),
                ("grant_authorization_code", "yes"),
                ("scopes", "openid profile email"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), 303);
    // The admin's session signs the request straight through to a code.
    assert_eq!(direct_error(&app).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_uri_raced_from_ten_tabs_gives_exactly_one_code() {
    // Arrange: signed in, about to return to /authorize by reference.
    let app = app_with_spa().await;
    let request_uri = app.push_ok(&AuthRequest::new("spa", SPA)).await;
    let page = app.get(&app.by_reference("spa", &request_uri)).await;
    let res = app
        .submit_login(&page.text().await.unwrap(), "alice", PASSWORD)
        .await;
    let back = format!("{}{}", app.address, location(&res));

    // Act
    let results = futures_util::future::join_all((0..10).map(|_| app.get(&back))).await;

    // Assert
    let errors: Vec<Option<String>> = results
        .iter()
        .map(|r| {
            assert_eq!(r.status(), 302);
            query_param(&location(r), "error")
        })
        .collect();
    let codes = errors.iter().filter(|e| e.is_none()).count();
    assert_eq!(codes, 1, "{errors:?}");
    assert!(
        errors.iter().flatten().all(|e| e == "invalid_request_uri"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn acr_values_in_a_pushed_request_asks_for_a_second_factor() {
    // Arrange: a session signed in with the password alone.
    let app = app_with_spa().await;
    app.sign_in_for_code(&AuthRequest::new("spa", SPA), "alice")
        .await;
    let plain = app.push_ok(&AuthRequest::new("spa", SPA)).await;
    let step_up = app
        .push_ok(&AuthRequest::new("spa", SPA).with("acr_values", "urn:tessera:loa:2fa"))
        .await;

    // Act
    let plain = app.get(&app.by_reference("spa", &plain)).await;
    let step_up = app.get(&app.by_reference("spa", &step_up)).await;

    // Assert: the session gives a code, unless two factors were asked for.
    assert_eq!(plain.status(), 302);
    assert!(query_param(&location(&plain), "code").is_some());
    assert_eq!(step_up.status(), 200, "the sign-in page again");
    assert!(step_up.text().await.unwrap().contains(">Password</label>"));
}
