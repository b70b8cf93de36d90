//! `tessera keys ...`: list and rotate signing keys.

use clap::Subcommand;

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::audit::{self, Actor};
use crate::domain::clock::Clock;
use crate::domain::keys::{self, Activation};

use super::utc;

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

pub(super) fn keys_command(
    pool: &DbPool,
    settings: &Settings,
    cmd: KeysCommand,
) -> anyhow::Result<()> {
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
