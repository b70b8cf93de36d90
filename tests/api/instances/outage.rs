//! An instance that loses its database answers 503 quickly, never hangs,
//! and recovers on its own once the database is back.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::{eventually, field, instances, sign_in, status_json};
use crate::helpers::TestApp;

/// A TCP proxy in front of PostgreSQL with a switch: when down, every
/// proxied connection is cut and new ones are closed as soon as accepted.
struct DbProxy {
    port: u16,
    down: watch::Sender<bool>,
}

impl DbProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (down, watching) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if *watching.borrow() {
                    continue;
                }
                let (upstream, mut cut) = (upstream.clone(), watching.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        DbProxy { port, down }
    }

    fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
}

/// `fut`, or a panic naming `what` if it takes longer than ten seconds.
async fn within_10s<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for 10 s"))
}

async fn healthz(app: &TestApp) -> (u16, Duration) {
    let start = Instant::now();
    let res = within_10s("/healthz", app.get(&format!("{}/healthz", app.address))).await;
    (res.status().as_u16(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn an_instance_cut_off_from_the_database_answers_503_quickly_and_recovers() {
    // Arrange: instance A reaches PostgreSQL through the proxy, B directly.
    let db = Arc::new(crate::postgres_or_skip!());
    let mut via_proxy = url::Url::parse(&db.url).unwrap();
    let upstream = format!(
        "{}:{}",
        via_proxy.host_str().unwrap(),
        via_proxy.port().unwrap_or(5432)
    );
    let proxy = DbProxy::start(upstream).await;
    via_proxy.set_port(Some(proxy.port)).unwrap();
    let apps = instances(&db, 1, |s| {
        s.database = via_proxy.to_string();
        s.database_connect_timeout = 1;
        s.client_cache_ttl = 0;
    })
    .await;
    let a = &apps[0];
    let b = crate::helpers::spawn_app_on(db.clone(), |s| s.issuer = a.address.clone()).await;
    let secret = a.add_confidential_client("svc", "client_credentials", "api:read");
    a.client_credentials_token("svc", &secret).await;
    let refresh_token = field(&sign_in(a, "openid offline_access").await, "refresh_token");

    // Act: the database goes away for A.
    proxy.set_down(true);
    let mut health = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        health.push(healthz(a).await);
        let start = Instant::now();
        let res = within_10s(
            "POST /token",
            a.post_token("grant_type=client_credentials", Some(("svc", &secret))),
        )
        .await;
        let retry_after = res.headers().get("retry-after").cloned();
        tokens.push((status_json(res).await, retry_after, start.elapsed()));
    }
    let b_meanwhile = b.client_credentials_token("svc", &secret).await;
    let (a_ready, _, a_why) = within_10s("/readyz", a.get_json("/readyz")).await;
    let (b_ready, _, _) = b.get_json("/readyz").await;

    // Assert
    for (status, took) in &health {
        assert_eq!(*status, 503, "{health:?}");
        assert!(*took < Duration::from_secs(5), "{health:?}");
    }
    for ((status, body), retry_after, took) in &tokens {
        assert_eq!(*status, 503, "{tokens:?}");
        assert_eq!(body["error"], "temporarily_unavailable", "{tokens:?}");
        assert!(retry_after.is_some(), "{tokens:?}");
        assert!(*took < Duration::from_secs(5), "{tokens:?}");
    }
    assert!(!b_meanwhile.is_empty(), "B, still connected, keeps working");
    assert_eq!(a_ready, 503);
    assert_eq!(a_why["reason"], "database unavailable");
    assert_eq!(b_ready, 200);

    // Act: the database comes back.
    proxy.set_down(false);

    // Assert: A recovers by itself, with everything written before.
    let healthy = eventually(Duration::from_secs(15), || async {
        healthz(a).await.0 == 200
    })
    .await;
    assert!(healthy.is_some(), "A never became healthy again");
    a.client_credentials_token("svc", &secret).await;
    let refreshed = status_json(a.refresh("spa", &refresh_token).await).await;
    assert_eq!(refreshed.0, 200, "{refreshed:?}");
}
