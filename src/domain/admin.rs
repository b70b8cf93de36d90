//! What the admin console does, as plain functions: listing sessions and
//! users, revoking, disabling, resetting passwords, editing clients. Every
//! change is audited with the acting admin.

use crate::db::clients::{self, ClientChanges};
use crate::db::revocation_events::insert_revocation_event;
use crate::db::{Conn, QueryError, refresh_tokens, sessions, users};

use super::audit::{self, Actor};
use super::client::{self, Client, ClientError, GrantType, NewClient, RegisteredClient};
use super::password;
use super::redirect_uri::RedirectUri;
use super::revocation::{self, Scope as RevokeScope};
use super::scope::Scope;
use super::secret;
use super::tokens::LEEWAY;
use super::user::{self, NewUserRequest, User, UserError};

/// Feed entry kind for a deleted client: reject its access tokens.
pub const KIND_CLIENT: &str = "client_id";

/// A live session as the admin sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: i32,
    pub sid: String,
    pub username: String,
    pub clients: Vec<String>,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// Live sessions, newest activity first, optionally for one username.
pub fn list_sessions(
    conn: &mut Conn,
    username: Option<&str>,
    now: i64,
) -> Result<Vec<SessionView>, QueryError> {
    let rows = sessions::list_live_sessions(conn, now, username, 500)?;
    let ids: Vec<i32> = rows.iter().map(|(s, _)| s.id).collect();
    let clients = sessions::list_session_clients(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|(s, username)| SessionView {
            clients: clients
                .iter()
                .filter(|(id, _)| *id == s.id)
                .map(|(_, c)| c.clone())
                .collect(),
            id: s.id,
            sid: s.sid,
            username,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.idle_expires_at.min(s.absolute_expires_at),
        })
        .collect())
}

/// Ends one session with every refresh-token family bound to it, and feeds
/// its `sid`, in one transaction.
pub fn revoke_session(
    conn: &mut Conn,
    actor: &Actor,
    session_id: i32,
    access_ttl: i64,
    now: i64,
) -> Result<bool, QueryError> {
    crate::db::immediate(conn, |conn| {
        let Some((s, u)) = sessions::find_session(conn, session_id)? else {
            return Ok(false);
        };
        let ended = revocation::end_session_in_tx(
            conn,
            session_id,
            RevokeScope::Everything,
            access_ttl,
            now,
        )?;
        audit::record(
            conn,
            actor,
            "session.revoked",
            &u.username,
            &format!("sid {}", s.sid),
            now,
        )?;
        Ok(ended)
    })
}

/// Ends every session of a user.
pub fn revoke_user_sessions(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    access_ttl: i64,
    now: i64,
) -> Result<usize, UserError> {
    let user = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    let n = crate::db::immediate(conn, |conn| {
        let mut n = 0;
        for id in sessions::list_open_session_ids(conn, user.id)? {
            if revocation::end_session_in_tx(conn, id, RevokeScope::Everything, access_ttl, now)? {
                n += 1;
            }
        }
        audit::record(
            conn,
            actor,
            "user.sessions_revoked",
            username,
            &format!("{n} session(s)"),
            now,
        )?;
        Ok::<_, QueryError>(n)
    })?;
    Ok(n)
}

