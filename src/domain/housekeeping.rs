//! Purging what can no longer matter, in small batches so a purge never
//! holds SQLite's write lock for long.

use crate::db::{
    Conn, QueryError, auth_codes, client_assertions, dpop_proofs, logout_deliveries, passkeys,
    pushed_requests, refresh_tokens, revocation_events, revocations, sessions, throttle,
};

/// Rows deleted per statement.
pub const BATCH: i64 = 500;
/// Ended sessions and revoked refresh tokens are kept this long for the
/// admin's view before they go.
pub const KEEP_ENDED: i64 = 86_400;
/// Expired codes are kept briefly so a late replay still reads as a replay.
pub const KEEP_CODES: i64 = 600;

/// How many rows of each kind went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub codes: usize,
    pub pushed_requests: usize,
    pub client_assertions: usize,
    pub dpop_proofs: usize,
    pub passkey_ceremonies: usize,
    pub logout_deliveries: usize,
    pub refresh_tokens: usize,
    pub sessions: usize,
    pub revoked_access_tokens: usize,
    pub feed_entries: usize,
    pub throttles: usize,
}

fn drain(mut batch: impl FnMut() -> Result<usize, QueryError>) -> Result<usize, QueryError> {
    let mut total = 0;
    loop {
        let n = batch()?;
        total += n;
        if n < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Deletes expired codes, dead refresh tokens, finished sessions, and
/// revocation records past their relevance. Spent refresh tokens of live
/// families stay: they are what reuse detection looks for.
pub fn purge(conn: &mut Conn, now: i64) -> Result<Purged, QueryError> {
    Ok(Purged {
        codes: drain(|| auth_codes::delete_expired_auth_codes(conn, now - KEEP_CODES, BATCH))?,
        pushed_requests: drain(|| {
            pushed_requests::delete_expired_pushed_requests(conn, now - KEEP_CODES, BATCH)
        })?,
        client_assertions: drain(|| {
            client_assertions::delete_expired_client_assertions(conn, now, BATCH)
        })?,
        dpop_proofs: dpop_proofs::delete_expired_dpop_proofs(conn, now, BATCH)?,
        passkey_ceremonies: drain(|| passkeys::delete_expired_ceremonies(conn, now, BATCH))?,
        logout_deliveries: drain(|| {
            logout_deliveries::delete_finished_deliveries(conn, now - KEEP_ENDED, BATCH)
        })?,
        refresh_tokens: drain(|| {
            refresh_tokens::delete_dead_refresh_tokens(conn, now, now - KEEP_ENDED, BATCH)
        })?,
        sessions: drain(|| sessions::delete_finished_sessions(conn, now, now - KEEP_ENDED, BATCH))?,
        revoked_access_tokens: drain(|| {
            revocations::delete_expired_revoked_access_tokens(conn, now, BATCH)
        })?,
        feed_entries: drain(|| {
            revocation_events::delete_stale_revocation_events(conn, now, BATCH)
        })?,
        throttles: drain(|| throttle::delete_stale_throttles(conn, now, now - 3600, BATCH))?,
    })
}
