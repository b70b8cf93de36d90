-- The DPoP key an authorization code is bound to (RFC 9449 §10): the
-- request's dpop_jkt, or the key of a proof sent with a pushed request.
ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT;
