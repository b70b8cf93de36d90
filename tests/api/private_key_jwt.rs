//! `private_key_jwt` client authentication (RFC 7523, OpenID Connect Core
//! §9): clients registered with public keys sign single-use assertions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, stdout_ok};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One of a client's key pairs: the private half signs, the JWK is public.
struct ClientKey {
    kid: String,
    signer: EncodingKey,
    jwk: Value,
}

impl ClientKey {
    fn rsa(kid: &str) -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        ClientKey {
            kid: kid.into(),
            signer: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({"kty": "RSA", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be())}),
        }
    }

    fn p256(kid: &str) -> Self {
        let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        ClientKey {
            kid: kid.into(),
            signer: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
        }
    }

    fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        ClientKey {
            kid: kid.into(),
            signer: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())}),
        }
    }

    /// A signed assertion with these claims.
    fn sign(&self, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signer).unwrap()
    }
}

fn key_set(keys: &[&ClientKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// Claims of a fresh assertion from `client_id` to `aud`.
fn claims(app: &TestApp, client_id: &str, aud: &str) -> Value {
    let now = app.clock.now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
        "jti": tessera::domain::secret::generate_token()})
}

fn token_endpoint(app: &TestApp) -> String {
    format!("{}/token", app.address)
}

/// Registers `client_id` for client_credentials with `keys`, as the CLI does.
fn register(app: &TestApp, client_id: &str, keys: &[&ClientKey]) {
    let args = [
        "client",
        "add",
        client_id,
        "--grant-types",
        "client_credentials",
        "--scopes",
        "api",
    ];
    register_with(app, &args, keys);
}

/// Runs the CLI's `args` with `--jwks-file` holding `keys`.
fn register_with(app: &TestApp, args: &[&str], keys: &[&ClientKey]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, key_set(keys)).unwrap();
    let mut args = args.to_vec();
    args.extend([
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        file.to_str().unwrap(),
    ]);
    let out = stdout_ok(&app.cli(&args, None));
    assert!(out.contains("(private_key_jwt)"), "{out}");
}

