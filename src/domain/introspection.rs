//! Token revocation (RFC 7009) and introspection (RFC 7662) decisions.

use serde_json::{Map, Value, json};

use crate::db::refresh_tokens::{self, RefreshTokenRow};
use crate::db::{Conn, QueryError, revocations, sessions, users};

use super::audit::{self, Actor};
use super::client::Client;
use super::keys::KeyStore;
use super::revocation;
use super::secret;
use super::session::is_live;
use super::tokens::{AccessTokenClaims, TokenPolicy, verify_access_token};

/// Revokes a token the client owns: a refresh token takes its whole family
/// with it; an access token is recorded by `jti` until it expires. Unknown
/// tokens and tokens of other clients are left alone (RFC 7009 §2.2: the
/// answer is 200 either way, so it reveals nothing).
pub fn revoke(
    conn: &mut Conn,
    keys: &KeyStore,
    policy: &TokenPolicy,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<(), QueryError> {
    if let Some(row) = refresh_tokens::find_refresh_token(conn, &secret::hash_secret(token))? {
        if row.client_id == client.client_id {
            refresh_tokens::revoke_refresh_family(conn, &row.family_id, now)?;
            let actor = Actor {
                name: &client.client_id,
                ip: "",
            };
            audit::record(
                conn,
                &actor,
                "token.revoked",
                "refresh token family",
                "",
                now,
            )?;
            log::info!(
                "refresh token family revoked by client {:?}",
                client.client_id
            );
        }
        return Ok(());
    }
    if let Ok(claims) = verify_access_token(keys, policy, token, now)
        && claims.client_id == client.client_id
    {
        crate::db::immediate(conn, |conn| {
            revocation::revoke_access_token(conn, &claims.jti, claims.exp, now)
        })?;
        let actor = Actor {
            name: &client.client_id,
            ip: "",
        };
        audit::record(
            conn,
            &actor,
            "token.revoked",
            "access token",
            &format!("jti {}", claims.jti),
            now,
        )?;
        log::info!(
            "access token {} revoked by client {:?}",
            claims.jti,
            client.client_id
        );
    }
    Ok(())
}

fn inactive() -> Value {
    json!({ "active": false })
}

/// The introspection response for any token (RFC 7662 §2.2).
pub fn introspect(
    conn: &mut Conn,
    keys: &KeyStore,
    policy: &TokenPolicy,
    token: &str,
    now: i64,
) -> Result<Value, QueryError> {
    if let Ok(claims) = verify_access_token(keys, policy, token, now) {
        return Ok(access_token_info(conn, &claims, now)?.unwrap_or_else(inactive));
    }
    match refresh_tokens::find_refresh_token_details(conn, &secret::hash_secret(token))? {
        Some((row, subject, sid)) => {
            Ok(refresh_token_info(conn, &row, subject, sid, now)?.unwrap_or_else(inactive))
        }
        None => Ok(inactive()),
    }
}

fn access_token_info(
    conn: &mut Conn,
    c: &AccessTokenClaims,
    now: i64,
) -> Result<Option<Value>, QueryError> {
    if c.exp <= now || revocations::is_access_token_revoked(conn, &c.jti)? {
        return Ok(None);
    }
    if let Some(sid) = &c.sid {
        let live = sessions::find_session_by_sid(conn, sid)?
            .is_some_and(|s| s.ended_at.is_none() && s.absolute_expires_at > now);
        if !live {
            return Ok(None);
        }
        if users::find_user_by_subject(conn, &c.sub)?.is_none_or(|u| u.disabled) {
            return Ok(None);
        }
    }
    let mut m = Map::new();
    m.insert("active".into(), json!(true));
    // RFC 9449 §6.2: a bound token says so, with its key's thumbprint.
    let token_type = if c.cnf.is_some() { "DPoP" } else { "Bearer" };
    m.insert("token_type".into(), json!(token_type));
    if let Some(cnf) = &c.cnf {
        m.insert("cnf".into(), json!({ "jkt": cnf.jkt }));
    }
    m.insert("sub".into(), json!(c.sub));
    m.insert("client_id".into(), json!(c.client_id));
    if let Some(scope) = &c.scope {
        m.insert("scope".into(), json!(scope));
    }
    m.insert("exp".into(), json!(c.exp));
    m.insert("iat".into(), json!(c.iat));
    m.insert("iss".into(), json!(c.iss));
    m.insert("aud".into(), json!(c.aud));
    m.insert("jti".into(), json!(c.jti));
    if let Some(sid) = &c.sid {
        m.insert("sid".into(), json!(sid));
    }
    Ok(Some(Value::Object(m)))
}

fn refresh_token_info(
    conn: &mut Conn,
    row: &RefreshTokenRow,
    subject: String,
    sid: Option<String>,
    now: i64,
) -> Result<Option<Value>, QueryError> {
    let dead = row.revoked_at.is_some()
        || row.spent_at.is_some()
        || row.expires_at <= now
        || row.idle_expires_at <= now;
    if dead {
        return Ok(None);
    }
    let session = match row.session_id {
        Some(id) => sessions::find_session(conn, id)?,
        None => None,
    };
    let session_live = session.as_ref().is_some_and(|(s, u)| is_live(s, u, now));
    let user_ok = users::find_user_by_id(conn, row.user_id)?.is_some_and(|u| !u.disabled);
    if !user_ok || (!row.offline && !session_live) {
        return Ok(None);
    }
    let mut m = Map::new();
    m.insert("active".into(), json!(true));
    m.insert("token_type".into(), json!("refresh_token"));
    m.insert("sub".into(), json!(subject));
    m.insert("client_id".into(), json!(row.client_id));
    m.insert("scope".into(), json!(row.scope));
    m.insert("exp".into(), json!(row.idle_expires_at.min(row.expires_at)));
    m.insert("iat".into(), json!(row.created_at));
    if let Some(sid) = sid.filter(|_| session_live) {
        m.insert("sid".into(), json!(sid));
    }
    Ok(Some(Value::Object(m)))
}
