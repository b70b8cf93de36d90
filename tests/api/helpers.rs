//! `spawn_app` and the helpers every integration test shares.

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use tessera::config::Settings;
use tessera::db::{self, DbOptions, DbPool};
use tessera::domain::client::{ClientKind, NewClient, register_client};
use tessera::domain::clock::Clock;
use tessera::domain::keys::SigningAlg;
use tessera::domain::user::{NewUserRequest, create_user};
use tessera::startup::Application;

use crate::test_db::TestDb;

static LOGGING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            .is_test(true)
            .try_init();
    }
});

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub clock: Clock,
    pub settings: Settings,
    pub pool: DbPool,
    /// The admin created at first start.
    pub admin_username: String,
    pub admin_password: String,
    // Last, so the pool and server are dropped before the database goes;
    // further instances may share it.
    _db: Arc<TestDb>,
}

/// Starts a server with test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after letting the test adjust its settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(Arc::new(TestDb::new()), adjust).await
}

/// Starts a server on `db`, which other servers may share. The admin
/// credentials are only known to the instance that created the admin.
pub async fn spawn_app_on(db: Arc<TestDb>, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_until(db, adjust, std::future::pending()).await
}

/// Starts a server on `db` that shuts down (gracefully) when `stop` resolves.
pub async fn spawn_app_until(
    db: Arc<TestDb>,
    adjust: impl FnOnce(&mut Settings),
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> TestApp {
    LazyLock::force(&LOGGING);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");
    let mut settings = Settings {
        issuer: address.clone(),
        bind: format!("127.0.0.1:{port}"),
        database: db.url.clone(),
        key_check_interval: 1,
        ..Settings::default()
    };
    adjust(&mut settings);
    settings.validate().expect("valid test settings");
    let clock = Clock::system();
    let app = Application::build_with_listener(settings.clone(), listener, clock.clone())
        .await
        .expect("build app");
    let (admin_username, admin_password) = app
        .initial_admin()
        .map(|a| (a.username.clone(), a.password.clone()))
        .unwrap_or_default();
    tokio::spawn(app.run_until(stop));
    let pool = db::open(&DbOptions::new(&settings.database, 2).unwrap()).expect("test pool");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    TestApp {
        address,
        http,
        clock,
        settings,
        pool,
        admin_username,
        admin_password,
        _db: db,
    }
}

impl TestApp {
    /// The same server seen from another browser: its own cookie jar.
    pub fn new_browser(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
            clock: self.clock.clone(),
            settings: self.settings.clone(),
            pool: self.pool.clone(),
            admin_username: self.admin_username.clone(),
            admin_password: self.admin_password.clone(),
            _db: self._db.clone(),
        }
    }

    /// Registers a confidential client through the library (as the CLI does)
    /// and returns its generated secret.
    pub fn add_confidential_client(&self, client_id: &str, grants: &str, scopes: &str) -> String {
        let mut conn = self.pool.get().unwrap();
        let registered = register_client(
            &mut conn,
            NewClient {
                client_id: client_id.into(),
                name: None,
                kind: ClientKind::GeneratedSecret,
                redirect_uris: if grants.contains("authorization_code") {
                    vec!["http://127.0.0.1:9/callback".into()]
                } else {
                    vec![]
                },
                post_logout_redirect_uris: vec![],
                grant_types: Some(vec![grants.into()]),
                scopes: Some(scopes.into()),
                consent_required: false,
                require_par: false,
                dpop_bound: false,
                backchannel_logout_uri: None,
                signing_alg: SigningAlg::RS256,
            },
            self.clock.now(),
        )
        .unwrap();
        registered.generated_secret.unwrap()
    }

    /// Creates a user through the library (as the CLI does).
    pub fn add_user(&self, username: &str, password: &str) {
        let mut conn = self.pool.get().unwrap();
        create_user(
            &mut conn,
            &NewUserRequest {
                username: username.into(),
                password: password.into(),
                email: Some(format!("{username}@example.com")),
                name: Some(format!("{username} Example")),
                is_admin: false,
                roles: vec![],
            },
            self.clock.now(),
        )
        .unwrap();
    }

    /// Registers a public client (an SPA) with one redirect URI and one
    /// post-logout redirect URI.
    pub fn add_public_client(&self, client_id: &str, redirect_uri: &str, consent: bool) {
        let mut conn = self.pool.get().unwrap();
        register_client(
            &mut conn,
            NewClient {
                client_id: client_id.into(),
                name: Some(format!("{client_id} app")),
                kind: ClientKind::Public,
                redirect_uris: vec![redirect_uri.into()],
                post_logout_redirect_uris: vec![format!("{redirect_uri}/signed-out")],
                grant_types: None,
                scopes: None,
                consent_required: consent,
                require_par: false,
                dpop_bound: false,
                backchannel_logout_uri: None,
                signing_alg: SigningAlg::RS256,
            },
            self.clock.now(),
        )
        .unwrap();
    }

    /// `GET /userinfo` with a bearer token.
    pub async fn userinfo(&self, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/userinfo", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// True when the stored refresh token has been revoked.
    pub fn refresh_token_revoked(&self, token: &str) -> bool {
        let hash = tessera::domain::secret::hash_secret(token);
        let state = tessera::db::refresh_tokens::find_refresh_token_state(
            &mut self.pool.get().unwrap(),
            &hash,
        )
        .unwrap()
        .expect("refresh token is stored");
        state.1.is_some()
    }

    /// `POST /token` with a raw form body and optional Basic credentials.
    pub async fn post_token(&self, body: &str, basic: Option<(&str, &str)>) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/token", self.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.unwrap()
    }

    /// A client_credentials access token, via client_secret_basic.
    pub async fn client_credentials_token(&self, id: &str, secret: &str) -> String {
        let res = self
            .post_token("grant_type=client_credentials", Some((id, secret)))
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET` a path and parse its JSON.
    pub async fn get_json(
        &self,
        path: &str,
    ) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        (status, headers, res.json().await.unwrap())
    }

    /// The published JWKS.
    pub async fn jwks(&self) -> JwkSet {
        let (status, _, body) = self.get_json("/jwks.json").await;
        assert_eq!(status, 200);
        serde_json::from_value(body).unwrap()
    }

    /// Polls the JWKS until it holds `n` keys of `alg` (the server notices
    /// CLI changes on its next key check), for at most ten seconds; returns
    /// those keys' kids.
    pub async fn wait_for_keys_of(&self, alg: &str, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let kids = kids_of(&self.jwks().await, alg);
            if kids.len() == n {
                return kids;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the JWKS never reached {n} {alg} keys");
    }

    /// Runs the `tessera` binary against this server's database.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.settings, args, stdin)
    }
}

/// Runs the `tessera` binary with `settings` passed through the environment.
pub fn run_cli(settings: &Settings, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args)
        .env("TESSERA_ISSUER", &settings.issuer)
        .env("TESSERA_BIND", &settings.bind)
        .env("TESSERA_DATABASE", &settings.database)
        .env("TESSERA_SECRET_KEY_FILE", &settings.secret_key_file)
        .env("TESSERA_JWKS_MAX_AGE", settings.jwks_max_age.to_string())
        .env(
            "TESSERA_KEY_CHECK_INTERVAL",
            settings.key_check_interval.to_string(),
        )
        .env(
            "TESSERA_ACCESS_TOKEN_TTL",
            settings.access_token_ttl.to_string(),
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run tessera");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// Standard output of a CLI run, asserting it succeeded.
pub fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tessera failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Verifies an access token against a JWKS the way an offline resource
/// server would: RS256 only, `typ: at+jwt`, issuer, audience and expiry.
pub fn verify_access_token(token: &str, jwks: &JwkSet, issuer: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    // The algorithm comes from the published key, never from the token.
    let mut validation = Validation::new(published_alg(jwk));
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("token verifies")
        .claims
}

/// The algorithm a published key declares (`alg` is always set on ours).
pub fn published_alg(jwk: &jsonwebtoken::jwk::Jwk) -> jsonwebtoken::Algorithm {
    let alg = jwk.common.key_algorithm.expect("alg is published");
    alg.to_string().parse().expect("a signing algorithm")
}

/// The kids of the published keys of `alg`, in JWKS order.
pub fn kids_of(jwks: &JwkSet, alg: &str) -> Vec<String> {
    jwks.keys
        .iter()
        .filter(|k| k.common.key_algorithm.is_some_and(|a| a.to_string() == alg))
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

/// The `kid` in a token's header.
pub fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}
