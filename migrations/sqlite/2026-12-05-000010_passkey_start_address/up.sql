-- The address that started an unauthenticated passkey sign-in, so that one
-- address cannot keep more than a few such ceremonies open at once.
ALTER TABLE passkey_ceremonies ADD COLUMN started_by TEXT;

CREATE INDEX passkey_ceremonies_started_by ON passkey_ceremonies (started_by);
