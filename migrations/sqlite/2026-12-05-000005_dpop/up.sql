-- DPoP (RFC 9449): a client whose tokens must all be bound to a key.
ALTER TABLE clients ADD COLUMN dpop_bound BOOLEAN NOT NULL DEFAULT 0;

-- The refresh tokens of a public client that proved a key
-- are bound to it (its RFC 7638 thumbprint), for the whole family.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;

-- Every proof accepted, kept until it is too old to be accepted again, so
-- a replay is refused by whichever instance it reaches (§11.1).
CREATE TABLE dpop_proofs (
    jkt TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (jkt, jti)
);

CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
