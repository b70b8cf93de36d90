//! A fake Tessera issuer on 127.0.0.1:0 (discovery, JWKS and revocation
//! feed, in the formats of OpenID Connect Discovery 1.0 §4 and RFC 7517
//! §5), test signing keys, and token minting.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use tessera_verifier::{FeedConfig, Verifier, VerifierConfig};

/// The audience every test verifier expects.
pub const AUDIENCE: &str = "reports-api";
/// The feed client's credentials (with characters that need form encoding).
pub const FEED_CLIENT: &str = "reports api";
pub const FEED_SECRET: &str = "s3cret:/+";

static LOGGING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        let _ =
            env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("debug"))
                .is_test(true)
                .try_init();
    }
});

/// An RSA signing key and its public forms.
pub struct TestKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Value,
    /// PKCS#1 DER of the public key: what an attacker might use as an HMAC
    /// secret.
    pub public_der: Vec<u8>,
}

// RSA key generation is slow, so each test binary makes its two keys once.
static KEYS: LazyLock<[TestKey; 2]> = LazyLock::new(|| [test_key("key-1"), test_key("key-2")]);

/// The key the fake issuer publishes from the start.
pub fn key1() -> &'static TestKey {
    &KEYS[0]
}

/// A second key, published only when a test rotates to it.
pub fn key2() -> &'static TestKey {
    &KEYS[1]
}

fn test_key(kid: &str) -> TestKey {
    let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = RsaPublicKey::from(&private);
    let b64 = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
    TestKey {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()),
        }),
        public_der: public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
    }
}

/// What the fake issuer serves; tests change it while it runs.
pub struct FakeState {
    pub issuer: String,
    /// The `issuer` the discovery document claims (normally `issuer`).
    pub discovery_issuer: Mutex<String>,
    pub advertise_feed: AtomicBool,
    pub keys: Mutex<Vec<Value>>,
    pub cache_control: Mutex<String>,
    pub jwks_status: AtomicU16,
    pub jwks_hits: AtomicUsize,
    /// Feed entries, each with its `cursor`, in cursor order.
    pub feed_entries: Mutex<Vec<Value>>,
    /// The `after` of every authorised feed request, in order.
    pub feed_afters: Mutex<Vec<String>>,
}

impl FakeState {
    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn publish(&self, key: &TestKey) {
        self.keys.lock().unwrap().push(key.jwk.clone());
    }

    /// Appends a feed entry with the next cursor.
    pub fn revoke(&self, kind: &str, value: &str, relevant_until: i64) {
        let mut entries = self.feed_entries.lock().unwrap();
        let cursor = entries.len() + 1;
        entries.push(json!({
            "cursor": cursor, "type": kind, "value": value, "relevant_until": relevant_until,
        }));
    }

    pub fn feed_afters(&self) -> Vec<String> {
        self.feed_afters.lock().unwrap().clone()
    }
}

/// A running fake issuer.
pub struct FakeIssuer {
    pub issuer: String,
    pub state: Arc<FakeState>,
}

/// Feed pages are small so that paging is exercised.
const FEED_PAGE: usize = 2;

/// Starts a fake issuer publishing [`key1`] with `max-age=300`.
pub async fn spawn_issuer() -> FakeIssuer {
    LazyLock::force(&LOGGING);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let state = Arc::new(FakeState {
        issuer: issuer.clone(),
        discovery_issuer: Mutex::new(issuer.clone()),
        advertise_feed: AtomicBool::new(true),
        keys: Mutex::new(vec![key1().jwk.clone()]),
        cache_control: Mutex::new("public, max-age=300".into()),
        jwks_status: AtomicU16::new(200),
        jwks_hits: AtomicUsize::new(0),
        feed_entries: Mutex::new(vec![]),
        feed_afters: Mutex::new(vec![]),
    });
    let data = web::Data::from(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route(
                "/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/jwks.json", web::get().to(jwks))
            .route("/revocations", web::get().to(feed))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    FakeIssuer { issuer, state }
}

async fn discovery(state: web::Data<FakeState>) -> HttpResponse {
    let mut doc = json!({
        "issuer": *state.discovery_issuer.lock().unwrap(),
        "jwks_uri": format!("{}/jwks.json", state.issuer),
    });
    if state.advertise_feed.load(Ordering::SeqCst) {
        doc["tessera_revocation_feed_endpoint"] = json!(format!("{}/revocations", state.issuer));
    }
    HttpResponse::Ok().json(doc)
}

async fn jwks(state: web::Data<FakeState>) -> HttpResponse {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(state.jwks_status.load(Ordering::SeqCst)).unwrap();
    if !status.is_success() {
        return HttpResponse::build(status).finish();
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", state.cache_control.lock().unwrap().clone()))
        .json(json!({ "keys": *state.keys.lock().unwrap() }))
}

async fn feed(
    state: web::Data<FakeState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let expected = format!("Basic {}", STANDARD.encode("reports+api:s3cret%3A%2F%2B"));
    if req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return HttpResponse::Unauthorized().finish();
    }
    let after_text = query.get("after").cloned().unwrap_or_default();
    state.feed_afters.lock().unwrap().push(after_text.clone());
    let after: u64 = after_text.parse().unwrap_or(0);
    let entries: Vec<Value> = state
        .feed_entries
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["cursor"].as_u64().unwrap() > after)
        .take(FEED_PAGE)
        .cloned()
        .collect();
    let next_cursor = entries
        .last()
        .map_or(after, |e| e["cursor"].as_u64().unwrap());
    HttpResponse::Ok().json(json!({ "entries": entries, "next_cursor": next_cursor }))
}

impl FakeIssuer {
    /// A verifier for this issuer with default settings and no feed.
    pub async fn verifier(&self) -> Verifier {
        Verifier::discover(self.config()).await.unwrap()
    }

    /// A verifier following this issuer's feed.
    pub async fn verifier_with_feed(&self) -> Verifier {
        Verifier::discover(self.config_with_feed()).await.unwrap()
    }

    pub fn config(&self) -> VerifierConfig {
        VerifierConfig::new(&self.issuer, AUDIENCE)
    }

    pub fn config_with_feed(&self) -> VerifierConfig {
        self.config()
            .with_revocation_feed(FeedConfig::new(FEED_CLIENT, FEED_SECRET))
    }

    /// Valid claims from this issuer for [`AUDIENCE`], for five minutes.
    pub fn claims(&self) -> Value {
        let now = now();
        json!({
            "iss": self.issuer, "sub": "alice", "aud": AUDIENCE,
            "exp": now + 300, "iat": now, "jti": format!("jti-{}", rand::random::<u64>()),
            "client_id": "reports-spa", "scope": "openid reports:read",
            "roles": ["auditor"], "sid": "session-1", "auth_time": now - 60,
        })
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Signs `claims` as an access token (RS256, `typ: at+jwt`) with `key`.
pub fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid.clone());
    sign_with(&header, &key.encoding, claims)
}

/// Signs with any header and key.
pub fn sign_with(header: &Header, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// An unsigned token with the given header, as `alg: none` would make.
pub fn unsigned(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.", part(header), part(claims))
}
