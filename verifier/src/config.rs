//! What a [`Verifier`](crate::Verifier) trusts and expects: the issuer
//! (OpenID Connect Discovery 1.0 §4.3), the audience and clock leeway
//! (RFC 9068 §4, RFC 7519 §4.1.4), and the revocation-feed client.

use std::fmt;
use std::time::Duration;

/// Default clock leeway applied to `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Default shortest time between two JWKS refetches caused by unknown `kid`s.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Default time between two polls of the revocation feed.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Default age up to which a DPoP proof is accepted.
pub const DEFAULT_DPOP_MAX_AGE: Duration = Duration::from_secs(60);
/// Default number of DPoP proofs the replay cache holds.
pub const DEFAULT_DPOP_REPLAY_CAPACITY: usize = 100_000;
/// Default number of live DPoP proofs remembered for any one key: about 16
/// requests a second for a minute, far more than one browser makes.
pub const DEFAULT_DPOP_PROOFS_PER_KEY: usize = 1_000;

/// Settings for [`Verifier::discover`](crate::Verifier::discover).
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The issuer URL, exactly as in the tokens' `iss`, e.g.
    /// `http://127.0.0.1:8080` (no trailing slash).
    pub issuer: String,
    /// The `aud` this resource server expects.
    pub audience: String,
    /// Allowed clock difference for `exp`, `nbf` and `iat` (default 30 s).
    pub leeway: Duration,
    /// At most one JWKS refetch per interval is caused by tokens with an
    /// unknown `kid` (default 10 s), so a flood of forged tokens cannot
    /// become a flood of requests to the issuer.
    pub min_refetch_interval: Duration,
    /// The revocation feed to follow, if any.
    pub revocation_feed: Option<FeedConfig>,
    /// The signature algorithms this resource server accepts (default
    /// RS256 only). A token is checked with the algorithm configured here,
    /// never with whatever its header claims.
    pub algorithms: Vec<SigningAlgorithm>,
    /// This API's public base URL (`https://api.example.com`, or with a
    /// path prefix), for DPoP proofs' `htu` behind a proxy. Without it the
    /// actix extractor uses the request's `Host` header.
    pub external_base_url: Option<String>,
    /// How old a DPoP proof may be (default 60 s), and so how long each is
    /// remembered to refuse replays.
    pub dpop_max_age: Duration,
    /// Most DPoP proofs remembered at once (default 100,000); past that,
    /// new proofs are refused as a transient failure until old ones expire.
    pub dpop_replay_capacity: usize,
    /// Most live DPoP proofs remembered for one key (default 1,000), so one
    /// token holder cannot fill the cache for everyone.
    pub dpop_proofs_per_key: usize,
}

/// A signature algorithm the verifier can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
    RS256,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    ES256,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::RS256 => "RS256",
            SigningAlgorithm::ES256 => "ES256",
        }
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlgorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

impl VerifierConfig {
    /// Settings with the defaults: 30 s leeway, 10 s refetch interval, no
    /// revocation feed.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            revocation_feed: None,
            algorithms: vec![SigningAlgorithm::RS256],
            external_base_url: None,
            dpop_max_age: DEFAULT_DPOP_MAX_AGE,
            dpop_replay_capacity: DEFAULT_DPOP_REPLAY_CAPACITY,
            dpop_proofs_per_key: DEFAULT_DPOP_PROOFS_PER_KEY,
        }
    }

    /// The public base URL of this API, for DPoP proofs behind a proxy.
    pub fn with_external_base_url(mut self, url: impl Into<String>) -> Self {
        self.external_base_url = Some(url.into());
        self
    }

    /// Accepts tokens signed with these algorithms (replacing the default,
    /// RS256 only), e.g. `[SigningAlgorithm::ES256]` for an issuer that
    /// signs this API's tokens with ES256.
    pub fn with_algorithms(mut self, algorithms: &[SigningAlgorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Follows the issuer's revocation feed with these client credentials.
    pub fn with_revocation_feed(mut self, feed: FeedConfig) -> Self {
        self.revocation_feed = Some(feed);
        self
    }
}

/// The confidential client that reads Tessera's revocation feed.
#[derive(Clone)]
pub struct FeedConfig {
    /// The client's id.
    pub client_id: String,
    /// The client's secret, sent with HTTP Basic (RFC 6749 §2.3.1).
    pub client_secret: String,
    /// Time between two polls (default 5 s; at least 1 s is used).
    pub poll_interval: Duration,
}

impl FeedConfig {
    /// Feed credentials with the default 5 s poll interval.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

// Written by hand so that logging a config never prints the secret.
impl fmt::Debug for FeedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeedConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_client_secret() {
        let text = format!("{:?}", FeedConfig::new("api", "s3cret"));
        assert!(text.contains("api"));
        assert!(!text.contains("s3cret"));
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = VerifierConfig::new("http://issuer", "api")
            .with_revocation_feed(FeedConfig::new("api", "secret"));
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert_eq!(config.algorithms, [SigningAlgorithm::RS256]);
        assert_eq!(config.min_refetch_interval, Duration::from_secs(10));
        assert_eq!(
            config.revocation_feed.map(|f| f.poll_interval),
            Some(Duration::from_secs(5))
        );
    }
}
