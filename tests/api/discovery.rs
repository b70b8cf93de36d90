//! Discovery documents, the JWKS and the health check.

use crate::helpers::spawn_app;

#[tokio::test]
async fn both_discovery_documents_describe_the_implemented_endpoints() {
    // Arrange
    let app = spawn_app().await;

    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        // Act
        let (status, _, doc) = app.get_json(path).await;

        // Assert
        assert_eq!(status, 200, "{path}");
        assert_eq!(doc["issuer"], app.address);
        assert_eq!(doc["jwks_uri"], format!("{}/jwks.json", app.address));
        assert_eq!(doc["token_endpoint"], format!("{}/token", app.address));
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{}/authorize", app.address)
        );
        assert_eq!(
            doc["userinfo_endpoint"],
            format!("{}/userinfo", app.address)
        );
        assert_eq!(
            doc["end_session_endpoint"],
            format!("{}/logout", app.address)
        );
        assert_eq!(
            doc["grant_types_supported"],
            serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            serde_json::json!(["RS256", "PS256", "ES256", "EdDSA"])
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256", "ES256"])
        );
        assert_eq!(
            doc["revocation_endpoint"],
            format!("{}/revoke", app.address)
        );
        assert_eq!(
            doc["introspection_endpoint"],
            format!("{}/introspect", app.address)
        );
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            format!("{}/par", app.address)
        );
        assert_eq!(doc["require_pushed_authorization_requests"], false);
        assert_eq!(doc["backchannel_logout_supported"], true);
        assert_eq!(doc["backchannel_logout_session_supported"], true);
        assert_eq!(
            doc["tessera_revocation_feed_endpoint"],
            format!("{}/revocations", app.address)
        );
    }
}

#[tokio::test]
async fn the_jwks_publishes_only_public_rsa_keys_and_may_be_cached() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let (status, headers, body) = app.get_json("/jwks.json").await;

    // Assert
    assert_eq!(status, 200);
    let cache = headers["cache-control"].to_str().unwrap();
    assert_eq!(
        cache,
        format!("public, max-age={}", app.settings.jwks_max_age)
    );
    // One key per algorithm, RSA first (for verifiers that take the first).
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{body}");
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["alg"], "ES256");
    assert_eq!(keys[1]["crv"], "P-256");
    for key in keys {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} leaked"
            );
        }
        // The kid is the RFC 7638 thumbprint of the key.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
        let thumbprint = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(key["kid"], thumbprint);
    }
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;

    let (status, _, body) = app.get_json("/healthz").await;

    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_answers_ready_with_a_migrated_database_and_a_signing_key() {
    let app = spawn_app().await;

    let (status, headers, body) = app.get_json("/readyz").await;

    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_json_errors() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let (missing, _, missing_body) = app.get_json("/no/such/thing").await;
    let wrong = app
        .http
        .delete(format!("{}/jwks.json", app.address))
        .send()
        .await
        .unwrap();
    let wrong_status = wrong.status();
    let allow = wrong.headers()["allow"].to_str().unwrap().to_owned();
    let wrong_body: serde_json::Value = wrong.json().await.unwrap();

    // Assert
    assert_eq!(missing, 404);
    assert_eq!(missing_body["error"], "invalid_request");
    assert_eq!(wrong_status, 405);
    assert_eq!(allow, "GET");
    assert_eq!(wrong_body["error"], "invalid_request");
}
