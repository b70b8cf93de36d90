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
use crate::db::{Conn, DbPool, QueryError};

use super::audit::{self, Actor};
use super::keys::KeyStore;
use super::secret;

/// The `typ` of a logout token (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The event a logout token carries.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid.
pub const TOKEN_TTL: i64 = 120;
/// How long a delivery keeps being retried.
pub const GIVE_UP_AFTER: i64 = 3600;
/// How long a claimed delivery is left to its instance before another may
/// take it over (the HTTP timeout and then some).
pub const LEASE: i64 = 30;
/// The HTTP timeout of one delivery.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Deliveries sent per run of the task.
const BATCH: i64 = 20;

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
    now: i64,
) -> Result<Run, crate::db::DbError> {
    let claimed = crate::db::run(pool, move |conn| claim_due(conn, now)).await?;
    let mut run = Run::default();
    for delivery in claimed {
        let outcome = send(keys, http, issuer, &delivery, now).await;
        let attempts = delivery.attempts.saturating_add(1);
        let finished = outcome.is_ok() || now >= delivery.give_up_at;
        match &outcome {
            Ok(()) => run.delivered += 1,
            Err(_) if finished => run.given_up += 1,
            Err(_) => run.retrying += 1,
        }
        crate::db::run(pool, move |conn| {
            record_outcome(conn, &delivery, attempts, finished, outcome, now)
        })
        .await?;
    }
    Ok(run)
}

fn claim_due(conn: &mut Conn, now: i64) -> Result<Vec<DeliveryRow>, crate::db::DbError> {
    let mut claimed = Vec::new();
    for d in logout_deliveries::list_due_deliveries(conn, now, BATCH)? {
        if logout_deliveries::claim_delivery(conn, d.id, d.next_attempt_at, now + LEASE)? == 1 {
            claimed.push(d);
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
    now: i64,
) -> Result<(), String> {
    let claims = LogoutClaims::new(issuer, delivery, now);
    let (token, _) = keys
        .sign(&claims, LOGOUT_TOKEN_TYP, now)
        .map_err(|e| format!("signing failed: {e}"))?;
    let res = http
        .post(&delivery.uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", res.status().as_u16()))
    }
}

fn record_outcome(
    conn: &mut Conn,
    delivery: &DeliveryRow,
    attempts: i32,
    finished: bool,
    outcome: Result<(), String>,
    now: i64,
) -> Result<(), crate::db::DbError> {
    let detail = match &outcome {
        Ok(()) => format!("sid {} delivered after {attempts} attempt(s)", delivery.sid),
        Err(e) => format!("sid {} attempt {attempts} failed: {e}", delivery.sid),
    };
    let (action, text) = match (&outcome, finished) {
        (Ok(()), _) => ("backchannel_logout.delivered", "delivered"),
        (Err(_), true) => ("backchannel_logout.failed", "gave up"),
        (Err(_), false) => ("backchannel_logout.retrying", "retrying"),
    };
    if finished {
        logout_deliveries::update_delivery_finished(conn, delivery.id, attempts, now, text)?;
    } else {
        let next = now + backoff(attempts);
        logout_deliveries::update_delivery_retry(conn, delivery.id, attempts, next, text)?;
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
