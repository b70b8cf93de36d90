//! DPoP (RFC 9449): tokens bound to a key the client holds, a fresh proof
//! on every request, replays refused on every instance, server nonces for
//! clients registered with `--dpop`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::authorize::{AuthRequest, SPA, app_with_spa, location, query_param};
use crate::helpers::{TestApp, spawn_app, stdout_ok};

/// A client's P-256 proof key.
pub struct ProofKey {
    signer: EncodingKey,
    jwk: Value,
}

/// What a proof says besides its key.
#[derive(Clone)]
pub struct ProofFor<'a> {
    pub htm: &'a str,
    pub htu: String,
    pub token: Option<&'a str>,
    pub nonce: Option<&'a str>,
    /// The server's time (its clock only moves when a test moves it).
    pub iat: i64,
}

impl ProofKey {
    pub fn new() -> Self {
        let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        ProofKey {
            signer: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
        }
    }

    /// A fresh proof (new `jti`, `iat` now) for one request.
    pub fn proof(&self, p: &ProofFor) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value::<Jwk>(self.jwk.clone()).unwrap());
        let mut claims = json!({
            "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            "htm": p.htm,
            "htu": p.htu,
            "iat": p.iat,
        });
        if let Some(t) = p.token {
            claims["ath"] = URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())).into();
        }
        if let Some(n) = p.nonce {
            claims["nonce"] = n.into();
        }
        jsonwebtoken::encode(&header, &claims, &self.signer).unwrap()
    }

    pub fn thumbprint(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk.clone()).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }
}

pub(crate) fn at_token(app: &TestApp) -> ProofFor<'static> {
    ProofFor {
        htm: "POST",
        htu: format!("{}/token", app.address),
        token: None,
        nonce: None,
        iat: app.clock.now(),
    }
}

impl TestApp {
    /// `POST /token` with a form, optional Basic credentials and proof.
    pub(crate) async fn token_with_proof(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        proof: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("{}/token", self.address)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send().await.unwrap()
    }

