//! Clients in the console: registering, editing, rotating secrets, deleting.

use crate::db::Conn;
use crate::db::clients::{self, ClientChanges};
use crate::db::revocation_events::insert_revocation_event;
use crate::domain::audit::{self, Actor};
use crate::domain::client::{self, Client, ClientError, KeySource, NewClient, RegisteredClient};
use crate::domain::keys::SigningAlg;
use crate::domain::redirect_uri::RedirectUri;
use crate::domain::scope::Scope;
use crate::domain::secret;
use crate::domain::tokens::LEEWAY;

use super::KIND_CLIENT;

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

/// The editable parts of a registration, as the console's form sends them.
#[derive(Debug, Clone, Default)]
pub struct ClientEdit {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: String,
    pub consent_required: bool,
    pub require_par: bool,
    /// New keys of a private_key_jwt client (ignored for others).
    pub keys: Option<KeySource>,
    pub backchannel_logout_uri: Option<String>,
    /// `None` keeps the client's algorithm.
    pub signing_alg: Option<SigningAlg>,
    pub dpop_bound: bool,
}

/// Edits a registration after validating it like a new one.
pub fn update_client(
    conn: &mut Conn,
    actor: &Actor,
    existing: &Client,
    edit: ClientEdit,
    now: i64,
) -> Result<(), ClientError> {
    let ClientEdit {
        name,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        consent_required,
        require_par,
        keys,
        backchannel_logout_uri,
        signing_alg,
        dpop_bound,
    } = edit;
    let parse_uris = |list: &[String]| -> Result<Vec<String>, ClientError> {
        list.iter()
            .map(|u| Ok(RedirectUri::parse(u)?.as_str().to_owned()))
            .collect()
    };
    let redirects = parse_uris(&redirect_uris)?;
    let post_logout = parse_uris(&post_logout_redirect_uris)?;
    let grants = client::parse_grants(Some(&grant_types))?;
    client::check_grants(&grants, !redirects.is_empty(), existing.is_public())?;
    let scopes = Scope::parse(&scopes)?;
    let backchannel_logout_uri = backchannel_logout_uri
        .map(|u| client::web_url(&u))
        .transpose()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ClientError::Invalid(
            "the name must be 1-100 characters".into(),
        ));
    }
    // Only a private_key_jwt client has keys to change.
    let (jwks, jwks_uri) = match keys.filter(|_| existing.keys.is_some()) {
        Some(source) => {
            let (set, uri) = source.to_columns()?;
            (Some(set), Some(uri))
        }
        None => (None, None),
    };
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
        require_par,
        jwks,
        jwks_uri,
        backchannel_logout_uri,
        signing_alg: signing_alg.map(|a| a.as_str().to_owned()),
        dpop_bound,
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
