//! Storage of passkeys and of WebAuthn ceremonies in progress.

use diesel::prelude::*;

use super::Conn;
use super::schema::{passkey_ceremonies, passkeys, users};
use super::users::UserRow;

/// A stored passkey.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: i32,
    pub user_id: i32,
    pub credential_id: Vec<u8>,
    pub name: String,
    /// The relying party's record of the credential, as JSON.
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey about to be stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = passkeys)]
pub struct NewPasskey<'a> {
    pub user_id: i32,
    pub credential_id: &'a [u8],
    pub name: &'a str,
    pub credential: &'a str,
    pub created_at: i64,
}

/// Stores a passkey; fails with a unique violation when the credential is
/// already registered.
pub fn insert_passkey(conn: &mut Conn, p: &NewPasskey) -> QueryResult<usize> {
    diesel::insert_into(passkeys::table).values(p).execute(conn)
}

/// A user's passkeys, oldest first.
pub fn list_user_passkeys(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::id.asc())
        .select(PasskeyRow::as_select())
        .load(conn)
}

/// The passkey with this credential id and its (enabled or not) user.
pub fn find_passkey_by_credential(
    conn: &mut Conn,
    credential_id: &[u8],
) -> QueryResult<Option<(PasskeyRow, UserRow)>> {
    passkeys::table
        .inner_join(users::table)
        .filter(passkeys::credential_id.eq(credential_id))
        .select((PasskeyRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Records a use and when. `updated` is (the record as read, the record
/// with the new counter and backup state): stored only if nobody changed
/// the record meanwhile, so two uses at once never move the counter back.
pub fn update_passkey_used(
    conn: &mut Conn,
    id: i32,
    updated: Option<(&str, &str)>,
    now: i64,
) -> QueryResult<usize> {
    if let Some((read, new)) = updated {
        diesel::update(
            passkeys::table
                .find(id)
                .filter(passkeys::credential.eq(read)),
        )
        .set(passkeys::credential.eq(new))
        .execute(conn)?;
    }
    diesel::update(passkeys::table.find(id))
        .set(passkeys::last_used_at.eq(Some(now)))
        .execute(conn)
}

/// Removes one of a user's passkeys; 0 when it is not theirs.
pub fn delete_user_passkey(conn: &mut Conn, user_id: i32, id: i32) -> QueryResult<usize> {
    diesel::delete(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Removes every passkey of a user.
pub fn delete_user_passkeys(conn: &mut Conn, user_id: i32) -> QueryResult<usize> {
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)
}

/// Which of `usernames` have at least one passkey.
pub fn usernames_with_passkeys(conn: &mut Conn, usernames: &[String]) -> QueryResult<Vec<String>> {
    passkeys::table
        .inner_join(users::table)
        .filter(users::username.eq_any(usernames))
        .select(users::username)
        .distinct()
        .load(conn)
}

/// Stores a ceremony's state until `expires_at`.
pub fn insert_ceremony(
    conn: &mut Conn,
    id_hash: &[u8],
    user_id: Option<i32>,
    purpose: &str,
    state: &str,
    expires_at: i64,
) -> QueryResult<usize> {
    diesel::insert_into(passkey_ceremonies::table)
        .values((
            passkey_ceremonies::id_hash.eq(id_hash),
            passkey_ceremonies::user_id.eq(user_id),
            passkey_ceremonies::purpose.eq(purpose),
            passkey_ceremonies::state.eq(state),
            passkey_ceremonies::expires_at.eq(expires_at),
        ))
        .execute(conn)
}

/// Takes a live ceremony for `purpose` out of storage: its user and state,
/// once; `None` when unknown, expired, for another purpose or already taken.
pub fn take_ceremony(
    conn: &mut Conn,
    id_hash: &[u8],
    purpose: &str,
    now: i64,
) -> QueryResult<Option<(Option<i32>, String)>> {
    let found: Option<(Option<i32>, String, i64)> = passkey_ceremonies::table
        .find(id_hash)
        .filter(passkey_ceremonies::purpose.eq(purpose))
        .select((
            passkey_ceremonies::user_id,
            passkey_ceremonies::state,
            passkey_ceremonies::expires_at,
        ))
        .first(conn)
        .optional()?;
    // Deleting it is what spends it: of two takers, one deletes the row.
    let taken = diesel::delete(
        passkey_ceremonies::table
            .find(id_hash)
            .filter(passkey_ceremonies::purpose.eq(purpose)),
    )
    .execute(conn)?
        == 1;
    Ok(found
        .filter(|(_, _, expires_at)| taken && *expires_at > now)
        .map(|(user_id, state, _)| (user_id, state)))
}

/// Deletes up to `limit` ceremonies that expired before `before`.
pub fn delete_expired_ceremonies(conn: &mut Conn, before: i64, limit: i64) -> QueryResult<usize> {
    let ids: Vec<Vec<u8>> = passkey_ceremonies::table
        .filter(passkey_ceremonies::expires_at.le(before))
        .select(passkey_ceremonies::id_hash)
        .limit(limit)
        .load(conn)?;
    diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::id_hash.eq_any(ids)))
        .execute(conn)
}
