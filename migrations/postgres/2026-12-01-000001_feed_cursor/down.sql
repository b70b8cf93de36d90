-- Ids handed out from feed_counters did not advance the identity sequence;
-- move it past them so inserts that use the identity again never reuse an id.
SELECT setval('revocation_events_id_seq', v)
FROM (
    SELECT GREATEST(
        COALESCE((SELECT last_id FROM feed_counters WHERE name = 'revocation_events'), 0),
        COALESCE((SELECT last_value FROM revocation_events_id_seq WHERE is_called), 0),
        COALESCE((SELECT MAX(id) FROM revocation_events), 0)
    ) AS v
) AS highest
WHERE v > 0;

DROP TABLE feed_counters;
