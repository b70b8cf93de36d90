-- Revocation-feed ids are handed out from this row, not by AUTOINCREMENT:
-- the inserting transaction increments `last_id` and uses the new value as
-- the event id. The lock it takes makes every other inserter wait until it
-- commits, so ids become visible in commit order, and a feed poller
-- following an id cursor never skips an entry that commits late. (On SQLite
-- the database-wide write lock already orders writers; the row keeps both
-- backends on the same scheme.)
CREATE TABLE feed_counters (
    name TEXT PRIMARY KEY NOT NULL,
    last_id INTEGER NOT NULL
);

-- Start after the highest id ever handed out. AUTOINCREMENT never reuses an
-- id, even after deletes, and records the highest in sqlite_sequence.
INSERT INTO feed_counters (name, last_id)
VALUES ('revocation_events', COALESCE(
    (SELECT seq FROM sqlite_sequence WHERE name = 'revocation_events'),
    (SELECT MAX(id) FROM revocation_events),
    0
));
