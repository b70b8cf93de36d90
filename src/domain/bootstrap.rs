//! First start: a database with no signing key or no admin gets one, so a
//! fresh `tessera serve` is a working server with nothing else to do.

use crate::db::Conn;
use crate::db::users;
use crate::domain::at_rest::Sealer;

use super::keys::{self, KeyError, KeyTiming};
use super::password;
use super::user::{self, NewUserRequest, UserError};

/// The credentials of an admin created at first start, to be shown once.
pub struct InitialAdmin {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for InitialAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitialAdmin")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why the first-start set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    User(#[from] UserError),
}

/// Ensures a signing key and an enabled admin exist.
pub fn ensure_ready(
    conn: &mut Conn,
    timing: &KeyTiming,
    sealer: &Sealer,
    now: i64,
) -> Result<Option<InitialAdmin>, BootstrapError> {
    keys::maintain(conn, timing, sealer, now)?;
    let password = password::generate_password();
    let suffix = password::generate_password();
    // One transaction, so instances starting together on an empty database
    // create one admin between them.
    let created = crate::db::immediate(conn, |conn| -> Result<Option<String>, UserError> {
        if users::any_active_admin(conn)? {
            return Ok(None);
        }
        let username = if users::find_user_by_username(conn, "admin")?.is_none() {
            "admin".to_owned()
        } else {
            format!("admin-{}", &suffix[..6])
        };
        user::create_user(
            conn,
            &NewUserRequest {
                username: username.clone(),
                password: password.clone(),
                email: None,
                name: Some("Administrator".into()),
                is_admin: true,
                roles: vec![],
            },
            now,
        )?;
        Ok(Some(username))
    })?;
    Ok(created.map(|username| {
        log::info!("created the first admin user {username:?}");
        InitialAdmin { username, password }
    }))
}
