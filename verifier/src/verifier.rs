//! The verifier: set-up by discovery (OpenID Connect Discovery 1.0 §4),
//! access token validation (RFC 9068 §4) and the revocation-feed poller.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::claims::Claims;
use crate::config::VerifierConfig;
use crate::discovery;
use crate::dpop::{self, DpopRequest, ReplayCache};
use crate::error::{SetupError, VerifyError};
use crate::feed::Feed;
use crate::http;
use crate::key_cache::KeyCache;
use crate::revocation::RevocationList;
use crate::token::{self, Expectations};

/// Shortest time between two background polls of the revocation feed.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Verifies Tessera access tokens offline. Cheap to clone: clones share the
/// key cache and the revocation list.
///
/// ```no_run
/// use tessera_verifier::{Verifier, VerifierConfig, VerifyError};
///
/// # async fn example(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::discover(VerifierConfig::new("https://login.example.com", "reports-api")).await?;
/// match verifier.verify(token).await {
///     Ok(claims) if claims.has_scope("reports:read") => println!("hello {}", claims.sub),
///     Ok(_) => println!("403: missing scope"),
///     Err(VerifyError::KeysUnavailable) => println!("503: try again later"),
///     Err(e) => println!("401, WWW-Authenticate: {}", e.www_authenticate()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    expected: Expectations,
    keys: KeyCache,
    feed: Option<Feed>,
    revoked: RwLock<RevocationList>,
    external_base_url: Option<String>,
    dpop_max_age: i64,
    proofs: ReplayCache,
}

impl Verifier {
    /// GETs `{issuer}/.well-known/openid-configuration`, checks that its
    /// `issuer` equals the configured one exactly, reads `jwks_uri` (and
    /// `tessera_revocation_feed_endpoint` when a feed is configured) and
    /// fetches the JWKS. With a feed, it polls it once (so wrong
    /// credentials fail here) and spawns a tokio task that keeps polling
    /// until the last clone of the verifier is dropped.
    ///
    /// Must be called inside a tokio runtime (as actix-web's is).
    pub async fn discover(config: VerifierConfig) -> Result<Verifier, SetupError> {
        let client = http::client()?;
        let metadata = discovery::fetch_metadata(&client, &config.issuer).await?;
        let feed = match config.revocation_feed {
            None => None,
            Some(feed_config) => {
                let url = metadata.tessera_revocation_feed_endpoint.ok_or_else(|| {
                    SetupError::Discovery(
                        "a revocation feed is configured but the issuer publishes no \
                         tessera_revocation_feed_endpoint"
                            .into(),
                    )
                })?;
                Some(Feed::new(client.clone(), url, feed_config))
            }
        };
        let keys = KeyCache::load(client, metadata.jwks_uri, config.min_refetch_interval).await?;
        let leeway_secs = config.leeway.as_secs();
        let dpop_max_age = i64::try_from(config.dpop_max_age.as_secs()).unwrap_or(i64::MAX);
        let verifier = Verifier {
            inner: Arc::new(Inner {
                expected: Expectations {
                    issuer: config.issuer,
                    audience: config.audience,
                    leeway_secs,
                    algorithms: config.algorithms,
                },
                keys,
                feed,
                revoked: RwLock::new(RevocationList::new(
                    i64::try_from(leeway_secs).unwrap_or(i64::MAX),
                )),
                external_base_url: config.external_base_url,
                dpop_max_age,
                proofs: ReplayCache::new(config.dpop_replay_capacity, config.dpop_proofs_per_key),
            }),
        };
        if let Some(feed) = &verifier.inner.feed {
            verifier.poll_revocations().await?;
            spawn_poller(Arc::downgrade(&verifier.inner), feed.poll_interval());
        }
        Ok(verifier)
    }

