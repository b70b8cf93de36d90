DROP INDEX passkey_ceremonies_started_by;

ALTER TABLE passkey_ceremonies DROP COLUMN started_by;
