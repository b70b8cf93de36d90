//! Passkeys (WebAuthn Level 2) through webauthn-rs: registering one from the
//! account page, signing in with one and no username (a discoverable
//! credential), or using one as the second factor after the password.
//!
//! The relying party is the issuer: its host is the RP id and its origin the
//! only origin accepted. A ceremony's state waits in the database between
//! the challenge and the browser's answer and is spent once, on whichever
//! instance gets the answer, so an answer cannot be replayed.

use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::db::passkeys::{self as store, NewPasskey, PasskeyRow};
use crate::db::users::UserRow;
use crate::db::{Conn, QueryError};

use super::audit::{self, Actor};
use super::secret;

/// Seconds a browser has to answer a challenge.
pub const CEREMONY_TTL: i64 = 300;
/// Longest passkey name.
const MAX_NAME: usize = 64;

/// Why a ceremony did not succeed. `Refused` says why, for the page.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("a stored passkey record is unreadable: {0}")]
    Record(String),
}

const EXPIRED: &str = "This passkey request expired or was already used. Try again.";
const NOT_ACCEPTED: &str = "The passkey was not accepted.";

fn record(e: serde_json::Error) -> PasskeyError {
    PasskeyError::Record(e.to_string())
}

/// What a ceremony's state is kept for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Register,
    SignIn,
    SecondFactor,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::SecondFactor => "second_factor",
        }
    }
}

