//! `tessera secrets ...`: the key that encrypts secrets at rest.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::at_rest::{self, Sealer};
use crate::domain::audit::{self, Actor};
use crate::domain::clock::Clock;

/// `tessera secrets ...`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every stored secret under a new key, in one transaction.
    /// The current key is the configured `secret_key_file` (none: the
    /// secrets are encrypted for the first time).
    Rekey {
        /// The new key: 32 random bytes, raw or as 64 hex digits.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

pub(super) fn secrets_command(
    pool: &DbPool,
    settings: &Settings,
    cmd: SecretsCommand,
) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    let now = Clock::system().now();
    match cmd {
        SecretsCommand::Rekey { new_key_file } => {
            let new = Sealer::from_key_file(&new_key_file)?;
            let count = at_rest::rekey(&mut conn, &settings.sealer()?, &new, now)?;
            audit::record(&mut conn, &Actor::CLI, "secrets.rekeyed", "", "", now)?;
            println!(
                "re-encrypted {count} secret(s) under {}; restart every server with secret_key_file set to it",
                new_key_file.display()
            );
        }
    }
    Ok(())
}