    /// `GET /userinfo` with `Authorization: <scheme> <token>` and a proof.
    async fn userinfo_with(
        &self,
        scheme: &str,
        token: &str,
        proof: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("{}/userinfo", self.address))
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send().await.unwrap()
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_proof_binds_a_client_credentials_token_and_cannot_be_replayed() {
    // Arrange
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let key = ProofKey::new();
    let form = [("grant_type", "client_credentials")];
    let proof = key.proof(&at_token(&app));

    // Act
    let res = app
        .token_with_proof(&form, Some(("svc", &secret)), Some(&proof))
        .await;

    // Assert: a DPoP token bound to the key's thumbprint.
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["cnf"]["jkt"], key.thumbprint());
    let introspected = app.active(("svc", &secret), token).await;
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], key.thumbprint());

    // The same proof again is refused.
    let replay = app
        .token_with_proof(&form, Some(("svc", &secret)), Some(&proof))
        .await;
    assert_eq!(error_of(replay).await, (400, "invalid_dpop_proof".into()));

    // Proofs for another request are refused.
    let other_url = ProofFor {
        htu: format!("{}/par", app.address),
        ..at_token(&app)
    };
    let other_method = ProofFor {
        htm: "GET",
        ..at_token(&app)
    };
    for p in [other_url, other_method] {
        let res = app
            .token_with_proof(&form, Some(("svc", &secret)), Some(&key.proof(&p)))
            .await;
        assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    }
    let garbage = app
        .token_with_proof(&form, Some(("svc", &secret)), Some("not.a.proof"))
        .await;
    assert_eq!(error_of(garbage).await, (400, "invalid_dpop_proof".into()));

    // Without a proof nothing changes: a bearer token.
    let res = app
        .token_with_proof(&form, Some(("svc", &secret)), None)
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        claims_of(body["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
}

/// Signs alice in to the SPA and redeems the code with a proof by `key`.
async fn dpop_sign_in(app: &TestApp, key: &ProofKey) -> Value {
    let mut req = AuthRequest::new("spa", SPA);
    req.scope = "openid profile offline_access".into();
    let code = app.sign_in_for_code(&req, "alice").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA),
        ("client_id", "spa"),
        ("code_verifier", req.verifier.as_str()),
    ];
    let res = app
        .token_with_proof(&form, None, Some(&key.proof(&at_token(app))))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_public_clients_tokens_and_refresh_tokens_are_bound_to_its_key() {
    // Arrange
    let app = app_with_spa().await;
    let key = ProofKey::new();
    let tokens = dpop_sign_in(&app, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.thumbprint()
    );
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", "spa"),
    ];

    // Act + Assert: another key, or none, cannot use the refresh token...
    let thief = ProofKey::new();
    let res = app
        .token_with_proof(&refresh, None, Some(&thief.proof(&at_token(&app))))
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    let res = app.token_with_proof(&refresh, None, None).await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));

    // ...and nothing was spent: the right key still rotates it, bound again.
    let res = app
        .token_with_proof(&refresh, None, Some(&key.proof(&at_token(&app))))
        .await;
    assert_eq!(res.status(), 200);
    let next: Value = res.json().await.unwrap();
    assert_eq!(next["token_type"], "DPoP");
    assert_eq!(
        claims_of(next["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.thumbprint()
    );
    let successor = [
        ("grant_type", "refresh_token"),
        ("refresh_token", next["refresh_token"].as_str().unwrap()),
        ("client_id", "spa"),
    ];
    let res = app
        .token_with_proof(&successor, None, Some(&thief.proof(&at_token(&app))))
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
}

#[tokio::test]
async fn userinfo_takes_a_bound_token_only_with_a_proof_by_its_key_for_this_request() {
    // Arrange
    let app = app_with_spa().await;
    let key = ProofKey::new();
    let tokens = dpop_sign_in(&app, &key).await;
    let token = tokens["access_token"].as_str().unwrap();
    let userinfo = ProofFor {
        htm: "GET",
        htu: format!("{}/userinfo", app.address),
        token: Some(token),
        nonce: None,
        iat: app.clock.now(),
    };

    // Act + Assert: the right proof works.
    let res = app
        .userinfo_with("DPoP", token, Some(&key.proof(&userinfo)))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["preferred_username"], "alice");

    // Everything else is refused with a DPoP challenge naming the algorithms.
    let thief = ProofKey::new();
    let wrong_ath = ProofFor {
        token: Some("another token"),
        ..userinfo.clone()
    };
    let wrong_htm = ProofFor {
        htm: "POST",
        ..userinfo.clone()
    };
    let wrong_htu = ProofFor {
        htu: format!("{}/token", app.address),
        ..userinfo.clone()
    };
    let cases = [
        ("as Bearer", "Bearer", None, "invalid_token"),
        ("without a proof", "DPoP", None, "invalid_dpop_proof"),
        (
            "another key",
            "DPoP",
            Some(thief.proof(&userinfo)),
            "invalid_dpop_proof",
        ),
        (
            "wrong ath",
            "DPoP",
            Some(key.proof(&wrong_ath)),
            "invalid_dpop_proof",
        ),
        (
            "wrong htm",
            "DPoP",
            Some(key.proof(&wrong_htm)),
            "invalid_dpop_proof",
        ),
        (
            "wrong htu",
            "DPoP",
            Some(key.proof(&wrong_htu)),
            "invalid_dpop_proof",
        ),
    ];
    for (case, scheme, proof, error) in cases {
        let res = app.userinfo_with(scheme, token, proof.as_deref()).await;
        assert_eq!(res.status(), 401, "{case}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("DPoP "), "{case}: {challenge}");
        assert!(
            challenge.contains(r#"algs="ES256 EdDSA RS256 PS256""#),
            "{case}: {challenge}"
        );
        assert!(
            challenge.contains(&format!(r#"error="{error}""#)),
            "{case}: {challenge}"
        );
    }
    // A proof is good for one request only.
    let once = key.proof(&userinfo);
    assert_eq!(
        app.userinfo_with("DPoP", token, Some(&once)).await.status(),
        200
    );
    assert_eq!(
        app.userinfo_with("DPoP", token, Some(&once)).await.status(),
        401
    );
}

#[tokio::test]
async fn a_dpop_client_must_prove_a_key_with_a_server_nonce() {
    // Arrange: registered with --dpop through the CLI.
    let app = spawn_app().await;
    let out = stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "bound",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
            "--dpop",
        ],
        None,
    ));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    let creds = Some(("bound", secret.as_str()));
    let form = [("grant_type", "client_credentials")];
    let key = ProofKey::new();

    // Act + Assert: no proof, no token.
    let res = app.token_with_proof(&form, creds, None).await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));

    // A proof without a nonce gets one to use.
    let res = app
        .token_with_proof(&form, creds, Some(&key.proof(&at_token(&app))))
        .await;
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(error_of(res).await, (400, "use_dpop_nonce".into()));
    let forged = ProofFor {
        nonce: Some("1.forged"),
        ..at_token(&app)
    };
    let res = app
        .token_with_proof(&form, creds, Some(&key.proof(&forged)))
        .await;
    assert_eq!(error_of(res).await, (400, "use_dpop_nonce".into()));

    // With it, a bound token and the nonce for next time.
    let with_nonce = ProofFor {
        nonce: Some(&nonce),
        ..at_token(&app)
    };
    let res = app
        .token_with_proof(&form, creds, Some(&key.proof(&with_nonce)))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("dpop-nonce"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
}

