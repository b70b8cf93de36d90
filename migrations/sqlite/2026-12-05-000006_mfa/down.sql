ALTER TABLE users DROP COLUMN require_mfa;
ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE recovery_codes;
DROP TABLE user_totp;
