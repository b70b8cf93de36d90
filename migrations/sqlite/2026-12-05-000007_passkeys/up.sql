-- Passkeys (WebAuthn): a user's registered credentials. `credential` is
-- the relying-party record as JSON (public key, signature counter, backup
-- flags); the counter is updated after each use so a cloned authenticator
-- shows.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A WebAuthn ceremony between its challenge and the browser's answer,
-- named by the hash of a random id the browser holds. Each is spent once,
-- by whichever instance gets the answer.
CREATE TABLE passkey_ceremonies (
    id_hash BLOB PRIMARY KEY,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);
