//! Access tokens as RFC 9068 JWTs, and the token endpoint's success response
//! (RFC 6749 §5.1).

use serde::Serialize;

use super::error::OAuthError;
use super::keys::KeyStore;
use super::scope::Scope;
use super::secret;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What goes into an access token besides the server's own settings.
#[derive(Debug, Clone)]
pub struct AccessTokenGrant<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scope,
}

/// The issuer-wide parts of every access token.
#[derive(Debug, Clone)]
pub struct AccessTokenPolicy {
    pub issuer: String,
    pub audience: String,
    pub ttl: i64,
}

/// A signed access token and its claims.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub claims: AccessTokenClaims,
}

/// Builds and signs an access token.
pub fn issue_access_token(
    keys: &KeyStore,
    policy: &AccessTokenPolicy,
    grant: &AccessTokenGrant,
    now: i64,
) -> Result<IssuedAccessToken, OAuthError> {
    let claims = AccessTokenClaims {
        iss: policy.issuer.clone(),
        sub: grant.subject.to_owned(),
        aud: policy.audience.clone(),
        exp: now + policy.ttl,
        iat: now,
        jti: secret::generate_token()[..22].to_owned(),
        client_id: grant.client_id.to_owned(),
        scope: (!grant.scope.is_empty()).then(|| grant.scope.to_string()),
    };
    let (token, _kid) = keys
        .sign(&claims, ACCESS_TOKEN_TYP, now)
        .map_err(OAuthError::internal)?;
    Ok(IssuedAccessToken { token, claims })
}

/// The JSON body of a successful token response.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// A bearer response for an access token alone.
    pub fn bearer(issued: IssuedAccessToken, now: i64) -> Self {
        TokenResponse {
            expires_in: issued.claims.exp - now,
            scope: issued.claims.scope,
            access_token: issued.token,
            token_type: "Bearer",
        }
    }
}