    /// Verifies a bearer access token: a configured algorithm (RS256 by
    /// default) with a key of that type from the issuer's JWKS, `typ:
    /// at+jwt`, `iss`, `aud`, `exp`, `nbf` and `iat` (with the leeway), and
    /// not revoked on the feed. A DPoP-bound token is refused
    /// ([`VerifyError::DpopBound`]): use [`Verifier::verify_dpop`].
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let claims = self.verify_token(token).await?;
        if claims.cnf.is_some() {
            return Err(VerifyError::DpopBound);
        }
        Ok(claims)
    }

    /// Verifies a DPoP-bound access token sent as `Authorization: DPoP
    /// <token>` with the `DPoP` proof header (RFC 9449 §7): the token as
    /// [`Verifier::verify`] does, then the proof: `typ: dpop+jwt`, an
    /// asymmetric algorithm, signed by the public key in its header, that
    /// key's thumbprint equal to the token's `cnf.jkt`, `htm` and `htu`
    /// naming `request`, `ath` the token's hash, `iat` within the configured
    /// age, and a `jti` not seen before by this verifier.
    ///
    /// ```no_run
    /// use tessera_verifier::{DpopRequest, Verifier, VerifierConfig};
    ///
    /// # async fn example(token: &str, proof: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let config = VerifierConfig::new("https://login.example.com", "reports-api")
    ///     .with_external_base_url("https://api.example.com");
    /// let verifier = Verifier::discover(config).await?;
    /// let request = DpopRequest { method: "DELETE", url: "https://api.example.com/posts/7" };
    /// let claims = verifier.verify_dpop(token, proof, &request).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn verify_dpop(
        &self,
        token: &str,
        proof: &str,
        request: &DpopRequest<'_>,
    ) -> Result<Claims, VerifyError> {
        let claims = self.verify_token(token).await?;
        let bound = claims.cnf.as_ref().ok_or(VerifyError::NotDpopBound)?;
        let now = unix_now();
        let max_age = self.inner.dpop_max_age;
        let window = dpop::Window {
            max_age,
            // A client clock ahead of ours by up to the leeway is forgiven.
            future_skew: i64::try_from(self.inner.expected.leeway_secs).unwrap_or(i64::MAX),
        };
        let checked = dpop::check(proof, request, token, window, now)?;
        if checked.jkt != bound.jkt {
            return Err(VerifyError::InvalidProof);
        }
        let until = checked.iat.saturating_add(max_age);
        self.inner.proofs.remember(&checked, until, now)?;
        Ok(claims)
    }

    /// The public base URL configured for DPoP checks, if any.
    pub fn external_base_url(&self) -> Option<&str> {
        self.inner.external_base_url.as_deref()
    }

    async fn verify_token(&self, token: &str) -> Result<Claims, VerifyError> {
        // The header is checked before any key lookup, so a token with a
        // bad `alg` or `typ` never causes a JWKS request.
        let expected = &self.inner.expected;
        let (kid, alg) = token::check_header(token, &expected.algorithms)?;
        let key = self.inner.keys.key(&kid).await?;
        // A key verifies only its own algorithm: an RSA key named by an
        // ES256 header, or the reverse, is a forgery.
        if key.alg != alg.jwt() {
            return Err(VerifyError::BadSignature);
        }
        let now = unix_now();
        let claims = token::check_claims(token, &key.key, alg, expected, now)?;
        let revoked = self
            .inner
            .revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_revoked(&claims, now);
        if revoked {
            return Err(VerifyError::Revoked);
        }
        Ok(claims)
    }

    /// Polls the revocation feed once now (the background task calls this;
    /// tests and apps may too). Does nothing without a configured feed.
    pub async fn poll_revocations(&self) -> Result<(), SetupError> {
        self.inner.poll().await
    }
}

impl Inner {
    async fn poll(&self) -> Result<(), SetupError> {
        match &self.feed {
            Some(feed) => feed.poll(&self.revoked, unix_now()).await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.expected.issuer)
            .field("audience", &self.inner.expected.audience)
            .field("revocation_feed", &self.inner.feed.is_some())
            .finish_non_exhaustive()
    }
}

/// Polls the feed every `every` while any clone of the verifier lives.
fn spawn_poller(inner: Weak<Inner>, every: Duration) {
    let every = every.max(MIN_POLL_INTERVAL);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            // Only a weak reference is kept between polls, so dropping the
            // last Verifier ends the task instead of leaking it.
            let Some(inner) = inner.upgrade() else {
                break;
            };
            if let Err(err) = inner.poll().await {
                log::warn!("revocation feed poll failed, will retry: {err}");
            }
        }
    });
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
