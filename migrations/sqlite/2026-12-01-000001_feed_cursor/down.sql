-- Explicit ids inserted into revocation_events already advanced
-- sqlite_sequence, so AUTOINCREMENT carries on from them.
DROP TABLE feed_counters;
