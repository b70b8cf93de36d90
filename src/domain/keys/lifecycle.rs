//! Changes to the stored key set: scheduled and emergency rotation, the
//! housekeeping that deletes keys no token needs, and revoking a leaked key.
//! Running servers pick every change up at their next [`super::KeyStore::refresh`].

use crate::db::Conn;
use crate::db::signing_keys::{self, KeySchedule, SigningKeyRow};
use crate::domain::at_rest::{Sealer, signing_key_label};

use super::KeyError;
use super::alg::SigningAlg;
use super::material::{self, KeyMaterial};
use super::schedule::{self, KeyState, KeyStatus, KeyTiming};

/// When a new key starts signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// After the publish wait, so every verifier has seen it first.
    AfterPublishWait,
    /// At once, for a leaked key: any pending key is dropped so nothing can
    /// take over from the new key later. Verifiers holding a cached JWKS
    /// reject its tokens until they refetch.
    Immediately,
}

/// What [`rotate`] did.
#[derive(Debug)]
pub struct Rotation {
    pub key: KeyStatus,
    /// Pending keys dropped by an immediate rotation.
    pub dropped: Vec<String>,
}

/// Generates and stores a new `alg` key; keys of other algorithms are
/// untouched. Generation runs before the write transaction so the database
/// is not locked while RSA primes are found.
pub fn rotate(
    conn: &mut Conn,
    timing: &KeyTiming,
    sealer: &Sealer,
    now: i64,
    activation: Activation,
    alg: SigningAlg,
) -> Result<Rotation, KeyError> {
    let m = material::generate(alg)?;
    let sealed = sealer.seal(&signing_key_label(&m.kid), &m.pkcs8_der)?;
    let rotation = crate::db::immediate(conn, |conn| match activation {
        Activation::AfterPublishWait => Ok(Rotation {
            key: store_key(conn, &m, &sealed, now, now + timing.publish_wait)?,
            dropped: Vec::new(),
        }),
        Activation::Immediately => store_immediate(conn, &m, &sealed, now),
    })?;
    log::info!(
        "{} signing key {} created, signs from {}",
        alg,
        rotation.key.kid,
        rotation.key.activates_at
    );
    for kid in &rotation.dropped {
        log::info!("pending signing key {kid} dropped by an immediate rotation");
    }
    Ok(rotation)
}

/// Makes `m` the signing key of its algorithm from `now` on. A pending key
/// would otherwise take over from it at its own activation (perhaps
/// generated before the leak was noticed, on the same compromised host), so
/// it is dropped; a key activated earlier in this same second moves back
/// one second, because activation times are whole seconds and the newest
/// key must win.
fn store_immediate(
    conn: &mut Conn,
    m: &KeyMaterial,
    sealed: &[u8],
    now: i64,
) -> Result<Rotation, KeyError> {
    let alg = m.alg.as_str();
    let dropped = signing_keys::delete_pending_keys(conn, alg, now)?;
    signing_keys::move_activations(conn, alg, now, now - 1)?;
    Ok(Rotation {
        key: store_key(conn, m, sealed, now, now)?,
        dropped,
    })
}

/// Stores a generated key (its private part as sealed). The caller holds
/// the write transaction, so reading the schedule and inserting are atomic.
/// While no key of its algorithm signs, nothing is gained by waiting: the
/// key signs at once.
fn store_key(
    conn: &mut Conn,
    m: &KeyMaterial,
    sealed: &[u8],
    now: i64,
    requested: i64,
) -> Result<KeyStatus, KeyError> {
    let alg = m.alg.as_str();
    let schedules = signing_keys::list_key_schedules(conn)?;
    let none_signs = !schedules
        .iter()
        .any(|k| k.alg == alg && k.activates_at <= now);
    let requested = if none_signs { now } else { requested };
    let activates_at = after_existing(&schedules, alg, requested);
    signing_keys::insert_signing_key(
        conn,
        &SigningKeyRow {
            kid: m.kid.clone(),
            private_key_der: sealed.to_vec(),
            created_at: now,
            activates_at,
            alg: alg.to_owned(),
        },
    )?;
    Ok(KeyStatus {
        kid: m.kid.clone(),
        alg: alg.to_owned(),
        state: if activates_at <= now {
            KeyState::Active
        } else {
            KeyState::Next
        },
        created_at: now,
        activates_at,
        retired_at: None,
    })
}

