//! One full-row struct per table for [`super::copy_database`]: every
//! column, fields in `schema.rs` order (a unit test checks that each selects
//! exactly its table's columns). No `Debug`: rows hold password hashes,
//! private keys and secrets.

use diesel::prelude::*;

use crate::db::schema::{
    audit_log, auth_codes, client_assertions, clients, consents, dpop_proofs, feed_counters,
    login_throttle, logout_deliveries, passkey_ceremonies, passkeys, pushed_requests,
    recovery_codes, refresh_tokens, revocation_events, revoked_access_tokens, server_secrets,
    session_clients, sessions, signing_keys, user_totp, users,
};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(super) struct UserCopy {
    pub(super) id: i32,
    pub(super) subject: String,
    pub(super) username: String,
    pub(super) password_hash: String,
    pub(super) email: Option<String>,
    pub(super) name: Option<String>,
    pub(super) is_admin: bool,
    pub(super) disabled: bool,
    pub(super) created_at: i64,
    pub(super) roles: String,
    pub(super) require_mfa: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
pub(super) struct ClientCopy {
    pub(super) client_id: String,
    pub(super) name: String,
    pub(super) secret_hash: Option<Vec<u8>>,
    pub(super) redirect_uris: String,
    pub(super) post_logout_redirect_uris: String,
    pub(super) grant_types: String,
    pub(super) scopes: String,
    pub(super) created_at: i64,
    pub(super) consent_required: bool,
    pub(super) require_par: bool,
    pub(super) jwks: Option<String>,
    pub(super) jwks_uri: Option<String>,
    pub(super) backchannel_logout_uri: Option<String>,
    pub(super) signing_alg: String,
    pub(super) dpop_bound: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub(super) struct SigningKeyCopy {
    pub(super) kid: String,
    pub(super) private_key_der: Vec<u8>,
    pub(super) created_at: i64,
    pub(super) activates_at: i64,
    pub(super) alg: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = server_secrets)]
pub(super) struct ServerSecretCopy {
    pub(super) name: String,
    pub(super) value: Vec<u8>,
    pub(super) created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(super) struct SessionCopy {
    pub(super) id: i32,
    pub(super) sid: String,
    pub(super) token_hash: Vec<u8>,
    pub(super) user_id: i32,
    pub(super) auth_time: i64,
    pub(super) created_at: i64,
    pub(super) last_seen_at: i64,
    pub(super) idle_expires_at: i64,
    pub(super) absolute_expires_at: i64,
    pub(super) ip: String,
    pub(super) user_agent: String,
    pub(super) ended_at: Option<i64>,
    pub(super) amr: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub(super) struct AuthCodeCopy {
    pub(super) code_hash: Vec<u8>,
    pub(super) client_id: String,
    pub(super) session_id: i32,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) scope: String,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) used_at: Option<i64>,
    pub(super) access_jti: Option<String>,
    pub(super) access_expires_at: Option<i64>,
    pub(super) dpop_jkt: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pushed_requests)]
pub(super) struct PushedRequestCopy {
    pub(super) request_hash: Vec<u8>,
    pub(super) client_id: String,
    pub(super) params: String,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) arrived_at: Option<i64>,
    pub(super) used_at: Option<i64>,
    pub(super) signed_in_session_id: Option<i32>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = session_clients)]
pub(super) struct SessionClientCopy {
    pub(super) session_id: i32,
    pub(super) client_id: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = logout_deliveries)]
pub(super) struct LogoutDeliveryCopy {
    pub(super) id: i32,
    pub(super) client_id: String,
    pub(super) uri: String,
    pub(super) sid: String,
    pub(super) sub: String,
    pub(super) created_at: i64,
    pub(super) attempts: i32,
    pub(super) next_attempt_at: i64,
    pub(super) give_up_at: i64,
    pub(super) finished_at: Option<i64>,
    pub(super) outcome: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = client_assertions)]
pub(super) struct ClientAssertionCopy {
    pub(super) client_id: String,
    pub(super) jti: String,
    pub(super) expires_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = dpop_proofs)]
pub(super) struct DpopProofCopy {
    pub(super) jkt: String,
    pub(super) jti: String,
    pub(super) expires_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(super) struct RefreshTokenCopy {
    pub(super) id: i32,
    pub(super) token_hash: Vec<u8>,
    pub(super) client_id: String,
    pub(super) user_id: i32,
    pub(super) session_id: Option<i32>,
    pub(super) code_hash: Option<Vec<u8>>,
    pub(super) scope: String,
    pub(super) offline: bool,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) revoked_at: Option<i64>,
    pub(super) family_id: String,
    pub(super) spent_at: Option<i64>,
    pub(super) idle_expires_at: i64,
    pub(super) dpop_jkt: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = revoked_access_tokens)]
pub(super) struct RevokedAccessTokenCopy {
    pub(super) jti: String,
    pub(super) expires_at: i64,
    pub(super) revoked_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = feed_counters)]
pub(super) struct FeedCounterCopy {
    pub(super) name: String,
    pub(super) last_id: i32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = revocation_events)]
pub(super) struct RevocationEventCopy {
    pub(super) id: i32,
    pub(super) kind: String,
    pub(super) value: String,
    pub(super) relevant_until: i64,
    pub(super) created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub(super) struct ConsentCopy {
    pub(super) user_id: i32,
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) granted_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = login_throttle)]
pub(super) struct ThrottleCopy {
    pub(super) key: String,
    pub(super) failures: i32,
    pub(super) last_failure_at: i64,
    pub(super) locked_until: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub(super) struct AuditCopy {
    pub(super) id: i32,
    pub(super) at: i64,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) target: String,
    pub(super) detail: String,
    pub(super) ip: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = user_totp)]
pub(super) struct UserTotpCopy {
    pub(super) user_id: i32,
    pub(super) secret: Vec<u8>,
    pub(super) confirmed_at: Option<i64>,
    pub(super) last_step: i64,
    pub(super) created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
pub(super) struct RecoveryCodeCopy {
    pub(super) user_id: i32,
    pub(super) code_hash: Vec<u8>,
    pub(super) created_at: i64,
    pub(super) used_at: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub(super) struct PasskeyCopy {
    pub(super) id: i32,
    pub(super) user_id: i32,
    pub(super) credential_id: Vec<u8>,
    pub(super) name: String,
    pub(super) credential: String,
    pub(super) created_at: i64,
    pub(super) last_used_at: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = passkey_ceremonies)]
pub(super) struct PasskeyCeremonyCopy {
    pub(super) id_hash: Vec<u8>,
    pub(super) user_id: Option<i32>,
    pub(super) purpose: String,
    pub(super) state: String,
    pub(super) expires_at: i64,
}