/// A registered passkey as its owner sees it.
#[derive(Debug, Clone)]
pub struct PasskeyInfo {
    pub id: i32,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The user's passkeys.
pub fn list(conn: &mut Conn, user_id: i32) -> Result<Vec<PasskeyInfo>, QueryError> {
    Ok(store::list_user_passkeys(conn, user_id)?
        .into_iter()
        .map(|p| PasskeyInfo {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect())
}

/// Removes one of the user's passkeys; false when it is not theirs.
pub fn remove(conn: &mut Conn, user_id: i32, id: i32) -> Result<bool, QueryError> {
    Ok(store::delete_user_passkey(conn, user_id, id)? == 1)
}

/// `amr` of a sign-in with this passkey (RFC 8176): a key that can be
/// synced to other devices is a software key, otherwise a hardware one.
/// User verification is required, so either counts as two factors.
fn key_amr(result: &AuthenticationResult) -> &'static str {
    if result.backup_eligible() {
        "swk"
    } else {
        "hwk"
    }
}

/// The WebAuthn relying party this server is.
pub struct RelyingParty(Webauthn);

impl RelyingParty {
    /// The relying party for an issuer URL; `None` when its host is an IP
    /// address, where browsers refuse WebAuthn.
    pub fn for_issuer(issuer: &str) -> Option<Self> {
        let origin = Url::parse(issuer).ok()?;
        let host = match origin.host()? {
            url::Host::Domain(d) => d.to_owned(),
            _ => return None,
        };
        let webauthn = WebauthnBuilder::new(&host, &origin)
            .ok()?
            .rp_name("Tessera")
            .build()
            .ok()?;
        Some(RelyingParty(webauthn))
    }

    /// A challenge for a new passkey of `user`, which must be discoverable
    /// (it signs in without a username) and verify the user.
    pub fn start_registration(
        &self,
        conn: &mut Conn,
        user: &UserRow,
        now: i64,
    ) -> Result<(CreationChallengeResponse, String), PasskeyError> {
        let exclude = store::list_user_passkeys(conn, user.id)?
            .into_iter()
            .map(|p| p.credential_id)
            .collect();
        let display = user.name.as_deref().unwrap_or(&user.username);
        let (mut challenge, state) = self
            .0
            .start_passkey_registration(user_uuid(user)?, &user.username, display, Some(exclude))
            .map_err(|e| refused("start_passkey_registration", &e, NOT_ACCEPTED))?;
        if let Some(s) = challenge.public_key.authenticator_selection.as_mut() {
            s.resident_key = Some(ResidentKeyRequirement::Required);
            s.require_resident_key = true;
        }
        let id = keep(conn, Some(user.id), Purpose::Register, &state, now)?;
        Ok((challenge, id))
    }

    /// Checks the browser's answer to a registration challenge and stores
    /// the new passkey under `name`.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_registration(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        user: &UserRow,
        ceremony: &str,
        name: &str,
        answer: &RegisterPublicKeyCredential,
        now: i64,
    ) -> Result<(), PasskeyError> {
        let (owner, state): (_, PasskeyRegistration) =
            take(conn, ceremony, Purpose::Register, now)?;
        if owner != Some(user.id) {
            return Err(PasskeyError::Refused(EXPIRED));
        }
        let passkey = self
            .0
            .finish_passkey_registration(answer, &state)
            .map_err(|e| refused("finish_passkey_registration", &e, NOT_ACCEPTED))?;
        let name = match name.trim() {
            "" => "Passkey",
            n if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) => {
                return Err(PasskeyError::Refused(
                    "A passkey name is at most 64 characters, without control characters.",
                ));
            }
            n => n,
        };
        let json = serde_json::to_string(&passkey).map_err(record)?;
        let row = NewPasskey {
            user_id: user.id,
            credential_id: passkey.cred_id().as_slice(),
            name,
            credential: &json,
            created_at: now,
        };
        match store::insert_passkey(conn, &row) {
            Ok(_) => {}
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(PasskeyError::Refused("This passkey is already registered."));
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(conn, actor, "passkey.added", &user.username, name, now)?;
        Ok(())
    }

    /// A challenge any of this server's discoverable passkeys can answer.
    pub fn start_sign_in(
        &self,
        conn: &mut Conn,
        now: i64,
    ) -> Result<(RequestChallengeResponse, String), PasskeyError> {
        let (mut challenge, state) = self
            .0
            .start_discoverable_authentication()
            .map_err(|e| refused("start_discoverable_authentication", &e, NOT_ACCEPTED))?;
        // Asked for with a button, not offered by the browser's autofill.
        challenge.mediation = None;
        let id = keep(conn, None, Purpose::SignIn, &state, now)?;
        Ok((challenge, id))
    }

    /// The user a passkey sign-in proves, with its `amr` method.
    pub fn finish_sign_in(
        &self,
        conn: &mut Conn,
        ip: &str,
        ceremony: &str,
        answer: &PublicKeyCredential,
        now: i64,
    ) -> Result<(UserRow, &'static str), PasskeyError> {
        let (_, state): (_, DiscoverableAuthentication) =
            take(conn, ceremony, Purpose::SignIn, now)?;
        let (handle, credential_id) = self
            .0
            .identify_discoverable_authentication(answer)
            .map_err(|e| refused("identify_discoverable_authentication", &e, NOT_ACCEPTED))?;
        let unknown = PasskeyError::Refused("This passkey is not registered here.");
        let Some((row, user)) = store::find_passkey_by_credential(conn, credential_id)? else {
            return Err(unknown);
        };
        if user.disabled || user_uuid(&user).ok() != Some(handle) {
            return Err(unknown);
        }
        let passkey: Passkey = serde_json::from_str(&row.credential).map_err(record)?;
        let result = self
            .0
            .finish_discoverable_authentication_v2(answer, state, &passkey);
        let result = checked(conn, ip, &user, result, now)?;
        used(conn, &row, passkey, &result, now)?;
        Ok((user, key_amr(&result)))
    }

    /// A challenge for the user's own passkeys, as the second factor after
    /// the password; `None` when they have none.
    pub fn start_second_factor(
        &self,
        conn: &mut Conn,
        user_id: i32,
        now: i64,
    ) -> Result<Option<(RequestChallengeResponse, String)>, PasskeyError> {
        let passkeys = store::list_user_passkeys(conn, user_id)?
            .iter()
            .map(|p| serde_json::from_str::<Passkey>(&p.credential).map_err(record))
            .collect::<Result<Vec<_>, _>>()?;
        if passkeys.is_empty() {
            return Ok(None);
        }
        let (challenge, state) = self
            .0
            .start_passkey_authentication(&passkeys)
            .map_err(|e| refused("start_passkey_authentication", &e, NOT_ACCEPTED))?;
        let id = keep(conn, Some(user_id), Purpose::SecondFactor, &state, now)?;
        Ok(Some((challenge, id)))
    }

    /// Checks a second-factor answer from `user`; its `amr` method.
    pub fn finish_second_factor(
        &self,
        conn: &mut Conn,
        ip: &str,
        user: &UserRow,
        ceremony: &str,
        answer: &PublicKeyCredential,
        now: i64,
    ) -> Result<&'static str, PasskeyError> {
        let (owner, state): (_, PasskeyAuthentication) =
            take(conn, ceremony, Purpose::SecondFactor, now)?;
        if owner != Some(user.id) {
            return Err(PasskeyError::Refused(EXPIRED));
        }
        let result = self.0.finish_passkey_authentication(answer, &state);
        let result = checked(conn, ip, user, result, now)?;
        let Some((row, owner)) = store::find_passkey_by_credential(conn, result.cred_id())? else {
            return Err(PasskeyError::Refused(NOT_ACCEPTED));
        };
        if owner.id != user.id {
            return Err(PasskeyError::Refused(NOT_ACCEPTED));
        }
        let passkey: Passkey = serde_json::from_str(&row.credential).map_err(record)?;
        used(conn, &row, passkey, &result, now)?;
        Ok(key_amr(&result))
    }
}