#[tokio::test]
async fn discovery_lists_the_proof_algorithms() {
    let app = spawn_app().await;
    let (_, _, doc) = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256", "PS256"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn a_proof_used_on_one_instance_is_refused_on_another_and_nonces_work_everywhere() {
    // Arrange: two instances behind one issuer, a client registered with --dpop.
    let db = std::sync::Arc::new(crate::postgres_or_skip!());
    let apps = crate::instances::instances(&db, 2, |_| {}).await;
    let (a, b) = (&apps[0], &apps[1]);
    stdout_ok(&a.cli(
        &[
            "client",
            "add",
            "svc",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "api:read",
            "--secret-stdin",
            "--dpop",
        ],
        Some("a-client-secret-of-at-least-32-characters\n"),
    ));
    let creds = Some(("svc", "a-client-secret-of-at-least-32-characters"));
    let form = [("grant_type", "client_credentials")];
    let key = ProofKey::new();
    // Both instances answer for the first one's issuer.
    let at = |nonce| ProofFor {
        htu: format!("{}/token", a.address),
        nonce,
        ..at_token(a)
    };

    // Act: A hands out a nonce; a proof carrying it is accepted by B...
    let res = a
        .token_with_proof(&form, creds, Some(&key.proof(&at(None))))
        .await;
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = key.proof(&at(Some(&nonce)));
    let on_b = b.token_with_proof(&form, creds, Some(&proof)).await;

    // Assert: ...and then refused by A, which never saw it.
    assert_eq!(on_b.status(), 200);
    let on_a = a.token_with_proof(&form, creds, Some(&proof)).await;
    assert_eq!(error_of(on_a).await, (400, "invalid_dpop_proof".into()));
}

