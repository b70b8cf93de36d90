//! Tokens the server signs: RFC 9068 access tokens and OpenID Connect ID
//! tokens, the token endpoint's success response (RFC 6749 §5.1), and the
//! strict verification of access tokens presented back to the server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::OAuthError;
use super::keys::{KeyStore, SigningAlg};
use super::scope::Scope;
use super::secret;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Allowed clock difference when checking `exp`/`iat`.
pub const LEEWAY: u64 = 30;

/// Claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The user's roles (tokens issued for a user only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// `cnf` (RFC 7800): the thumbprint of the key the token is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// A user's sign-in, for tokens issued on their behalf.
#[derive(Debug, Clone)]
pub struct SignedInUser<'a> {
    pub sid: &'a str,
    pub auth_time: i64,
}

/// What goes into an access token besides the server's own settings.
#[derive(Debug, Clone)]
pub struct AccessTokenGrant<'a> {
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scope,
    pub user: Option<SignedInUser<'a>>,
    /// The user's roles; `None` for a client acting for itself.
    pub roles: Option<&'a [String]>,
    /// The client's signing algorithm.
    pub alg: SigningAlg,
    /// The DPoP key to bind the token to, when the request proved one.
    pub jkt: Option<&'a str>,
}

/// The issuer-wide parts of every token.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
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
    policy: &TokenPolicy,
    grant: &AccessTokenGrant,
    now: i64,
) -> Result<IssuedAccessToken, OAuthError> {
    let claims = AccessTokenClaims {
        iss: policy.issuer.clone(),
        sub: grant.subject.to_owned(),
        aud: policy.audience.clone(),
        exp: now + policy.ttl,
        iat: now,
        jti: secret::random_id(),
        client_id: grant.client_id.to_owned(),
        scope: (!grant.scope.is_empty()).then(|| grant.scope.to_string()),
        sid: grant.user.as_ref().map(|u| u.sid.to_owned()),
        auth_time: grant.user.as_ref().map(|u| u.auth_time),
        roles: grant.roles.map(<[String]>::to_vec),
        cnf: grant.jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let (token, _kid) = keys
        .sign(&claims, ACCESS_TOKEN_TYP, grant.alg, now)
        .map_err(OAuthError::internal)?;
    Ok(IssuedAccessToken { token, claims })
}

/// Claims of an ID token (OpenID Connect Core §2, §3.1.3.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    pub sid: String,
    /// How the user signed in (RFC 8176).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The assurance of that sign-in: one factor or two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With the `roles` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

/// `at_hash`: the left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Signs an ID token with the client's algorithm. `at_hash` is SHA-256
/// based, right for both RS256 and ES256 (OIDC Core §3.1.3.6).
pub fn sign_id_token(
    keys: &KeyStore,
    claims: &IdTokenClaims,
    alg: SigningAlg,
    now: i64,
) -> Result<String, OAuthError> {
    keys.sign(claims, "JWT", alg, now)
        .map(|(t, _)| t)
        .map_err(OAuthError::internal)
}

/// The JSON body of a successful token response.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    /// The response for an access token alone: `DPoP` when it is bound to
    /// a key (RFC 9449 §5), else `Bearer`.
    pub fn of(issued: IssuedAccessToken, now: i64) -> Self {
        TokenResponse {
            expires_in: issued.claims.exp - now,
            scope: issued.claims.scope,
            token_type: if issued.claims.cnf.is_some() {
                "DPoP"
            } else {
                "Bearer"
            },
            access_token: issued.token,
            refresh_token: None,
            id_token: None,
        }
    }
}

