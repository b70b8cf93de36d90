//! ES256 signing: keys of both algorithms published and rotating side by
//! side, each client's tokens signed with the algorithm it is registered
//! with, and every token checked against the key's own algorithm.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, SPA, location};
use crate::helpers::{
    TestApp, kid_of, kids_of, published_alg, spawn_app, stdout_ok, verify_access_token,
};

/// Registers a confidential client_credentials client through the CLI with
/// `--signing-alg`, and returns its secret.
fn cli_client(app: &TestApp, id: &str, alg: &str) -> String {
    let out = stdout_ok(&app.cli(
        &[
            "client",
            "add",
            id,
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
            "--signing-alg",
            alg,
        ],
        None,
    ));
    out.lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret in: {out}"))
        .to_owned()
}

fn header_alg(token: &str) -> Algorithm {
    jsonwebtoken::decode_header(token).unwrap().alg
}

/// Verifies an ID token against the JWKS with the published key's algorithm.
fn verify_id_token(app: &TestApp, token: &str, jwks: &jsonwebtoken::jwk::JwkSet) -> Value {
    let jwk = jwks.find(&kid_of(token)).expect("kid is published");
    let mut v = Validation::new(published_alg(jwk));
    v.set_issuer(&[&app.address]);
    v.set_audience(&["spa"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("the ID token verifies")
        .claims
}

/// `token` with its header's `alg` replaced; the signature is kept.
fn with_header_alg(token: &str, alg: &str) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let mut h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    h["alg"] = alg.into();
    format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h).unwrap())
    )
}

#[tokio::test]
async fn an_es256_client_gets_es256_access_tokens_and_an_rs256_client_rs256_ones() {
    // Arrange
    let app = spawn_app().await;
    let es = cli_client(&app, "es-svc", "ES256");
    let rs = cli_client(&app, "rs-svc", "RS256");

    // Act
    let es_token = app.client_credentials_token("es-svc", &es).await;
    let rs_token = app.client_credentials_token("rs-svc", &rs).await;

    // Assert: each in its client's algorithm, by a published key of that
    // algorithm, and both verify offline against the one JWKS.
    let jwks = app.jwks().await;
    assert_eq!(header_alg(&es_token), Algorithm::ES256);
    assert_eq!(header_alg(&rs_token), Algorithm::RS256);
    assert_eq!(kids_of(&jwks, "ES256"), [kid_of(&es_token)]);
    assert_eq!(kids_of(&jwks, "RS256"), [kid_of(&rs_token)]);
    let claims = verify_access_token(&es_token, &jwks, &app.address, &app.address);
    assert_eq!(claims["client_id"], "es-svc");
    verify_access_token(&rs_token, &jwks, &app.address, &app.address);
    // An ES256 signature is 64 bytes against RSA-2048's 256.
    assert!(es_token.len() + 200 < rs_token.len());
    // The server verifies its own ES256 tokens too.
    assert_eq!(app.active(("es-svc", &es), &es_token).await["active"], true);
}

#[tokio::test]
async fn a_token_whose_header_names_another_algorithm_than_its_key_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let es = cli_client(&app, "es-svc", "ES256");
    let token = app.client_credentials_token("es-svc", &es).await;
    let creds = ("es-svc", es.as_str());

    // Act + Assert: the kid names an EC key, so only ES256 is tried.
    for alg in ["RS256", "HS256", "none", "ES384"] {
        let forged = with_header_alg(&token, alg);
        assert_eq!(app.active(creds, &forged).await["active"], false, "{alg}");
        let res = app.userinfo(&forged).await;
        assert_eq!(res.status(), 401, "{alg}");
    }
    // An HS256 token "signed" with the EC key's public coordinates.
    let jwks = app.jwks().await;
    let jwk = jwks.find(&kid_of(&token)).unwrap();
    let public = serde_json::to_vec(jwk).unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some(kid_of(&token));
    header.typ = Some("at+jwt".into());
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(&token)
        .unwrap()
        .claims;
    let hs = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert_eq!(app.active(creds, &hs).await["active"], false);
}