async fn token_with(app: &TestApp, assertion: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    let res = app.post_form("/token", &form).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn assertions_signed_with_rs256_ps256_es256_and_eddsa_get_tokens() {
    // Arrange
    let app = spawn_app().await;
    let (rsa, ec, ed) = (
        ClientKey::rsa("r"),
        ClientKey::p256("e"),
        ClientKey::ed25519("o"),
    );
    register(&app, "svc", &[&rsa, &ec, &ed]);
    let aud = token_endpoint(&app);

    for (key, alg) in [
        (&rsa, Algorithm::RS256),
        (&rsa, Algorithm::PS256),
        (&ec, Algorithm::ES256),
        (&ed, Algorithm::EdDSA),
    ] {
        // Act
        let assertion = key.sign(alg, &claims(&app, "svc", &aud));
        let (status, body) = token_with(&app, &assertion, &[]).await;

        // Assert
        assert_eq!(status, 200, "{alg:?}: {body}");
        let jwks = app.jwks().await;
        let access = body["access_token"].as_str().unwrap();
        let claims = crate::helpers::verify_access_token(access, &jwks, &app.address, &app.address);
        assert_eq!(claims["client_id"], "svc");
    }
    // The issuer itself is an accepted audience, and client_id may be sent.
    let assertion = ec.sign(Algorithm::ES256, &claims(&app, "svc", &app.address));
    let (status, _) = token_with(&app, &assertion, &[("client_id", "svc")]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn replayed_expired_misaddressed_and_forged_assertions_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let key = ClientKey::p256("k1");
    register(&app, "svc", &[&key]);
    let aud = token_endpoint(&app);
    let good = key.sign(Algorithm::ES256, &claims(&app, "svc", &aud));
    assert_eq!(token_with(&app, &good, &[]).await.0, 200);
    let with = |k: &str, v: Value| {
        let mut c = claims(&app, "svc", &aud);
        c[k] = v;
        key.sign(Algorithm::ES256, &c)
    };
    let now = app.clock.now();
    let impostor = ClientKey::p256("k1");

    let refused = [
        ("replayed", good.clone()),
        ("expired", with("exp", json!(now - 120))),
        ("good for an hour", with("exp", json!(now + 3600))),
        (
            "for another server",
            with("aud", json!("https://elsewhere.example/token")),
        ),
        ("from another client", with("iss", json!("other"))),
        ("without a jti", {
            let mut c = claims(&app, "svc", &aud);
            c.as_object_mut().unwrap().remove("jti");
            key.sign(Algorithm::ES256, &c)
        }),
        (
            "signed with another key",
            impostor.sign(Algorithm::ES256, &claims(&app, "svc", &aud)),
        ),
    ];
    for (what, assertion) in refused {
        // Act
        let (status, body) = token_with(&app, &assertion, &[]).await;

        // Assert
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{what}"
        );
    }
    // A client_id that contradicts the assertion, or a second method.
    let fresh = key.sign(Algorithm::ES256, &claims(&app, "svc", &aud));
    let (status, _) = token_with(&app, &fresh, &[("client_id", "other")]).await;
    assert_eq!(status, 401);
    let (status, body) = token_with(&app, &fresh, &[("client_secret", "x")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // No assertion, or a secret, does not authenticate this client.
    let bare = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", "svc")],
        )
        .await;
    assert_eq!(bare.status(), 401);
    let secret = app
        .post_token("grant_type=client_credentials", Some(("svc", "a-secret")))
        .await;
    assert_eq!(secret.status(), 401);
}

#[tokio::test]
async fn assertions_authenticate_at_par_introspect_revoke_and_the_feed() {
    // Arrange: a resource server that authenticates with a key.
    let app = spawn_app().await;
    let key = ClientKey::rsa("rs");
    register(&app, "svc", &[&key]);
    let fresh = |aud: &str| key.sign(Algorithm::RS256, &claims(&app, "svc", aud));
    let (_, body) = token_with(&app, &fresh(&token_endpoint(&app)), &[]).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let auth = |assertion: &str| {
        vec![
            (
                "client_assertion_type".to_owned(),
                ASSERTION_TYPE.to_owned(),
            ),
            ("client_assertion".to_owned(), assertion.to_owned()),
        ]
    };

    // Act and assert: each endpoint accepts its own URL as the audience.
    let mut form = auth(&fresh(&format!("{}/introspect", app.address)));
    form.push(("token".into(), access.clone()));
    let res = app
        .http
        .post(format!("{}/introspect", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);

    let mut form = auth(&fresh(&format!("{}/revoke", app.address)));
    form.push(("token".into(), access.clone()));
    let res = app
        .http
        .post(format!("{}/revoke", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let form = auth(&fresh(&format!("{}/revocations", app.address)));
    let res = app
        .http
        .post(format!("{}/revocations", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert!(!page["entries"].as_array().unwrap().is_empty(), "{page}");

    // A web app with the same key pushes an authorization request.
    let callback = "http://127.0.0.1:9/callback";
    register_with(
        &app,
        &["client", "add", "web", "--redirect-uri", callback],
        &[&key],
    );
    let pushed = key.sign(
        Algorithm::RS256,
        &claims(&app, "web", &format!("{}/par", app.address)),
    );
    let mut form = auth(&pushed);
    form.extend([
        ("response_type".to_owned(), "code".to_owned()),
        (
            "redirect_uri".to_owned(),
            "http://127.0.0.1:9/callback".to_owned(),
        ),
        ("scope".to_owned(), "openid".to_owned()),
    ]);
    // A bad DPoP proof is refused before the assertion is spent...
    let bad_proof = app
        .http
        .post(format!("{}/par", app.address))
        .header("DPoP", "not.a.proof")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_proof.status(), 400);
    assert_eq!(
        bad_proof.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );
    // ...so the same assertion still authenticates the push.
    let res = app
        .http
        .post(format!("{}/par", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // An assertion addressed to one endpoint is no good at another.
    let mut form = auth(&fresh(&format!("{}/revoke", app.address)));
    form.push(("token".into(), access));
    let res = app
        .http
        .post(format!("{}/introspect", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// Serves `body` at `/jwks` on a loopback port; returns the URL.
fn serve_jwks(body: Arc<Mutex<String>>) -> String {
    serve_counted_jwks(body, Arc::new(AtomicUsize::new(0)))
}

/// [`serve_jwks`], counting the requests in `hits`.
fn serve_counted_jwks(body: Arc<Mutex<String>>, hits: Arc<AtomicUsize>) -> String {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let (body, hits) = (body.clone(), hits.clone());
        App::new().route(
            "/jwks",
            web::get().to(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                let text = body.lock().unwrap().clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(text)
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/jwks")
}

fn register_uri(app: &TestApp, client_id: &str, uri: &str) {
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            client_id,
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api",
            "--jwks-uri",
            uri,
        ],
        None,
    ));
}

#[tokio::test]
async fn a_jwks_uri_is_fetched_and_fetched_again_when_the_client_rotates() {
    // Arrange
    let app = spawn_app().await;
    let (old, new) = (ClientKey::p256("2026-11"), ClientKey::p256("2026-12"));
    let served = Arc::new(Mutex::new(key_set(&[&old])));
    register_uri(&app, "svc", &serve_jwks(served.clone()));
    let aud = token_endpoint(&app);
    let first = old.sign(Algorithm::ES256, &claims(&app, "svc", &aud));
    assert_eq!(token_with(&app, &first, &[]).await.0, 200);

    // Act: the client rotates to a key the cached set lacks.
    *served.lock().unwrap() = key_set(&[&new]);
    app.clock.advance(11);
    let rotated = new.sign(Algorithm::ES256, &claims(&app, "svc", &aud));
    let (status, body) = token_with(&app, &rotated, &[]).await;

    // Assert
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_unreachable_oversized_or_private_key_set_is_refused_without_a_5xx() {
    // Arrange
    let app = spawn_app().await;
    let key = ClientKey::p256("k");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/jwks", l.local_addr().unwrap().port())
    };
    register_uri(&app, "gone", &closed);
    let huge = Arc::new(Mutex::new(format!(
        r#"{{"keys":[{}],"padding":"{}"}}"#,
        key.jwk,
        "x".repeat(100_000)
    )));
    register_uri(&app, "huge", &serve_jwks(huge));
    let mut private_jwk = key.jwk.clone();
    private_jwk["d"] = json!("AAAA");
    let private = Arc::new(Mutex::new(json!({"keys": [private_jwk]}).to_string()));
    register_uri(&app, "leaky", &serve_jwks(private));
    let aud = token_endpoint(&app);

    for client_id in ["gone", "huge", "leaky"] {
        // Act
        let assertion = key.sign(Algorithm::ES256, &claims(&app, client_id, &aud));
        let started = std::time::Instant::now();
        let (status, body) = token_with(&app, &assertion, &[]).await;

        // Assert
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{client_id}"
        );
        assert!(
            started.elapsed().as_secs() < 10,
            "{client_id} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_failing_jwks_uri_is_asked_once_however_many_assertions_name_it() {
    // Arrange: the client's key URL serves garbage.
    let app = spawn_app().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(Mutex::new("not a key set".to_owned()));
    register_uri(&app, "svc", &serve_counted_jwks(body, hits.clone()));
    let key = ClientKey::p256("k");
    let aud = token_endpoint(&app);

    // Act: a burst of assertions naming the client.
    for _ in 0..5 {
        let assertion = key.sign(Algorithm::ES256, &claims(&app, "svc", &aud));
        assert_eq!(token_with(&app, &assertion, &[]).await.0, 401);
    }

    // Assert: one fetch; the next only after the refetch interval.
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    app.clock.advance(11);
    let assertion = key.sign(Algorithm::ES256, &claims(&app, "svc", &aud));
    assert_eq!(token_with(&app, &assertion, &[]).await.0, 401);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_cli_refuses_private_keys_and_unusable_key_sets() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let key = ClientKey::rsa("k");
    let mut private = key.jwk.clone();
    private["d"] = json!("AAAA");
    for (what, set) in [
        ("a private key", json!({"keys": [private]}).to_string()),
        (
            "a symmetric key",
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
        ),
        ("no keys", json!({"keys": []}).to_string()),
        ("not JSON", "keys".to_owned()),
    ] {
        let file = dir.path().join("jwks.json");
        std::fs::write(&file, set).unwrap();
        let out = app.cli(
            &[
                "client",
                "add",
                "svc",
                "--grant-types",
                "client_credentials",
                "--jwks-file",
                file.to_str().unwrap(),
            ],
            None,
        );
        assert!(!out.status.success(), "{what} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("JWK Set"), "{what}: {stderr}");
    }
    let out = app.cli(
        &["client", "add", "svc", "--auth-method", "private_key_jwt"],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jwks-file or --jwks-uri"));
}

#[tokio::test]
async fn the_console_registers_and_edits_a_private_key_jwt_client() {
    // Arrange
    let (app, csrf) = crate::admin::admin_app().await;
    let (first, second) = (ClientKey::p256("one"), ClientKey::p256("two"));
    let aud = token_endpoint(&app);

    // Act: register with the first key.
    let res = app
        .admin_post(
            "/admin/clients",
            &[
                ("csrf_token", &csrf),
                ("client_id", "console-svc"),
                ("kind", "private_key_jwt"),
                ("grant_client_credentials", "yes"),
                ("scopes", "api"),
                ("jwks", &key_set(&[&first])),
            ],
            None,
        )
        .await;

    // Assert
    assert_eq!(res.status(), 303);
    let (_, html) = app.admin_page("/admin/clients/console-svc").await;
    assert!(
        html.contains("authenticates with private_key_jwt"),
        "{html}"
    );
    assert!(!html.contains("Rotate secret"), "{html}");
    let assertion = first.sign(Algorithm::ES256, &claims(&app, "console-svc", &aud));
    assert_eq!(token_with(&app, &assertion, &[]).await.0, 200);

    // Act: replace the key.
    let res = app
        .admin_post(
            "/admin/clients/console-svc",
            &[
                ("csrf_token", &csrf),
                ("name", "Console service"),
                ("grant_client_credentials", "yes"),
                ("scopes", "api"),
                ("jwks", &key_set(&[&second])),
            ],
            None,
        )
        .await;

    // Assert: only the new key works.
    assert_eq!(res.status(), 303);
    let old = first.sign(Algorithm::ES256, &claims(&app, "console-svc", &aud));
    assert_eq!(token_with(&app, &old, &[]).await.0, 401);
    let new = second.sign(Algorithm::ES256, &claims(&app, "console-svc", &aud));
    assert_eq!(token_with(&app, &new, &[]).await.0, 200);
}
