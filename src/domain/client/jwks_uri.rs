//! Key sets of `private_key_jwt` clients registered by URL (`jwks_uri`):
//! fetched with a timeout and a size limit, cached, and fetched again when
//! an assertion names a key the cached set lacks (the client rotated).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use super::key_set;

/// How long a fetch may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key set document accepted.
pub const MAX_BYTES: usize = 64 * 1024;
/// How long (seconds) a fetched set is used without asking again.
pub const TTL: i64 = 300;
/// The least time (seconds) between two fetches of one URL, so assertions
/// naming unknown keys cannot make this server hammer a client's host.
pub const MIN_REFETCH: i64 = 10;

/// Why a key set could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the key set was fetched moments ago and could not be used; not asking again yet")]
    Throttled,
    #[error("fetching the key set failed: {0}")]
    Http(String),
    #[error("the key set answer was HTTP {0}")]
    Status(u16),
    #[error("the key set is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Invalid(#[from] key_set::KeySetError),
}

/// What is known of one URL: the last set fetched, and when a fetch was
/// last started (successful or not, finished or not).
struct Cached {
    set: Option<JwkSet>,
    fetched_at: i64,
    attempted_at: i64,
}

enum Decision {
    Use(JwkSet),
    Fetch,
    Refuse,
}

/// Fetched key sets by URL, shared by the handlers of one server.
pub struct RemoteKeySets {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl RemoteKeySets {
    /// An empty cache with its own HTTP client (no redirects followed).
    pub fn new() -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Http(e.to_string()))?;
        Ok(RemoteKeySets {
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The key set at `uri`: cached if fresh, else fetched. With `stale`
    /// (an assertion named a key the cached set lacks) it is fetched again,
    /// unless it was fetched less than [`MIN_REFETCH`] ago.
    ///
    /// Whatever callers ask, one URL is fetched at most once per
    /// [`MIN_REFETCH`]: a fetch that fails, or one still under way, makes
    /// others use the last good set (or fail) instead of fetching too, so
    /// requests naming a client cannot turn into a flood of requests to it.
    pub async fn get(&self, uri: &str, stale: bool, now: i64) -> Result<JwkSet, FetchError> {
        match self.decide(uri, stale, now) {
            Decision::Use(set) => return Ok(set),
            Decision::Refuse => return Err(FetchError::Throttled),
            Decision::Fetch => {}
        }
        let fetched = self.fetch(uri).await;
        if let (Ok(set), Ok(mut cache)) = (&fetched, self.cache.lock())
            && let Some(entry) = cache.get_mut(uri)
        {
            entry.set = Some(set.clone());
            entry.fetched_at = now;
        }
        fetched
    }

    /// Uses the cache, or claims the right to fetch (recording the attempt
    /// before it starts).
    fn decide(&self, uri: &str, stale: bool, now: i64) -> Decision {
        let Ok(mut cache) = self.cache.lock() else {
            return Decision::Refuse;
        };
        let entry = cache.entry(uri.to_owned()).or_insert(Cached {
            set: None,
            fetched_at: i64::MIN,
            attempted_at: i64::MIN,
        });
        let age = now.saturating_sub(entry.fetched_at);
        let wanted_fresh = if stale { age < MIN_REFETCH } else { age < TTL };
        match (&entry.set, wanted_fresh) {
            (Some(set), true) => return Decision::Use(set.clone()),
            _ if now.saturating_sub(entry.attempted_at) >= MIN_REFETCH => {}
            (Some(set), false) => return Decision::Use(set.clone()),
            (None, _) => return Decision::Refuse,
        }
        entry.attempted_at = now;
        Decision::Fetch
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, FetchError> {
        let mut res = self
            .http
            .get(uri)
            .header("accept", "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| FetchError::Http(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        if res.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| FetchError::Http(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body)
            .map_err(|_| FetchError::Invalid(key_set::KeySetError::Malformed))?;
        Ok(key_set::parse(&text)?)
    }
}
