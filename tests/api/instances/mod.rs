//! Several `tessera serve` instances on one PostgreSQL database: single-use
//! tokens raced across instances, start-up, rotation and housekeeping run
//! by several at once, the revocation feed, caches, and a database outage.
//!
//! Every test needs a PostgreSQL server (`TESSERA_TEST_POSTGRES`), so every
//! test is ignored by default; `--include-ignored` without a server skips
//! them with a printed reason. Each test gets a fresh database.

mod caches;
mod coordination;
mod feed;
mod outage;
mod races;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera::config::Settings;

use crate::authorize::{AuthRequest, PASSWORD, SPA, hidden_field, location, query_param};
use crate::helpers::{TestApp, spawn_app_on};
use crate::test_db::TestDb;

/// `n` instances on `db`, started one after another, so the first one
/// creates (and knows) the initial admin. Like instances behind one load
/// balancer they share one issuer (the first one's address), so a token
/// from one is valid at every other. The database gets user alice and the
/// public client `spa`.
pub async fn instances(db: &Arc<TestDb>, n: usize, adjust: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let first = spawn_app_on(db.clone(), &adjust).await;
    let issuer = first.address.clone();
    let mut apps = vec![first];
    for _ in 1..n {
        let app = spawn_app_on(db.clone(), |s| {
            adjust(s);
            s.issuer = issuer.clone();
        })
        .await;
        apps.push(app);
    }
    apps[0].add_user("alice", PASSWORD);
    apps[0].add_public_client("spa", SPA, false);
    apps
}

/// A browser of its own (its own cookie jar), so every sign-in starts a new
/// session whichever instance it goes to.
pub struct Visitor {
    http: reqwest::Client,
}

impl Visitor {
    pub fn new() -> Self {
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
        }
    }

    /// Signs alice in on `app` through the browser flow; returns the code.
    pub async fn sign_in_for_code(&self, app: &TestApp, req: &AuthRequest) -> String {
        let page = self.http.get(req.url(app)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let res = self
            .http
            .post(format!("{}/login", app.address))
            .form(&[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf_token", &hidden_field(&html, "csrf_token")),
                ("return_to", &hidden_field(&html, "return_to")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let back = self
            .http
            .get(format!("{}{}", app.address, location(&res)))
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), 302);
        query_param(&location(&back), "code").expect("a code")
    }
}

/// Signs alice in on `app` in a new browser and redeems the code there.
pub async fn sign_in(app: &TestApp, scope: &str) -> Value {
    let mut req = AuthRequest::new("spa", SPA);
    req.scope = scope.into();
    let code = Visitor::new().sign_in_for_code(app, &req).await;
    let (status, body) = status_json(app.redeem(&req, &code).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A string field of a JSON body.
pub fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .to_owned()
}

/// The status and JSON body of a response; a body that is not JSON (say, an
/// HTML 500) comes back as a JSON string, so a failure shows what came.
pub async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Polls `check` every 100 ms until it holds; how long that took, or None
/// when `within` passed first.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The current Unix time, for calls into the library.
pub fn unix_now() -> i64 {
    tessera::domain::clock::Clock::system().now()
}
