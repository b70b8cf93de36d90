//! Work every instance does on its own schedule, done by several at once:
//! first start, scheduled key rotation, housekeeping.

use std::sync::{Arc, Barrier};

use futures_util::future::join_all;
use tessera::config::Settings;
use tessera::db::{self, Conn, DbOptions, DbPool, QueryError};
use tessera::domain::at_rest::{self, Protection, Sealer};
use tessera::domain::flows::refresh::RotationKey;
use tessera::domain::housekeeping::{self, Purged};
use tessera::domain::keys::{self, KeyStore, KeyTiming, Maintenance};

use super::{field, instances, sign_in, unix_now};
use crate::helpers::{TestApp, spawn_app_on, verify_access_token};

/// Runs `work` on `n` threads at once, each with its own pooled connection.
fn at_once<T: Send>(pool: &DbPool, n: usize, work: impl Fn(&mut Conn) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let mut conn = pool.get().unwrap();
                    start.wait();
                    work(&mut conn)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn instances_starting_together_on_an_empty_database_create_one_admin_and_one_key_per_algorithm()
 {
    for round in 0..2 {
        // Arrange
        let db = Arc::new(crate::postgres_or_skip!());

        // Act
        let apps = join_all((0..4).map(|_| spawn_app_on(db.clone(), |_| {}))).await;

        // Assert
        let admins = apps.iter().filter(|a| !a.admin_username.is_empty()).count();
        assert_eq!(admins, 1, "round {round}: one instance reports the admin");
        let users = db::count_rows(&mut apps[0].pool.get().unwrap(), "users").unwrap();
        assert_eq!(users, 1, "round {round}");
        let mut kids = Vec::new();
        for app in &apps {
            let jwks = app.jwks().await;
            assert_eq!(jwks.keys.len(), 2, "round {round}: {}", app.address);
            let published: Vec<_> = jwks.keys.iter().map(|k| k.common.key_id.clone()).collect();
            kids.push(published);
        }
        kids.dedup();
        assert_eq!(
            kids.len(),
            1,
            "round {round}: every instance publishes the same two keys"
        );
    }
}

#[test]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
fn a_rotation_due_on_several_instances_at_once_creates_one_key() {
    // Arrange: no server, just four "instances'" key checks on one database.
    let db = crate::postgres_or_skip!();
    let pool = db::open(&DbOptions::new(&db.url, 8).unwrap()).unwrap();
    let timing: KeyTiming = Settings::default().key_timing();
    let maintain = |now: i64| {
        at_once(&pool, 4, |conn| {
            keys::maintain(conn, &timing, &Sealer::plaintext(), now)
        })
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("maintain failed: {e:?}")))
        .collect::<Vec<Maintenance>>()
    };
    let created = |runs: &[Maintenance]| runs.iter().map(|m| m.created.len()).sum::<usize>();
    let per_alg = |alg: &str| {
        let all = db::signing_keys::list_key_schedules(&mut pool.get().unwrap()).unwrap();
        all.iter().filter(|k| k.alg == alg).count()
    };
    let stored = || db::signing_keys::list_key_schedules(&mut pool.get().unwrap()).unwrap();

    // Act: the first key, on an empty database.
    let first = maintain(unix_now());

    // Assert: one key of each algorithm, whichever instance made it.
    assert_eq!(created(&first), 2, "{first:?}");
    assert_eq!((per_alg("RS256"), per_alg("ES256")), (1, 1));

    for round in 0..4 {
        // Act: a rotation, at the first moment it is due.
        let newest = stored().iter().map(|k| k.activates_at).max().unwrap();
        let due = newest + timing.rotation_period - timing.publish_wait;
        let rotation = maintain(due);

        // Assert: one new key of each algorithm beside the active one (the
        // one before is long expired and goes).
        assert_eq!(created(&rotation), 2, "round {round}: {rotation:?}");
        let keys = stored();
        assert_eq!(keys.len(), 4, "round {round}: {keys:?}");
        assert_eq!((per_alg("RS256"), per_alg("ES256")), (2, 2));
    }
}

