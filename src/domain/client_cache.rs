//! Client registrations kept in memory for the token endpoint's
//! `client_credentials` path, so a token costs its signature and not a
//! database round trip on another thread.
//!
//! An entry is trusted for `ttl` seconds after it was read. Changes made in
//! this process (the admin console) drop entries at once; changes made by
//! another process (the CLI) are seen within `ttl`. Unknown client ids are
//! never cached, so guessing ids cannot fill the map.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::client::Client;

#[derive(Debug)]
struct Entry {
    client: Arc<Client>,
    read_at: i64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Bumped by every invalidation, so a read that started before one
    /// cannot put its now outdated row back.
    generation: u64,
}

/// A ticket from [`ClientCache::begin_read`], handed back to [`ClientCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct ReadTicket(u64);

/// Registrations read recently, by client id.
#[derive(Debug)]
pub struct ClientCache {
    ttl: i64,
    inner: RwLock<Inner>,
}

impl ClientCache {
    /// A cache trusting entries for `ttl` seconds; 0 turns it off.
    pub fn new(ttl: i64) -> Self {
        ClientCache {
            ttl,
            inner: RwLock::default(),
        }
    }

    /// The registration of `client_id` if it was read less than `ttl` ago.
    pub fn get(&self, client_id: &str, now: i64) -> Option<Arc<Client>> {
        let inner = self.inner.read().ok()?;
        let entry = inner.entries.get(client_id)?;
        (now < entry.read_at + self.ttl).then(|| entry.client.clone())
    }

    /// Call before reading a registration from the database.
    pub fn begin_read(&self) -> ReadTicket {
        ReadTicket(self.inner.read().map(|i| i.generation).unwrap_or(u64::MAX))
    }

    /// Keeps what a read found (`None`: the client does not exist, and any
    /// entry for it goes), unless something was invalidated since `ticket`.
    pub fn put(
        &self,
        client_id: &str,
        found: Option<&Arc<Client>>,
        ticket: ReadTicket,
        read_at: i64,
    ) {
        if self.ttl == 0 {
            return;
        }
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.generation != ticket.0 {
            return;
        }
        match found {
            Some(client) => {
                inner.entries.insert(
                    client_id.to_owned(),
                    Entry {
                        client: client.clone(),
                        read_at,
                    },
                );
            }
            None => {
                inner.entries.remove(client_id);
            }
        }
    }

    /// Forgets `client_id` after its registration changed or went.
    pub fn invalidate(&self, client_id: &str) {
        if let Ok(mut inner) = self.inner.write() {
            inner.generation += 1;
            inner.entries.remove(client_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::clients::ClientRow;

    fn client(id: &str) -> Arc<Client> {
        Arc::new(
            Client::from_stored(ClientRow {
                client_id: id.into(),
                name: id.into(),
                secret_hash: Some(vec![0; 32]),
                redirect_uris: "[]".into(),
                post_logout_redirect_uris: "[]".into(),
                grant_types: "client_credentials".into(),
                scopes: "api".into(),
                created_at: 0,
                consent_required: false,
                require_par: false,
                jwks: None,
                jwks_uri: None,
                backchannel_logout_uri: None,
                signing_alg: "RS256".into(),
                dpop_bound: false,
            })
            .unwrap(),
        )
    }

    #[test]
    fn an_entry_is_trusted_for_ttl_seconds() {
        let cache = ClientCache::new(2);
        let ticket = cache.begin_read();
        cache.put("a", Some(&client("a")), ticket, 100);
        assert!(cache.get("a", 100).is_some());
        assert!(cache.get("a", 101).is_some());
        assert!(cache.get("a", 102).is_none());
        assert!(cache.get("b", 100).is_none());
    }

    #[test]
    fn a_read_that_started_before_an_invalidation_is_not_kept() {
        let cache = ClientCache::new(60);
        let ticket = cache.begin_read();
        cache.invalidate("a");
        cache.put("a", Some(&client("a")), ticket, 100);
        assert!(cache.get("a", 100).is_none());
        let ticket = cache.begin_read();
        cache.put("a", Some(&client("a")), ticket, 100);
        assert!(cache.get("a", 100).is_some());
        cache.invalidate("a");
        assert!(cache.get("a", 100).is_none());
    }

    #[test]
    fn a_client_found_gone_is_dropped_and_ttl_zero_keeps_nothing() {
        let cache = ClientCache::new(60);
        cache.put("a", Some(&client("a")), cache.begin_read(), 100);
        cache.put("a", None, cache.begin_read(), 101);
        assert!(cache.get("a", 101).is_none());

        let off = ClientCache::new(0);
        off.put("a", Some(&client("a")), off.begin_read(), 100);
        assert!(off.get("a", 100).is_none());
    }
}
