-- Revocation-feed ids are handed out from this row, not from the identity
-- sequence: the inserting transaction increments `last_id` and uses the new
-- value as the event id. The row lock it takes makes every other inserter
-- wait until it commits, so ids become visible in commit order, and a feed
-- poller following an id cursor never skips an entry that commits late (a
-- sequence hands ids out at insert time, so a lower id can commit after a
-- higher one has already been read past).
CREATE TABLE feed_counters (
    name TEXT PRIMARY KEY NOT NULL,
    last_id INTEGER NOT NULL
);

-- Start after the highest id ever handed out: the identity sequence's last
-- value (ids are never reused, even after deletes), or MAX(id) if higher
-- (explicit ids), or 0. revocation_events_id_seq is the name PostgreSQL gave
-- the identity sequence of revocation_events.id.
INSERT INTO feed_counters (name, last_id)
SELECT 'revocation_events', GREATEST(
    COALESCE((SELECT last_value FROM revocation_events_id_seq WHERE is_called), 0),
    COALESCE((SELECT MAX(id) FROM revocation_events), 0)
);