/// Activation times are whole seconds: a new key always activates strictly
/// after every existing one of its algorithm, so which key signs is never a
/// tie.
fn after_existing(keys: &[KeySchedule], alg: &str, requested: i64) -> i64 {
    keys.iter()
        .filter(|k| k.alg == alg)
        .map(|k| k.activates_at + 1)
        .max()
        .map_or(requested, |l| requested.max(l))
}

/// What [`maintain`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Maintenance {
    pub created: Vec<String>,
    pub deleted: Vec<String>,
}

/// Keeps the key set healthy: creates the first key of each algorithm
/// (active at once: nothing can have been signed with, or cached for, an
/// algorithm that had no key), starts a scheduled rotation when due, and
/// deletes keys no token can need any more.
pub fn maintain(
    conn: &mut Conn,
    timing: &KeyTiming,
    sealer: &Sealer,
    now: i64,
) -> Result<Maintenance, KeyError> {
    let mut out = Maintenance::default();
    for alg in SigningAlg::ALL {
        if let Some(kid) = rotate_if_due(conn, timing, sealer, now, alg)? {
            out.created.push(kid);
        }
    }
    let schedules = signing_keys::list_key_schedules(conn)?;
    let expired: Vec<String> = schedule::statuses(&schedules, now, timing)
        .into_iter()
        .filter(|s| s.state == KeyState::Expired)
        .map(|s| s.kid)
        .collect();
    if !expired.is_empty() {
        signing_keys::delete_signing_keys(conn, &expired)?;
        for kid in &expired {
            log::info!("signing key {kid} expired and was deleted");
        }
        out.deleted = expired;
    }
    Ok(out)
}

/// Starts a scheduled rotation of `alg` keys when one is due.
fn rotate_if_due(
    conn: &mut Conn,
    timing: &KeyTiming,
    sealer: &Sealer,
    now: i64,
    alg: SigningAlg,
) -> Result<Option<String>, KeyError> {
    let schedules = signing_keys::list_key_schedules(conn)?;
    if !schedule::rotation_due(&schedules, alg, now, timing) {
        return Ok(None);
    }
    let m = material::generate(alg)?;
    let sealed = sealer.seal(&signing_key_label(&m.kid), &m.pkcs8_der)?;
    // Re-check inside the write transaction: another process may have rotated meanwhile.
    let created = crate::db::immediate(conn, |conn| -> Result<Option<String>, KeyError> {
        let fresh = signing_keys::list_key_schedules(conn)?;
        if !schedule::rotation_due(&fresh, alg, now, timing) {
            return Ok(None);
        }
        let wait = now + timing.publish_wait;
        Ok(Some(store_key(conn, &m, &sealed, now, wait)?.kid))
    })?;
    if let Some(kid) = &created {
        log::info!("scheduled key rotation: created {alg} signing key {kid}");
        let system = crate::domain::audit::Actor::SYSTEM;
        let how = format!("scheduled {alg}");
        crate::domain::audit::record(conn, &system, "keys.rotated", kid, &how, now)?;
    }
    Ok(created)
}

/// Every stored key with its state at `now`.
pub fn list(conn: &mut Conn, timing: &KeyTiming, now: i64) -> Result<Vec<KeyStatus>, KeyError> {
    let schedules = signing_keys::list_key_schedules(conn)?;
    Ok(schedule::statuses(&schedules, now, timing))
}

/// Why a key cannot be revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no signing key has the kid {0}")]
    Unknown(String),
    #[error(
        "{0} is the key signing now; rotate with `keys rotate --now` (or \"Rotate and sign at once\") first, then revoke it"
    )]
    Active(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl From<crate::db::QueryError> for RevokeError {
    fn from(e: crate::db::QueryError) -> Self {
        RevokeError::Key(e.into())
    }
}

/// Deletes a key at once: it leaves the JWKS, and no token it signed
/// verifies at any endpoint again. The key signing now is refused, so the
/// server is never left without one.
pub fn revoke(
    conn: &mut Conn,
    timing: &KeyTiming,
    kid: &str,
    now: i64,
) -> Result<KeyStatus, RevokeError> {
    crate::db::immediate(conn, |conn| {
        let schedules = signing_keys::list_key_schedules(conn)?;
        let status = schedule::statuses(&schedules, now, timing)
            .into_iter()
            .find(|s| s.kid == kid)
            .ok_or_else(|| RevokeError::Unknown(kid.to_owned()))?;
        if status.state == KeyState::Active {
            return Err(RevokeError::Active(kid.to_owned()));
        }
        signing_keys::delete_signing_keys(conn, &[kid.to_owned()])?;
        Ok(status)
    })
}
