//! OpenID Connect Back-Channel Logout 1.0: a session that ends, however it
//! ends, is told to every client that received tokens for it.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, SPA, app_with_spa};
use crate::helpers::{TestApp, published_alg, spawn_app_until, stdout_ok};
use crate::test_db::TestDb;

const RP: &str = "http://127.0.0.1:5181/callback";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A client's back-channel logout endpoint: records every logout token it
/// is sent and answers with `status`.
struct Receiver {
    url: String,
    tokens: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    fn start() -> Self {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (t, s) = (tokens.clone(), status.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let (t, s) = (t.clone(), s.clone());
            App::new().route(
                "/backchannel",
                web::post().to(move |form: web::Form<Vec<(String, String)>>| {
                    let (t, s) = (t.clone(), s.clone());
                    async move {
                        let code = s.load(Ordering::SeqCst);
                        if code == 200
                            && let Some((_, token)) = form.iter().find(|(k, _)| k == "logout_token")
                        {
                            t.lock().unwrap().push(token.clone());
                        }
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
                            .finish()
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/backchannel"),
            tokens,
            status,
        }
    }

    /// The logout tokens received within `within`, waiting for at least one.
    async fn received(&self, within: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.tokens.lock().unwrap().clone();
            if !got.is_empty() || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Registers client `rp` with the receiver as its back-channel logout URI.
fn register_rp(app: &TestApp, receiver: &Receiver) {
    register_rp_signing(app, receiver, "RS256");
}

/// [`register_rp`], its tokens signed with `alg`.
fn register_rp_signing(app: &TestApp, receiver: &Receiver, alg: &str) {
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "rp",
            "--public",
            "--redirect-uri",
            RP,
            "--backchannel-logout-uri",
            &receiver.url,
            "--signing-alg",
            alg,
        ],
        None,
    ));
}

/// Signs alice in to `rp` and redeems the code; returns the token response.
async fn tokens_for_rp(app: &TestApp) -> (AuthRequest, Value) {
    let req = AuthRequest::new("rp", RP);
    let code = app.sign_in_for_code(&req, "alice").await;
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
    (req, tokens)
}

/// Verifies a logout token against the server's JWKS and returns its claims.
async fn verify_logout_token(app: &TestApp, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks = app.jwks().await;
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(published_alg(jwk));
    validation.set_audience(&["rp"]);
    validation.set_issuer(&[&app.address]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

fn sid_of(id_token: &str) -> String {
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rp_initiated_logout_sends_a_logout_token_to_the_client() {
    // Arrange
    let app = app_with_spa().await;
    let receiver = Receiver::start();
    register_rp(&app, &receiver);
    let (_, tokens) = tokens_for_rp(&app).await;
    let id_token = tokens["id_token"].as_str().unwrap();

    // Act
    let res = app
        .get(&format!("{}/logout?id_token_hint={id_token}", app.address))
        .await;

    // Assert: the logout itself did not wait; the token arrives after.
    assert!(res.status().is_success() || res.status().is_redirection());
    let received = receiver.received(Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let claims = verify_logout_token(&app, &received[0]).await;
    assert_eq!(claims["sid"], sid_of(id_token));
    let alice = tessera::db::users::find_user_by_username(&mut app.pool.get().unwrap(), "alice")
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], alice.subject);
    assert!(claims["events"][EVENT].is_object(), "{claims}");
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let audit = tessera::domain::audit::list(
        &mut app.pool.get().unwrap(),
        Some("backchannel_logout.delivered"),
        None,
        0,
        10,
    )
    .unwrap();
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn an_es256_client_gets_logout_tokens_signed_like_its_id_tokens() {
    // Arrange
    let app = app_with_spa().await;
    let receiver = Receiver::start();
    register_rp_signing(&app, &receiver, "ES256");
    let (_, tokens) = tokens_for_rp(&app).await;
    let id_token = tokens["id_token"].as_str().unwrap();

    // Act
    app.get(&format!("{}/logout?id_token_hint={id_token}", app.address))
        .await;

    // Assert
    let received = receiver.received(Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    for token in [id_token, received[0].as_str()] {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
    }
    let claims = verify_logout_token(&app, &received[0]).await;
    assert_eq!(claims["sid"], sid_of(id_token));
}

#[tokio::test]
async fn disabling_a_user_from_the_cli_logs_her_out_of_the_client() {
    // Arrange: alice has tokens for rp.
    let app = app_with_spa().await;
    let receiver = Receiver::start();
    register_rp(&app, &receiver);
    let (_, tokens) = tokens_for_rp(&app).await;
    let sid = sid_of(tokens["id_token"].as_str().unwrap());

    // Act: the CLI disables alice, ending her sessions from another process.
    stdout_ok(&app.cli(&["user", "disable", "alice"], None));

    // Assert
    let received = receiver.received(Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let claims = verify_logout_token(&app, &received[0]).await;
    assert_eq!(claims["sid"], sid);
}

#[tokio::test]
async fn an_admins_revoke_reaches_the_clients_of_that_session_only() {
    // Arrange: alice signs in to rp twice, in two browsers.
    let (app, csrf) = crate::admin::admin_app().await;
    let receiver = Receiver::start();
    register_rp(&app, &receiver);
    let mut sids = Vec::new();
    for _ in 0..2 {
        let req = AuthRequest::new("rp", RP);
        let code = crate::instances::Visitor::new()
            .sign_in_for_code(&app, &req)
            .await;
        let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
        sids.push(sid_of(tokens["id_token"].as_str().unwrap()));
    }
    let session =
        tessera::db::sessions::find_session_by_sid(&mut app.pool.get().unwrap(), &sids[0])
            .unwrap()
            .unwrap();

    // Act: the admin revokes the first session in the console.
    let res = app
        .admin_post(
            &format!("/admin/sessions/{}/revoke", session.id),
            &[("csrf_token", &csrf)],
            None,
        )
        .await;

    // Assert
    assert_eq!(res.status(), 303);
    receiver.received(Duration::from_secs(10)).await;
    // A second delivery, if one were wrongly queued, would follow within
    // the task's next run.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = receiver.tokens.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        verify_logout_token(&app, &received[0]).await["sid"],
        sids[0]
    );
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_session_and_tells_the_client() {
    // Arrange: strict rotation; the first refresh token is spent.
    let app = crate::refresh::app_with(0).await;
    let receiver = Receiver::start();
    register_rp(&app, &receiver);
    let (_, tokens) = tokens_for_rp(&app).await;
    let spent = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh("rp", spent).await.status(), 200);

    // Act: someone presents it again.
    assert_eq!(app.refresh("rp", spent).await.status(), 400);

    // Assert
    let received = receiver.received(Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        verify_logout_token(&app, &received[0]).await["sid"],
        sid_of(tokens["id_token"].as_str().unwrap())
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_then_given_up_and_audited() {
    // Arrange: the client's endpoint fails.
    let app = app_with_spa().await;
    let receiver = Receiver::start();
    receiver.status.store(503, Ordering::SeqCst);
    register_rp(&app, &receiver);
    let (_, tokens) = tokens_for_rp(&app).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    app.get(&format!("{}/logout?id_token_hint={id_token}", app.address))
        .await;
    let attempts = || {
        use diesel::prelude::*;
        use tessera::db::schema::logout_deliveries;
        logout_deliveries::table
            .select((logout_deliveries::attempts, logout_deliveries::finished_at))
            .first::<(i32, Option<i64>)>(&mut app.pool.get().unwrap())
            .unwrap()
    };
    for _ in 0..50 {
        if attempts().0 >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts(), (1, None), "retried, not finished");

    // Act: an hour later it is still failing.
    app.clock.advance(3601);

    // Assert
    for _ in 0..50 {
        if attempts().1.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(attempts().1.is_some(), "given up");
    let failed = tessera::domain::audit::list(
        &mut app.pool.get().unwrap(),
        Some("backchannel_logout.failed"),
        None,
        0,
        10,
    )
    .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(receiver.tokens.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_delivery_to_a_uri_the_admin_removed_is_dropped() {
    // Arrange: a delivery waits for a failing endpoint.
    let app = app_with_spa().await;
    let receiver = Receiver::start();
    receiver.status.store(503, Ordering::SeqCst);
    register_rp(&app, &receiver);
    let (_, tokens) = tokens_for_rp(&app).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    app.get(&format!("{}/logout?id_token_hint={id_token}", app.address))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Act: the admin removes the URI; the endpoint would now answer.
    {
        use diesel::prelude::*;
        use tessera::db::schema::clients;
        diesel::update(clients::table.find("rp"))
            .set(clients::backchannel_logout_uri.eq(None::<String>))
            .execute(&mut app.pool.get().unwrap())
            .unwrap();
    }
    receiver.status.store(200, Ordering::SeqCst);
    app.clock.advance(10);

    // Assert
    let mut dropped = Vec::new();
    for _ in 0..50 {
        dropped = tessera::domain::audit::list(
            &mut app.pool.get().unwrap(),
            Some("backchannel_logout.dropped"),
            None,
            0,
            10,
        )
        .unwrap();
        if !dropped.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dropped.len(), 1);
    assert!(receiver.tokens.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_undelivered_logout_is_sent_after_a_restart() {
    // Arrange: the first server ends the session while the client is down,
    // then stops.
    let db = Arc::new(TestDb::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = spawn_app_until(db.clone(), |s| s.shutdown_drain = 0, async {
        let _ = stopped.await;
    })
    .await;
    first.add_user("alice", PASSWORD);
    first.add_public_client("spa", SPA, false);
    let receiver = Receiver::start();
    receiver.status.store(503, Ordering::SeqCst);
    register_rp(&first, &receiver);
    let (_, tokens) = tokens_for_rp(&first).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    first
        .get(&format!(
            "{}/logout?id_token_hint={id_token}",
            first.address
        ))
        .await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Act: the client is back, and a new server starts on the database.
    receiver.status.store(200, Ordering::SeqCst);
    let second = crate::helpers::spawn_app_on(db, |_| {}).await;
    // Past the backoff of the failed attempt.
    second.clock.advance(10);

    // Assert
    let received = receiver.received(Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        verify_logout_token(&second, &received[0]).await["sid"],
        sid_of(&id_token)
    );
}
