//! The algorithms the server signs with. Each has its own keys, rotating on
//! the same schedule; a client's registration picks one for its tokens.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

/// A JWS algorithm the server signs with (RFC 7518 §3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over RSA-2048: what every verifier
    /// accepts, so the default.
    #[default]
    RS256,
    /// ECDSA over P-256 with SHA-256: far cheaper to sign, smaller tokens.
    ES256,
}

impl SigningAlg {
    /// Every algorithm, in the order keys are listed and published.
    pub const ALL: [SigningAlg; 2] = [SigningAlg::RS256, SigningAlg::ES256];

    /// The JWA name, as stored and as put in token headers.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }

    /// The `jsonwebtoken` algorithm.
    pub fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::RS256 => Algorithm::RS256,
            SigningAlg::ES256 => Algorithm::ES256,
        }
    }

    /// The algorithm of a stored row; stored values are written by this
    /// server, so anything else is a damaged row.
    pub fn from_stored(s: &str) -> Result<Self, UnknownAlg> {
        s.parse()
    }
}

/// An algorithm name the server does not sign with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signing algorithm {0:?} (RS256 or ES256)")]
pub struct UnknownAlg(pub String);

impl FromStr for SigningAlg {
    type Err = UnknownAlg;

    /// JWA names are case-sensitive (RFC 7515 §4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlg(s.to_owned()))
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in SigningAlg::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlg>(), Ok(alg));
        }
        assert!("es256".parse::<SigningAlg>().is_err());
        assert!("HS256".parse::<SigningAlg>().is_err());
        assert!("none".parse::<SigningAlg>().is_err());
    }
}
