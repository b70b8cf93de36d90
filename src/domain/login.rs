//! Password sign-in with throttling. A wrong username and a wrong password
//! look the same and cost the same (an unknown user is checked against a
//! dummy hash), and throttling counts per username whether or not it exists,
//! so no answer tells an attacker which accounts are real.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::db::throttle::{self, ThrottleRow};
use crate::db::users::{self, UserRow};
use crate::db::{Conn, QueryError};

use super::audit::{self, Actor};
use super::session::{self, NewBrowserSession, SessionPolicy};
use super::{password, pushed_request};

/// Failures for one username that lock it: the attempt after the fifth
/// failure is refused, whatever the password.
const USER_LOCK_AT: i32 = 5;
/// Failures from one address that lock it.
const IP_LOCK_AT: i32 = 20;
/// First lock; doubles with each further failure.
const BASE_LOCK: i64 = 30;
/// Longest lock.
const MAX_LOCK: i64 = 15 * 60;
/// A counter with no failure for this long starts over.
const FORGET_AFTER: i64 = 15 * 60;

/// A valid argon2id hash of a random password, verified against when the
/// username is unknown so the response time does not reveal that.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash_password(&password::generate_password()).unwrap_or_default());

/// Why a sign-in failed.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInFailure {
    /// Wrong username or password, or a disabled account.
    Invalid,
    /// Too many recent failures for this username or address.
    Throttled { retry_after: i64 },
}

fn user_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Seconds until `key` may try again, if it is locked.
fn locked_for(conn: &mut Conn, key: &str, now: i64) -> Result<Option<i64>, QueryError> {
    Ok(throttle::find_throttle(conn, key)?
        .filter(|t| t.locked_until > now)
        .map(|t| t.locked_until - now))
}

/// The counter after one more failure; the `lock_at`-th failure starts the lock.
pub fn next_throttle(prev: Option<ThrottleRow>, lock_at: i32, now: i64) -> ThrottleRow {
    let failures = match prev {
        Some(p) if now - p.last_failure_at < FORGET_AFTER || p.locked_until > now => p.failures + 1,
        _ => 1,
    };
    let locked_until = if failures >= lock_at {
        let exp = (failures - lock_at).min(10) as u32;
        now + (BASE_LOCK << exp).min(MAX_LOCK)
    } else {
        0
    };
    ThrottleRow {
        failures,
        last_failure_at: now,
        locked_until,
    }
}

/// Counts a failure; returns the lock it started, if any.
fn record_failure(conn: &mut Conn, key: &str, lock_at: i32, now: i64) -> Result<i64, QueryError> {
    let prev = throttle::find_throttle(conn, key)?;
    let next = next_throttle(prev, lock_at, now);
    throttle::upsert_throttle(conn, key, next)?;
    Ok((next.locked_until - now).max(0))
}

/// Seconds until `username` or this address may try again, if either is
/// locked (the refusal is audited).
pub fn locked(
    conn: &mut Conn,
    username: &str,
    ip: &str,
    now: i64,
) -> Result<Option<i64>, QueryError> {
    let wait = locked_for(conn, &user_key(username), now)?.max(locked_for(conn, &ip_key(ip), now)?);
    if let Some(retry_after) = wait {
        let who = Actor {
            name: "anonymous",
            ip,
        };
        audit::record(
            conn,
            &who,
            "sign_in.throttled",
            "",
            &format!("retry in {retry_after}s"),
            now,
        )?;
    }
    Ok(wait)
}

/// Checks a username and password. The argon2 check runs outside any
/// transaction; only the counters are written. A correct password does not
/// clear the username's failures yet: [`signed_in`] does, once every factor
/// the user needs was given.
pub fn sign_in(
    conn: &mut Conn,
    username: &str,
    password_attempt: &str,
    ip: &str,
    now: i64,
) -> Result<Result<UserRow, SignInFailure>, QueryError> {
    if let Some(retry_after) = locked(conn, username, ip, now)? {
        return Ok(Err(SignInFailure::Throttled { retry_after }));
    }
    let user = users::find_user_by_username(conn, username)?;
    let ok = match &user {
        Some(u) => password::verify_password(password_attempt, &u.password_hash) && !u.disabled,
        None => {
            let _ = password::verify_password(password_attempt, &DUMMY_HASH);
            false
        }
    };
    match user {
        Some(u) if ok => Ok(Ok(u)),
        _ => {
            // The attempted name is not logged: people type passwords into it.
            let target = user
                .as_ref()
                .map_or("(unknown user)", |u| u.username.as_str());
            match &user {
                Some(u) => log::info!("sign-in failed for user id {} from {ip}", u.id),
                None => log::info!("sign-in failed for an unknown username from {ip}"),
            }
            count_failure(conn, username, target, ip, "sign_in.failed", now).map(Err)
        }
    }
}

