//! The revoked session ids, token ids and client ids learnt from Tessera's
//! revocation feed, each kept until its `relevant_until` (after which every
//! token it affects has expired anyway).

use std::collections::HashMap;

use crate::claims::Claims;

/// Feed entry kind for a revoked session id (`sid` claim).
pub(crate) const KIND_SID: &str = "sid";
/// Feed entry kind for a revoked access token (`jti` claim).
pub(crate) const KIND_JTI: &str = "jti";
/// Feed entry kind for a revoked client (`client_id` claim).
pub(crate) const KIND_CLIENT_ID: &str = "client_id";

/// Revoked values by kind, each with its `relevant_until`.
#[derive(Debug, Default)]
pub(crate) struct RevocationList {
    sids: HashMap<String, i64>,
    jtis: HashMap<String, i64>,
    client_ids: HashMap<String, i64>,
    /// Added to `relevant_until`: the issuer sized it with its own leeway,
    /// but we accept tokens up to `exp` plus *our* leeway.
    leeway_secs: i64,
}

impl RevocationList {
    /// An empty list for a verifier with this leeway.
    pub(crate) fn new(leeway_secs: i64) -> Self {
        Self {
            leeway_secs,
            ..Self::default()
        }
    }

    /// Records one feed entry; returns false for a kind this version does
    /// not know (the caller logs it).
    pub(crate) fn insert(&mut self, kind: &str, value: String, relevant_until: i64) -> bool {
        let map = match kind {
            KIND_SID => &mut self.sids,
            KIND_JTI => &mut self.jtis,
            KIND_CLIENT_ID => &mut self.client_ids,
            _ => return false,
        };
        let until = map.entry(value).or_insert(relevant_until);
        *until = (*until).max(relevant_until);
        true
    }

    /// Drops entries that no longer matter at `now`.
    pub(crate) fn prune(&mut self, now: i64) {
        let leeway = self.leeway_secs;
        for map in [&mut self.sids, &mut self.jtis, &mut self.client_ids] {
            map.retain(|_, until| until.saturating_add(leeway) > now);
        }
    }

    /// Whether the token's session, id or client is revoked at `now`.
    pub(crate) fn is_revoked(&self, claims: &Claims, now: i64) -> bool {
        let live = |map: &HashMap<String, i64>, value: &str| {
            map.get(value)
                .is_some_and(|until| until.saturating_add(self.leeway_secs) > now)
        };
        claims
            .sid
            .as_deref()
            .is_some_and(|sid| live(&self.sids, sid))
            || live(&self.jtis, &claims.jti)
            || live(&self.client_ids, &claims.client_id)
    }

    /// How many entries are held.
    pub(crate) fn len(&self) -> usize {
        self.sids.len() + self.jtis.len() + self.client_ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sid: Option<&str>, jti: &str, client_id: &str) -> Claims {
        Claims {
            iss: "http://issuer".into(),
            sub: "alice".into(),
            aud: vec!["api".into()],
            exp: 2000,
            iat: 1000,
            jti: jti.into(),
            client_id: client_id.into(),
            scope: None,
            roles: vec![],
            sid: sid.map(Into::into),
            auth_time: None,
            cnf: None,
        }
    }

    #[test]
    fn each_kind_revokes_by_its_own_claim() {
        let mut list = RevocationList::new(0);
        assert!(list.insert("sid", "s1".into(), 2000));
        assert!(list.insert("jti", "j1".into(), 2000));
        assert!(list.insert("client_id", "c1".into(), 2000));
        assert!(!list.insert("user", "alice".into(), 2000));
        assert!(list.is_revoked(&claims(Some("s1"), "j", "c"), 1500));
        assert!(list.is_revoked(&claims(None, "j1", "c"), 1500));
        assert!(list.is_revoked(&claims(None, "j", "c1"), 1500));
        assert!(!list.is_revoked(&claims(Some("s2"), "s1", "j1"), 1500));
    }

    #[test]
    fn entries_stop_mattering_after_relevant_until_plus_leeway() {
        let mut list = RevocationList::new(30);
        list.insert("sid", "s1".into(), 2000);
        assert!(list.is_revoked(&claims(Some("s1"), "j", "c"), 2029));
        assert!(!list.is_revoked(&claims(Some("s1"), "j", "c"), 2030));
        list.prune(2029);
        assert_eq!(list.len(), 1);
        list.prune(2030);
        assert_eq!(list.len(), 0);
    }

    #[test]
    fn a_repeated_entry_keeps_the_later_relevant_until() {
        let mut list = RevocationList::new(0);
        list.insert("jti", "j1".into(), 3000);
        list.insert("jti", "j1".into(), 2000);
        assert!(list.is_revoked(&claims(None, "j1", "c"), 2500));
    }
}
