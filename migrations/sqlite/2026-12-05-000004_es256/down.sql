-- The ES256 keys go with the column: nothing could sign or verify with them.
DELETE FROM signing_keys WHERE alg <> 'RS256';
ALTER TABLE clients DROP COLUMN signing_alg;
ALTER TABLE signing_keys DROP COLUMN alg;
