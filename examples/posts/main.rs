//! A posts API and its single-page app, protected by Tessera: who may call
//! `DELETE /api/posts/{id}`?
//!
//! Nobody can tell which *program* sends a request, so the API does not try.
//! It authenticates the *user* (an access token Tessera issued to the SPA
//! after an authorization code + PKCE sign-in) and authorizes every request
//! by scope (`posts:write`), role (`moderator`) and ownership (the post's
//! author). Access tokens live five minutes, the SPA refreshes them with
//! rotating refresh tokens, and the API follows Tessera's revocation feed,
//! so an admin who revokes a session locks it out within seconds.
//!
//! Walkthrough, from the repository root:
//!
//! ```text
//! cargo run --release -- serve        # terminal 1: Tessera on 127.0.0.1:8080
//! examples/posts/setup.sh             # once: clients and users; prints passwords
//! export POSTS_API_SECRET=...         # the line setup.sh printed
//! cargo run --example posts           # terminal 2: the app on 127.0.0.1:8081
//! ```
//!
//! Then open <http://127.0.0.1:8081/>, sign in as `alice`, publish and
//! delete posts; sign in as `mod` to delete anyone's. Environment:
//! `TESSERA_ISSUER` (default `http://127.0.0.1:8080`), `POSTS_BIND`
//! (`127.0.0.1:8081`), `POSTS_AUDIENCE` (the issuer, Tessera's default
//! `aud`), `POSTS_API_CLIENT_ID` (`posts-api`), `POSTS_API_SECRET` (no
//! revocation feed without it), `POSTS_SPA_CLIENT_ID` (`posts-spa`),
//! `POSTS_FEED_POLL_SECS` (5), `POSTS_PUBLIC_URL` (`http://` and the bind
//! address: the URL browsers use, which their DPoP proofs name).

mod app;

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use app::PostsConfig;

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the settings, binds, discovers the issuer and serves until stopped.
async fn run() -> std::io::Result<()> {
    let mut config = config_from_env()?;
    let bind = env_or("POSTS_BIND", "127.0.0.1:8081");
    // What DPoP proofs must name; behind a proxy, its public URL.
    config.public_url = env_or("POSTS_PUBLIC_URL", &format!("http://{bind}"));
    let listener = TcpListener::bind(&bind).map_err(|e| {
        std::io::Error::new(e.kind(), format!("POSTS_BIND: cannot bind {bind}: {e}"))
    })?;
    let issuer = config.issuer.clone();
    let server = app::build(config, listener).await?;
    log::info!("posts app on http://{bind}/ trusting {issuer}");
    server.await
}

/// Reads the settings from the environment (see the module comment).
fn config_from_env() -> std::io::Result<PostsConfig> {
    let issuer = env_or("TESSERA_ISSUER", "http://127.0.0.1:8080");
    let mut config = PostsConfig::new(issuer.trim_end_matches('/'));
    config.audience = env_or("POSTS_AUDIENCE", &config.issuer);
    config.spa_client_id = env_or("POSTS_SPA_CLIENT_ID", &config.spa_client_id);
    config.api_client_id = env_or("POSTS_API_CLIENT_ID", &config.api_client_id);
    config.api_secret = std::env::var("POSTS_API_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    let poll = env_or("POSTS_FEED_POLL_SECS", "5");
    let poll: u64 = poll.parse().map_err(|_| {
        let message = format!("POSTS_FEED_POLL_SECS: {poll:?} is not a number of seconds");
        std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
    })?;
    config.feed_poll_interval = Duration::from_secs(poll.max(1));
    Ok(config)
}

/// An environment variable, or `default` when it is unset or empty.
fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}
