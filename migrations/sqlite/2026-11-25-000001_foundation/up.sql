-- Users who sign in through the browser flow. `subject` is the stable,
-- never reassigned `sub` claim; `id` stays internal.
CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email TEXT,
    name TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Registered clients. `secret_hash` is the SHA-256 of the client secret and
-- is NULL exactly for public clients. List columns hold JSON arrays.
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash BLOB,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- RS256 signing keys. A key is published from `created_at`, signs from
-- `activates_at` until a newer key activates, and is deleted once every token
-- it signed has expired.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    private_key_der BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_activates_at ON signing_keys (activates_at);
