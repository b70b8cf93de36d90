// @generated automatically by Diesel CLI.

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Binary>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        created_at -> BigInt,
        consent_required -> Bool,
        require_par -> Bool,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        backchannel_logout_uri -> Nullable<Text>,
        signing_alg -> Text,
        dpop_bound -> Bool,
    }
}

diesel::table! {
    session_clients (session_id, client_id) {
        session_id -> Integer,
        client_id -> Text,
    }
}

diesel::table! {
    logout_deliveries (id) {
        id -> Integer,
        client_id -> Text,
        uri -> Text,
        sid -> Text,
        sub -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        give_up_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    client_assertions (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    dpop_proofs (jkt, jti) {
        jkt -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        private_key_der -> Binary,
        created_at -> BigInt,
        activates_at -> BigInt,
        alg -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        subject -> Text,
        username -> Text,
        password_hash -> Text,
        email -> Nullable<Text>,
        name -> Nullable<Text>,
        is_admin -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
        roles -> Text,
        require_mfa -> Bool,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Text,
        detail -> Text,
        ip -> Text,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Binary,
        client_id -> Text,
        session_id -> Integer,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        nonce -> Nullable<Text>,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        access_jti -> Nullable<Text>,
        access_expires_at -> Nullable<BigInt>,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Integer,
        client_id -> Text,
        scope -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        last_failure_at -> BigInt,
        locked_until -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Integer,
        token_hash -> Binary,
        client_id -> Text,
        user_id -> Integer,
        session_id -> Nullable<Integer>,
        code_hash -> Nullable<Binary>,
        scope -> Text,
        offline -> Bool,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        family_id -> Text,
        spent_at -> Nullable<BigInt>,
        idle_expires_at -> BigInt,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    revocation_events (id) {
        id -> Integer,
        kind -> Text,
        value -> Text,
        relevant_until -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
        revoked_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        sid -> Text,
        token_hash -> Binary,
        user_id -> Integer,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        idle_expires_at -> BigInt,
        absolute_expires_at -> BigInt,
        ip -> Text,
        user_agent -> Text,
        ended_at -> Nullable<BigInt>,
        amr -> Text,
    }
}

diesel::table! {
    user_totp (user_id) {
        user_id -> Integer,
        secret -> Binary,
        confirmed_at -> Nullable<BigInt>,
        last_step -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Integer,
        user_id -> Integer,
        credential_id -> Binary,
        name -> Text,
        credential -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkey_ceremonies (id_hash) {
        id_hash -> Binary,
        user_id -> Nullable<Integer>,
        purpose -> Text,
        state -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Integer,
        code_hash -> Binary,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    pushed_requests (request_hash) {
        request_hash -> Binary,
        client_id -> Text,
        params -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        arrived_at -> Nullable<BigInt>,
        used_at -> Nullable<BigInt>,
        signed_in_session_id -> Nullable<Integer>,
    }
}

diesel::joinable!(auth_codes -> clients (client_id));
diesel::joinable!(auth_codes -> sessions (session_id));
diesel::joinable!(client_assertions -> clients (client_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(logout_deliveries -> clients (client_id));
diesel::joinable!(session_clients -> clients (client_id));
diesel::joinable!(session_clients -> sessions (session_id));
diesel::joinable!(consents -> users (user_id));
diesel::joinable!(pushed_requests -> clients (client_id));
diesel::joinable!(pushed_requests -> sessions (signed_in_session_id));
diesel::joinable!(refresh_tokens -> clients (client_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_totp -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(passkey_ceremonies -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    auth_codes,
    client_assertions,
    clients,
    consents,
    dpop_proofs,
    login_throttle,
    logout_deliveries,
    passkey_ceremonies,
    passkeys,
    pushed_requests,
    recovery_codes,
    refresh_tokens,
    revocation_events,
    revoked_access_tokens,
    server_secrets,
    session_clients,
    sessions,
    signing_keys,
    user_totp,
    users,
);

diesel::table! {
    feed_counters (name) {
        name -> Text,
        last_id -> Integer,
    }
}