/// The WebAuthn user handle: the user's subject, a random UUID that never
/// changes and reveals nothing.
fn user_uuid(user: &UserRow) -> Result<Uuid, PasskeyError> {
    Uuid::parse_str(&user.subject)
        .map_err(|_| PasskeyError::Refused("This account cannot use passkeys."))
}

/// Logs why webauthn-rs refused, and says `shown` to the user.
fn refused(step: &str, e: &WebauthnError, shown: &'static str) -> PasskeyError {
    log::info!("passkey {step} refused: {e}");
    PasskeyError::Refused(shown)
}

/// An assertion's result; a signature counter that went backwards (an
/// authenticator that may have been cloned) is refused and audited.
fn checked(
    conn: &mut Conn,
    ip: &str,
    user: &UserRow,
    result: Result<AuthenticationResult, WebauthnError>,
    now: i64,
) -> Result<AuthenticationResult, PasskeyError> {
    match result {
        Ok(r) => Ok(r),
        Err(WebauthnError::CredentialPossibleCompromise) => {
            log::warn!(
                "security: a passkey of user id {} reported an old signature counter",
                user.id
            );
            let who = Actor {
                name: "anonymous",
                ip,
            };
            audit::record(
                conn,
                &who,
                "passkey.possible_clone",
                &user.username,
                "signature counter went backwards",
                now,
            )?;
            Err(PasskeyError::Refused(NOT_ACCEPTED))
        }
        Err(e) => Err(refused("assertion", &e, NOT_ACCEPTED)),
    }
}

/// Records a use: the new counter and backup flags, and when.
fn used(
    conn: &mut Conn,
    row: &PasskeyRow,
    mut passkey: Passkey,
    result: &AuthenticationResult,
    now: i64,
) -> Result<(), PasskeyError> {
    let updated = if result.needs_update() && passkey.update_credential(result) == Some(true) {
        Some(serde_json::to_string(&passkey).map_err(record)?)
    } else {
        None
    };
    let updated = updated.as_deref().map(|new| (row.credential.as_str(), new));
    store::update_passkey_used(conn, row.id, updated, now)?;
    Ok(())
}

/// Stores a ceremony's state; returns the id the browser sends back.
fn keep(
    conn: &mut Conn,
    user_id: Option<i32>,
    purpose: Purpose,
    state: &impl Serialize,
    now: i64,
) -> Result<String, PasskeyError> {
    let id = secret::generate_token();
    let json = serde_json::to_string(state).map_err(record)?;
    store::insert_ceremony(
        conn,
        &secret::hash_secret(&id),
        user_id,
        purpose.as_str(),
        &json,
        now + CEREMONY_TTL,
    )?;
    Ok(id)
}

/// Takes a ceremony's state out of storage, once.
fn take<T: DeserializeOwned>(
    conn: &mut Conn,
    id: &str,
    purpose: Purpose,
    now: i64,
) -> Result<(Option<i32>, T), PasskeyError> {
    let hash = secret::hash_secret(id);
    let Some((user_id, json)) = store::take_ceremony(conn, &hash, purpose.as_str(), now)? else {
        return Err(PasskeyError::Refused(EXPIRED));
    };
    Ok((user_id, serde_json::from_str(&json).map_err(record)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuers_host_and_never_an_ip_address() {
        assert!(RelyingParty::for_issuer("http://localhost:8080").is_some());
        assert!(RelyingParty::for_issuer("https://id.example.com").is_some());
        assert!(RelyingParty::for_issuer("http://127.0.0.1:8080").is_none());
        assert!(RelyingParty::for_issuer("http://[::1]:8080").is_none());
    }
}
