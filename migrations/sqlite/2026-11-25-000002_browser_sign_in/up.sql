-- Third-party clients show a consent page; first-party ones do not.
ALTER TABLE clients ADD COLUMN consent_required BOOLEAN NOT NULL DEFAULT 0;

-- One row per browser sign-in. The cookie carries a random value whose
-- SHA-256 is `token_hash`; `sid` is the public id put in tokens.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY NOT NULL,
    sid TEXT NOT NULL UNIQUE,
    token_hash BLOB NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Authorization codes, stored as hashes, single use: `used_at` is set on
-- redemption, and `access_jti` lets a replay revoke what the code issued.
CREATE TABLE auth_codes (
    code_hash BLOB PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    nonce TEXT,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    access_jti TEXT,
    access_expires_at BIGINT
);

-- Refresh tokens, stored as hashes. Without offline_access a token is bound
-- to its browser session and ends with it.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
    code_hash BLOB,
    scope TEXT NOT NULL,
    offline BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_code_hash ON refresh_tokens (code_hash);

-- Access tokens revoked before their expiry, by `jti`.
CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);

-- A user's remembered consent to a third-party client.
CREATE TABLE consents (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Failed sign-ins per username and per address, for throttling.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
