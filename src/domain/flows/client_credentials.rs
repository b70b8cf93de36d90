//! The client credentials grant (RFC 6749 §4.4): a confidential client gets
//! an access token for itself, limited to its registered scopes.

use crate::domain::client::{Client, ClientCredentials, GrantType, check_credentials};
use crate::domain::error::OAuthError;
use crate::domain::keys::KeyStore;
use crate::domain::scope::Scope;
use crate::domain::tokens::{AccessTokenGrant, TokenPolicy, TokenResponse, issue_access_token};

/// Decides which scope to grant. Without a request the client gets every
/// registered scope it may use for itself; a request must be a subset of that.
pub fn grant_scope(allowed: &Scope, requested: Option<&str>) -> Result<Scope, OAuthError> {
    let usable = allowed.without_user_scopes();
    let Some(requested) = requested else {
        return Ok(usable);
    };
    let requested = Scope::parse(requested).map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
    let missing = requested.missing_from(&usable);
    if !missing.is_empty() {
        return Err(OAuthError::InvalidScope(format!(
            "scope not allowed for this client: {}",
            missing.join(" ")
        )));
    }
    Ok(requested)
}

/// Authenticates the client against its registration (`None`: unknown
/// client) and issues its access token. No database work: the caller looks
/// the registration up.
pub fn exchange(
    keys: &KeyStore,
    policy: &TokenPolicy,
    registered: Option<&Client>,
    creds: &ClientCredentials,
    requested_scope: Option<&str>,
    dpop_jkt: Option<&str>,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let client = check_credentials(registered, creds)?;
    if client.is_public() || !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the client_credentials grant".into(),
        ));
    }
    let scope = grant_scope(&client.scopes, requested_scope)?;
    let issued = issue_access_token(
        keys,
        policy,
        &AccessTokenGrant {
            subject: &client.client_id,
            client_id: &client.client_id,
            scope: &scope,
            user: None,
            roles: None,
            alg: client.signing_alg,
            jkt: dpop_jkt,
        },
        now,
    )?;
    log::info!(
        "client_credentials token issued to client {:?}",
        client.client_id
    );
    Ok(TokenResponse::of(issued, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_request_the_client_gets_its_non_user_scopes() {
        let allowed = Scope::parse("openid profile posts:read posts:write").unwrap();
        assert_eq!(
            grant_scope(&allowed, None).unwrap().to_string(),
            "posts:read posts:write"
        );
    }

    #[test]
    fn a_request_beyond_the_registration_is_invalid_scope() {
        let allowed = Scope::parse("posts:read").unwrap();
        assert!(matches!(
            grant_scope(&allowed, Some("posts:write")),
            Err(OAuthError::InvalidScope(_))
        ));
        assert!(matches!(
            grant_scope(&allowed, Some("openid")),
            Err(OAuthError::InvalidScope(_))
        ));
        assert_eq!(
            grant_scope(&allowed, Some("posts:read"))
                .unwrap()
                .to_string(),
            "posts:read"
        );
    }
}
