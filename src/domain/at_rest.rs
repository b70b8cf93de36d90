//! Secrets at rest: the private parts of signing keys and the server's own
//! secrets (the refresh rotation and CSRF MAC key) are sealed with
//! AES-256-GCM under the operator's secret key when one is configured, so a
//! copy of the database alone cannot mint tokens.
//!
//! One stored check value records whether a database is sealed and under
//! which key: a wrong key is refused before any secret is read, and each
//! change of state (first sealing, rekey) rewrites every secret and the
//! check value in one transaction.

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::db::second_factors::{list_totp_secrets, update_totp_secret};
use crate::db::server_secrets::{
    find_server_secret, insert_server_secret, list_server_secrets, update_server_secret,
};
use crate::db::signing_keys::{list_stored_private_keys, update_private_key};
use crate::db::{Conn, QueryError};

use super::secret::random_bytes;

/// Length of a secret key (AES-256).
pub const KEY_LEN: usize = 32;
/// Prefix of a sealed value: format 1 is AES-256-GCM with a random 96-bit
/// nonce, then the ciphertext and its tag.
const SEALED_V1: &[u8] = b"tsk1";
const CHECK_NAME: &str = "secret_key_check";
const CHECK_VALUE: &[u8] = b"tessera secret key check v1";

/// Why secrets could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("secret key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error(
        "the secret key does not match the one this database's secrets are encrypted with; start with the key they were encrypted with"
    )]
    WrongKey,
    #[error(
        "this database's secrets are encrypted: configure their key with secret_key_file (TESSERA_SECRET_KEY_FILE)"
    )]
    KeyRequired,
    #[error("the stored secret {0} cannot be decrypted: it was altered or copied from elsewhere")]
    Corrupt(String),
    #[error("a secret could not be encrypted")]
    Seal,
    #[error(transparent)]
    Db(#[from] QueryError),
}

/// Seals and opens stored secrets; without a key it stores them as they are.
#[derive(Clone, Default)]
pub struct Sealer {
    key: Option<Arc<LessSafeKey>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_keyed() {
            "Sealer(AES-256-GCM)"
        } else {
            "Sealer(none)"
        })
    }
}

impl Sealer {
    /// Stores secrets unencrypted (no secret key configured).
    pub fn plaintext() -> Self {
        Sealer::default()
    }

    /// Seals under `key`.
    pub fn from_key(key: &[u8; KEY_LEN]) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| SealError::Seal)?;
        Ok(Sealer {
            key: Some(Arc::new(LessSafeKey::new(unbound))),
        })
    }

    /// Reads a key file: exactly 32 random bytes, or them as 64 hex digits.
    pub fn from_key_file(path: &Path) -> Result<Self, SealError> {
        let fail = |message: String| SealError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let key = parse_key(&bytes).map_err(|m| fail(m.to_owned()))?;
        warn_if_readable_by_others(path);
        Self::from_key(&key)
    }

    /// True when secrets are sealed.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// The stored form of `plain`. `label` names where it is stored and is
    /// authenticated with it, so a sealed value moved to another row fails
    /// to open.
    pub fn seal(&self, label: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some(key) = &self.key else {
            return Ok(plain.to_vec());
        };
        let nonce = random_bytes::<NONCE_LEN>();
        let mut body = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(label.as_bytes()),
            &mut body,
        )
        .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(SEALED_V1.len() + NONCE_LEN + body.len());
        out.extend_from_slice(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The secret stored as `stored` under `label`.
    pub fn open(&self, label: &str, stored: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some(key) = &self.key else {
            return Ok(stored.to_vec());
        };
        let corrupt = || SealError::Corrupt(label.to_owned());
        let rest = stored.strip_prefix(SEALED_V1).ok_or_else(corrupt)?;
        if rest.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut body = body.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut body)
            .map_err(|_| corrupt())?;
        Ok(plain.to_vec())
    }
}

/// Where a signing key's private part is stored, for [`Sealer::seal`].
pub fn signing_key_label(kid: &str) -> String {
    format!("signing_keys/{kid}")
}

/// Where a server secret is stored, for [`Sealer::seal`].
pub fn server_secret_label(name: &str) -> String {
    format!("server_secrets/{name}")
}

/// Where a user's TOTP secret is stored, for [`Sealer::seal`].
pub fn totp_secret_label(user_id: i32) -> String {
    format!("user_totp/{user_id}")
}

fn parse_key(bytes: &[u8]) -> Result<[u8; KEY_LEN], &'static str> {
    const EXPECTED: &str = "must hold 32 random bytes, raw or as 64 hex digits";
    if let Ok(raw) = <[u8; KEY_LEN]>::try_from(bytes) {
        return Ok(raw);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| EXPECTED)?.trim();
    if text.len() != KEY_LEN * 2 {
        return Err(EXPECTED);
    }
    let mut key = [0u8; KEY_LEN];
    for (i, byte) in key.iter_mut().enumerate() {
        let digits = text.get(2 * i..2 * i + 2).ok_or(EXPECTED)?;
        *byte = u8::from_str_radix(digits, 16).map_err(|_| EXPECTED)?;
    }
    Ok(key)
}

fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        log::warn!(
            "secret key file {} is readable by other users (chmod 600 it)",
            path.display()
        );
    }
}

/// The state of a database's secrets after [`prepare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// No secret key: secrets are stored unencrypted.
    Unprotected,
    /// Sealed under the configured key.
    Sealed,
    /// Sealed under the configured key just now, this many secrets.
    SealedNow(usize),
}

/// Checks `sealer` against the database before any secret is read: a wrong
/// or missing key is an error. A database not sealed yet is sealed now when
/// a key is configured.
pub fn prepare(conn: &mut Conn, sealer: &Sealer, now: i64) -> Result<Protection, SealError> {
    crate::db::immediate(conn, |conn| match find_server_secret(conn, CHECK_NAME)? {
        Some(check) => verify(sealer, &check).map(|()| Protection::Sealed),
        None if !sealer.is_keyed() => Ok(Protection::Unprotected),
        None => reseal(conn, &Sealer::plaintext(), sealer, now).map(Protection::SealedNow),
    })
}

/// Re-encrypts every secret under `new` in one transaction; `current` must
/// be the key they are sealed under now (any, if they are not sealed).
/// Returns how many secrets were re-encrypted.
pub fn rekey(
    conn: &mut Conn,
    current: &Sealer,
    new: &Sealer,
    now: i64,
) -> Result<usize, SealError> {
    if !new.is_keyed() {
        return Err(SealError::Seal);
    }
    crate::db::immediate(conn, |conn| {
        let from = match find_server_secret(conn, CHECK_NAME)? {
            Some(check) => verify(current, &check).map(|()| current.clone())?,
            None => Sealer::plaintext(),
        };
        reseal(conn, &from, new, now)
    })
}

fn verify(sealer: &Sealer, check: &[u8]) -> Result<(), SealError> {
    if !sealer.is_keyed() {
        return Err(SealError::KeyRequired);
    }
    match sealer.open(CHECK_NAME, check) {
        Ok(value) if value == CHECK_VALUE => Ok(()),
        _ => Err(SealError::WrongKey),
    }
}

/// Opens every secret with `from`, seals it with `to`, and records `to`'s
/// check value. The caller holds the transaction.
fn reseal(conn: &mut Conn, from: &Sealer, to: &Sealer, now: i64) -> Result<usize, SealError> {
    let mut count = 0;
    for (kid, stored) in list_stored_private_keys(conn)? {
        let label = signing_key_label(&kid);
        let plain = from.open(&label, &stored)?;
        update_private_key(conn, &kid, &to.seal(&label, &plain)?)?;
        count += 1;
    }
    for (name, stored) in list_server_secrets(conn)? {
        if name == CHECK_NAME {
            continue;
        }
        let label = server_secret_label(&name);
        let plain = from.open(&label, &stored)?;
        update_server_secret(conn, &name, &to.seal(&label, &plain)?)?;
        count += 1;
    }
    for (user_id, stored) in list_totp_secrets(conn)? {
        let label = totp_secret_label(user_id);
        let plain = from.open(&label, &stored)?;
        update_totp_secret(conn, user_id, &to.seal(&label, &plain)?)?;
        count += 1;
    }
    let check = to.seal(CHECK_NAME, CHECK_VALUE)?;
    if insert_server_secret(conn, CHECK_NAME, &check, now)? == 0 {
        update_server_secret(conn, CHECK_NAME, &check)?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(byte: u8) -> Sealer {
        Sealer::from_key(&[byte; KEY_LEN]).unwrap()
    }

    #[test]
    fn sealed_values_open_under_the_same_key_and_label_only() {
        let s = keyed(1);
        let sealed = s.seal("signing_keys/a", b"private").unwrap();
        assert!(sealed.starts_with(SEALED_V1));
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(s.open("signing_keys/a", &sealed).unwrap(), b"private");
        assert!(matches!(
            s.open("signing_keys/b", &sealed),
            Err(SealError::Corrupt(_))
        ));
        assert!(keyed(2).open("signing_keys/a", &sealed).is_err());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(s.open("signing_keys/a", &flipped).is_err());
        assert!(s.open("signing_keys/a", b"private").is_err());
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let s = keyed(1);
        assert_ne!(s.seal("x", b"same").unwrap(), s.seal("x", b"same").unwrap());
    }

    #[test]
    fn without_a_key_values_are_stored_as_they_are() {
        let s = Sealer::plaintext();
        assert_eq!(s.seal("x", b"v").unwrap(), b"v");
        assert_eq!(s.open("x", b"v").unwrap(), b"v");
    }

    #[test]
    fn key_files_hold_raw_bytes_or_hex() {
        assert_eq!(parse_key(&[7u8; 32]).unwrap(), [7u8; 32]);
        let hex = format!("{}\n", "0a".repeat(32));
        assert_eq!(parse_key(hex.as_bytes()).unwrap(), [10u8; 32]);
        assert!(parse_key(b"short").is_err());
        assert!(parse_key("zz".repeat(32).as_bytes()).is_err());
        assert!(parse_key(&[7u8; 33]).is_err());
        assert!(parse_key("é".repeat(32).as_bytes()).is_err());
    }
}
