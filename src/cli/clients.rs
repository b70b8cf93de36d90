//! `tessera client ...`: register, list, remove.

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::admin;
use crate::domain::audit::{self, Actor};
use crate::domain::client::{self, ClientKind, NewClient};
use crate::domain::clock::Clock;

use super::read_stdin_secret;

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
    /// Accept only pushed authorization requests (RFC 9126) from this client.
    #[arg(long)]
    require_par: bool,
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

pub(super) fn client_command(
    pool: &DbPool,
    settings: &Settings,
    cmd: ClientCommand,
) -> anyhow::Result<()> {
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
                require_par: a.require_par,
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
