//! Storage of registered OAuth clients.

use diesel::prelude::*;

use super::Conn;
use super::schema::clients;

/// A stored client registration. List columns hold JSON arrays and
/// space-separated lists exactly as the domain layer wrote them.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<Vec<u8>>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub created_at: i64,
    pub consent_required: bool,
    pub require_par: bool,
    /// private_key_jwt: the client's JWK Set, or where to fetch it.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// Where to POST logout tokens (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// The JWS algorithm of the client's ID and access tokens.
    pub signing_alg: String,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    pub dpop_bound: bool,
}

/// Stores a new client; fails with a unique violation when the id is taken.
pub fn insert_client(conn: &mut Conn, client: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
        .map(|_| ())
}

/// Finds a client by its id.
pub fn find_client(conn: &mut Conn, client_id: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .find(client_id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

/// Lists every client, ordered by id.
pub fn list_clients(conn: &mut Conn) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order(clients::client_id.asc())
        .select(ClientRow::as_select())
        .load(conn)
}

/// Deletes a client; returns how many rows went (0 when unknown).
pub fn delete_client(conn: &mut Conn, client_id: &str) -> QueryResult<usize> {
    diesel::delete(clients::table.find(client_id)).execute(conn)
}

/// The editable parts of a registration.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = clients)]
pub struct ClientChanges {
    pub name: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub consent_required: bool,
    pub require_par: bool,
    /// Set only for private_key_jwt clients; `None` leaves the column as is.
    pub jwks: Option<Option<String>>,
    pub jwks_uri: Option<Option<String>>,
    /// Set to NULL with `None`.
    #[diesel(treat_none_as_null = true)]
    pub backchannel_logout_uri: Option<String>,
    /// `None` leaves the column as is.
    pub signing_alg: Option<String>,
    pub dpop_bound: bool,
}

/// Updates a registration; returns 0 when unknown.
pub fn update_client(
    conn: &mut Conn,
    client_id: &str,
    changes: &ClientChanges,
) -> QueryResult<usize> {
    diesel::update(clients::table.find(client_id))
        .set(changes)
        .execute(conn)
}

/// Replaces a confidential client's secret hash; 0 when unknown or public.
pub fn update_client_secret(
    conn: &mut Conn,
    client_id: &str,
    secret_hash: &[u8],
) -> QueryResult<usize> {
    diesel::update(
        clients::table
            .find(client_id)
            .filter(clients::secret_hash.is_not_null()),
    )
    .set(clients::secret_hash.eq(secret_hash))
    .execute(conn)
}
