//! OpenID Connect Back-Channel Logout 1.0: when a session ends, for any
//! reason, every client that received tokens for it and registered a
//! `backchannel_logout_uri` gets a signed logout token, server to server.
//!
//! Ending a session only queues the deliveries, in its own transaction
//! ([`enqueue`]), so nothing blocks the request that ended it and nothing
//! is lost. A background task on every instance sends what is due
//! ([`deliver_due`]): each delivery is claimed with a conditional update,
//! retried with backoff until [`GIVE_UP_AFTER`], and its outcome audited.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::db::logout_deliveries::{self, DeliveryRow};
use crate::db::{Conn, DbPool, QueryError, clients};

use super::audit::{self, Actor};
use super::clock::Clock;
use super::keys::{KeyStore, SigningAlg};
use super::secret;

/// The `typ` of a logout token (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The event a logout token carries.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid.
pub const TOKEN_TTL: i64 = 120;
/// How long a delivery keeps being retried.
pub const GIVE_UP_AFTER: i64 = 3600;
/// The HTTP timeout of one delivery.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries claimed per run of the task, then sent one after another.
const BATCH: i64 = 10;
/// How long claimed deliveries are left to their instance before another
/// may take them over: longer than sending a whole batch can take.
pub const LEASE: i64 = 2 * BATCH * TIMEOUT.as_secs() as i64 + 20;

/// Records that a client received tokens for a session.
pub fn record_client(conn: &mut Conn, session_id: i32, client_id: &str) -> Result<(), QueryError> {
    logout_deliveries::insert_session_client(conn, session_id, client_id)
}

/// Queues logout tokens for the clients of a session that just ended; call
/// inside the transaction that ends it.
pub fn enqueue(
    conn: &mut Conn,
    session_id: i32,
    sid: &str,
    sub: &str,
    now: i64,
) -> Result<usize, QueryError> {
    logout_deliveries::enqueue_for_session(conn, session_id, sid, sub, now, now + GIVE_UP_AFTER)
}

/// The claims of a logout token (§2.4): no `nonce`, an `events` member.
#[derive(Debug, Serialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: Value,
}

impl LogoutClaims {
    /// A fresh logout token's claims for one delivery.
    pub fn new(issuer: &str, delivery: &DeliveryRow, now: i64) -> Self {
        LogoutClaims {
            iss: issuer.to_owned(),
            aud: delivery.client_id.clone(),
            iat: now,
            exp: now + TOKEN_TTL,
            jti: secret::random_id(),
            sub: delivery.sub.clone(),
            sid: delivery.sid.clone(),
            events: json!({ LOGOUT_EVENT: {} }),
        }
    }
}

/// Seconds to wait after `attempts` failed attempts: 2, 4, 8, ... up to
/// five minutes.
pub fn backoff(attempts: i32) -> i64 {
    2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(300)
}

/// What one run of the task did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub delivered: usize,
    pub retrying: usize,
    pub given_up: usize,
}

/// Sends every delivery due at `now` that this instance manages to claim.
pub async fn deliver_due(
    pool: &DbPool,
    keys: &KeyStore,
    http: &reqwest::Client,
    issuer: &str,
    clock: &Clock,
) -> Result<Run, crate::db::DbError> {
    let lease_until = clock.now() + LEASE;
    let claimed = crate::db::run(pool, move |conn| claim_due(conn, lease_until)).await?;
    let mut run = Run::default();
    for claim in claimed {
        let now = clock.now();
        let outcome = match &claim.target {
            Some((uri, alg)) => send(keys, http, issuer, &claim.delivery, uri, *alg, now).await,
            None => Err(Unregistered),
        };
        let delivery = claim.delivery;
        let attempts = delivery.attempts.saturating_add(1);
        let finished = !matches!(outcome, Err(Failed(_))) || now >= delivery.give_up_at;
        match &outcome {
            Ok(()) => run.delivered += 1,
            Err(_) if finished => run.given_up += 1,
            Err(_) => run.retrying += 1,
        }
        crate::db::run(pool, move |conn| {
            record_outcome(
                conn,
                &delivery,
                lease_until,
                attempts,
                finished,
                outcome,
                now,
            )
        })
        .await?;
    }
    Ok(run)
}

