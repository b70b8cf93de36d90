//! The command line: `serve`, `migrate`, and provisioning of users, clients
//! and keys. Every command reads the same settings and migrates first.

mod clients;
mod migrate_to;
mod secrets;
mod signing_keys;
mod users;

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Settings, env_name};
use crate::db::{self, DbOptions, DbPool};
use crate::domain::at_rest;
use crate::domain::clock::Clock;
use crate::startup::Application;

use clients::client_command;
pub use clients::{ClientAdd, ClientCommand};
pub use secrets::SecretsCommand;
use secrets::secrets_command;
pub use signing_keys::KeysCommand;
use signing_keys::keys_command;
pub use users::UserCommand;
use users::user_command;

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
    /// Copy the whole database into an empty PostgreSQL database (stop the servers first).
    MigrateTo {
        /// The target, a postgres:// URL.
        url: String,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the encryption of secrets at rest.
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::logging::init(settings.log_format());
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            open(&settings)?;
            println!("database {} is up to date", settings.database_redacted());
            Ok(())
        }
        Command::MigrateTo { url } => migrate_to::migrate_to(&settings, &url),
        Command::User(cmd) => user_command(&open(&settings)?, &settings, cmd),
        Command::Client(cmd) => client_command(&open(&settings)?, &settings, cmd),
        Command::Keys(cmd) => keys_command(&open(&settings)?, &settings, cmd),
        Command::Secrets(cmd) => secrets_command(&open(&settings)?, &settings, cmd),
    }
}

/// Opens and migrates the database, and checks the secret key against it
/// (sealing its secrets first if a key is newly configured).
fn open(settings: &Settings) -> anyhow::Result<DbPool> {
    let options = DbOptions {
        max_connections: 2,
        ..settings.db_options()?
    };
    let pool = db::open(&options).with_context(|| env_name("database"))?;
    let sealer = settings.sealer()?;
    let mut conn = pool.get()?;
    at_rest::prepare(&mut conn, &sealer, Clock::system().now())?;
    Ok(pool)
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
        app.run_until_signal().await
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

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn utc(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ts.to_string())
}
