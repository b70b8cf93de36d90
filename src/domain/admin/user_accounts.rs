//! Users in the console: listing, creating, disabling, roles, passwords.

use std::collections::HashMap;

use crate::db::{Conn, QueryError, passkeys, refresh_tokens, second_factors, users};
use crate::domain::audit::{self, Actor};
use crate::domain::mfa::{self, Factors};
use crate::domain::password;
use crate::domain::user::{self, NewUserRequest, User, UserError};

/// A page of users matching `search`.
pub fn list_users(
    conn: &mut Conn,
    search: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<Vec<User>, QueryError> {
    Ok(
        users::list_users_page(conn, search, page.max(0) * per_page, per_page)?
            .into_iter()
            .map(User::from)
            .collect(),
    )
}

/// Creates a user from the console.
pub fn create_user(
    conn: &mut Conn,
    actor: &Actor,
    req: &NewUserRequest,
    now: i64,
) -> Result<User, UserError> {
    let u = user::create_user(conn, req, now)?;
    let role = if u.is_admin { "admin" } else { "user" };
    audit::record(conn, actor, "user.created", &u.username, role, now)?;
    Ok(u)
}

/// Disables (revoking everything) or re-enables a user.
pub fn set_disabled(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    disabled: bool,
    access_ttl: i64,
    now: i64,
) -> Result<(), UserError> {
    crate::db::immediate(conn, |conn| {
        if disabled {
            user::disable_user(conn, username, access_ttl, now)?;
        } else if users::update_user_disabled(conn, username, false)? == 0 {
            return Err(UserError::Unknown(username.to_owned()));
        }
        let action = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        audit::record(conn, actor, action, username, "", now)?;
        Ok(())
    })
}

/// Replaces a user's roles.
pub fn set_roles(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    roles: &str,
    now: i64,
) -> Result<Vec<String>, UserError> {
    let set = user::set_roles(conn, username, &[roles.to_owned()])?;
    audit::record(conn, actor, "user.roles_set", username, &set.join(" "), now)?;
    Ok(set)
}

/// Sets a new random password and returns it (shown once).
pub fn reset_password(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    now: i64,
) -> Result<String, UserError> {
    let new = password::generate_password();
    let hash = password::hash_password(&new)?;
    if users::update_user_password(conn, username, &hash)? == 0 {
        return Err(UserError::Unknown(username.to_owned()));
    }
    audit::record(conn, actor, "user.password_reset", username, "", now)?;
    Ok(new)
}

/// Requires (or stops requiring) a second factor of a user, whatever the
/// server's policy.
pub fn set_require_mfa(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    required: bool,
    now: i64,
) -> Result<(), UserError> {
    if users::update_user_require_mfa(conn, username, required)? == 0 {
        return Err(UserError::Unknown(username.to_owned()));
    }
    let action = if required {
        "user.mfa_required"
    } else {
        "user.mfa_not_required"
    };
    audit::record(conn, actor, action, username, "", now)?;
    Ok(())
}

/// Removes a user's second factors (a lost phone): their next sign-in
/// takes the password alone, or enrols again where one is required.
pub fn reset_mfa(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    now: i64,
) -> Result<(), UserError> {
    let user = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    mfa::reset(conn, user.id)?;
    audit::record(conn, actor, "user.mfa_reset", username, "", now)?;
    Ok(())
}

/// The second factors of a user.
pub fn user_factors(conn: &mut Conn, username: &str) -> Result<Factors, UserError> {
    let user = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    Ok(mfa::factors(conn, user.id)?)
}

/// The second factors of each of these users who has one, by username:
/// "authenticator app", "passkey" or both.
pub fn second_factors_of(
    conn: &mut Conn,
    list: &[User],
) -> Result<HashMap<String, &'static str>, QueryError> {
    let names: Vec<String> = list.iter().map(|u| u.username.clone()).collect();
    let totp = second_factors::usernames_with_totp(conn, &names)?;
    let keys = passkeys::usernames_with_passkeys(conn, &names)?;
    Ok(names
        .into_iter()
        .filter_map(|n| {
            let label = match (totp.contains(&n), keys.contains(&n)) {
                (true, true) => "authenticator app, passkey",
                (true, false) => "authenticator app",
                (false, true) => "passkey",
                (false, false) => return None,
            };
            Some((n, label))
        })
        .collect())
}

/// A live grant: (client, scope, offline, since).
pub type Grant = (String, String, bool, i64);

/// A user's live grants.
pub fn user_grants(
    conn: &mut Conn,
    username: &str,
    now: i64,
) -> Result<(User, Vec<Grant>), UserError> {
    let row = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    let grants = refresh_tokens::list_user_grants(conn, row.id, now)?;
    Ok((User::from(row), grants))
}
