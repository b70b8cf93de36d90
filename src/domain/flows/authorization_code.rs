//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3,
//! RFC 7636 §4.6, OpenID Connect Core §3.1.3): one redemption per code, and a
//! second one revokes what the first produced (RFC 6749 §4.1.2).

use crate::db::Conn;
use crate::db::auth_codes::{self, AuthCodeRow};
use crate::db::refresh_tokens;
use crate::db::sessions::{self, SessionRow};
use crate::db::users::UserRow;
use crate::domain::backchannel_logout;
use crate::domain::client::{Client, ClientCredentials, GrantType, authenticate_client};
use crate::domain::error::OAuthError;
use crate::domain::flows::refresh::{NewFamily, RefreshPolicy, start_family};
use crate::domain::keys::KeyStore;
use crate::domain::mfa;
use crate::domain::pkce;
use crate::domain::revocation;
use crate::domain::scope::Scope;
use crate::domain::secret;
use crate::domain::session::is_live;
use crate::domain::tokens::{
    AccessTokenGrant, IdTokenClaims, SignedInUser, TokenPolicy, TokenResponse, at_hash,
    issue_access_token, sign_id_token,
};
use crate::domain::user::split_roles;

/// The parameters of a code redemption.
#[derive(Debug, Clone)]
pub struct CodeRedemption {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// The thumbprint of the DPoP key the request proved, if any.
    pub dpop_jkt: Option<String>,
}

enum Checked {
    Redeemed(Box<(AuthCodeRow, SessionRow, UserRow)>),
    Replayed,
}

fn invalid(msg: &str) -> OAuthError {
    OAuthError::InvalidGrant(msg.to_owned())
}

/// Authenticates the client, redeems the code and issues the tokens.
pub fn exchange(
    conn: &mut Conn,
    keys: &KeyStore,
    policy: &TokenPolicy,
    refresh: &RefreshPolicy,
    creds: &ClientCredentials,
    req: &CodeRedemption,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let client = authenticate_client(conn, creds)?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the authorization_code grant".into(),
        ));
    }
    let code_hash = secret::hash_secret(&req.code);
    let checked = crate::db::immediate(conn, |conn| redeem(conn, &client, &code_hash, req, now))?;
    let (code, session, user) = match checked {
        Checked::Redeemed(found) => *found,
        Checked::Replayed => return Err(invalid("the authorization code was already used")),
    };
    let scope = Scope::parse(&code.scope).map_err(|_| invalid("stored scope is invalid"))?;
    let roles = split_roles(&user.roles);
    let access = issue_access_token(
        keys,
        policy,
        &AccessTokenGrant {
            subject: &user.subject,
            client_id: &client.client_id,
            scope: &scope,
            user: Some(SignedInUser {
                sid: &session.sid,
                auth_time: session.auth_time,
            }),
            roles: Some(&roles),
            alg: client.signing_alg,
            jkt: req.dpop_jkt.as_deref(),
        },
        now,
    )?;
    let id_token = if scope.contains("openid") {
        let claims = IdTokenClaims {
            iss: policy.issuer.clone(),
            sub: user.subject.clone(),
            aud: client.client_id.clone(),
            exp: now + policy.ttl,
            iat: now,
            auth_time: session.auth_time,
            nonce: code.nonce.clone(),
            at_hash: at_hash(&access.token),
            sid: session.sid.clone(),
            amr: session.amr.split(' ').map(str::to_owned).collect(),
            acr: Some(mfa::acr_of(&session.amr).to_owned()),
            name: scope
                .contains("profile")
                .then(|| user.name.clone())
                .flatten(),
            preferred_username: scope.contains("profile").then(|| user.username.clone()),
            email: scope
                .contains("email")
                .then(|| user.email.clone())
                .flatten(),
            roles: scope.contains("roles").then(|| roles.clone()),
        };
        Some(sign_id_token(keys, &claims, client.signing_alg, now)?)
    } else {
        None
    };
    let refresh_token = if client.allows(GrantType::RefreshToken) {
        let family = NewFamily {
            client_id: &client.client_id,
            user_id: user.id,
            session_id: session.id,
            session_expires_at: session.absolute_expires_at,
            code_hash: &code_hash,
            scope: &code.scope,
            // A confidential client's refresh tokens are bound to its
            // credentials instead (RFC 9449 §5).
            dpop_jkt: req.dpop_jkt.as_deref().filter(|_| client.is_public()),
        };
        Some(start_family(conn, refresh, &family, now)?)
    } else {
        None
    };
    auth_codes::update_auth_code_access(conn, &code_hash, &access.claims.jti, access.claims.exp)?;
    log::info!(
        "authorization code redeemed by client {:?} for session {}",
        client.client_id,
        session.sid
    );
    let mut response = TokenResponse::of(access, now);
    response.id_token = id_token;
    response.refresh_token = refresh_token;
    Ok(response)
}