#[tokio::test]
async fn the_console_requires_dpop_for_a_client() {
    // Arrange
    let (app, csrf) = crate::admin::admin_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let form = [("grant_type", "client_credentials")];
    let (_, html) = app.admin_page("/admin/clients/svc").await;
    assert!(html.contains("Require DPoP-bound tokens"), "{html}");

    // Act
    let res = app
        .admin_post(
            "/admin/clients/svc",
            &[
                ("csrf_token", csrf.as_str()),
                ("name", "svc"),
                ("grant_client_credentials", "yes"),
                ("scopes", "api:read"),
                ("dpop", "yes"),
            ],
            None,
        )
        .await;

    // Assert: saved, shown, and enforced.
    assert_eq!(res.status(), 303);
    let (_, html) = app.admin_page("/admin/clients/svc").await;
    assert!(
        html.contains(r#"name="dpop" value="yes" checked"#),
        "{html}"
    );
    let res = app
        .token_with_proof(&form, Some(("svc", &secret)), None)
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
}

#[tokio::test]
async fn a_family_started_without_dpop_is_bound_by_its_first_proof() {
    // Arrange: tokens from a plain code flow.
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    let key = ProofKey::new();
    let refresh = |rt: &str| {
        [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", rt.to_owned()),
            ("client_id", "spa".to_owned()),
        ]
    };

    // Act: the first refresh proves a key.
    let form = refresh(tokens["refresh_token"].as_str().unwrap());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app
        .token_with_proof(&pairs, None, Some(&key.proof(&at_token(&app))))
        .await;
    assert_eq!(res.status(), 200);
    let next: Value = res.json().await.unwrap();

    // Assert: from then on the family needs that key.
    let form = refresh(next["refresh_token"].as_str().unwrap());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.token_with_proof(&pairs, None, None).await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    let res = app
        .token_with_proof(&pairs, None, Some(&key.proof(&at_token(&app))))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_bound_refresh_token_within_the_reuse_grace_still_needs_its_key() {
    // Arrange: a grace period, a bound family rotated once.
    let app = crate::refresh::app_with(30).await;
    let key = ProofKey::new();
    let tokens = dpop_sign_in(&app, &key).await;
    let rt0 = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt0),
        ("client_id", "spa"),
    ];
    let first = app
        .token_with_proof(&form, None, Some(&key.proof(&at_token(&app))))
        .await;
    assert_eq!(first.status(), 200);

    // Act + Assert: the retry path refuses another key, accepts the right one.
    let thief = ProofKey::new();
    let res = app
        .token_with_proof(&form, None, Some(&thief.proof(&at_token(&app))))
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    let res = app
        .token_with_proof(&form, None, Some(&key.proof(&at_token(&app))))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_bound_token_in_the_userinfo_form_body_is_refused() {
    let app = app_with_spa().await;
    let key = ProofKey::new();
    let tokens = dpop_sign_in(&app, &key).await;
    let res = app
        .http
        .post(format!("{}/userinfo", app.address))
        .form(&[("access_token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
}

#[tokio::test]
async fn proofs_of_unknown_clients_stale_proofs_and_doubled_headers_are_not_recorded() {
    // Arrange
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let form = [("grant_type", "client_credentials")];
    let key = ProofKey::new();
    let recorded = || tessera::db::count_rows(&mut app.pool.get().unwrap(), "dpop_proofs").unwrap();

    // Act + Assert: an unknown client or a wrong secret records nothing.
    let proof = key.proof(&at_token(&app));
    let res = app
        .token_with_proof(&form, Some(("nobody", &secret)), Some(&proof))
        .await;
    assert_eq!(res.status(), 401);
    let res = app
        .token_with_proof(&form, Some(("svc", "wrong")), Some(&proof))
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(recorded(), 0);
    // The same proof is still good for the real client, once.
    let res = app
        .token_with_proof(&form, Some(("svc", &secret)), Some(&proof))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(recorded(), 1);

    // Too old, from the future, or two proofs at once.
    for iat in [app.clock.now() - 61, app.clock.now() + 30] {
        let stale = ProofFor {
            iat,
            ..at_token(&app)
        };
        let res = app
            .token_with_proof(&form, Some(("svc", &secret)), Some(&key.proof(&stale)))
            .await;
        assert_eq!(
            error_of(res).await,
            (400, "invalid_dpop_proof".into()),
            "{iat}"
        );
    }
    let res = app
        .http
        .post(format!("{}/token", app.address))
        .basic_auth("svc", Some(&secret))
        .form(&form)
        .header("DPoP", key.proof(&at_token(&app)))
        .header("DPoP", key.proof(&at_token(&app)))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    assert_eq!(recorded(), 1);
}

#[tokio::test]
async fn an_eddsa_proof_key_binds_tokens_too() {
    use aws_lc_rs::signature::Ed25519KeyPair;
    // Arrange: an Ed25519 key (RFC 8037).
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(serde_json::from_value::<Jwk>(jwk.clone()).unwrap());
    let claims = json!({"jti": "e1", "htm": "POST", "htu": format!("{}/token", app.address),
        "iat": app.clock.now()});
    let proof =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(pkcs8.as_ref())).unwrap();

    // Act
    let res = app
        .token_with_proof(
            &[("grant_type", "client_credentials")],
            Some(("svc", &secret)),
            Some(&proof),
        )
        .await;

    // Assert
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let expected = serde_json::from_value::<Jwk>(jwk)
        .unwrap()
        .thumbprint(ThumbprintHash::SHA256)
        .unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        expected
    );
}

#[tokio::test]
async fn of_many_requests_at_once_with_one_proof_exactly_one_is_accepted() {
    // Arrange: twenty requests with the same proof and ten with proofs of
    // their own, all sent at once (proofs are recorded in batches).
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let key = ProofKey::new();
    let same = key.proof(&at_token(&app));
    let own: Vec<String> = (0..10).map(|_| key.proof(&at_token(&app))).collect();
    let mut sent = tokio::task::JoinSet::new();
    for (i, proof) in std::iter::repeat_n(same, 20).chain(own).enumerate() {
        let (http, url, secret) = (
            app.http.clone(),
            format!("{}/token", app.address),
            secret.clone(),
        );
        sent.spawn(async move {
            let res = http
                .post(url)
                .basic_auth("svc", Some(secret))
                .header("DPoP", proof)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            (i < 20, res.status().as_u16())
        });
    }

    // Act
    let outcomes = sent.join_all().await;

    // Assert
    let accepted = |same: bool| {
        outcomes
            .iter()
            .filter(|(s, status)| *s == same && *status == 200)
            .count()
    };
    assert_eq!(accepted(true), 1, "{outcomes:?}");
    assert_eq!(accepted(false), 10, "{outcomes:?}");
}

#[tokio::test]
async fn the_purge_removes_exactly_the_expired_proofs_across_pages() {
    use tessera::db::dpop_proofs::{delete_expired_dpop_proofs, insert_dpop_proof};
    // Arrange: more records than one page, for several keys, expired and
    // not, interleaved in key order.
    let app = spawn_app().await;
    let conn = &mut app.pool.get().unwrap();
    let now = app.clock.now();
    let (mut expired, mut live) = (0, 0);
    for k in 0..3 {
        for i in 0..250 {
            let old = (i + k) % 3 == 0;
            let expires_at = if old { now - 1 } else { now + 60 };
            assert!(
                insert_dpop_proof(
                    conn,
                    &format!("key-{k}"),
                    &format!("jti-{i:03}"),
                    expires_at
                )
                .unwrap()
            );
            if old { expired += 1 } else { live += 1 }
        }
    }

    // Act: pages of 100 keys.
    let deleted = delete_expired_dpop_proofs(conn, now, 100).unwrap();

    // Assert: every expired record went, every live one stays and still
    // refuses its replay.
    assert_eq!(deleted, expired);
    assert_eq!(
        tessera::db::count_rows(conn, "dpop_proofs").unwrap(),
        live as i64
    );
    assert!(!insert_dpop_proof(conn, "key-0", "jti-001", now + 60).unwrap());
    assert!(insert_dpop_proof(conn, "key-0", "jti-000", now + 60).unwrap());
    assert_eq!(delete_expired_dpop_proofs(conn, now, 100).unwrap(), 0);
}

/// `POST /par` of `req` with a proof by `key`, if any.
async fn push_with_proof(
    app: &TestApp,
    req: &AuthRequest,
    key: Option<&ProofKey>,
) -> reqwest::Response {
    let mut push = app
        .http
        .post(format!("{}/par", app.address))
        .form(&req.pushed_form(app));
    if let Some(k) = key {
        let at_par = ProofFor {
            htu: format!("{}/par", app.address),
            ..at_token(app)
        };
        push = push.header("DPoP", k.proof(&at_par));
    }
    push.send().await.unwrap()
}

/// Redeems `code` of `req` with a proof by `key`, if any.
async fn redeem_with(
    app: &TestApp,
    req: &AuthRequest,
    code: &str,
    key: Option<&ProofKey>,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", SPA),
        ("client_id", "spa"),
        ("code_verifier", req.verifier.as_str()),
    ];
    let proof = key.map(|k| k.proof(&at_token(app)));
    app.token_with_proof(&form, None, proof.as_deref()).await
}

/// A code bound to `key` is refused without a proof and with a proof by
/// another key, and left unspent: a proof by `key` then redeems it.
async fn assert_bound_to(app: &TestApp, req: &AuthRequest, code: &str, key: &ProofKey) {
    let res = redeem_with(app, req, code, None).await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    let res = redeem_with(app, req, code, Some(&ProofKey::new())).await;
    assert_eq!(error_of(res).await, (400, "invalid_dpop_proof".into()));
    let res = redeem_with(app, req, code, Some(key)).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(
        claims_of(tokens["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.thumbprint()
    );
}

#[tokio::test]
async fn dpop_jkt_binds_the_authorization_code_to_one_key() {
    // Arrange
    let app = app_with_spa().await;
    let key = ProofKey::new();
    let req = AuthRequest::new("spa", SPA).with("dpop_jkt", &key.thumbprint());

    // Act
    let code = app.sign_in_for_code(&req, "alice").await;

    // Assert
    assert_bound_to(&app, &req, &code, &key).await;
    // A value that is no SHA-256 thumbprint is an error for the client.
    let bad = AuthRequest::new("spa", SPA).with("dpop_jkt", "not-a-thumbprint");
    let res = app.get(&bad.url(&app)).await;
    let to = location(&res);
    assert!(to.starts_with(SPA), "{to}");
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn a_proof_or_dpop_jkt_sent_with_a_pushed_request_binds_its_code() {
    // Arrange
    let app = app_with_spa().await;
    let key = ProofKey::new();
    let other = ProofKey::new();
    let by_proof = AuthRequest::new("spa", SPA);
    let by_jkt = AuthRequest::new("spa", SPA).with("dpop_jkt", &key.thumbprint());
    let both_differ = AuthRequest::new("spa", SPA).with("dpop_jkt", &other.thumbprint());

    // Act
    let pushed = [
        push_with_proof(&app, &by_proof, Some(&key)).await,
        push_with_proof(&app, &by_jkt, None).await,
    ];
    let refused = push_with_proof(&app, &both_differ, Some(&key)).await;

    // Assert: either way the code is the key's; a dpop_jkt naming another
    // key than the proof is refused (RFC 9449 §10.1).
    assert_eq!(error_of(refused).await, (400, "invalid_dpop_proof".into()));
    for (i, (res, req)) in pushed.into_iter().zip([&by_proof, &by_jkt]).enumerate() {
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let request_uri = body["request_uri"].as_str().unwrap();
        // Alice signs in for the first; the second finds her session.
        let to = if i == 0 {
            app.sign_in_by_reference("spa", request_uri).await
        } else {
            location(&app.get(&app.by_reference("spa", request_uri)).await)
        };
        let code = query_param(&to, "code").unwrap();
        assert_bound_to(&app, req, &code, &key).await;
    }
}
