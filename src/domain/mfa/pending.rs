//! A sign-in between the password and the second factor: which user gave
//! the right password, for what, and until when. Carried by the browser in
//! a cookie the server MACs with its own key, so any instance can read it
//! and none stores it. It only lets its holder try codes, which the sign-in
//! throttle counts like passwords, and only while the user's password is
//! the one it was given with.

use subtle::ConstantTimeEq;

use crate::domain::flows::refresh::RotationKey;

/// Seconds a user has to type the code after the password.
pub const TTL: i64 = 300;

/// What the second step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Type a code of an enrolled factor.
    Verify,
    /// Enrol an authenticator first (the policy requires one).
    Enrol,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Verify => "verify",
            Stage::Enrol => "enrol",
        }
    }
}

/// A password sign-in waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i32,
    pub stage: Stage,
    pub expires_at: i64,
    /// Names the password it was given with (see [`credentials_of`]).
    credentials: String,
}

impl Pending {
    /// True while the user's password is still the one given: a password
    /// change or reset ends every pending sign-in.
    pub fn still_valid_for(&self, password_hash: &str) -> bool {
        credentials_of(password_hash) == self.credentials
    }
}

/// A short digest of a user's stored password hash.
fn credentials_of(password_hash: &str) -> String {
    let digest = crate::domain::secret::hash_secret(password_hash);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &RotationKey, p: &Pending) -> String {
    key.mac(&format!(
        "sign-in-pending|{}|{}|{}|{}",
        p.user_id,
        p.stage.as_str(),
        p.expires_at,
        p.credentials
    ))
}

fn text(p: &Pending) -> String {
    format!(
        "{}.{}.{}.{}",
        p.user_id,
        p.stage.as_str(),
        p.expires_at,
        p.credentials
    )
}

/// The cookie value for the pending sign-in of the user with this id and
/// stored password hash.
pub fn issue(
    key: &RotationKey,
    user_id: i32,
    password_hash: &str,
    stage: Stage,
    now: i64,
) -> String {
    let p = Pending {
        user_id,
        stage,
        expires_at: now + TTL,
        credentials: credentials_of(password_hash),
    };
    format!("{}.{}", text(&p), mac(key, &p))
}

/// The pending sign-in a cookie value names, if it is this server's and
/// not expired. The caller still checks [`Pending::still_valid_for`].
pub fn read(key: &RotationKey, value: &str, now: i64) -> Option<Pending> {
    let (claimed, presented) = value.rsplit_once('.')?;
    let mut parts = claimed.split('.');
    let (user_id, stage, expires_at, credentials) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let p = Pending {
        user_id: user_id.parse().ok()?,
        stage: match stage {
            "verify" => Stage::Verify,
            "enrol" => Stage::Enrol,
            _ => return None,
        },
        expires_at: expires_at.parse().ok()?,
        credentials: credentials.to_owned(),
    };
    let genuine: bool = mac(key, &p).as_bytes().ct_eq(presented.as_bytes()).into();
    // One spelling per value: the MAC covers the numbers as written here.
    let canonical = claimed == text(&p);
    (genuine && canonical && now < p.expires_at).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_reads_back_until_it_expires_or_the_password_changes() {
        let key = RotationKey::from_bytes(b"k");
        let value = issue(&key, 7, "$argon2id$old", Stage::Enrol, 1000);
        let read_back = read(&key, &value, 1000 + TTL - 1).unwrap();
        assert_eq!(
            (read_back.user_id, read_back.stage, read_back.expires_at),
            (7, Stage::Enrol, 1000 + TTL)
        );
        assert!(read_back.still_valid_for("$argon2id$old"));
        assert!(!read_back.still_valid_for("$argon2id$new"));
        assert_eq!(read(&key, &value, 1000 + TTL), None);
    }

    #[test]
    fn altered_or_foreign_values_are_refused() {
        let key = RotationKey::from_bytes(b"k");
        let value = issue(&key, 7, "$argon2id$h", Stage::Verify, 1000);
        let other_user = value.replacen("7.", "8.", 1);
        let other_stage = value.replacen("verify", "enrol", 1);
        let padded = value.replacen("7.", "07.", 1);
        for bad in [
            other_user,
            other_stage,
            padded,
            format!("{value}.x"),
            String::new(),
        ] {
            assert_eq!(read(&key, &bad, 1000), None, "{bad}");
        }
        let foreign = RotationKey::from_bytes(b"other");
        assert_eq!(read(&foreign, &value, 1000), None);
    }
}