/// A page of users matching `search`.
pub fn list_users(
    conn: &mut Conn,
    search: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<Vec<User>, QueryError> {
    Ok(
        users::list_users_page(conn, search, page.max(0) * per_page, per_page)?
            .into_iter()
            .map(User::from)
            .collect(),
    )
}

/// Creates a user from the console.
pub fn create_user(
    conn: &mut Conn,
    actor: &Actor,
    req: &NewUserRequest,
    now: i64,
) -> Result<User, UserError> {
    let u = user::create_user(conn, req, now)?;
    let role = if u.is_admin { "admin" } else { "user" };
    audit::record(conn, actor, "user.created", &u.username, role, now)?;
    Ok(u)
}

/// Disables (revoking everything) or re-enables a user.
pub fn set_disabled(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    disabled: bool,
    access_ttl: i64,
    now: i64,
) -> Result<(), UserError> {
    crate::db::immediate(conn, |conn| {
        if disabled {
            user::disable_user(conn, username, access_ttl, now)?;
        } else if users::update_user_disabled(conn, username, false)? == 0 {
            return Err(UserError::Unknown(username.to_owned()));
        }
        let action = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        audit::record(conn, actor, action, username, "", now)?;
        Ok(())
    })
}

/// Replaces a user's roles.
pub fn set_roles(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    roles: &str,
    now: i64,
) -> Result<Vec<String>, UserError> {
    let set = user::set_roles(conn, username, &[roles.to_owned()])?;
    audit::record(conn, actor, "user.roles_set", username, &set.join(" "), now)?;
    Ok(set)
}

/// Sets a new random password and returns it (shown once).
pub fn reset_password(
    conn: &mut Conn,
    actor: &Actor,
    username: &str,
    now: i64,
) -> Result<String, UserError> {
    let new = password::generate_password();
    let hash = password::hash_password(&new)?;
    if users::update_user_password(conn, username, &hash)? == 0 {
        return Err(UserError::Unknown(username.to_owned()));
    }
    audit::record(conn, actor, "user.password_reset", username, "", now)?;
    Ok(new)
}

/// A live grant: (client, scope, offline, since).
pub type Grant = (String, String, bool, i64);

/// A user's live grants.
pub fn user_grants(
    conn: &mut Conn,
    username: &str,
    now: i64,
) -> Result<(User, Vec<Grant>), UserError> {
    let row = users::find_user_by_username(conn, username)?
        .ok_or_else(|| UserError::Unknown(username.to_owned()))?;
    let grants = refresh_tokens::list_user_grants(conn, row.id, now)?;
    Ok((User::from(row), grants))
}

/// Registers a client from the console.
pub fn create_client(
    conn: &mut Conn,
    actor: &Actor,
    req: NewClient,
    now: i64,
) -> Result<RegisteredClient, ClientError> {
    let r = client::register_client(conn, req, now)?;
    audit::record(conn, actor, "client.created", &r.client.client_id, "", now)?;
    Ok(r)
}

/// Edits a registration after validating it like a new one.
#[allow(clippy::too_many_arguments)]
pub fn update_client(
    conn: &mut Conn,
    actor: &Actor,
    existing: &Client,
    name: &str,
    redirect_uris: &[String],
    post_logout_redirect_uris: &[String],
    grant_types: &[String],
    scopes: &str,
    consent_required: bool,
    now: i64,
) -> Result<(), ClientError> {
    let parse_uris = |list: &[String]| -> Result<Vec<String>, ClientError> {
        list.iter()
            .map(|u| {
                RedirectUri::parse(u)
                    .map(|r| r.as_str().to_owned())
                    .map_err(ClientError::from)
            })
            .collect()
    };
    let redirects = parse_uris(redirect_uris)?;
    let post_logout = parse_uris(post_logout_redirect_uris)?;
    let mut grants = grant_types
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| ClientError::UnknownGrant(g.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    grants.sort();
    grants.dedup();
    if grants.is_empty() {
        return Err(ClientError::Invalid(
            "at least one grant type is required".into(),
        ));
    }
    if grants.contains(&GrantType::AuthorizationCode) && redirects.is_empty() {
        return Err(ClientError::Invalid(
            "the authorization_code grant needs a redirect URI".into(),
        ));
    }
    if existing.is_public() && grants.contains(&GrantType::ClientCredentials) {
        return Err(ClientError::Invalid(
            "a public client cannot use client_credentials".into(),
        ));
    }
    let scopes = Scope::parse(scopes)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ClientError::Invalid(
            "the name must be 1-100 characters".into(),
        ));
    }
    let changes = ClientChanges {
        name: name.to_owned(),
        redirect_uris: serde_json::to_string(&redirects).unwrap_or_else(|_| "[]".into()),
        post_logout_redirect_uris: serde_json::to_string(&post_logout)
            .unwrap_or_else(|_| "[]".into()),
        grant_types: grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        scopes: scopes.to_string(),
        consent_required,
    };
    clients::update_client(conn, &existing.client_id, &changes)?;
    audit::record(conn, actor, "client.updated", &existing.client_id, "", now)?;
    Ok(())
}

/// Finds one client.
pub fn find_client(conn: &mut Conn, client_id: &str) -> Result<Client, ClientError> {
    let row = clients::find_client(conn, client_id)?
        .ok_or_else(|| ClientError::Unknown(client_id.to_owned()))?;
    Client::from_stored(row).map_err(ClientError::from)
}

/// Gives a confidential client a new generated secret (shown once).
pub fn rotate_client_secret(
    conn: &mut Conn,
    actor: &Actor,
    client_id: &str,
    now: i64,
) -> Result<String, ClientError> {
    let new = secret::generate_token();
    if clients::update_client_secret(conn, client_id, &secret::hash_secret(&new))? == 0 {
        return Err(ClientError::Invalid(
            "only confidential clients have a secret".into(),
        ));
    }
    audit::record(conn, actor, "client.secret_rotated", client_id, "", now)?;
    Ok(new)
}

/// Deletes a client: its codes and refresh tokens go with it, and the feed
/// tells verifiers to reject its remaining access tokens.
pub fn delete_client(
    conn: &mut Conn,
    actor: &Actor,
    client_id: &str,
    access_ttl: i64,
    now: i64,
) -> Result<(), ClientError> {
    crate::db::immediate(conn, |conn| {
        client::remove_client(conn, client_id)?;
        insert_revocation_event(
            conn,
            KIND_CLIENT,
            client_id,
            now + access_ttl + LEEWAY as i64,
            now,
        )?;
        audit::record(conn, actor, "client.deleted", client_id, "", now)?;
        Ok::<_, ClientError>(())
    })
}
