//! The actix-web extractor (feature `actix`): bearer tokens from the
//! `Authorization` header (RFC 6750 §2.1) and the challenges (§3).

use std::sync::atomic::Ordering;

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, test, web};
use serde_json::{Value, json};
use tessera_verifier::actix::Authenticated;

use crate::helpers::{key1, key2, now, sign, spawn_issuer};

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": user.sub, "client_id": user.client_id }))
}

macro_rules! api {
    ($verifier:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($verifier))
                .route("/me", web::get().to(me)),
        )
        .await
    };
}

#[actix_web::test]
async fn a_valid_bearer_token_reaches_the_handler() {
    let issuer = spawn_issuer().await;
    let api = api!(issuer.verifier().await);
    let token = sign(key1(), &issuer.claims());

    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, format!("bearer {token}")))
        .to_request();
    let body: Value = test::call_and_read_body_json(&api, req).await;

    assert_eq!(body, json!({ "sub": "alice", "client_id": "reports-spa" }));
}

#[actix_web::test]
async fn a_request_without_a_token_gets_a_bare_challenge() {
    let issuer = spawn_issuer().await;
    let api = api!(issuer.verifier().await);

    for authorization in [None, Some("Basic cmVwb3J0czpzZWNyZXQ="), Some("Bearer ")] {
        let mut req = test::TestRequest::get().uri("/me");
        if let Some(value) = authorization {
            req = req.insert_header((header::AUTHORIZATION, value));
        }
        let resp = test::call_service(&api, req.to_request()).await;

        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            r#"Bearer realm="api""#
        );
    }
}

#[actix_web::test]
async fn an_invalid_token_gets_an_invalid_token_challenge_and_json() {
    let issuer = spawn_issuer().await;
    let api = api!(issuer.verifier().await);
    let mut claims = issuer.claims();
    claims["exp"] = json!(now() - 3600);

    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((
            header::AUTHORIZATION,
            format!("Bearer {}", sign(key1(), &claims)),
        ))
        .to_request();
    let resp = test::call_service(&api, req).await;

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        r#"Bearer error="invalid_token", error_description="the token has expired""#
    );
    assert_eq!(
        resp.headers().get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(
        body,
        json!({ "error": "invalid_token", "error_description": "the token has expired" })
    );
}

#[actix_web::test]
async fn unavailable_keys_are_a_503_not_a_401() {
    let issuer = spawn_issuer().await;
    let api = api!(issuer.verifier().await);
    issuer.state.jwks_status.store(500, Ordering::SeqCst);

    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((
            header::AUTHORIZATION,
            format!("Bearer {}", sign(key2(), &issuer.claims())),
        ))
        .to_request();
    let resp = test::call_service(&api, req).await;

    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_none());
}

#[actix_web::test]
async fn a_missing_verifier_is_a_server_error() {
    let api = test::init_service(App::new().route("/me", web::get().to(me))).await;

    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::AUTHORIZATION, "Bearer x.y.z"))
        .to_request();
    let resp = test::call_service(&api, req).await;

    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
