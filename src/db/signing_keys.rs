//! Storage of signing keys (private keys as PKCS#8 DER), each with its
//! algorithm (`RS256`, `ES256`).

use diesel::prelude::*;

use super::Conn;
use super::schema::signing_keys;

/// A stored signing key.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub private_key_der: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    pub alg: String,
}

impl std::fmt::Debug for SigningKeyRow {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

/// The schedule of a key without its private part.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct KeySchedule {
    pub kid: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub alg: String,
}

/// Stores a new key.
pub fn insert_signing_key(conn: &mut Conn, key: &SigningKeyRow) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)
        .map(|_| ())
}

/// Lists every key's schedule, oldest activation first.
pub fn list_key_schedules(conn: &mut Conn) -> QueryResult<Vec<KeySchedule>> {
    signing_keys::table
        .order((
            signing_keys::activates_at.asc(),
            signing_keys::created_at.asc(),
        ))
        .select(KeySchedule::as_select())
        .load(conn)
}

/// Loads the full rows (with private keys) of the given kids.
pub fn list_signing_keys_by_kid(
    conn: &mut Conn,
    kids: &[String],
) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::kid.eq_any(kids))
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// Deletes the given keys; returns how many went.
pub fn delete_signing_keys(conn: &mut Conn, kids: &[String]) -> QueryResult<usize> {
    diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(kids))).execute(conn)
}

/// Deletes every `alg` key that has not started signing by `now`; returns
/// their kids.
pub fn delete_pending_keys(conn: &mut Conn, alg: &str, now: i64) -> QueryResult<Vec<String>> {
    let pending = signing_keys::table
        .filter(signing_keys::alg.eq(alg))
        .filter(signing_keys::activates_at.gt(now));
    let kids = pending.select(signing_keys::kid).load::<String>(conn)?;
    diesel::delete(pending).execute(conn)?;
    Ok(kids)
}

/// Moves every `alg` key activating at or after `at` to activate at `to`
/// instead.
pub fn move_activations(conn: &mut Conn, alg: &str, at: i64, to: i64) -> QueryResult<usize> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::alg.eq(alg))
            .filter(signing_keys::activates_at.ge(at)),
    )
    .set(signing_keys::activates_at.eq(to))
    .execute(conn)
}

/// Every stored kid with its private key, as stored.
pub fn list_stored_private_keys(conn: &mut Conn) -> QueryResult<Vec<(String, Vec<u8>)>> {
    signing_keys::table
        .select((signing_keys::kid, signing_keys::private_key_der))
        .load(conn)
}

/// Replaces the stored form of a key's private part (re-encryption).
pub fn update_private_key(conn: &mut Conn, kid: &str, stored: &[u8]) -> QueryResult<usize> {
    diesel::update(signing_keys::table.find(kid))
        .set(signing_keys::private_key_der.eq(stored))
        .execute(conn)
}
