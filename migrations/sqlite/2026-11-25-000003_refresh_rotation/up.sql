-- Refresh tokens rotate: each use spends the token and adds its successor to
-- the same family. A spent token presented again is a reuse.
ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN spent_at BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN idle_expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE refresh_tokens SET family_id = hex(token_hash), idle_expires_at = expires_at;
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);

-- Server-side secrets that are not signing keys (the refresh-token MAC key).
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- The revocation feed for offline verifiers: revoked session ids and access
-- token ids, each kept until no token it affects can still be valid.
-- AUTOINCREMENT: ids are never reused, so cursors stay stable.
CREATE TABLE revocation_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    relevant_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX revocation_events_relevant_until ON revocation_events (relevant_until);
