//! `tessera user ...`: add, list, disable, roles, consent withdrawal, TOTP.

use clap::Subcommand;

use crate::config::Settings;
use crate::db::{DbPool, users};
use crate::domain::audit::{self, Actor};
use crate::domain::clock::Clock;
use crate::domain::user::{self, NewUserRequest};
use crate::domain::{mfa, password};

use super::{read_stdin_secret, yes_no};

/// `tessera user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (a password is generated and printed unless --password-stdin).
    Add {
        username: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        #[arg(long, value_name = "E")]
        email: Option<String>,
        #[arg(long, value_name = "N")]
        name: Option<String>,
        /// A role to give the user (repeatable).
        #[arg(long = "role", value_name = "NAME")]
        roles: Vec<String>,
    },
    /// Replace a user's roles.
    Roles {
        username: String,
        /// Comma-separated role names (empty to clear).
        #[arg(long, value_name = "A,B")]
        set: String,
    },
    /// List users.
    List,
    /// Disable a user so they can no longer sign in.
    Disable { username: String },
    /// Withdraw a user's consent to a third-party client.
    RevokeConsent { username: String, client_id: String },
    /// Enrol a user's authenticator app (TOTP), replacing any earlier one;
    /// prints the otpauth:// URI to give to the user, once.
    Totp { username: String },
}

pub(super) fn user_command(
    pool: &DbPool,
    settings: &Settings,
    cmd: UserCommand,
) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    let now = Clock::system().now();
    match cmd {
        UserCommand::Add {
            username,
            password_stdin,
            admin,
            email,
            name,
            roles,
        } => {
            let (password, generated) = if password_stdin {
                (read_stdin_secret("password")?, false)
            } else {
                (password::generate_password(), true)
            };
            let req = NewUserRequest {
                username,
                password: password.clone(),
                email,
                name,
                is_admin: admin,
                roles,
            };
            let u = user::create_user(&mut conn, &req, now)?;
            audit::record(&mut conn, &Actor::CLI, "user.created", &u.username, "", now)?;
            println!("created user {} (sub {})", u.username, u.subject);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Roles { username, set } => {
            let roles = user::set_roles(&mut conn, &username, &[set])?;
            audit::record(
                &mut conn,
                &Actor::CLI,
                "user.roles_set",
                &username,
                &roles.join(" "),
                now,
            )?;
            println!(
                "{username} has roles: {}",
                if roles.is_empty() {
                    "-".into()
                } else {
                    roles.join(", ")
                }
            );
        }
        UserCommand::List => {
            println!(
                "{:<24} {:<36} {:<6} {:<9} {:<24} EMAIL",
                "USERNAME", "SUBJECT", "ADMIN", "DISABLED", "ROLES"
            );
            for u in user::list_users(&mut conn)? {
                println!(
                    "{:<24} {:<36} {:<6} {:<9} {:<24} {}",
                    u.username,
                    u.subject,
                    yes_no(u.is_admin),
                    yes_no(u.disabled),
                    if u.roles.is_empty() {
                        "-".into()
                    } else {
                        u.roles.join(",")
                    },
                    u.email.as_deref().unwrap_or("-")
                );
            }
        }
        UserCommand::Disable { username } => {
            user::disable_user(&mut conn, &username, settings.access_token_ttl, now)?;
            audit::record(&mut conn, &Actor::CLI, "user.disabled", &username, "", now)?;
            println!("disabled user {username}");
        }
        UserCommand::Totp { username } => {
            let u = users::find_user_by_username(&mut conn, &username)?
                .ok_or_else(|| user::UserError::Unknown(username.clone()))?;
            let e = mfa::enrol_totp(
                &mut conn,
                &settings.sealer()?,
                &u,
                &settings.issuer,
                true,
                now,
            )?;
            audit::record(
                &mut conn,
                &Actor::CLI,
                "user.totp_enrolled",
                &username,
                "",
                now,
            )?;
            // The only place the secret is ever shown.
            println!("{}", e.uri);
        }
        UserCommand::RevokeConsent {
            username,
            client_id,
        } => {
            user::revoke_consent(&mut conn, &username, &client_id)?;
            println!("withdrew {username}'s consent to {client_id}");
        }
    }
    Ok(())
}
