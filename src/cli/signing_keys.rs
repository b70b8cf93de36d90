//! `tessera keys ...`: list, rotate and revoke signing keys.

use clap::Subcommand;

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::audit::{self, Actor};
use crate::domain::clock::Clock;
use crate::domain::keys::{self, Activation, SigningAlg};

use super::utc;

/// `tessera keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their states.
    List,
    /// Create a new signing key of each algorithm (RS256 and ES256); each is
    /// published at once and signs after the JWKS max-age.
    Rotate {
        /// Sign with the new keys immediately, for a leaked key: pending keys
        /// are dropped. Verifiers holding a cached JWKS reject their tokens
        /// until they refetch.
        #[arg(long)]
        now: bool,
        /// Rotate only the keys of this algorithm: RS256 or ES256.
        #[arg(long, value_name = "ALG")]
        alg: Option<SigningAlg>,
    },
    /// Remove a key from the JWKS at once; no token it signed verifies again.
    /// Refuses the key signing now (rotate with --now first).
    Revoke {
        /// The key's `kid`, as `keys list` shows it. A thumbprint can start
        /// with `-`, so values that look like options are taken as the kid.
        #[arg(allow_hyphen_values = true)]
        kid: String,
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
                "{:<44} {:<8} {:<20} {:<20} {:<20} ALG",
                "KID", "STATE", "CREATED", "SIGNS FROM", "UNPUBLISHED"
            );
            for k in keys::list(&mut conn, &timing, now)? {
                println!(
                    "{:<44} {:<8} {:<20} {:<20} {:<20} {}",
                    k.kid,
                    k.state.as_str(),
                    utc(k.created_at),
                    utc(k.activates_at),
                    k.unpublished_at(&timing)
                        .map(utc)
                        .unwrap_or_else(|| "-".into()),
                    k.alg
                );
            }
        }
        KeysCommand::Rotate {
            now: immediately,
            alg,
        } => {
            let algs = alg.map_or(SigningAlg::ALL.to_vec(), |a| vec![a]);
            for alg in algs {
                rotate(&mut conn, settings, now, immediately, alg)?;
            }
        }
        KeysCommand::Revoke { kid } => {
            keys::revoke(&mut conn, &timing, &kid, now)?;
            audit::record(&mut conn, &Actor::CLI, "keys.revoked", &kid, "", now)?;
            println!(
                "revoked signing key {kid}: it left the JWKS and no token it signed verifies here; \
                 running servers drop it within {}s, verifiers when their cached JWKS expires (at most {}s)",
                settings.key_check_interval, settings.jwks_max_age
            );
        }
    }
    Ok(())
}

/// One algorithm's rotation, audited and explained.
fn rotate(
    conn: &mut crate::db::Conn,
    settings: &Settings,
    now: i64,
    immediately: bool,
    alg: SigningAlg,
) -> anyhow::Result<()> {
    let activation = if immediately {
        Activation::Immediately
    } else {
        Activation::AfterPublishWait
    };
    let timing = settings.key_timing();
    let rotation = keys::rotate(conn, &timing, &settings.sealer()?, now, activation, alg)?;
    let k = rotation.key;
    let how = if immediately {
        format!("immediate {alg}")
    } else {
        format!("after publish wait {alg}")
    };
    audit::record(conn, &Actor::CLI, "keys.rotated", &k.kid, &how, now)?;
    println!("created signing key {}", k.kid);
    println!("  algorithm {alg}");
    for kid in &rotation.dropped {
        audit::record(
            conn,
            &Actor::CLI,
            "keys.dropped",
            kid,
            "pending key dropped by an immediate rotation",
            now,
        )?;
        println!("dropped pending signing key {kid}: it would have taken over later");
    }
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::{Cli, Command};
    use super::KeysCommand;

    #[test]
    fn a_kid_starting_with_a_hyphen_is_a_kid_not_an_option() {
        let cli = Cli::try_parse_from(["tessera", "keys", "revoke", "-Ab3_x"]).unwrap();
        match cli.command {
            Command::Keys(KeysCommand::Revoke { kid }) => assert_eq!(kid, "-Ab3_x"),
            other => panic!("parsed as {other:?}"),
        }
    }
}
