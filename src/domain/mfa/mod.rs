//! Second factors after the password: TOTP (an authenticator app) and
//! one-time recovery codes, the policy that says who must have one, and
//! what a session records about how its user signed in (RFC 8176 `amr`,
//! and the `acr` a client may ask for).

pub mod pending;
pub mod recovery;
pub mod totp;

use crate::db::passkeys;
use crate::db::second_factors as store;
use crate::db::users::UserRow;
use crate::db::{Conn, QueryError};

use super::at_rest::{SealError, Sealer, totp_secret_label};
use super::flows::refresh::RotationKey;
use super::secret;

/// `amr` of a session signed in with a password alone.
pub const AMR_PASSWORD: &str = "pwd";
/// `amr` of a session signed in with a password and a one-time code.
pub const AMR_PASSWORD_OTP: &str = "pwd otp mfa";

/// `amr` of a sign-in with a passkey (`key`: `hwk` or `swk`), after the
/// password or on its own; user verification makes either two factors.
pub fn amr_with_passkey(key: &str, after_password: bool) -> String {
    if after_password {
        format!("pwd {key} mfa")
    } else {
        format!("{key} mfa")
    }
}
/// `acr` of a single-factor sign-in.
pub const ACR_ONE_FACTOR: &str = "urn:tessera:loa:1fa";
/// `acr` of a sign-in with a second factor; a client asks for it with
/// `acr_values`.
pub const ACR_TWO_FACTORS: &str = "urn:tessera:loa:2fa";
/// What discovery lists, weakest first.
pub const ACR_VALUES: [&str; 2] = [ACR_ONE_FACTOR, ACR_TWO_FACTORS];

/// True when an authorization request's `acr_values` asks for a sign-in
/// with a second factor.
pub fn asks_for_two_factors(acr_values: Option<&str>) -> bool {
    acr_values.is_some_and(|v| v.split(' ').any(|a| a == ACR_TWO_FACTORS))
}

/// Who must sign in with a second factor (`require_mfa`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MfaPolicy {
    /// Only users an admin marked "Require MFA" (and anyone who enrolled one).
    #[default]
    None,
    /// Admins too.
    Admins,
    /// Everyone.
    All,
}

impl std::str::FromStr for MfaPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(MfaPolicy::None),
            "admins" => Ok(MfaPolicy::Admins),
            "all" => Ok(MfaPolicy::All),
            other => Err(format!(
                "require_mfa must be none, admins or all, not '{other}'"
            )),
        }
    }
}

impl MfaPolicy {
    /// True when `user` may not sign in without a second factor.
    pub fn requires(self, user: &UserRow) -> bool {
        user.require_mfa
            || match self {
                MfaPolicy::None => false,
                MfaPolicy::Admins => user.is_admin,
                MfaPolicy::All => true,
            }
    }
}

/// The `acr` a session's `amr` amounts to.
pub fn acr_of(amr: &str) -> &'static str {
    if amr.split(' ').any(|m| m == "mfa") {
        ACR_TWO_FACTORS
    } else {
        ACR_ONE_FACTOR
    }
}

/// Why a second factor could not be stored or checked.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// A TOTP secret just made, shown to its user once.
#[derive(Clone)]
pub struct TotpEnrolment {
    secret: Vec<u8>,
    /// For an authenticator app (and its QR code).
    pub uri: String,
}

impl TotpEnrolment {
    /// The secret as typed into an app that cannot scan.
    pub fn secret_text(&self) -> String {
        totp::base32(&self.secret)
    }
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(..)")
    }
}

/// The name authenticator apps show for this server: its issuer's host.
pub fn issuer_label(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Tessera".into())
}

fn enrolment(issuer: &str, user: &UserRow, secret: Vec<u8>) -> TotpEnrolment {
    TotpEnrolment {
        uri: totp::otpauth_uri(&issuer_label(issuer), &user.username, &secret),
        secret,
    }
}

/// Gives `user` a new TOTP secret, replacing any earlier one. `confirmed`
/// makes it count at once (an operator enrolled it); otherwise it counts
/// once [`confirm_totp`] saw a first code.
pub fn enrol_totp(
    conn: &mut Conn,
    sealer: &Sealer,
    user: &UserRow,
    issuer: &str,
    confirmed: bool,
    now: i64,
) -> Result<TotpEnrolment, MfaError> {
    let secret = secret::random_bytes::<{ totp::SECRET_LEN }>().to_vec();
    let stored = sealer.seal(&totp_secret_label(user.id), &secret)?;
    store::replace_totp(conn, user.id, &stored, confirmed.then_some(now), 0, now)?;
    Ok(enrolment(issuer, user, secret))
}

