//! `tessera client ...`: register, list, remove.

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::admin;
use crate::domain::audit::{self, Actor};
use crate::domain::client::{self, ClientKind, KeySource, NewClient};
use crate::domain::clock::Clock;
use crate::domain::keys::SigningAlg;

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
    /// How the client authenticates [default: none with --public, else
    /// client_secret_basic; private_key_jwt with --jwks-file or --jwks-uri].
    #[arg(long, value_enum, value_name = "METHOD")]
    auth_method: Option<AuthMethod>,
    /// private_key_jwt: a file holding the client's public keys (a JWK Set).
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_uri")]
    jwks_file: Option<std::path::PathBuf>,
    /// private_key_jwt: where the client serves its public keys (a JWK Set).
    #[arg(long, value_name = "URI")]
    jwks_uri: Option<String>,
    /// Where to POST a logout token when a session the client has tokens
    /// for ends (OpenID Connect Back-Channel Logout).
    #[arg(long, value_name = "URI")]
    backchannel_logout_uri: Option<String>,
    /// The algorithm of the client's ID and access tokens: RS256 or ES256.
    #[arg(long, value_name = "ALG", default_value = "RS256")]
    signing_alg: SigningAlg,
    /// Every token request must carry a DPoP proof, so every access token
    /// (and a public client's refresh token) is bound to the client's key.
    #[arg(long)]
    dpop: bool,
}

/// `token_endpoint_auth_method` values (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

/// The kind of client the flags ask for.
fn client_kind(a: &ClientAdd) -> anyhow::Result<ClientKind> {
    let keys = match (&a.jwks_file, &a.jwks_uri) {
        (Some(file), _) => Some(KeySource::Set(
            std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?,
        )),
        (None, Some(uri)) => Some(KeySource::Uri(uri.clone())),
        (None, None) => None,
    };
    let method = a.auth_method.unwrap_or(match (&keys, a.public) {
        (Some(_), _) => AuthMethod::PrivateKeyJwt,
        (None, true) => AuthMethod::None,
        (None, false) => AuthMethod::ClientSecretBasic,
    });
    Ok(match (method, keys) {
        (AuthMethod::PrivateKeyJwt, Some(keys)) if !a.public && !a.secret_stdin => {
            ClientKind::PrivateKeyJwt(keys)
        }
        (AuthMethod::PrivateKeyJwt, None) => {
            anyhow::bail!("private_key_jwt needs --jwks-file or --jwks-uri")
        }
        (AuthMethod::PrivateKeyJwt, Some(_)) => {
            anyhow::bail!("private_key_jwt takes neither --public nor --secret-stdin")
        }
        (_, Some(_)) => anyhow::bail!("--jwks-file and --jwks-uri are for private_key_jwt"),
        (AuthMethod::None, None) if !a.secret_stdin => ClientKind::Public,
        (AuthMethod::None, None) => anyhow::bail!("a client without authentication has no secret"),
        (_, None) if a.public => anyhow::bail!("a public client has no secret"),
        (_, None) if a.secret_stdin => {
            ClientKind::ChosenSecret(read_stdin_secret("client secret")?)
        }
        (_, None) => ClientKind::GeneratedSecret,
    })
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
            let kind = client_kind(&a)?;
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
                backchannel_logout_uri: a.backchannel_logout_uri,
                signing_alg: a.signing_alg,
                dpop_bound: a.dpop,
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
            println!(
                "registered {kind} client {} ({})",
                c.client_id,
                c.auth_method()
            );
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
