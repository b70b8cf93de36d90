//! Single-use credentials presented to two instances at once, and sign-in
//! throttling counted across instances.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::Value;

use super::{Visitor, field, instances, sign_in, status_json};
use crate::authorize::{AuthRequest, PASSWORD, SPA};
use crate::helpers::TestApp;

/// Presents `token` `n` times at once, alternating between the instances.
async fn refresh_everywhere(apps: &[TestApp], token: &str, n: usize) -> Vec<(u16, Value)> {
    join_all((0..n).map(|i| async move {
        status_json(apps[i % apps.len()].refresh("spa", token).await).await
    }))
    .await
}

fn is_invalid_grant((status, body): &(u16, Value)) -> bool {
    *status == 400 && body["error"] == "invalid_grant"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn a_refresh_token_raced_across_two_instances_in_strict_mode_lets_exactly_one_through() {
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, |s| s.refresh_reuse_grace = 0).await;
    for round in 0..3 {
        // Arrange
        let rt = field(&sign_in(&apps[round % 2], "openid").await, "refresh_token");

        // Act
        let results = refresh_everywhere(&apps, &rt, 20).await;

        // Assert
        assert!(
            results.iter().all(|(s, _)| *s < 500),
            "round {round}: {results:?}"
        );
        let ok: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(ok.len(), 1, "round {round}: {results:?}");
        let refused = results.iter().filter(|r| is_invalid_grant(r)).count();
        assert_eq!(refused, 19, "round {round}: {results:?}");
        // The reuse revoked the family, the winner's successor included.
        let successor = field(ok[0], "refresh_token");
        for app in &apps {
            let late = status_json(app.refresh("spa", &successor).await).await;
            assert!(is_invalid_grant(&late), "round {round}: {late:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn with_a_grace_period_a_refresh_token_raced_across_two_instances_gets_one_successor() {
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, |s| s.refresh_reuse_grace = 5).await;
    for round in 0..3 {
        // Arrange
        let rt = field(&sign_in(&apps[round % 2], "openid").await, "refresh_token");

        // Act
        let results = refresh_everywhere(&apps, &rt, 20).await;

        // Assert
        assert!(
            results.iter().all(|(s, _)| *s == 200),
            "round {round}: {results:?}"
        );
        let successors: HashSet<String> = results
            .iter()
            .map(|(_, b)| field(b, "refresh_token"))
            .collect();
        assert_eq!(successors.len(), 1, "round {round}: {successors:?}");
        // The family stays valid: the successor rotates on either instance.
        let successor = successors.into_iter().next().unwrap();
        let next = status_json(apps[(round + 1) % 2].refresh("spa", &successor).await).await;
        assert_eq!(next.0, 200, "round {round}: {next:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn an_authorization_code_raced_across_two_instances_is_redeemed_exactly_once() {
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, |_| {}).await;
    for round in 0..3 {
        // Arrange
        let req = AuthRequest::new("spa", SPA);
        let code = Visitor::new()
            .sign_in_for_code(&apps[round % 2], &req)
            .await;

        // Act
        let results = join_all((0..10).map(|i| {
            let (app, req, code) = (&apps[i % 2], &req, &code);
            async move { status_json(app.redeem(req, code).await).await }
        }))
        .await;

        // Assert
        assert!(
            results.iter().all(|(s, _)| *s < 500),
            "round {round}: {results:?}"
        );
        let ok = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let refused = results.iter().filter(|r| is_invalid_grant(r)).count();
        assert_eq!(refused, 9, "round {round}: {results:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn sign_in_failures_on_every_instance_count_towards_one_lock() {
    // Arrange: each instance shows its own sign-in form.
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, |_| {}).await;
    let mut pages = Vec::new();
    for app in &apps {
        let res = app.get(&format!("{}/login", app.address)).await;
        assert_eq!(res.status(), 200);
        pages.push(res.text().await.unwrap());
    }
    let attempt = |i: usize, password: &'static str| {
        let (app, page) = (&apps[i % 2], &pages[i % 2]);
        async move { app.submit_login(page, "alice", password).await.status() }
    };

    // Act: four failures, alternating between the instances...
    let mut before = Vec::new();
    for i in 0..4 {
        before.push(attempt(i, "wrong password").await);
    }
    // ...then the fifth, and the right password on both instances.
    let fifth = attempt(4, "wrong password").await;
    let right_on_a = attempt(0, PASSWORD).await;
    let right_on_b = attempt(1, PASSWORD).await;

    // Assert
    assert!(before.iter().all(|s| *s == 401), "{before:?}");
    assert_eq!(fifth, 429, "the fifth failure, counted over both, locks");
    assert_eq!(right_on_a, 429, "instance A honours the lock");
    assert_eq!(right_on_b, 429, "instance B honours the lock");
}
