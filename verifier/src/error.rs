//! Why a token was refused (RFC 6750 §3.1 `invalid_token`) and why the
//! verifier could not be set up.

/// Why [`Verifier::verify`](crate::Verifier::verify) refused a token.
///
/// Every variant but [`KeysUnavailable`](VerifyError::KeysUnavailable) is
/// the token's fault and deserves a 401; see [`VerifyError::is_transient`].
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Not three base64url parts with a JSON header and the expected claims.
    #[error("the token is malformed")]
    Malformed,
    /// Signed with anything but RS256 (including `none` and HS256).
    #[error("the token's signing algorithm is not allowed")]
    UnsupportedAlgorithm,
    /// The header's `typ` is not `at+jwt` (RFC 9068 §2.1), so this is some
    /// other JWT, such as an ID token.
    #[error("the token is not an access token")]
    WrongType,
    /// No `kid`, or one the issuer does not publish.
    #[error("the token's signing key is unknown")]
    UnknownKey,
    /// The signature does not match the header and claims.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// Its `sid`, `jti` or `client_id` is on the revocation feed.
    #[error("the token has been revoked")]
    Revoked,
    /// The issuer's keys could not be fetched to check this token.
    #[error("the issuer's signing keys are unavailable")]
    KeysUnavailable,
    /// A DPoP-bound token (one with `cnf.jkt`) sent as a bearer token: it
    /// is usable only with the DPoP scheme and a proof (RFC 9449 §7.1).
    #[error("the token is DPoP-bound: send it with the DPoP scheme and a proof")]
    DpopBound,
    /// A token without `cnf.jkt` sent with the DPoP scheme.
    #[error("the token is not DPoP-bound")]
    NotDpopBound,
    /// The DPoP proof is missing, malformed, signed by another key than the
    /// token's, or not for this request, this token or this time.
    #[error("the DPoP proof is invalid")]
    InvalidProof,
    /// The DPoP proof was used before.
    #[error("the DPoP proof was already used")]
    ProofReplayed,
    /// The replay cache is full of live proofs; try again shortly.
    #[error("too many DPoP proofs in flight")]
    ReplayCacheFull,
}

impl VerifyError {
    /// The RFC 6750 §3 challenge for a 401 response:
    /// `Bearer error="invalid_token", error_description="..."`.
    ///
    /// ```
    /// use tessera_verifier::VerifyError;
    ///
    /// assert_eq!(
    ///     VerifyError::Expired.www_authenticate(),
    ///     r#"Bearer error="invalid_token", error_description="the token has expired""#
    /// );
    /// ```
    pub fn www_authenticate(&self) -> String {
        // The descriptions are fixed ASCII without `"` or `\`, as RFC 6750
        // §3 requires of `error_description`, so no escaping is needed.
        if self.is_dpop() {
            return self.dpop_challenge();
        }
        format!(r#"Bearer error="invalid_token", error_description="{self}""#)
    }

    /// The RFC 9449 §7.1 challenge, for a request that used (or should have
    /// used) the DPoP scheme: `DPoP algs="...", error="...", ...`.
    pub fn dpop_challenge(&self) -> String {
        format!(
            r#"DPoP algs="{}", error="{}", error_description="{self}""#,
            crate::dpop::algorithm_names(),
            self.error_code()
        )
    }

    /// The error code: `invalid_dpop_proof` for a bad proof, else
    /// `invalid_token`.
    pub fn error_code(&self) -> &'static str {
        match self {
            VerifyError::InvalidProof | VerifyError::ProofReplayed => "invalid_dpop_proof",
            _ => "invalid_token",
        }
    }

    /// True for refusals about DPoP, whose challenge names the DPoP scheme.
    pub fn is_dpop(&self) -> bool {
        matches!(
            self,
            VerifyError::DpopBound
                | VerifyError::NotDpopBound
                | VerifyError::InvalidProof
                | VerifyError::ProofReplayed
        )
    }

    /// True when the token may well be valid and the failure is on the
    /// verifier's side (the issuer's keys could not be fetched, the replay
    /// cache is full). Answer 503 rather than 401 then, so clients do not
    /// throw away good tokens.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            VerifyError::KeysUnavailable | VerifyError::ReplayCacheFull
        )
    }
}

/// Why [`Verifier::discover`](crate::Verifier::discover) or a revocation
/// poll failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A request to the issuer failed or was answered with an error status.
    #[error("HTTP request failed: {0}")]
    Http(String),
    /// The discovery document is unusable: another `issuer`, or a missing
    /// endpoint.
    #[error("discovery: {0}")]
    Discovery(String),
    /// The JWKS is not a JSON Web Key Set.
    #[error("JWKS: {0}")]
    Jwks(String),
    /// The revocation feed answered with something other than a feed page.
    #[error("revocation feed: {0}")]
    Feed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [VerifyError; 11] = [
        VerifyError::Malformed,
        VerifyError::UnsupportedAlgorithm,
        VerifyError::WrongType,
        VerifyError::UnknownKey,
        VerifyError::BadSignature,
        VerifyError::Expired,
        VerifyError::NotYetValid,
        VerifyError::WrongIssuer,
        VerifyError::WrongAudience,
        VerifyError::Revoked,
        VerifyError::KeysUnavailable,
    ];

    #[test]
    fn challenges_use_only_characters_rfc_6750_allows() {
        for error in ALL {
            let description = error.to_string();
            // RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E.
            assert!(
                description
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                "{description}"
            );
            assert!(
                error
                    .www_authenticate()
                    .starts_with(r#"Bearer error="invalid_token", error_description=""#)
            );
        }
    }

    #[test]
    fn only_unavailable_keys_are_transient() {
        let transient: Vec<_> = ALL.into_iter().filter(VerifyError::is_transient).collect();
        assert_eq!(transient, [VerifyError::KeysUnavailable]);
    }
}
