//! The state every request handler shares.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::client_cache::ClientCache;
use crate::domain::clock::Clock;
use crate::domain::flows::refresh::RotationKey;
use crate::domain::keys::KeyStore;

/// Shared, cheaply cloned server state (one per server, so tests can run
/// several servers with their own settings in one process).
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyStore>,
    pub clock: Clock,
    pub rotation: RotationKey,
    /// Registrations for the `client_credentials` path of `/token`.
    pub clients: Arc<ClientCache>,
}