/// A claimed delivery and where the client wants logout tokens now (`None`:
/// it no longer does).
struct Claimed {
    delivery: DeliveryRow,
    /// Where to send, and how the client's ID tokens are signed.
    target: Option<(String, SigningAlg)>,
}

/// Why a delivery did not happen.
enum NotSent {
    /// The client no longer has a back-channel logout URI, or is gone.
    Unregistered,
    /// The request failed; worth retrying.
    Failed(String),
}
use NotSent::{Failed, Unregistered};

fn claim_due(conn: &mut Conn, lease_until: i64) -> Result<Vec<Claimed>, crate::db::DbError> {
    let now = lease_until - LEASE;
    let mut claimed = Vec::new();
    for d in logout_deliveries::list_due_deliveries(conn, now, BATCH)? {
        if logout_deliveries::claim_delivery(conn, d.id, d.next_attempt_at, lease_until)? == 1 {
            // The registration as it is now: an admin may have changed it.
            let target = match clients::find_client(conn, &d.client_id)? {
                Some(c) => match (
                    c.backchannel_logout_uri,
                    SigningAlg::from_stored(&c.signing_alg),
                ) {
                    (Some(uri), Ok(alg)) => Some((uri, alg)),
                    _ => None,
                },
                None => None,
            };
            claimed.push(Claimed {
                delivery: d,
                target,
            });
        }
    }
    Ok(claimed)
}

/// Signs and POSTs one logout token (§2.5): any 2xx is delivered.
async fn send(
    keys: &KeyStore,
    http: &reqwest::Client,
    issuer: &str,
    delivery: &DeliveryRow,
    uri: &str,
    alg: SigningAlg,
    now: i64,
) -> Result<(), NotSent> {
    let claims = LogoutClaims::new(issuer, delivery, now);
    let (token, _) = keys
        .sign(&claims, LOGOUT_TOKEN_TYP, alg, now)
        .map_err(|e| Failed(format!("signing failed: {e}")))?;
    let res = http
        .post(uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(|e| Failed(e.without_url().to_string()))?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(Failed(format!("HTTP {}", res.status().as_u16())))
    }
}

fn record_outcome(
    conn: &mut Conn,
    delivery: &DeliveryRow,
    lease_until: i64,
    attempts: i32,
    finished: bool,
    outcome: Result<(), NotSent>,
    now: i64,
) -> Result<(), crate::db::DbError> {
    let detail = match &outcome {
        Ok(()) => format!("sid {} delivered after {attempts} attempt(s)", delivery.sid),
        Err(Unregistered) => format!(
            "sid {}: the client no longer takes logout tokens",
            delivery.sid
        ),
        Err(Failed(e)) => format!("sid {} attempt {attempts} failed: {e}", delivery.sid),
    };
    let (action, text) = match (&outcome, finished) {
        (Ok(()), _) => ("backchannel_logout.delivered", "delivered"),
        (Err(Unregistered), _) => ("backchannel_logout.dropped", "dropped"),
        (Err(Failed(_)), true) => ("backchannel_logout.failed", "gave up"),
        (Err(Failed(_)), false) => ("backchannel_logout.retrying", "retrying"),
    };
    // Only while this instance still holds the claim: otherwise another
    // instance took the delivery over and records its own outcome.
    let (id, lease) = (delivery.id, lease_until);
    let updated = if finished {
        logout_deliveries::update_delivery_finished(conn, id, lease, attempts, now, text)?
    } else {
        let next = now + backoff(attempts);
        logout_deliveries::update_delivery_retry(conn, id, lease, attempts, next, text)?
    };
    if updated == 0 {
        return Ok(());
    }
    // Retries are logged; the audit log gets the outcome.
    if action == "backchannel_logout.retrying" {
        log::warn!(
            "back-channel logout to client {:?}: {detail}",
            delivery.client_id
        );
        return Ok(());
    }
    audit::record(
        conn,
        &Actor::SYSTEM,
        action,
        &delivery.client_id,
        &detail,
        now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), 2);
        assert_eq!(backoff(2), 4);
        assert_eq!(backoff(5), 32);
        assert_eq!(backoff(9), 300);
        assert_eq!(backoff(i32::MAX), 300);
    }
}
