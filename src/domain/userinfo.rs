//! The UserInfo endpoint's rules (OpenID Connect Core §5.3): a valid access
//! token of a live session yields `sub` plus the claims its scopes allow.

use serde_json::{Map, Value, json};

use crate::db::{Conn, QueryError, revocations, sessions, users};
use crate::domain::tokens::AccessTokenClaims;

/// Why userinfo was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum UserinfoError {
    /// Revoked, of an ended session, of a disabled user, or not a user's token.
    InvalidToken,
    /// The token lacks the `openid` scope.
    InsufficientScope,
}

/// The claims for a verified access token.
pub fn claims(
    conn: &mut Conn,
    token: &AccessTokenClaims,
    now: i64,
) -> Result<Result<Map<String, Value>, UserinfoError>, QueryError> {
    if revocations::is_access_token_revoked(conn, &token.jti)? {
        return Ok(Err(UserinfoError::InvalidToken));
    }
    let Some(sid) = &token.sid else {
        // A client acting for itself has no user to describe.
        return Ok(Err(UserinfoError::InvalidToken));
    };
    let session = sessions::find_session_by_sid(conn, sid)?;
    if session.is_none_or(|s| s.ended_at.is_some() || s.absolute_expires_at <= now) {
        return Ok(Err(UserinfoError::InvalidToken));
    }
    let Some(user) = users::find_user_by_subject(conn, &token.sub)?.filter(|u| !u.disabled) else {
        return Ok(Err(UserinfoError::InvalidToken));
    };
    let scopes: Vec<&str> = token.scope.as_deref().unwrap_or("").split(' ').collect();
    if !scopes.contains(&"openid") {
        return Ok(Err(UserinfoError::InsufficientScope));
    }
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.subject));
    if scopes.contains(&"profile") {
        out.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = user.name {
            out.insert("name".into(), json!(name));
        }
    }
    if let Some(email) = user.email.filter(|_| scopes.contains(&"email")) {
        out.insert("email".into(), json!(email));
    }
    if scopes.contains(&"roles") {
        out.insert(
            "roles".into(),
            json!(crate::domain::user::split_roles(&user.roles)),
        );
    }
    Ok(Ok(out))
}
