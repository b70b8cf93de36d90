-- Pushed authorization requests (RFC 9126): the parameters a client sent to
-- /par, found again by the hash of the request_uri it was given. A request
-- is used for one authorization code (used_at), and must reach /authorize
-- before expires_at; the first arrival (arrived_at) extends expires_at to
-- give the user time to sign in. A sign-in made for the request
-- (signed_in_session_id) is what satisfies a pushed prompt=login.
CREATE TABLE pushed_requests (
    request_hash BLOB PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    arrived_at BIGINT,
    used_at BIGINT,
    signed_in_session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL
);

CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- A client that must push its authorization requests (RFC 9126 §5).
ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT 0;
