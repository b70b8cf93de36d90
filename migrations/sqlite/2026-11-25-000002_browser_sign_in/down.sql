DROP TABLE login_throttle;
DROP TABLE consents;
DROP TABLE revoked_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE auth_codes;
DROP TABLE sessions;
ALTER TABLE clients DROP COLUMN consent_required;
