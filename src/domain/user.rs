//! User accounts: creation, listing and disabling.

use crate::db::users::{self, NewUser, UserRow};
use crate::db::{Conn, DbError};

use super::password::{self, PasswordError};
use super::secret;

/// A user account without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The stable `sub` claim.
    pub subject: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Free-form role names, sorted.
    pub roles: Vec<String>,
    /// An admin requires a second factor of this user.
    pub require_mfa: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            subject: r.subject,
            username: r.username,
            email: r.email,
            name: r.name,
            is_admin: r.is_admin,
            roles: split_roles(&r.roles),
            disabled: r.disabled,
            created_at: r.created_at,
            require_mfa: r.require_mfa,
        }
    }
}

/// What an operator asks to create.
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    /// Role names to give the user.
    pub roles: Vec<String>,
}

/// Why a user could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(
        "username must be 1-64 characters without spaces, control characters or any of / \\ ? # % & < > \" '"
    )]
    InvalidUsername,
    #[error("{0:?} is not a valid email address")]
    InvalidEmail(String),
    #[error("a user named {0:?} already exists")]
    Exists(String),
    #[error("no user named {0:?}")]
    Unknown(String),
    #[error("{0:?} is not a valid role name (1-64 letters, digits, '.', '_', ':' or '-')")]
    InvalidRole(String),
    #[error("the user has no consent for client {0:?}")]
    NoConsent(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::db::QueryError> for UserError {
    fn from(e: crate::db::QueryError) -> Self {
        UserError::Db(DbError::from(e))
    }
}

/// Usernames appear in admin URLs and logs, so characters with a meaning in
/// a URL path or HTML are refused outright.
fn valid_username(u: &str) -> bool {
    (1..=64).contains(&u.chars().count())
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/\\?#%&<>\"'".contains(c))
}

/// Validates and stores a new user; the password is hashed with argon2id.
pub fn create_user(conn: &mut Conn, req: &NewUserRequest, now: i64) -> Result<User, UserError> {
    if !valid_username(&req.username) {
        return Err(UserError::InvalidUsername);
    }
    if let Some(email) = &req.email {
        let plausible = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !plausible {
            return Err(UserError::InvalidEmail(email.clone()));
        }
    }
    let roles = normalize_roles(&req.roles)?;
    let hash = password::hash_password(&req.password)?;
    let subject = uuid_like();
    let row = crate::db::immediate(conn, |conn| {
        if users::find_user_by_username(conn, &req.username)?.is_some() {
            return Err(UserError::Exists(req.username.clone()));
        }
        Ok(users::insert_user(
            conn,
            &NewUser {
                subject: &subject,
                username: &req.username,
                password_hash: &hash,
                email: req.email.as_deref(),
                name: req.name.as_deref(),
                is_admin: req.is_admin,
                roles: &roles,
                created_at: now,
            },
        )?)
    })?;
    Ok(row.into())
}

/// Every user, ordered by username.
pub fn list_users(conn: &mut Conn) -> Result<Vec<User>, UserError> {
    Ok(users::list_users(conn)?
        .into_iter()
        .map(User::from)
        .collect())
}

/// Disables a user: no more sign-ins, every session ended, every refresh
/// token family revoked, and the sessions put on the revocation feed.
pub fn disable_user(
    conn: &mut Conn,
    username: &str,
    access_ttl: i64,
    now: i64,
) -> Result<(), UserError> {
    crate::db::immediate(conn, |conn| {
        let user = users::find_user_by_username(conn, username)?
            .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
        users::update_user_disabled(conn, username, true)?;
        super::revocation::revoke_user(conn, user.id, access_ttl, now)?;
        log::info!("user id {} disabled", user.id);
        Ok(())
    })
}

/// The roles stored for a user, as a list.
pub fn split_roles(stored: &str) -> Vec<String> {
    stored
        .split(' ')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Validates role names and joins them for storage (sorted, de-duplicated).
pub fn normalize_roles(roles: &[String]) -> Result<String, UserError> {
    let mut out: Vec<&str> = Vec::new();
    for r in roles
        .iter()
        .flat_map(|r| r.split([',', ' ']))
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        let valid = r.len() <= 64
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if !valid {
            return Err(UserError::InvalidRole(r.to_owned()));
        }
        out.push(r);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out.join(" "))
}

/// Replaces a user's roles; they reach tokens at the next sign-in or refresh.
pub fn set_roles(
    conn: &mut Conn,
    username: &str,
    roles: &[String],
) -> Result<Vec<String>, UserError> {
    let joined = normalize_roles(roles)?;
    match users::update_user_roles(conn, username, &joined)? {
        0 => Err(UserError::Unknown(username.to_owned())),
        _ => Ok(split_roles(&joined)),
    }
}

/// Withdraws a user's consent to a client, so the next request asks again.
pub fn revoke_consent(conn: &mut Conn, username: &str, client_id: &str) -> Result<(), UserError> {
    let user = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    match crate::db::consents::delete_consent(conn, user.id, client_id)? {
        0 => Err(UserError::NoConsent(client_id.to_owned())),
        _ => Ok(()),
    }
}

/// A random, opaque subject identifier in UUID v4 form, so `sub` reveals
/// nothing about the account and never changes when the username does.
fn uuid_like() -> String {
    let mut b = secret::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_without_spaces_are_valid() {
        assert!(valid_username("alice"));
        assert!(valid_username("alice@example.com"));
        assert!(!valid_username(""));
        assert!(!valid_username("a b"));
        assert!(!valid_username("a\u{7}"));
        assert!(!valid_username("x/../alice"));
        assert!(!valid_username("bob?x"));
    }

    #[test]
    fn roles_are_validated_sorted_and_deduplicated() {
        let r = normalize_roles(&["moderator,editor".into(), "editor".into()]).unwrap();
        assert_eq!(r, "editor moderator");
        assert!(normalize_roles(&["bad role!".into()]).is_err());
        assert_eq!(split_roles(""), Vec::<String>::new());
    }

    #[test]
    fn subjects_look_like_uuids_and_differ() {
        let a = uuid_like();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, uuid_like());
    }
}
