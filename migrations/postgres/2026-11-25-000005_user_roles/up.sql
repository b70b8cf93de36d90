-- Free-form role names (e.g. "editor moderator"), space-separated; carried
-- in access tokens as the `roles` claim.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';
