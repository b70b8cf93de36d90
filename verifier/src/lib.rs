//! Offline verification of Tessera access tokens (RFC 9068 JWTs presented
//! as RFC 6750 bearer tokens) for Rust resource servers.
//!
//! A [`Verifier`] reads the issuer's discovery document, caches its JWKS
//! (honouring `Cache-Control: max-age`, refetching on key rotation) and
//! checks each token locally: RS256 only, `typ: at+jwt`, issuer, audience
//! and time claims. Optionally it follows Tessera's revocation feed, so
//! signed-out sessions and revoked tokens are refused before they expire.
//!
//! # Set-up
//!
//! ```no_run
//! use tessera_verifier::{FeedConfig, Verifier, VerifierConfig};
//!
//! # async fn example(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let config = VerifierConfig::new("https://login.example.com", "reports-api")
//!     .with_revocation_feed(FeedConfig::new("reports-api", "client-secret"));
//! let verifier = Verifier::discover(config).await?;
//! let claims = verifier.verify(token).await?;
//! println!("{} may {:?}", claims.sub, claims.scopes().collect::<Vec<_>>());
//! # Ok(())
//! # }
//! ```
//!
//! [`Verifier::verify`] returns a [`VerifyError`] naming the reason for a
//! refusal; [`VerifyError::www_authenticate`] gives the RFC 6750 challenge
//! to send with the 401.
//!
//! # DPoP
//!
//! A token bound to a client's key (RFC 9449: it carries `cnf.jkt`) is
//! refused by [`Verifier::verify`]: it is only good as `Authorization: DPoP
//! <token>` with a proof signed by that key for this very request.
//! [`Verifier::verify_dpop`] checks the proof against a [`DpopRequest`]
//! (the method and the URL the client called; behind a proxy set
//! [`VerifierConfig::with_external_base_url`]) and remembers each proof for
//! its lifetime in a bounded in-memory cache, so a replay to this process
//! fails. Several processes behind one load balancer each keep their own
//! cache: a proof replayed to another process within its minute passes
//! there, which is why proofs are short-lived and bound to one URL.
//!
//! # actix-web
//!
//! With the `actix` feature, `actix::Authenticated` is an extractor: put a
//! `web::Data<Verifier>` in the app data and take `Authenticated` as a
//! handler argument. Requests without a valid token never reach the
//! handler; they get a 401 with the right `WWW-Authenticate` header.
//!
//! ```no_run
//! # #[cfg(feature = "actix")]
//! # mod example {
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use tessera_verifier::actix::Authenticated;
//! use tessera_verifier::{Verifier, VerifierConfig};
//!
//! async fn me(user: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().json(serde_json::json!({ "sub": user.sub, "roles": user.roles }))
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let config = VerifierConfig::new("https://login.example.com", "reports-api");
//! let verifier = web::Data::new(Verifier::discover(config).await.map_err(std::io::Error::other)?);
//! HttpServer::new(move || App::new().app_data(verifier.clone()).route("/me", web::get().to(me)))
//!     .bind(("127.0.0.1", 8081))?
//!     .run()
//!     .await
//! # }
//! # }
//! ```
//!
//! # Crypto backend
//!
//! Signatures are checked with jsonwebtoken's `aws_lc_rs` backend. If your
//! application also enables jsonwebtoken's `rust_crypto` feature, install a
//! provider once at start-up
//! (`jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default()`),
//! because jsonwebtoken cannot choose between two backends on its own.

// A failed unwrap in a unit test is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod claims;
mod config;
mod discovery;
mod dpop;
mod error;
mod feed;
mod http;
mod jwks;
mod key_cache;
mod revocation;
mod token;
mod verifier;

#[cfg(feature = "actix")]
pub mod actix;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;

pub use claims::{Claims, Confirmation};
pub use config::{
    DEFAULT_DPOP_MAX_AGE, DEFAULT_DPOP_PROOFS_PER_KEY, DEFAULT_DPOP_REPLAY_CAPACITY,
    DEFAULT_LEEWAY, DEFAULT_MIN_REFETCH_INTERVAL, DEFAULT_POLL_INTERVAL, FeedConfig,
    SigningAlgorithm, VerifierConfig,
};
pub use dpop::{DpopRequest, PROOF_ALGORITHMS};
pub use error::{SetupError, VerifyError};
pub use verifier::Verifier;
