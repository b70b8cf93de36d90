//! Storage of users' second factors: a TOTP secret each (as stored: sealed
//! when a secret key is configured) and one-time recovery codes (hashes).
//! Every "use" is a conditional update, so a code is accepted once even
//! when several instances see it at the same moment.

use diesel::prelude::*;

use super::Conn;
use super::schema::{recovery_codes, user_totp, users};

/// A user's TOTP enrolment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_totp)]
pub struct TotpRow {
    pub user_id: i32,
    /// As stored (see `domain::at_rest`).
    pub secret: Vec<u8>,
    /// Unset until a first code confirmed the enrolment.
    pub confirmed_at: Option<i64>,
    /// The last time step a code was accepted for.
    pub last_step: i64,
    pub created_at: i64,
}

/// Enrols `user_id` with a new secret, replacing any earlier one;
/// `last_step`: the step of a code already used to confirm it, if any.
pub fn replace_totp(
    conn: &mut Conn,
    user_id: i32,
    secret: &[u8],
    confirmed_at: Option<i64>,
    last_step: i64,
    now: i64,
) -> QueryResult<usize> {
    let row = (
        user_totp::user_id.eq(user_id),
        user_totp::secret.eq(secret),
        user_totp::confirmed_at.eq(confirmed_at),
        user_totp::last_step.eq(last_step),
        user_totp::created_at.eq(now),
    );
    super::per_backend!(conn, |c| diesel::insert_into(user_totp::table)
        .values(row)
        .on_conflict(user_totp::user_id)
        .do_update()
        .set((
            user_totp::secret.eq(secret),
            user_totp::confirmed_at.eq(confirmed_at),
            user_totp::last_step.eq(last_step),
            user_totp::created_at.eq(now),
        ))
        .execute(c))
}

/// The user's enrolment, confirmed or not.
pub fn find_totp(conn: &mut Conn, user_id: i32) -> QueryResult<Option<TotpRow>> {
    user_totp::table
        .find(user_id)
        .select(TotpRow::as_select())
        .first(conn)
        .optional()
}

/// Accepts a code for time step `step` of the secret stored as `secret`:
/// true only for the first use of a step later than any accepted before,
/// and only while that secret is still the one enrolled. `confirming`
/// accepts it for an unconfirmed enrolment and confirms it; otherwise only
/// a confirmed one.
pub fn use_totp_step(
    conn: &mut Conn,
    user_id: i32,
    secret: &[u8],
    step: i64,
    confirming: bool,
    now: i64,
) -> QueryResult<bool> {
    let target = user_totp::table
        .filter(user_totp::user_id.eq(user_id))
        .filter(user_totp::secret.eq(secret))
        .filter(user_totp::last_step.lt(step));
    let changed = if confirming {
        diesel::update(target.filter(user_totp::confirmed_at.is_null()))
            .set((
                user_totp::last_step.eq(step),
                user_totp::confirmed_at.eq(Some(now)),
            ))
            .execute(conn)?
    } else {
        diesel::update(target.filter(user_totp::confirmed_at.is_not_null()))
            .set(user_totp::last_step.eq(step))
            .execute(conn)?
    };
    Ok(changed == 1)
}

/// Removes the user's TOTP enrolment.
pub fn delete_totp(conn: &mut Conn, user_id: i32) -> QueryResult<usize> {
    diesel::delete(user_totp::table.find(user_id)).execute(conn)
}

/// Which of `usernames` have a confirmed TOTP enrolment.
pub fn usernames_with_totp(conn: &mut Conn, usernames: &[String]) -> QueryResult<Vec<String>> {
    user_totp::table
        .inner_join(users::table)
        .filter(user_totp::confirmed_at.is_not_null())
        .filter(users::username.eq_any(usernames))
        .select(users::username)
        .load(conn)
}

/// Every stored secret by user, as stored (re-encryption).
pub fn list_totp_secrets(conn: &mut Conn) -> QueryResult<Vec<(i32, Vec<u8>)>> {
    user_totp::table
        .select((user_totp::user_id, user_totp::secret))
        .load(conn)
}

/// Replaces the stored form of a secret (re-encryption).
pub fn update_totp_secret(conn: &mut Conn, user_id: i32, secret: &[u8]) -> QueryResult<usize> {
    diesel::update(user_totp::table.find(user_id))
        .set(user_totp::secret.eq(secret))
        .execute(conn)
}

/// Replaces the user's recovery codes with new ones (their hashes).
pub fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: i32,
    hashes: &[[u8; 32]],
    now: i64,
) -> QueryResult<()> {
    delete_recovery_codes(conn, user_id)?;
    for hash in hashes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash.as_slice()),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Spends a recovery code: true the first time only.
pub fn use_recovery_code(
    conn: &mut Conn,
    user_id: i32,
    hash: &[u8],
    now: i64,
) -> QueryResult<bool> {
    let changed = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How many of the user's recovery codes are still unused.
pub fn unused_recovery_codes(conn: &mut Conn, user_id: i32) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Removes the user's recovery codes.
pub fn delete_recovery_codes(conn: &mut Conn, user_id: i32) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)
}