/// A new secret that is stored only once its first code confirms it (see
/// [`confirm_new_totp`]): an authenticator already set up keeps working
/// until then. The secret travels in the enrolment form as
/// [`enrolment_token`], MACed for this user.
pub fn new_totp(issuer: &str, user: &UserRow) -> TotpEnrolment {
    enrolment(
        issuer,
        user,
        secret::random_bytes::<{ totp::SECRET_LEN }>().to_vec(),
    )
}

/// How long a set-up form may wait for its first code.
pub const ENROLMENT_TTL: i64 = 600;

fn enrolment_mac(key: &RotationKey, user_id: i32, secret_text: &str, issued: i64) -> String {
    key.mac(&format!("totp-enrolment|{user_id}|{secret_text}|{issued}"))
}

/// The form field that carries a new secret to its confirmation.
pub fn enrolment_token(key: &RotationKey, user_id: i32, e: &TotpEnrolment, now: i64) -> String {
    let text = e.secret_text();
    format!("{text}.{now}.{}", enrolment_mac(key, user_id, &text, now))
}

/// The enrolment an [`enrolment_token`] carries, if this server made it for
/// this user in the last [`ENROLMENT_TTL`] seconds.
pub fn read_enrolment_token(
    key: &RotationKey,
    issuer: &str,
    user: &UserRow,
    token: &str,
    now: i64,
) -> Option<TotpEnrolment> {
    use subtle::ConstantTimeEq;
    let mut parts = token.split('.');
    let (text, issued, mac) = (parts.next()?, parts.next()?, parts.next()?);
    let issued: i64 = issued.parse().ok()?;
    let expected = enrolment_mac(key, user.id, text, issued);
    let genuine: bool = expected.as_bytes().ct_eq(mac.as_bytes()).into();
    if !genuine || parts.next().is_some() || !(0..=ENROLMENT_TTL).contains(&(now - issued)) {
        return None;
    }
    let secret = totp::base32_decode(text)?;
    (secret.len() == totp::SECRET_LEN).then(|| enrolment(issuer, user, secret))
}

/// Stores a new enrolment once `presented` is a current code for it,
/// replacing any earlier one; the code counts as used.
pub fn confirm_new_totp(
    conn: &mut Conn,
    sealer: &Sealer,
    user_id: i32,
    e: &TotpEnrolment,
    presented: &str,
    now: i64,
) -> Result<bool, MfaError> {
    let Some(step) = totp::matching_step(&e.secret, presented, now) else {
        return Ok(false);
    };
    let stored = sealer.seal(&totp_secret_label(user_id), &e.secret)?;
    store::replace_totp(conn, user_id, &stored, Some(now), step, now)?;
    Ok(true)
}

/// An enrolment waiting for its first code, shown again after a wrong one.
pub fn unconfirmed_totp(
    conn: &mut Conn,
    sealer: &Sealer,
    user: &UserRow,
    issuer: &str,
) -> Result<Option<TotpEnrolment>, MfaError> {
    match store::find_totp(conn, user.id)? {
        Some(row) if row.confirmed_at.is_none() => {
            let secret = sealer.open(&totp_secret_label(user.id), &row.secret)?;
            Ok(Some(enrolment(issuer, user, secret)))
        }
        _ => Ok(None),
    }
}

/// True when the user has a second factor that counts: an authenticator
/// app or a passkey.
pub fn has_second_factor(conn: &mut Conn, user_id: i32) -> Result<bool, QueryError> {
    Ok(has_totp(conn, user_id)? || !passkeys::list_user_passkeys(conn, user_id)?.is_empty())
}

fn has_totp(conn: &mut Conn, user_id: i32) -> Result<bool, QueryError> {
    Ok(store::find_totp(conn, user_id)?.is_some_and(|t| t.confirmed_at.is_some()))
}

/// Spends a code for the user's TOTP secret if it is one now: for the
/// secret it was checked against (a replacement meanwhile refuses it), and
/// a step later than any used before.
fn spend_totp_code(
    conn: &mut Conn,
    sealer: &Sealer,
    user_id: i32,
    presented: &str,
    confirmed: bool,
    now: i64,
) -> Result<bool, MfaError> {
    let Some(row) = store::find_totp(conn, user_id)? else {
        return Ok(false);
    };
    if row.confirmed_at.is_some() != confirmed {
        return Ok(false);
    }
    let secret = sealer.open(&totp_secret_label(user_id), &row.secret)?;
    let Some(step) = totp::matching_step(&secret, presented, now) else {
        return Ok(false);
    };
    Ok(store::use_totp_step(
        conn,
        user_id,
        &row.secret,
        step,
        !confirmed,
        now,
    )?)
}

/// Confirms a new enrolment with its first code; the code is then used.
pub fn confirm_totp(
    conn: &mut Conn,
    sealer: &Sealer,
    user_id: i32,
    presented: &str,
    now: i64,
) -> Result<bool, MfaError> {
    spend_totp_code(conn, sealer, user_id, presented, false, now)
}

/// Which second factor a correct code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
}