/// Counts a wrong second factor, or a wrong current password when a
/// signed-in user changes theirs, exactly like a wrong password at sign-in;
/// audited as `action`.
pub fn credential_failed(
    conn: &mut Conn,
    user: &UserRow,
    ip: &str,
    action: &str,
    now: i64,
) -> Result<SignInFailure, QueryError> {
    log::info!("{action} for user id {} from {ip}", user.id);
    count_failure(conn, &user.username, &user.username, ip, action, now)
}

/// Records a completed sign-in (`amr`: how) and clears the username's failures.
fn signed_in(
    conn: &mut Conn,
    user: &UserRow,
    ip: &str,
    amr: &str,
    now: i64,
) -> Result<(), QueryError> {
    throttle::delete_throttle(conn, &user_key(&user.username))?;
    log::info!("sign-in succeeded for user id {} ({amr})", user.id);
    let who = Actor {
        name: &user.username,
        ip,
    };
    audit::record(conn, &who, "sign_in.succeeded", &user.username, amr, now)
}

/// What a completed sign-in needs: who, from where, how.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub user: &'a UserRow,
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// RFC 8176 methods, space-separated.
    pub amr: &'a str,
}

/// Starts the session of a sign-in that gave every factor it needed, and
/// records it on the pushed authorization request it came from, if any.
pub fn complete(
    conn: &mut Conn,
    policy: &SessionPolicy,
    sign_in: SignIn,
    request: &HashMap<String, String>,
    now: i64,
) -> Result<NewBrowserSession, QueryError> {
    let SignIn {
        user,
        ip,
        user_agent,
        amr,
    } = sign_in;
    let started = session::start_session(conn, policy, user.id, ip, user_agent, amr, now)?;
    pushed_request::record_sign_in(conn, request, started.session.id)?;
    signed_in(conn, user, ip, amr, now)?;
    Ok(started)
}

/// Counts a failure for the username and the address, audits it as
/// `action`, and says whether it started a lock.
fn count_failure(
    conn: &mut Conn,
    username: &str,
    target: &str,
    ip: &str,
    action: &str,
    now: i64,
) -> Result<SignInFailure, QueryError> {
    let (ukey, ikey) = (user_key(username), ip_key(ip));
    let lock = crate::db::immediate(conn, |conn| {
        let u = record_failure(conn, &ukey, USER_LOCK_AT, now)?;
        let i = record_failure(conn, &ikey, IP_LOCK_AT, now)?;
        Ok::<_, QueryError>(u.max(i))
    })?;
    let who = Actor {
        name: "anonymous",
        ip,
    };
    audit::record(conn, &who, action, target, "", now)?;
    if lock > 0 {
        log::warn!("security: sign-in throttled from {ip} for {lock}s");
        audit::record(
            conn,
            &who,
            "sign_in.throttled",
            target,
            &format!("locked for {lock}s"),
            now,
        )?;
        return Ok(SignInFailure::Throttled { retry_after: lock });
    }
    Ok(SignInFailure::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_failure_starts_the_lock_and_later_ones_grow_it() {
        let mut t = None;
        for _ in 0..4 {
            t = Some(next_throttle(t, 5, 1000));
            assert_eq!(t.unwrap().locked_until, 0);
        }
        let fifth = next_throttle(t, 5, 1000);
        assert_eq!(fifth.locked_until, 1030);
        let sixth = next_throttle(Some(fifth), 5, 1031);
        assert_eq!(sixth.locked_until, 1031 + 60);
    }

    #[test]
    fn locks_are_capped_and_old_failures_forgotten() {
        let many = ThrottleRow {
            failures: 40,
            last_failure_at: 0,
            locked_until: 0,
        };
        assert_eq!(next_throttle(Some(many), 5, 10).locked_until, 10 + MAX_LOCK);
        let old = ThrottleRow {
            failures: 4,
            last_failure_at: 0,
            locked_until: 0,
        };
        assert_eq!(next_throttle(Some(old), 5, FORGET_AFTER + 1).failures, 1);
    }
}
