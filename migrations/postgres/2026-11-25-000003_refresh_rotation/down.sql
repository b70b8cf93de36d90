DROP TABLE revocation_events;
DROP TABLE server_secrets;
DROP INDEX refresh_tokens_user_id;
DROP INDEX refresh_tokens_family_id;
ALTER TABLE refresh_tokens DROP COLUMN idle_expires_at;
ALTER TABLE refresh_tokens DROP COLUMN spent_at;
ALTER TABLE refresh_tokens DROP COLUMN family_id;
