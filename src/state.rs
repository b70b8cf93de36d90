//! The state every request handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::at_rest::Sealer;
use crate::domain::client::jwks_uri::RemoteKeySets;
use crate::domain::client_cache::ClientCache;
use crate::domain::clock::Clock;
use crate::domain::dpop::recorder::ProofRecorder;
use crate::domain::flows::refresh::RotationKey;
use crate::domain::keys::KeyStore;
use crate::domain::passkeys::RelyingParty;

/// Shared, cheaply cloned server state (one per server, so tests can run
/// several servers with their own settings in one process).
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyStore>,
    pub clock: Clock,
    pub rotation: RotationKey,
    /// Records accepted DPoP proofs, in batches.
    pub proofs: ProofRecorder,
    /// Seals and opens users' stored second-factor secrets.
    pub sealer: Sealer,
    /// The WebAuthn relying party; `None` when the issuer's host is an IP
    /// address (browsers refuse passkeys there).
    pub passkeys: Option<Arc<RelyingParty>>,
    /// Registrations for the `client_credentials` path of `/token`.
    pub clients: Arc<ClientCache>,
    /// Key sets of `private_key_jwt` clients registered by URL.
    pub remote_keys: Arc<RemoteKeySets>,
    /// Set when a shutdown starts: `/readyz` answers 503 from then on.
    pub stopping: Stopping,
}

/// Whether this server has started to shut down.
#[derive(Clone, Default)]
pub struct Stopping(Arc<AtomicBool>);

impl Stopping {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