/// Codes, sessions and feed entries beyond one purge batch, plus a few
/// refresh tokens, revoked access tokens and throttles; all stale at `later`.
async fn stale_rows(app: &TestApp, now: i64) {
    // Three real sign-ins (sessions, codes, refresh tokens), one signed out.
    let mut last = serde_json::Value::Null;
    for _ in 0..3 {
        last = sign_in(app, "openid").await;
    }
    let hint = field(&last, "id_token");
    app.get(&format!("{}/logout?id_token_hint={hint}", app.address))
        .await;
    let claims = verify_access_token(
        &field(&last, "access_token"),
        &app.jwks().await,
        &app.address,
        &app.address,
    );
    let jti = claims["jti"].as_str().unwrap().to_owned();
    let mut conn = app.pool.get().unwrap();
    let alice = db::users::find_user_by_username(&mut conn, "alice")
        .unwrap()
        .unwrap();
    let policy = app.settings.session_policy();
    let n = housekeeping::BATCH as usize + 100;
    db::immediate(&mut conn, |c| -> Result<(), QueryError> {
        for i in 0..n {
            let s = tessera::domain::session::start_session(
                c, &policy, alice.id, "::1", "t", "pwd", now,
            )?;
            db::auth_codes::insert_auth_code(
                c,
                &db::auth_codes::AuthCodeRow {
                    code_hash: tessera::domain::secret::hash_secret(&format!("code-{i}-{jti}"))
                        .to_vec(),
                    client_id: "spa".into(),
                    session_id: s.session.id,
                    redirect_uri: crate::authorize::SPA.into(),
                    code_challenge: None,
                    nonce: None,
                    scope: "openid".into(),
                    created_at: now,
                    expires_at: now + 60,
                    used_at: None,
                    access_jti: None,
                    access_expires_at: None,
                    dpop_jkt: None,
                },
            )?;
            let value = format!("jti-{i}");
            db::revocation_events::insert_revocation_event(c, "jti", &value, now + 60, now)?;
        }
        for i in 0..30 {
            db::revocations::insert_revoked_access_token(c, &format!("jti-{i}"), now + 60, now)?;
            let row = db::throttle::ThrottleRow {
                failures: 3,
                last_failure_at: now,
                locked_until: 0,
            };
            db::throttle::upsert_throttle(c, &format!("user:u{i}"), row)?;
        }
        Ok(())
    })
    .unwrap();
}

/// The purged tables, in the order of [`Purged`]'s fields.
const PURGED_TABLES: [&str; 6] = [
    "auth_codes",
    "refresh_tokens",
    "sessions",
    "revoked_access_tokens",
    "revocation_events",
    "login_throttle",
];

fn as_counts(p: &Purged) -> [i64; 6] {
    [
        p.codes,
        p.refresh_tokens,
        p.sessions,
        p.revoked_access_tokens,
        p.feed_entries,
        p.throttles,
    ]
    .map(|n| n as i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn housekeeping_on_several_instances_at_once_deletes_each_row_once() {
    // Arrange
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 1, |_| {}).await;
    let now = unix_now();
    stale_rows(&apps[0], now).await;
    let count = |table: &str| db::count_rows(&mut apps[0].pool.get().unwrap(), table).unwrap();
    let before = PURGED_TABLES.map(count);
    let later = now + 60 * 86_400;

    // Act: three instances' housekeeping runs at the same moment.
    let pool = db::open(&DbOptions::new(&db.url, 4).unwrap()).unwrap();
    let runs = at_once(&pool, 3, |conn| housekeeping::purge(conn, later));

    // Assert
    let purged: Vec<Purged> = runs
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a purge failed: {e:?}")))
        .collect();
    let mut reported = [0i64; 6];
    for p in &purged {
        for (total, n) in reported.iter_mut().zip(as_counts(p)) {
            *total += n;
        }
    }
    let after = PURGED_TABLES.map(count);
    assert_eq!(after, [0; 6], "everything was stale");
    assert!(before.iter().all(|n| *n > 0), "{before:?}");
    assert_eq!(
        reported, before,
        "reported per table {PURGED_TABLES:?} vs rows there were; runs: {purged:?}"
    );
}

#[test]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
fn instances_given_a_key_together_encrypt_the_secrets_once() {
    // Arrange: an unencrypted database with a key and the MAC key.
    let db = crate::postgres_or_skip!();
    let pool = db::open(&DbOptions::new(&db.url, 8).unwrap()).unwrap();
    let timing: KeyTiming = Settings::default().key_timing();
    let now = unix_now();
    let plain = Sealer::plaintext();
    keys::maintain(&mut pool.get().unwrap(), &timing, &plain, now).unwrap();
    RotationKey::load_or_create(&mut pool.get().unwrap(), &plain, now).unwrap();
    let sealer = Sealer::from_key(&[9u8; at_rest::KEY_LEN]).unwrap();

    // Act: four instances start with the key at the same moment.
    let outcomes = at_once(&pool, 4, |conn| at_rest::prepare(conn, &sealer, now));

    // Assert: one of them encrypted the three secrets (an RS256 and an
    // ES256 signing key, the MAC key), the others found them encrypted, and
    // each secret opens under the key exactly once (a second encryption
    // would not open to the plain key).
    let outcomes: Vec<Protection> = outcomes.into_iter().map(|o| o.unwrap()).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Protection::SealedNow(3))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Protection::Sealed)
            .count(),
        3
    );
    let mut conn = pool.get().unwrap();
    KeyStore::load(&mut conn, timing, sealer.clone()).unwrap();
    RotationKey::load_or_create(&mut conn, &sealer, now).unwrap();
}