/// Checks a code typed after the password: a current TOTP code not used
/// before, or an unused recovery code. Either is spent by this call.
pub fn verify_second_factor(
    conn: &mut Conn,
    sealer: &Sealer,
    user_id: i32,
    presented: &str,
    now: i64,
) -> Result<Option<Factor>, MfaError> {
    if totp::normalise(presented).is_some() {
        let fresh = spend_totp_code(conn, sealer, user_id, presented, true, now)?;
        return Ok(fresh.then_some(Factor::Totp));
    }
    let Some(code) = recovery::normalise(presented) else {
        return Ok(None);
    };
    let spent = store::use_recovery_code(conn, user_id, &recovery::hash(user_id, &code), now)?;
    Ok(spent.then_some(Factor::RecoveryCode))
}

/// Replaces the user's recovery codes; returns the new ones, shown once.
pub fn new_recovery_codes(
    conn: &mut Conn,
    user_id: i32,
    now: i64,
) -> Result<Vec<String>, QueryError> {
    let codes = recovery::generate();
    let hashes: Vec<[u8; 32]> = codes
        .iter()
        .filter_map(|c| recovery::normalise(c))
        .map(|c| recovery::hash(user_id, &c))
        .collect();
    crate::db::immediate(conn, |conn| {
        store::replace_recovery_codes(conn, user_id, &hashes, now)
    })?;
    Ok(codes)
}

/// Removes the user's authenticator app, and their recovery codes unless a
/// passkey remains for them to stand in for.
pub fn remove_totp(conn: &mut Conn, user_id: i32) -> Result<(), QueryError> {
    crate::db::immediate(conn, |conn| {
        store::delete_totp(conn, user_id)?;
        if passkeys::list_user_passkeys(conn, user_id)?.is_empty() {
            store::delete_recovery_codes(conn, user_id)?;
        }
        Ok(())
    })
}

/// Removes every second factor of the user: authenticator app, recovery
/// codes and passkeys.
pub fn reset(conn: &mut Conn, user_id: i32) -> Result<(), QueryError> {
    crate::db::immediate(conn, |conn| {
        store::delete_totp(conn, user_id)?;
        store::delete_recovery_codes(conn, user_id)?;
        passkeys::delete_user_passkeys(conn, user_id)?;
        Ok(())
    })
}

/// A user's second factors, as the console and account page show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub passkeys: usize,
}

/// The user's second factors.
pub fn factors(conn: &mut Conn, user_id: i32) -> Result<Factors, QueryError> {
    Ok(Factors {
        totp: has_totp(conn, user_id)?,
        recovery_codes_left: store::unused_recovery_codes(conn, user_id)?,
        passkeys: passkeys::list_user_passkeys(conn, user_id)?.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(is_admin: bool, require_mfa: bool) -> UserRow {
        UserRow {
            id: 1,
            subject: "s".into(),
            username: "alice".into(),
            password_hash: String::new(),
            email: None,
            name: None,
            is_admin,
            disabled: false,
            created_at: 0,
            roles: String::new(),
            require_mfa,
        }
    }

    #[test]
    fn the_policy_names_who_needs_a_second_factor() {
        let (plain, admin, marked) = (user(false, false), user(true, false), user(false, true));
        assert!(!MfaPolicy::None.requires(&plain) && !MfaPolicy::None.requires(&admin));
        assert!(MfaPolicy::None.requires(&marked));
        assert!(!MfaPolicy::Admins.requires(&plain) && MfaPolicy::Admins.requires(&admin));
        assert!(MfaPolicy::All.requires(&plain));
        assert_eq!("admins".parse(), Ok(MfaPolicy::Admins));
        assert!("some".parse::<MfaPolicy>().is_err());
    }

    #[test]
    fn an_enrolment_token_is_for_its_user_and_a_few_minutes() {
        let key = RotationKey::from_bytes(b"k");
        let e = new_totp("https://id.example.com", &user(false, false));
        let token = enrolment_token(&key, 1, &e, 1000);
        let read = |t: &str, id: i32, now: i64| {
            let mut u = user(false, false);
            u.id = id;
            read_enrolment_token(&key, "https://id.example.com", &u, t, now)
                .map(|e| e.secret_text())
        };
        assert_eq!(read(&token, 1, 1000 + ENROLMENT_TTL), Some(e.secret_text()));
        assert_eq!(read(&token, 1, 1001 + ENROLMENT_TTL), None);
        assert_eq!(read(&token, 2, 1000), None, "another user's form");
        let later = token.replacen(".1000.", ".1500.", 1);
        assert_eq!(read(&later, 1, 1500), None, "a changed issue time");
    }

    #[test]
    fn acr_follows_amr() {
        assert_eq!(acr_of(AMR_PASSWORD), ACR_ONE_FACTOR);
        assert_eq!(acr_of(AMR_PASSWORD_OTP), ACR_TWO_FACTORS);
    }
}
