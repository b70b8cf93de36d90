-- Back-channel logout (OpenID Connect Back-Channel Logout 1.0): where a
-- client wants to hear that a session it has tokens for has ended.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

-- Which clients received tokens for a session: the ones told when it ends.
CREATE TABLE session_clients (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, client_id)
);

-- The outbox: a logout token to deliver, per ended session and client.
-- Written in the transaction that ends the session, so none is lost;
-- delivered by a background task on any instance (claimed by moving
-- next_attempt_at), retried with backoff until give_up_at.
CREATE TABLE logout_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    sid TEXT NOT NULL,
    sub TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    give_up_at BIGINT NOT NULL,
    finished_at BIGINT,
    outcome TEXT
);

CREATE INDEX logout_deliveries_due ON logout_deliveries (finished_at, next_attempt_at);
