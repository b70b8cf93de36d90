//! The revocation feed when entries are written by several instances: ids
//! are assigned at insert but visible at commit, and a poller following the
//! cursor must still see every entry exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;
use tessera::db::revocation_events::{
    RevocationEventRow, insert_revocation_event, list_revocation_events_after,
};
use tessera::db::{self, DbOptions, QueryError};

use super::{field, instances, sign_in, unix_now};
use crate::helpers::verify_access_token;

#[test]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
fn the_revocation_feed_never_skips_an_entry_committed_out_of_order() {
    // Arrange
    let db = crate::postgres_or_skip!();
    let pool = db::open(&DbOptions::new(&db.url, 4).unwrap()).unwrap();
    let now = unix_now();
    let until = now + 3600;
    let (inserted_tx, inserted_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (b_done_tx, b_done_rx) = mpsc::channel();
    let pool = &pool;

    let (b_waited_for_a, while_a_open, seen, tail, b_result) = std::thread::scope(|s| {
        // Act: A inserts an entry and keeps its transaction open...
        let a = s.spawn(move || {
            let mut conn = pool.get().unwrap();
            db::immediate(&mut conn, |c| -> Result<(), QueryError> {
                insert_revocation_event(c, "sid", "from-a", until, now)?;
                let _ = inserted_tx.send(());
                // A retried attempt would wait here in vain: fail instead.
                release_rx
                    .recv_timeout(Duration::from_secs(30))
                    .map_err(|_| QueryError::RollbackTransaction)
            })
        });
        inserted_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("A inserted its entry");
        // ...while B inserts another.
        s.spawn(move || {
            let mut conn = pool.get().unwrap();
            let r = insert_revocation_event(&mut conn, "sid", "from-b", until, now);
            let _ = b_done_tx.send(r.map_err(|e| e.to_string()));
        });
        let b_waited_for_a = b_done_rx.recv_timeout(Duration::from_millis(300)).is_err();
        let mut poller = pool.get().unwrap();
        let while_a_open = list_revocation_events_after(&mut poller, 0, now, 100).unwrap();
        release_tx.send(()).unwrap();
        // The poller follows the cursor while A and B commit.
        let (mut cursor, mut seen) = (0, Vec::<RevocationEventRow>::new());
        let deadline = Instant::now() + Duration::from_secs(15);
        while seen.len() < 2 && Instant::now() < deadline {
            for row in list_revocation_events_after(&mut poller, cursor, now, 100).unwrap() {
                cursor = row.id;
                seen.push(row);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let b_result = b_done_rx.recv_timeout(Duration::from_secs(15));
        let tail = list_revocation_events_after(&mut poller, cursor, now, 100).unwrap();
        a.join().unwrap().expect("A committed");
        (b_waited_for_a, while_a_open, seen, tail, b_result)
    });

    // Assert
    assert!(b_waited_for_a, "B's insert waits for A's transaction");
    assert_eq!(while_a_open, vec![], "nothing is visible while A is open");
    assert_eq!(b_result, Ok(Ok(())), "B committed after A");
    let values: Vec<&str> = seen.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(values, ["from-a", "from-b"], "{seen:?}");
    assert!(seen[0].id < seen[1].id, "{seen:?}");
    assert_eq!(tail, vec![], "no entry is seen twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn a_poller_sees_every_session_revoked_on_two_instances_exactly_once() {
    // Arrange: ten sessions, signed in on either instance.
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, |_| {}).await;
    let secret = apps[0].add_confidential_client("api", "client_credentials", "api:read");
    let creds = ("api", secret.as_str());
    let jwks = apps[0].jwks().await;
    let issuer = &apps[0].settings.issuer;
    let mut sessions = Vec::new();
    for i in 0..10 {
        let tokens = sign_in(&apps[i % 2], "openid").await;
        let claims = verify_access_token(&field(&tokens, "access_token"), &jwks, issuer, issuer);
        sessions.push((field(&claims, "sid"), field(&tokens, "id_token")));
    }
    let revoking = std::sync::atomic::AtomicBool::new(true);

    // Act: every session signs out at once, spread over both instances,
    // while a poller alternating between the instances follows the feed.
    let sign_outs = async {
        let statuses = join_all(sessions.iter().enumerate().map(|(i, (_, hint))| {
            let app = &apps[i % 2];
            async move {
                app.get(&format!("{}/logout?id_token_hint={hint}", app.address))
                    .await
                    .status()
                    .as_u16()
            }
        }))
        .await;
        revoking.store(false, std::sync::atomic::Ordering::SeqCst);
        statuses
    };
    let poll = async {
        let (mut cursor, mut entries) = (0i64, Vec::<Value>::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0.. {
            let done = !revoking.load(std::sync::atomic::Ordering::SeqCst);
            let page = apps[i % 2].feed(creds, cursor).await;
            entries.extend(page["entries"].as_array().unwrap().iter().cloned());
            cursor = page["next_cursor"].as_i64().unwrap();
            if (done && entries.len() >= sessions.len()) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        entries
    };
    let (statuses, entries) = tokio::join!(sign_outs, poll);

    // Assert
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    let mut times_seen: HashMap<String, usize> = HashMap::new();
    for e in &entries {
        assert_eq!(e["type"], "sid", "{e}");
        *times_seen.entry(field(e, "value")).or_default() += 1;
    }
    for (sid, _) in &sessions {
        assert_eq!(times_seen.get(sid), Some(&1), "{sid} in {entries:?}");
    }
    assert_eq!(entries.len(), sessions.len(), "{entries:?}");
    let cursors: Vec<i64> = entries
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
}
