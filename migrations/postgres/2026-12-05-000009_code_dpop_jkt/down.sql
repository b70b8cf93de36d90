ALTER TABLE auth_codes DROP COLUMN dpop_jkt;