/// Why a presented token was refused. Deliberately coarse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid token: {0}")]
pub struct InvalidToken(pub &'static str);

fn typ_is(header_typ: Option<&str>, expected: &str) -> bool {
    header_typ.is_some_and(|t| {
        t.eq_ignore_ascii_case(expected)
            || t.eq_ignore_ascii_case(&format!("application/{expected}"))
    })
}

/// A token's `typ` and what verifies it.
struct OwnKey {
    typ: Option<String>,
    alg: Algorithm,
    key: jsonwebtoken::DecodingKey,
}

/// The header checks every token of ours passes: a `kid` published at `now`
/// and exactly that key's algorithm (so neither `alg: none`, nor HS256
/// "signed" with a public key, nor an RS256 header on an EC key gets
/// further). Returns the `typ` and the key to verify with.
fn own_key(keys: &KeyStore, token: &str, now: i64) -> Result<OwnKey, InvalidToken> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidToken("malformed"))?;
    let kid = header.kid.ok_or(InvalidToken("no key id"))?;
    let (alg, key) = keys
        .decoding_key(&kid, now)
        .map_err(|_| InvalidToken("key lookup failed"))?
        .ok_or(InvalidToken("unknown key"))?;
    if header.alg != alg.jwt() {
        return Err(InvalidToken("algorithm not allowed"));
    }
    Ok(OwnKey {
        typ: header.typ,
        alg: alg.jwt(),
        key,
    })
}

/// Verifies an access token issued by this server: signed with a published
/// key in that key's algorithm, `typ: at+jwt`, and the issuer, audience and
/// expiry.
pub fn verify_access_token(
    keys: &KeyStore,
    policy: &TokenPolicy,
    token: &str,
    now: i64,
) -> Result<AccessTokenClaims, InvalidToken> {
    let OwnKey { typ, alg, key } = own_key(keys, token, now)?;
    if !typ_is(typ.as_deref(), ACCESS_TOKEN_TYP) {
        return Err(InvalidToken("not an access token"));
    }
    let mut v = Validation::new(alg);
    v.set_issuer(&[&policy.issuer]);
    v.set_audience(&[&policy.audience]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // The server's clock (movable in tests) decides expiry, not the system's.
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<AccessTokenClaims>(token, &key, &v)
        .map_err(|_| InvalidToken("signature or claims invalid"))?
        .claims;
    if claims.exp + LEEWAY as i64 <= now {
        return Err(InvalidToken("expired"));
    }
    if claims.iat > now + LEEWAY as i64 {
        return Err(InvalidToken("issued in the future"));
    }
    Ok(claims)
}

/// Verifies an ID token this server issued, ignoring expiry (an
/// `id_token_hint` may be expired, OIDC RP-Initiated Logout §2).
pub fn verify_id_token_hint(
    keys: &KeyStore,
    issuer: &str,
    token: &str,
    now: i64,
) -> Result<IdTokenClaims, InvalidToken> {
    let OwnKey { typ, alg, key } = own_key(keys, token, now)?;
    // An access token is never an acceptable hint, whatever its claims.
    if typ_is(typ.as_deref(), ACCESS_TOKEN_TYP) {
        return Err(InvalidToken("not an ID token"));
    }
    let mut v = Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.validate_exp = false;
    v.validate_aud = false;
    v.set_required_spec_claims(&["iss", "aud", "sub"]);
    jsonwebtoken::decode::<IdTokenClaims>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|_| InvalidToken("signature or claims invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_follows_oidc_core_3_1_3_6() {
        // Left-most 128 bits of SHA-256, base64url without padding: 22 characters.
        let h = at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
        assert_eq!(h.len(), 22);
        assert_eq!(
            h,
            URL_SAFE_NO_PAD
                .encode(&Sha256::digest(b"jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y")[..16])
        );
    }

    #[test]
    fn typ_accepts_the_media_type_form() {
        assert!(typ_is(Some("at+jwt"), "at+jwt"));
        assert!(typ_is(Some("application/at+jwt"), "at+jwt"));
        assert!(!typ_is(Some("JWT"), "at+jwt"));
        assert!(!typ_is(None, "at+jwt"));
    }
}
