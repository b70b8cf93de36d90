//! The key set: the in-memory signing keys of every algorithm and the JWKS.
//! Keys live in the database, so a change made by the CLI or another
//! instance reaches a running server at its next [`KeyStore::refresh`].

pub mod alg;
pub mod lifecycle;
pub mod material;
pub mod provider;
pub mod schedule;

use std::sync::{Arc, RwLock};

use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use serde::Serialize;

use crate::db::signing_keys::{self, KeySchedule, SigningKeyRow};
use crate::db::{Conn, DbError};
use crate::domain::at_rest::{SealError, Sealer, signing_key_label};

pub use alg::SigningAlg;
pub use lifecycle::{
    Activation, Maintenance, RevokeError, Rotation, list, maintain, revoke, rotate,
};
use material::PublicJwk;
pub use schedule::{KeyState, KeyStatus, KeyTiming};

/// Why signing or key maintenance failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no {0} signing key is active")]
    NoActiveKey(SigningAlg),
    #[error(transparent)]
    UnknownAlg(#[from] alg::UnknownAlg),
    #[error(transparent)]
    Material(#[from] material::MaterialError),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot prepare signing key: {0}")]
    Prepare(String),
    #[error("key store lock poisoned")]
    Poisoned,
    #[error(transparent)]
    Sealed(#[from] SealError),
}

impl From<crate::db::QueryError> for KeyError {
    fn from(e: crate::db::QueryError) -> Self {
        KeyError::Db(DbError::from(e))
    }
}

struct LoadedKey {
    schedule: KeySchedule,
    alg: SigningAlg,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// What `encoding` holds; identifies the key to the signing provider.
    signing_der: Vec<u8>,
    jwk: PublicJwk,
}

/// The keys a server signs with and publishes, parsed once.
pub struct KeyStore {
    timing: KeyTiming,
    sealer: Sealer,
    keys: RwLock<Arc<Vec<Arc<LoadedKey>>>>,
}

/// The JWKS document (RFC 7517 §5).
#[derive(Debug, Serialize)]
pub struct Jwks {
    pub keys: Vec<PublicJwk>,
}

impl KeyStore {
    /// Loads every stored key, opening private parts with `sealer`.
    pub fn load(conn: &mut Conn, timing: KeyTiming, sealer: Sealer) -> Result<Self, KeyError> {
        provider::install();
        let store = KeyStore {
            timing,
            sealer,
            keys: RwLock::new(Arc::new(Vec::new())),
        };
        store.refresh(conn)?;
        Ok(store)
    }

    /// The rotation timing this store was built with.
    pub fn timing(&self) -> KeyTiming {
        self.timing
    }

    /// How private parts are stored, for new keys.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Re-reads the key schedules, parsing only keys not seen before and
    /// dropping deleted ones. Returns true when the set changed.
    pub fn refresh(&self, conn: &mut Conn) -> Result<bool, KeyError> {
        let mut schedules = signing_keys::list_key_schedules(conn)?;
        schedule::sort(&mut schedules);
        let current = self.snapshot()?;
        let unchanged = schedules.len() == current.len()
            && schedules
                .iter()
                .zip(current.iter())
                .all(|(s, k)| *s == k.schedule);
        if unchanged {
            return Ok(false);
        }
        let missing: Vec<String> = schedules
            .iter()
            .filter(|s| !current.iter().any(|k| k.schedule.kid == s.kid))
            .map(|s| s.kid.clone())
            .collect();
        let mut fresh = Vec::new();
        if !missing.is_empty() {
            for row in signing_keys::list_signing_keys_by_kid(conn, &missing)? {
                fresh.push(Arc::new(parse_row(&row, &self.sealer)?));
            }
        }
        let next: Vec<Arc<LoadedKey>> = schedules
            .iter()
            .filter_map(|s| {
                current
                    .iter()
                    .chain(fresh.iter())
                    .find(|k| k.schedule.kid == s.kid)
                    .map(|k| {
                        if k.schedule == *s {
                            k.clone()
                        } else {
                            // Same key, new schedule (e.g. activated early).
                            Arc::new(LoadedKey {
                                schedule: s.clone(),
                                alg: k.alg,
                                encoding: k.encoding.clone(),
                                decoding: k.decoding.clone(),
                                signing_der: k.signing_der.clone(),
                                jwk: k.jwk.clone(),
                            })
                        }
                    })
            })
            .collect();
        for k in &next {
            provider::prepare(k.alg, &k.signing_der).map_err(KeyError::Prepare)?;
        }
        for old in current.iter() {
            if !next.iter().any(|k| k.signing_der == old.signing_der) {
                provider::forget(&old.signing_der);
            }
        }
        *self.keys.write().map_err(|_| KeyError::Poisoned)? = Arc::new(next);
        log::info!("signing keys reloaded: {} key(s)", schedules.len());
        Ok(true)
    }

    fn snapshot(&self) -> Result<Arc<Vec<Arc<LoadedKey>>>, KeyError> {
        Ok(self.keys.read().map_err(|_| KeyError::Poisoned)?.clone())
    }

    fn statuses(&self, keys: &[Arc<LoadedKey>], now: i64) -> Vec<KeyStatus> {
        let schedules: Vec<KeySchedule> = keys.iter().map(|k| k.schedule.clone()).collect();
        schedule::statuses(&schedules, now, &self.timing)
    }

    /// Signs `claims` as a JWS with the `alg` key active at `now`, setting
    /// `typ` (e.g. `at+jwt`, RFC 9068 §2.1) and `kid`. Returns the token and
    /// kid.
    pub fn sign<T: Serialize>(
        &self,
        claims: &T,
        typ: &str,
        alg: SigningAlg,
        now: i64,
    ) -> Result<(String, String), KeyError> {
        let keys = self.snapshot()?;
        // `refresh` keeps the keys in schedule order.
        let idx = schedule::active_position(keys.iter().map(|k| &k.schedule), alg, now)
            .ok_or(KeyError::NoActiveKey(alg))?;
        let key = &keys[idx];
        let header = Header {
            alg: alg.jwt(),
            typ: Some(typ.to_owned()),
            kid: Some(key.schedule.kid.clone()),
            ..Header::default()
        };
        let token = jsonwebtoken::encode(&header, claims, &key.encoding)?;
        Ok((token, key.schedule.kid.clone()))
    }

    /// Seconds the longest-serving active key (of any algorithm) has been
    /// signing, if one is: the figure that shows a stuck rotation.
    pub fn active_key_age(&self, now: i64) -> Option<i64> {
        let keys = self.snapshot().ok()?;
        SigningAlg::ALL
            .into_iter()
            .filter_map(|alg| {
                let i = schedule::active_position(keys.iter().map(|k| &k.schedule), alg, now)?;
                Some(now - keys[i].schedule.activates_at)
            })
            .max()
    }

    /// True when a key of every algorithm is active at `now`, so any
    /// client's tokens can be signed.
    pub fn can_sign(&self, now: i64) -> bool {
        self.snapshot().is_ok_and(|keys| {
            SigningAlg::ALL.into_iter().all(|alg| {
                schedule::active_position(keys.iter().map(|k| &k.schedule), alg, now).is_some()
            })
        })
    }

    /// The public key with this `kid` and its algorithm, if it is published
    /// at `now`. Only published keys verify, so a deleted or unknown key
    /// never does; the algorithm is the key's, never the token's.
    pub fn decoding_key(
        &self,
        kid: &str,
        now: i64,
    ) -> Result<Option<(SigningAlg, DecodingKey)>, KeyError> {
        let keys = self.snapshot()?;
        let statuses = self.statuses(&keys, now);
        Ok(keys
            .iter()
            .zip(statuses)
            .find(|(k, s)| k.schedule.kid == kid && s.state.is_published())
            .map(|(k, _)| (k.alg, k.decoding.clone())))
    }

    /// The public keys to publish at `now`: next, active and retired keys.
    pub fn jwks(&self, now: i64) -> Result<Jwks, KeyError> {
        let keys = self.snapshot()?;
        let statuses = self.statuses(&keys, now);
        Ok(Jwks {
            keys: keys
                .iter()
                .zip(statuses)
                .filter(|(_, s)| s.state.is_published())
                .map(|(k, _)| k.jwk.clone())
                .collect(),
        })
    }
}

fn parse_row(row: &SigningKeyRow, sealer: &Sealer) -> Result<LoadedKey, KeyError> {
    let alg = SigningAlg::from_stored(&row.alg)?;
    let der = sealer.open(&signing_key_label(&row.kid), &row.private_key_der)?;
    let m = material::from_pkcs8(alg, &der)?;
    Ok(LoadedKey {
        schedule: KeySchedule {
            kid: row.kid.clone(),
            created_at: row.created_at,
            activates_at: row.activates_at,
            alg: row.alg.clone(),
        },
        alg,
        encoding: m.encoding_key(),
        decoding: m.jwk.decoding_key()?,
        signing_der: m.signing_der,
        jwk: m.jwk,
    })
}
