//! A sign-in between the password and the second factor: which user gave
//! the right password, for what, and until when. Carried by the browser in
//! a cookie the server MACs with its own key, so any instance can read it
//! and none stores it. It only lets its holder try codes, which the sign-in
//! throttle counts like passwords.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub user_id: i32,
    pub stage: Stage,
    pub expires_at: i64,
}

fn mac(key: &RotationKey, user_id: i32, stage: Stage, expires_at: i64) -> String {
    key.mac(&format!(
        "sign-in-pending|{user_id}|{}|{expires_at}",
        stage.as_str()
    ))
}

/// The cookie value for `user_id`'s pending sign-in.
pub fn issue(key: &RotationKey, user_id: i32, stage: Stage, now: i64) -> String {
    let expires_at = now + TTL;
    format!(
        "{user_id}.{}.{expires_at}.{}",
        stage.as_str(),
        mac(key, user_id, stage, expires_at)
    )
}

/// The pending sign-in a cookie value names, if it is this server's and
/// not expired.
pub fn read(key: &RotationKey, value: &str, now: i64) -> Option<Pending> {
    let mut parts = value.split('.');
    let (user_id, stage, expires_at, presented) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let user_id: i32 = user_id.parse().ok()?;
    let stage = match stage {
        "verify" => Stage::Verify,
        "enrol" => Stage::Enrol,
        _ => return None,
    };
    let expires_at: i64 = expires_at.parse().ok()?;
    let expected = mac(key, user_id, stage, expires_at);
    let genuine: bool = expected.as_bytes().ct_eq(presented.as_bytes()).into();
    // One spelling per value: the MAC covers the numbers as written here.
    let canonical = value == format!("{user_id}.{}.{expires_at}.{presented}", stage.as_str());
    (genuine && canonical && now < expires_at).then_some(Pending {
        user_id,
        stage,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_reads_back_until_it_expires() {
        let key = RotationKey::from_bytes(b"k");
        let value = issue(&key, 7, Stage::Enrol, 1000);
        let read_back = read(&key, &value, 1000 + TTL - 1);
        assert_eq!(
            read_back,
            Some(Pending {
                user_id: 7,
                stage: Stage::Enrol,
                expires_at: 1000 + TTL
            })
        );
        assert_eq!(read(&key, &value, 1000 + TTL), None);
    }

    #[test]
    fn altered_or_foreign_values_are_refused() {
        let key = RotationKey::from_bytes(b"k");
        let value = issue(&key, 7, Stage::Verify, 1000);
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
