//! The command line: `serve`, `migrate`, and provisioning of users, clients
//! and keys. Every command reads the same settings and migrates first.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::domain::admin;
use crate::domain::audit::{self, Actor};
use crate::domain::client::{self, ClientKind, NewClient};
use crate::domain::clock::Clock;
use crate::domain::keys::{self, Activation};
use crate::domain::password;
use crate::domain::user::{self, NewUserRequest};
use crate::startup::Application;

/// Tessera: an OAuth 2.0 / OpenID Connect token server.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    /// A TOML settings file (environment variables still override it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the database, a signing key and an admin on first start).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

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
}

/// `tessera client add` arguments.
#[derive(Debug, Args)]
pub struct ClientAdd {
    client_id: String,
    /// A redirect URI, matched exactly (repeatable; needed for authorization_code).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// A public client (SPA or native app): no secret, PKCE required.
    #[arg(long, conflicts_with = "secret_stdin")]
    public: bool,
    /// Read the client secret (at least 32 characters) from standard input.
    #[arg(long)]
    secret_stdin: bool,
    /// Comma-separated grant types [default: authorization_code,refresh_token].
    #[arg(long, value_name = "LIST")]
    grant_types: Option<String>,
    /// Space-separated allowed scopes [default: "openid profile email offline_access"].
    #[arg(long, value_name = "SCOPES")]
    scopes: Option<String>,
    /// A post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// A display name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A third-party client: users see a consent page listing the scopes.
    #[arg(long)]
    consent: bool,
}

/// `tessera client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client (a confidential client's generated secret is printed once).
    Add(ClientAdd),
    /// List clients.
    List,
    /// Remove a client.
    Remove { client_id: String },
}

/// `tessera keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their states.
    List,
    /// Create a new signing key; it is published at once and signs after the JWKS max-age.
    Rotate {
        /// Sign with the new key immediately. Verifiers holding a cached JWKS
        /// reject its tokens until they refetch.
        #[arg(long)]
        now: bool,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            open(&settings)?;
            println!("database {} is up to date", settings.database);
            Ok(())
        }
        Command::User(cmd) => user_command(&open(&settings)?, &settings, cmd),
        Command::Client(cmd) => client_command(&open(&settings)?, &settings, cmd),
        Command::Keys(cmd) => keys_command(&open(&settings)?, &settings, cmd),
    }
}

fn open(settings: &Settings) -> anyhow::Result<DbPool> {
    db::open(&settings.database, 2)
        .with_context(|| format!("Failed to open database {}", settings.database))
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    runtime.block_on(async move {
        let issuer = settings.issuer.clone();
        let app = Application::build(settings).await?;
        if let Some(admin) = app.initial_admin() {
            // Printed to the console only, never through the logger.
            println!("Created the first admin user (shown once, store it now):");
            println!("  username: {}", admin.username);
            println!("  password: {}", admin.password);
        }
        println!("Tessera is serving {issuer} on port {}", app.port());
        app.run_until_stopped().await
    })
}

/// Reads a secret from standard input, dropping one trailing newline.
fn read_stdin_secret(what: &str) -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .with_context(|| format!("Failed to read the {what} from standard input"))?;
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    anyhow::ensure!(
        !s.is_empty(),
        "the {what} read from standard input is empty"
    );
    Ok(s)
}

fn user_command(pool: &DbPool, settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
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

fn client_command(pool: &DbPool, settings: &Settings, cmd: ClientCommand) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    match cmd {
        ClientCommand::Add(a) => {
            let kind = if a.public {
                ClientKind::Public
            } else if a.secret_stdin {
                ClientKind::ChosenSecret(read_stdin_secret("client secret")?)
            } else {
                ClientKind::GeneratedSecret
            };
            let req = NewClient {
                client_id: a.client_id,
                name: a.name,
                kind,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                grant_types: a.grant_types.map(|g| vec![g]),
                scopes: a.scopes,
                consent_required: a.consent,
            };
            let registered = client::register_client(&mut conn, req, Clock::system().now())?;
            let c = &registered.client;
            let now = Clock::system().now();
            audit::record(
                &mut conn,
                &Actor::CLI,
                "client.created",
                &c.client_id,
                "",
                now,
            )?;
            let kind = if c.is_public() {
                "public"
            } else {
                "confidential"
            };
            println!("registered {kind} client {}", c.client_id);
            if let Some(secret) = registered.generated_secret {
                println!("client_secret: {secret}");
                println!("(shown once; only its hash is stored)");
            }
        }
        ClientCommand::List => {
            println!(
                "{:<24} {:<13} {:<48} SCOPES",
                "CLIENT_ID", "TYPE", "GRANT_TYPES"
            );
            for c in client::list_clients(&mut conn)? {
                let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                println!(
                    "{:<24} {:<13} {:<48} {}",
                    c.client_id,
                    if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    },
                    grants.join(","),
                    c.scopes
                );
            }
        }
        ClientCommand::Remove { client_id } => {
            // As in the console: its tokens go on the revocation feed.
            let now = Clock::system().now();
            admin::delete_client(
                &mut conn,
                &Actor::CLI,
                &client_id,
                settings.access_token_ttl,
                now,
            )?;
            println!("removed client {client_id}; its access tokens are revoked");
        }
    }
    Ok(())
}

fn keys_command(pool: &DbPool, settings: &Settings, cmd: KeysCommand) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    let timing = settings.key_timing();
    let now = Clock::system().now();
    match cmd {
        KeysCommand::List => {
            println!(
                "{:<44} {:<8} {:<20} {:<20} UNPUBLISHED",
                "KID", "STATE", "CREATED", "SIGNS FROM"
            );
            for k in keys::list(&mut conn, &timing, now)? {
                println!(
                    "{:<44} {:<8} {:<20} {:<20} {}",
                    k.kid,
                    k.state.as_str(),
                    utc(k.created_at),
                    utc(k.activates_at),
                    k.unpublished_at(&timing)
                        .map(utc)
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
        KeysCommand::Rotate { now: immediately } => {
            let activation = if immediately {
                Activation::Immediately
            } else {
                Activation::AfterPublishWait
            };
            let k = keys::rotate(&mut conn, &timing, now, activation)?;
            let how = if immediately {
                "immediate"
            } else {
                "after publish wait"
            };
            audit::record(&mut conn, &Actor::CLI, "keys.rotated", &k.kid, how, now)?;
            println!("created signing key {}", k.kid);
            if immediately {
                println!(
                    "warning: it signs at once (within {}s on running servers). Verifiers that cached \
                     the JWKS in the last {}s do not know it yet and reject its tokens until they refetch.",
                    settings.key_check_interval, settings.jwks_max_age
                );
            } else {
                println!(
                    "published now; it starts signing at {} (after the JWKS max-age of {}s)",
                    utc(k.activates_at),
                    settings.jwks_max_age
                );
            }
        }
    }
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn utc(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ts.to_string())
}
