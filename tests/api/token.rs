//! `POST /token` with the client_credentials grant, and bad input.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;

use crate::helpers::{spawn_app, verify_access_token};

#[tokio::test]
async fn the_oauth2_crate_gets_a_token_with_basic_and_with_post_authentication() {
    // Arrange
    let app = spawn_app().await;
    let secret = app.add_confidential_client(
        "reporting",
        "client_credentials",
        "reports:read reports:write",
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new("reporting".into()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_auth_type(auth.clone())
            .set_token_uri(TokenUrl::new(format!("{}/token", app.address)).unwrap());

        // Act
        let token = client
            .exchange_client_credentials()
            .add_scope(Scope::new("reports:read".into()))
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: {e:?}"));

        // Assert
        assert_eq!(token.token_type().as_ref(), "bearer");
        assert_eq!(token.expires_in().unwrap().as_secs(), 300);
        let scopes: Vec<String> = token
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(scopes, vec!["reports:read"]);
        let claims = verify_access_token(
            token.access_token().secret(),
            &app.jwks().await,
            &app.address,
            &app.address,
        );
        assert_eq!(claims["sub"], "reporting");
        assert_eq!(claims["client_id"], "reporting");
        assert_eq!(claims["scope"], "reports:read");
    }
}

#[tokio::test]
async fn an_access_token_is_an_rfc9068_jwt_that_verifies_offline() {
    // Arrange
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read openid");

    // Act
    let res = app
        .post_token("grant_type=client_credentials", Some(("svc", &secret)))
        .await;

    // Assert
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    // User scopes are never granted to a client acting for itself.
    assert_eq!(body["scope"], "api:read");
    let token = body["access_token"].as_str().unwrap();
    let claims = verify_access_token(token, &app.jwks().await, &app.address, &app.address);
    let exp = claims["exp"].as_i64().unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(exp - iat, app.settings.access_token_ttl);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
}

#[tokio::test]
async fn each_token_has_its_own_jti() {
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let jwks = app.jwks().await;

    let a = app.client_credentials_token("svc", &secret).await;
    let b = app.client_credentials_token("svc", &secret).await;

    let ja = verify_access_token(&a, &jwks, &app.address, &app.address)["jti"].clone();
    let jb = verify_access_token(&b, &jwks, &app.address, &app.address)["jti"].clone();
    assert_ne!(ja, jb);
}

#[tokio::test]
async fn a_configured_audience_is_the_tokens_aud() {
    let app = spawn_app_with_audience("https://api.example.com").await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");

    let token = app.client_credentials_token("svc", &secret).await;

    let claims = verify_access_token(
        &token,
        &app.jwks().await,
        &app.address,
        "https://api.example.com",
    );
    assert_eq!(claims["aud"], "https://api.example.com");
}

async fn spawn_app_with_audience(aud: &str) -> crate::helpers::TestApp {
    let aud = aud.to_owned();
    crate::helpers::spawn_app_with(move |s| s.audience = aud).await
}

async fn error_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-store");
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_client_get_the_same_invalid_client() {
    // Arrange
    let app = spawn_app().await;
    let _ = app.add_confidential_client("svc", "client_credentials", "api:read");

    // Act
    let wrong = app
        .post_token(
            "grant_type=client_credentials",
            Some(("svc", "not-the-secret")),
        )
        .await;
    let www = wrong.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let (wrong_status, wrong_body) = error_of(wrong).await;
    let (unknown_status, unknown_body) = error_of(
        app.post_token("grant_type=client_credentials", Some(("nobody", "x")))
            .await,
    )
    .await;
    let (post_status, post_body) = error_of(
        app.post_token(
            "grant_type=client_credentials&client_id=svc&client_secret=nope",
            None,
        )
        .await,
    )
    .await;

    // Assert
    assert_eq!(wrong_status, 401);
    assert!(www.starts_with("Basic"));
    assert_eq!(wrong_body["error"], "invalid_client");
    assert_eq!((unknown_status, &unknown_body), (wrong_status, &wrong_body));
    assert_eq!((post_status, &post_body), (wrong_status, &wrong_body));
}

#[tokio::test]
async fn grant_and_scope_errors_use_the_rfc6749_codes() {
    // Arrange
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let no_cc = app.add_confidential_client("web", "authorization_code", "api:read");
    let creds = Some(("svc", secret.as_str()));

    // Act + Assert
    let (s, b) = error_of(
        app.post_token("grant_type=password&username=a&password=b", creds)
            .await,
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str().unwrap()),
        (400, "unsupported_grant_type")
    );

    let (s, b) = error_of(
        app.post_token("grant_type=client_credentials&scope=api:write", creds)
            .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str().unwrap()), (400, "invalid_scope"));

    let (s, b) = error_of(
        app.post_token("grant_type=client_credentials&scope=openid", creds)
            .await,
    )
    .await;
    assert_eq!((s, b["error"].as_str().unwrap()), (400, "invalid_scope"));

    let (s, b) = error_of(
        app.post_token("grant_type=client_credentials", Some(("web", &no_cc)))
            .await,
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str().unwrap()),
        (400, "unauthorized_client")
    );

    let (s, b) = error_of(app.post_token("scope=api:read", creds).await).await;
    assert_eq!((s, b["error"].as_str().unwrap()), (400, "invalid_request"));

    let (s, b) = error_of(app.post_token("grant_type=client_credentials", None).await).await;
    assert_eq!((s, b["error"].as_str().unwrap()), (401, "invalid_client"));

    // Two authentication methods at once are refused.
    let body = format!("grant_type=client_credentials&client_id=svc&client_secret={secret}");
    let (s, b) = error_of(app.post_token(&body, creds).await).await;
    assert_eq!((s, b["error"].as_str().unwrap()), (400, "invalid_request"));
}

#[tokio::test]
async fn malformed_bodies_get_a_json_4xx_never_a_5xx() {
    // Arrange
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let url = format!("{}/token", app.address);
    let huge = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(64 * 1024)
    );
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("empty", "application/x-www-form-urlencoded", vec![]),
        (
            "json",
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        (
            "no content type",
            "",
            b"grant_type=client_credentials".to_vec(),
        ),
        (
            "invalid utf-8",
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=\xff\xfe".to_vec(),
        ),
        (
            "bad escape",
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&scope=%zz".to_vec(),
        ),
        (
            "duplicate",
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
        ),
        (
            "oversized",
            "application/x-www-form-urlencoded",
            huge.into_bytes(),
        ),
        (
            "binary",
            "application/x-www-form-urlencoded",
            vec![0, 1, 2, 255, 0, 38, 61],
        ),
    ];

    for (name, content_type, body) in cases {
        // Act
        let mut req = app
            .http
            .post(&url)
            .basic_auth("svc", Some(&secret))
            .body(body);
        if !content_type.is_empty() {
            req = req.header("Content-Type", content_type);
        }
        let res = req.send().await.unwrap();

        // Assert
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{name}: status {status}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/json"), "{name}: {ct}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{name}");
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_invalid_client() {
    let app = spawn_app().await;
    for header in ["Basic !!!notbase64", "Bearer abc", "Basic", "Basic Og=="] {
        let res = app
            .http
            .post(format!("{}/token", app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", header)
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
}
