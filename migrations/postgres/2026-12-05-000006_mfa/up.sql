-- Second factors. A user's TOTP secret (RFC 6238), sealed like the other
-- stored secrets when a secret key is configured. It counts once a code
-- confirmed it; `last_step` is the last time step a code was accepted for,
-- so a code is accepted once, on whichever instance sees it first.
CREATE TABLE user_totp (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret BYTEA NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- One-time recovery codes, stored as hashes only.
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- How the session's user signed in (RFC 8176 values, space-separated).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- An admin may require a second factor of one user whatever the policy.
ALTER TABLE users ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
