//! The actix-web extractor (feature `actix`): bearer tokens from the
//! `Authorization` header (RFC 6750 §2.1) and the challenges (§3).

use std::sync::atomic::Ordering;

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, test, web};
use serde_json::{Value, json};
use tessera_verifier::Verifier;
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
async fn a_request_without_a_token_gets_a_bare_challenge_and_dpop_where_it_is_checked() {
    let issuer = spawn_issuer().await;
    let bearer_only = api!(issuer.verifier().await);
    let with_dpop = api!(
        Verifier::discover(
            issuer
                .config()
                .with_external_base_url("https://api.example.com")
        )
        .await
        .unwrap()
    );

    for authorization in [None, Some("Basic cmVwb3J0czpzZWNyZXQ="), Some("Bearer ")] {
        let req = || {
            let mut req = test::TestRequest::get().uri("/me");
            if let Some(value) = authorization {
                req = req.insert_header((header::AUTHORIZATION, value));
            }
            req.to_request()
        };
        let challenges = |resp: &actix_web::dev::ServiceResponse| -> Vec<String> {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
            resp.headers()
                .get_all(header::WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };

        let plain = test::call_service(&bearer_only, req()).await;
        let both = test::call_service(&with_dpop, req()).await;

        assert_eq!(challenges(&plain), [r#"Bearer realm="api""#]);
        assert_eq!(
            challenges(&both),
            [
                r#"Bearer realm="api""#,
                r#"DPoP realm="api", algs="ES256 EdDSA RS256 PS256""#
            ]
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

#[actix_web::test]
async fn a_bound_token_reaches_the_handler_only_as_dpop_with_a_proof() {
    use crate::dpop::{ProofKey, bound_token};
    // Arrange
    let issuer = spawn_issuer().await;
    let config = issuer.config().with_external_base_url("http://api.test");
    let api = api!(tessera_verifier::Verifier::discover(config).await.unwrap());
    let key = ProofKey::new();
    let token = bound_token(&issuer, &key);
    let url = "http://api.test/me";
    let call = |scheme: &str, proof: Option<String>| {
        let mut req = test::TestRequest::get()
            .uri("/me")
            .insert_header((header::HOST, "api.test"))
            .insert_header((header::AUTHORIZATION, format!("{scheme} {token}")));
        if let Some(p) = proof {
            req = req.insert_header(("DPoP", p));
        }
        req.to_request()
    };

    // Act + Assert: DPoP with a proof by the token's key.
    let resp =
        test::call_service(&api, call("DPoP", Some(key.proof_for("GET", url, &token)))).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // As a bearer token, with another key's proof, or without a proof: a
    // DPoP challenge naming the algorithms.
    let thief = ProofKey::new();
    let cases = [
        ("Bearer", None, "invalid_token"),
        (
            "DPoP",
            Some(thief.proof_for("GET", url, &token)),
            "invalid_dpop_proof",
        ),
        ("DPoP", None, "invalid_dpop_proof"),
    ];
    for (scheme, proof, error) in cases {
        let resp = test::call_service(&api, call(scheme, proof)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{scheme} {error}");
        let challenge = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            challenge.starts_with(r#"DPoP algs="ES256 EdDSA RS256 PS256""#),
            "{challenge}"
        );
        assert!(
            challenge.contains(&format!(r#"error="{error}""#)),
            "{challenge}"
        );
        let body: Value = test::read_body_json(resp).await;
        assert_eq!(body["error"], error);
    }
}

#[actix_web::test]
async fn behind_a_proxy_the_proof_names_the_configured_public_url() {
    use crate::dpop::{ProofKey, bound_token};
    let issuer = spawn_issuer().await;
    let config = issuer
        .config()
        .with_external_base_url("https://api.example.com/v1/");
    let api = api!(tessera_verifier::Verifier::discover(config).await.unwrap());
    let key = ProofKey::new();
    let token = bound_token(&issuer, &key);
    let request = |htu: &str| {
        test::TestRequest::get()
            .uri("/me")
            .insert_header((header::HOST, "10.0.0.7:8081"))
            .insert_header((header::AUTHORIZATION, format!("DPoP {token}")))
            .insert_header(("DPoP", key.proof_for("GET", htu, &token)))
            .to_request()
    };

    let public = test::call_service(&api, request("https://api.example.com/v1/me")).await;
    let internal = test::call_service(&api, request("http://10.0.0.7:8081/me")).await;

    assert_eq!(public.status(), StatusCode::OK);
    assert_eq!(internal.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn without_a_public_url_the_dpop_scheme_is_refused_whatever_the_host_says() {
    use crate::dpop::{ProofKey, bound_token};
    let issuer = spawn_issuer().await;
    let api = api!(issuer.verifier().await);
    let key = ProofKey::new();
    let token = bound_token(&issuer, &key);

    let req = test::TestRequest::get()
        .uri("/me")
        .insert_header((header::HOST, "api.test"))
        .insert_header((header::AUTHORIZATION, format!("DPoP {token}")))
        .insert_header(("DPoP", key.proof_for("GET", "http://api.test/me", &token)))
        .to_request();
    let resp = test::call_service(&api, req).await;

    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
