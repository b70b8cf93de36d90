//! `/userinfo` and the rejection of forged or stale tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::authorize::{AuthRequest, SPA, app_with_spa};
use crate::helpers::TestApp;

async fn signed_in(app: &TestApp) -> Value {
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;
    app.redeem(&req, &code).await.json().await.unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn assert_invalid_token(res: &reqwest::Response) {
    assert_eq!(res.status(), 401);
    let www = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        www.starts_with("Bearer") && www.contains(r#"error="invalid_token""#),
        "{www}"
    );
}

#[tokio::test]
async fn userinfo_returns_the_claims_the_scopes_allow() {
    // Arrange
    let app = app_with_spa().await;
    let tokens = signed_in(&app).await;
    let access = tokens["access_token"].as_str().unwrap();

    // Act
    let get = app.userinfo(access).await;
    let post = app
        .post_form("/userinfo", &[("access_token", access)])
        .await;

    // Assert
    assert_eq!(get.status(), 200);
    let body: Value = get.json().await.unwrap();
    assert!(body["sub"].as_str().unwrap().len() == 36);
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["preferred_username"], "alice");
    assert_eq!(body["name"], "alice Example");
    assert_eq!(post.status(), 200);
    assert_eq!(post.json::<Value>().await.unwrap(), body);
}

#[tokio::test]
async fn userinfo_without_a_token_asks_for_one() {
    let app = app_with_spa().await;
    let res = app
        .http
        .get(format!("{}/userinfo", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenges: Vec<_> = res
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        [
            r#"Bearer realm="tessera""#,
            r#"DPoP realm="tessera", algs="ES256 EdDSA RS256 PS256""#
        ]
    );
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    // Arrange
    let app = app_with_spa().await;
    let tokens = signed_in(&app).await;
    let access = tokens["access_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let payload = parts[1];

    // alg "none" with no signature.
    let none = format!(
        "{}.{payload}.",
        b64(&json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]}))
    );
    // HS256 "signed" with the public key, the classic algorithm confusion.
    let jwks: Value = app.get_json("/jwks.json").await.2;
    let public = serde_json::to_vec(&jwks["keys"][0]).unwrap();
    let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": header["kid"]});
    let hs256 = jsonwebtoken::encode(
        &serde_json::from_value::<jsonwebtoken::Header>(hs_header).unwrap(),
        &serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap(),
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    // A changed payload under the original signature.
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    // The ID token is not an access token (typ JWT, audience the client).
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();

    for (name, token) in [
        ("none", none),
        ("hs256", hs256),
        ("tampered", tampered),
        ("id token", id_token),
        ("garbage", "abc.def".into()),
    ] {
        // Act
        let res = app.userinfo(&token).await;

        // Assert
        assert_eq!(res.status(), 401, "{name}");
        assert_invalid_token(&res);
    }
}

#[tokio::test]
async fn expired_and_foreign_tokens_are_refused() {
    // Arrange
    let app = app_with_spa().await;
    let tokens = signed_in(&app).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let other = crate::helpers::spawn_app().await;
    let foreign_secret = other.add_confidential_client("svc", "client_credentials", "openid");
    let foreign = other.client_credentials_token("svc", &foreign_secret).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let own_client_token = app.client_credentials_token("svc", &secret).await;

    // Act + Assert
    assert_invalid_token(&app.userinfo(&foreign).await);
    assert_invalid_token(&app.userinfo(&own_client_token).await);
    app.clock.advance(app.settings.access_token_ttl + 31);
    assert_invalid_token(&app.userinfo(&access).await);
}

#[tokio::test]
async fn a_token_without_openid_is_insufficient_scope() {
    let app = app_with_spa().await;
    let mut req = AuthRequest::new("spa", SPA);
    req.scope = "profile".into();
    let code = app.sign_in_for_code(&req, "alice").await;
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
    assert!(tokens.get("id_token").is_none());

    let res = app.userinfo(tokens["access_token"].as_str().unwrap()).await;

    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}