/// Checks and spends the code inside one write transaction.
fn redeem(
    conn: &mut Conn,
    client: &Client,
    code_hash: &[u8],
    req: &CodeRedemption,
    now: i64,
) -> Result<Checked, OAuthError> {
    let code = auth_codes::find_auth_code(conn, code_hash)?
        .ok_or_else(|| invalid("the authorization code is invalid"))?;
    if code.client_id != client.client_id {
        return Err(invalid(
            "the authorization code was issued to another client",
        ));
    }
    if code.used_at.is_some() {
        // A replay: whoever holds this code may be an attacker, so everything
        // the first redemption produced is revoked (RFC 6749 §4.1.2).
        refresh_tokens::revoke_refresh_tokens_by_code(conn, code_hash, now)?;
        if let (Some(jti), Some(exp)) = (&code.access_jti, code.access_expires_at) {
            revocation::revoke_access_token(conn, jti, exp, now)?;
        }
        crate::domain::audit::record(
            conn,
            &crate::domain::audit::Actor::SYSTEM,
            "code.replay_detected",
            &client.client_id,
            "tokens issued from the code revoked",
            now,
        )?;
        log::warn!(
            "security: authorization code replayed by client {:?}; tokens issued from it revoked",
            client.client_id
        );
        return Ok(Checked::Replayed);
    }
    if code.expires_at <= now {
        return Err(invalid("the authorization code has expired"));
    }
    if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(invalid(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&code.code_challenge, &req.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), _) => return Err(invalid("code_verifier does not match the code_challenge")),
        (None, Some(_)) => return Err(invalid("no code_challenge was sent for this code")),
        (None, None) if client.is_public() => return Err(invalid("PKCE is required")),
        (None, None) => {}
    }
    // A code bound to a DPoP key is redeemed only with a proof by that key
    // (RFC 9449 §10); like a wrong verifier, this leaves the code unspent.
    // Refused as a refresh token bound to another key is.
    if let Some(bound) = &code.dpop_jkt
        && req.dpop_jkt.as_ref() != Some(bound)
    {
        return Err(OAuthError::InvalidDpopProof(
            "the code is bound to a DPoP key (dpop_jkt): send a proof by that key".into(),
        ));
    }
    // An ending session is seen ended, or ends after this commits and so
    // finds this client recorded below (back-channel logout).
    sessions::lock_session(conn, code.session_id)?;
    let (session, user) = sessions::find_session(conn, code.session_id)?
        .ok_or_else(|| invalid("the sign-in session has ended"))?;
    if !is_live(&session, &user, now) {
        return Err(invalid("the sign-in session has ended"));
    }
    if auth_codes::update_auth_code_used(conn, code_hash, now)? == 0 {
        return Ok(Checked::Replayed);
    }
    // In the same transaction: a session that ends from now on tells this
    // client (back-channel logout).
    backchannel_logout::record_client(conn, session.id, &client.client_id)?;
    Ok(Checked::Redeemed(Box::new((code, session, user))))
}
