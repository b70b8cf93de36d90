-- Clients that authenticate with private_key_jwt (RFC 7523, OpenID Connect
-- Core §9): their public keys, a JWK Set kept here or fetched from jwks_uri.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

-- The jti of every client assertion accepted, kept until it expires, so a
-- replay is refused by whichever instance it reaches.
CREATE TABLE client_assertions (
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
