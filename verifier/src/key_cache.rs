//! The issuer's signing keys, kept for the JWKS `max-age` (RFC 9111
//! §5.2.2.1) and refetched when a token names an unknown `kid` (key
//! rollover, OpenID Connect Core 1.0 §10.1.1), at most once per interval.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

use crate::error::{SetupError, VerifyError};
use crate::jwks::VerificationKey;
use crate::{http, jwks};

/// One fetched JWKS.
struct KeySet {
    keys: HashMap<String, VerificationKey>,
    fresh_until: Instant,
    /// Bumped on every successful fetch, so a caller that waited for the
    /// fetch lock can tell that someone else already fetched for it.
    generation: u64,
}

/// Bookkeeping of fetches, guarded by the fetch lock.
#[derive(Default)]
struct FetchState {
    last_unknown_kid_fetch: Option<Instant>,
    last_failure: Option<Instant>,
}

/// Cached verification keys with single-flight, rate-limited refetching.
pub(crate) struct KeyCache {
    http: reqwest::Client,
    jwks_uri: String,
    min_refetch_interval: Duration,
    current: RwLock<Arc<KeySet>>,
    /// Held for the whole of a fetch: callers that need one queue here and
    /// then reuse the result of the fetch they waited for, so concurrent
    /// callers share one request.
    fetch: Mutex<FetchState>,
}

impl KeyCache {
    /// Fetches the JWKS for the first time.
    pub(crate) async fn load(
        http: reqwest::Client,
        jwks_uri: String,
        min_refetch_interval: Duration,
    ) -> Result<Self, SetupError> {
        let (keys, max_age) = fetch_key_set(&http, &jwks_uri).await?;
        if keys.is_empty() {
            log::warn!("the JWKS at {jwks_uri} has no RS256 signing key");
        }
        let set = KeySet {
            keys,
            fresh_until: Instant::now() + max_age,
            generation: 0,
        };
        Ok(Self {
            http,
            jwks_uri,
            min_refetch_interval,
            current: RwLock::new(Arc::new(set)),
            fetch: Mutex::new(FetchState::default()),
        })
    }

    /// The key for `kid`, refetching the JWKS when it is stale or does not
    /// know `kid` (within the rate limit).
    pub(crate) async fn key(&self, kid: &str) -> Result<VerificationKey, VerifyError> {
        let seen = self.snapshot();
        let stale = Instant::now() >= seen.fresh_until;
        let state = match (seen.keys.get(kid), stale) {
            (Some(key), false) => return Ok(key.clone()),
            // Stale but known: if a refetch is already running, the old key
            // is as good as it was a moment ago, so don't queue behind it.
            (Some(key), true) => match self.fetch.try_lock() {
                Ok(state) => state,
                Err(_) => return Ok(key.clone()),
            },
            (None, _) => self.fetch.lock().await,
        };
        self.key_with_fetch_lock(state, seen.generation, kid).await
    }

    async fn key_with_fetch_lock(
        &self,
        mut state: MutexGuard<'_, FetchState>,
        seen_generation: u64,
        kid: &str,
    ) -> Result<VerificationKey, VerifyError> {
        let current = self.snapshot();
        if current.generation != seen_generation {
            // Fetched by someone else while we waited: as new as ours would be.
            return current
                .keys
                .get(kid)
                .cloned()
                .ok_or(VerifyError::UnknownKey);
        }
        let now = Instant::now();
        let recent = |at: Option<Instant>| {
            at.is_some_and(|t| now.duration_since(t) < self.min_refetch_interval)
        };
        let known = current.keys.get(kid);
        match known {
            // Stale key: refetch unless the issuer just failed us.
            Some(key) if recent(state.last_failure) => return Ok(key.clone()),
            Some(_) => {}
            // Unknown key: anyone can mint tokens with random kids, so these
            // refetches are rate-limited whether or not the set is stale.
            None if recent(state.last_unknown_kid_fetch) => {
                return Err(if recent(state.last_failure) {
                    VerifyError::KeysUnavailable
                } else {
                    VerifyError::UnknownKey
                });
            }
            None => state.last_unknown_kid_fetch = Some(now),
        }
        match fetch_key_set(&self.http, &self.jwks_uri).await {
            Ok((keys, max_age)) => {
                let key = keys.get(kid).cloned();
                self.store(KeySet {
                    keys,
                    fresh_until: Instant::now() + max_age,
                    generation: current.generation.wrapping_add(1),
                });
                state.last_failure = None;
                key.ok_or(VerifyError::UnknownKey)
            }
            Err(err) => {
                log::warn!("could not refresh the JWKS, keeping the cached keys: {err}");
                state.last_failure = Some(Instant::now());
                known.cloned().ok_or(VerifyError::KeysUnavailable)
            }
        }
    }

    fn snapshot(&self) -> Arc<KeySet> {
        // The set is replaced whole, never mutated in place, so a poisoned
        // lock still holds a consistent value.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn store(&self, set: KeySet) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
    }
}

async fn fetch_key_set(
    http: &reqwest::Client,
    jwks_uri: &str,
) -> Result<(HashMap<String, VerificationKey>, Duration), SetupError> {
    let fetched = http::fetch(http.get(jwks_uri), "JWKS").await?;
    let keys = jwks::parse_key_set(&fetched.body).map_err(SetupError::Jwks)?;
    let max_age = jwks::max_age(fetched.cache_control.as_deref());
    log::info!(
        "fetched the JWKS: {} signing keys, fresh for {}s",
        keys.len(),
        max_age.as_secs()
    );
    Ok((keys, max_age))
}