#[tokio::test]
async fn an_es256_public_client_gets_es256_id_and_access_tokens_usable_everywhere() {
    // Arrange: a public client registered for ES256 through the CLI.
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD);
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "spa",
            "--public",
            "--redirect-uri",
            SPA,
            "--post-logout-redirect-uri",
            &format!("{SPA}/signed-out"),
            "--signing-alg",
            "ES256",
        ],
        None,
    ));
    let mut req = AuthRequest::new("spa", SPA);
    req.scope = "openid profile offline_access".into();

    // Act
    let code = app.sign_in_for_code(&req, "alice").await;
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
    let refreshed: Value = app
        .refresh("spa", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();

    // Assert: ID and access tokens (first and refreshed) are ES256.
    let jwks = app.jwks().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refreshed_access = refreshed["access_token"].as_str().unwrap();
    for t in [id_token, access, refreshed_access] {
        assert_eq!(header_alg(t), Algorithm::ES256);
    }
    let id = verify_id_token(&app, id_token, &jwks);
    assert_eq!(id["preferred_username"], "alice");
    // at_hash is SHA-256 based for ES256 as for RS256 (OIDC Core §3.1.3.6).
    assert_eq!(id["at_hash"], tessera::domain::tokens::at_hash(access));
    verify_access_token(refreshed_access, &jwks, &app.address, &app.address);
    // The server accepts its ES256 tokens at /userinfo and as a logout hint.
    let info = app.userinfo(refreshed_access).await;
    assert_eq!(info.status(), 200);
    let post_logout = format!("{SPA}/signed-out");
    let res = app
        .get(&format!(
            "{}/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
            app.address,
            url::form_urlencoded::byte_serialize(post_logout.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), post_logout);
}

#[tokio::test]
async fn keys_of_each_algorithm_rotate_on_their_own_and_are_listed_with_it() {
    // Arrange
    let app = spawn_app().await;
    let es = cli_client(&app, "es-svc", "ES256");
    let rs = cli_client(&app, "rs-svc", "RS256");
    let old_es = kid_of(&app.client_credentials_token("es-svc", &es).await);
    let old_rs = kid_of(&app.client_credentials_token("rs-svc", &rs).await);
    let pending_rs = stdout_ok(&app.cli(&["keys", "rotate", "--alg", "RS256"], None));
    let pending_rs = pending_rs
        .lines()
        .find_map(|l| l.strip_prefix("created signing key "))
        .unwrap()
        .to_owned();

    // Act: an emergency rotation of the ES256 keys alone.
    let out = stdout_ok(&app.cli(&["keys", "rotate", "--now", "--alg", "ES256"], None));

    // Assert: one new EC key signs at once; RSA keys are untouched, the
    // pending one included.
    let new_es = out
        .lines()
        .find_map(|l| l.strip_prefix("created signing key "))
        .unwrap()
        .to_owned();
    assert_eq!(out.matches("created signing key").count(), 1, "{out}");
    assert!(!out.contains("dropped"), "{out}");
    app.wait_for_keys_of("ES256", 2).await;
    assert_eq!(
        kids_of(&app.jwks().await, "RS256"),
        [old_rs.clone(), pending_rs.clone()]
    );
    let mut signed = String::new();
    for _ in 0..100 {
        signed = kid_of(&app.client_credentials_token("es-svc", &es).await);
        if signed == new_es {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(signed, new_es);
    assert_eq!(
        kid_of(&app.client_credentials_token("rs-svc", &rs).await),
        old_rs
    );
    // `keys list` names each key's algorithm and state.
    let listed = stdout_ok(&app.cli(&["keys", "list"], None));
    let row = |kid: &str| {
        let line = listed.lines().find(|l| l.starts_with(kid)).unwrap();
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols[1].to_owned(), cols[cols.len() - 1].to_owned())
    };
    assert_eq!(row(&new_es), ("active".into(), "ES256".into()));
    assert_eq!(row(&old_es), ("retired".into(), "ES256".into()));
    assert_eq!(row(&old_rs), ("active".into(), "RS256".into()));
    assert_eq!(row(&pending_rs), ("next".into(), "RS256".into()));
    // The retired EC key can be revoked; the active RSA key still cannot.
    stdout_ok(&app.cli(&["keys", "revoke", &old_es], None));
    assert_eq!(
        app.cli(&["keys", "revoke", &old_rs], None).status.code(),
        Some(1)
    );
}

#[tokio::test]
async fn an_unknown_signing_algorithm_is_refused_at_registration() {
    let app = spawn_app().await;
    for alg in ["HS256", "es256", "none", "PS256"] {
        let out = app.cli(
            &[
                "client",
                "add",
                "x",
                "--public",
                "--redirect-uri",
                SPA,
                "--signing-alg",
                alg,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{alg}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("RS256 or ES256"), "{alg}: {err}");
    }
    let out = app.cli(&["keys", "rotate", "--alg", "HS256"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn the_console_switches_a_client_to_es256() {
    // Arrange
    let (app, csrf) = crate::admin::admin_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    assert_eq!(
        header_alg(&app.client_credentials_token("svc", &secret).await),
        Algorithm::RS256
    );
    let (_, html) = app.admin_page("/admin/clients/svc").await;
    assert!(
        html.contains(r#"<option value="RS256" selected>"#),
        "{html}"
    );

    // Act
    let edit = |alg: &'static str| {
        [
            ("csrf_token", csrf.clone()),
            ("name", "svc".into()),
            ("grant_client_credentials", "yes".into()),
            ("scopes", "api:read".into()),
            ("signing_alg", alg.into()),
        ]
    };
    let form = edit("ES256");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.admin_post("/admin/clients/svc", &pairs, None).await;

    // Assert
    assert_eq!(res.status(), 303);
    let (_, html) = app.admin_page("/admin/clients/svc").await;
    assert!(
        html.contains(r#"<option value="ES256" selected>"#),
        "{html}"
    );
    let token = app.client_credentials_token("svc", &secret).await;
    assert_eq!(header_alg(&token), Algorithm::ES256);
    verify_access_token(&token, &app.jwks().await, &app.address, &app.address);

    // A form without the field (an older page) keeps the algorithm.
    let form = edit("ES256");
    let pairs: Vec<(&str, &str)> = form[..4].iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.admin_post("/admin/clients/svc", &pairs, None).await;
    let token = app.client_credentials_token("svc", &secret).await;
    assert_eq!(header_alg(&token), Algorithm::ES256);

    // An algorithm the server does not sign with is refused, nothing saved.
    let form = edit("HS256");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.admin_post("/admin/clients/svc", &pairs, None).await;
    let (_, html) = app.admin_page("/admin/clients/svc").await;
    assert!(html.contains("Not saved"), "{html}");
    assert!(
        html.contains(r#"<option value="ES256" selected>"#),
        "{html}"
    );
}

#[tokio::test]
async fn a_deployment_without_es256_keys_gets_one_that_signs_at_once() {
    // Arrange: as after an upgrade, only RS256 keys are stored.
    let app = spawn_app().await;
    let rs = cli_client(&app, "rs-svc", "RS256");
    let rs_kid = kid_of(&app.client_credentials_token("rs-svc", &rs).await);
    let mut conn = app.pool.get().unwrap();
    tessera::db::execute_sql(&mut conn, "DELETE FROM signing_keys WHERE alg = 'ES256'").unwrap();
    let es = cli_client(&app, "es-svc", "ES256");

    // Act: the next key check notices the missing algorithm.
    app.clock.advance(app.settings.key_check_interval);
    let es_kids = app.wait_for_keys_of("ES256", 1).await;

    // Assert: the new key signs at once; the RSA key is untouched.
    let mut token = String::new();
    for _ in 0..100 {
        let res = app
            .post_token("grant_type=client_credentials", Some(("es-svc", &es)))
            .await;
        if res.status() == 200 {
            token = res.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(kid_of(&token), es_kids[0]);
    assert_eq!(
        kids_of(&app.jwks().await, "RS256"),
        std::slice::from_ref(&rs_kid)
    );
    assert_eq!(
        kid_of(&app.client_credentials_token("rs-svc", &rs).await),
        rs_kid
    );
    // The stored algorithm is constrained to the two the server signs with.
    assert!(tessera::db::execute_sql(&mut conn, "UPDATE signing_keys SET alg = 'HS256'").is_err());
}
