-- ES256 beside RS256: every signing key has an algorithm and each
-- algorithm rotates on its own schedule; a client chooses the algorithm of
-- its ID and access tokens.
ALTER TABLE signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (alg IN ('RS256', 'ES256'));
ALTER TABLE clients ADD COLUMN signing_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (signing_alg IN ('RS256', 'ES256'));
