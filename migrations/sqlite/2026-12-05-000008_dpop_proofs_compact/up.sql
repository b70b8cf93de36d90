-- Every accepted DPoP proof is one insert under load. Kept in its primary
-- key's b-tree alone (WITHOUT ROWID, no index on expiry), an insert writes
-- one b-tree instead of three: fewer pages per commit and fewer checkpoints.
-- The purge walks the primary key in pages instead of an expiry index.
CREATE TABLE dpop_proofs_compact (
    jkt TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (jkt, jti)
) WITHOUT ROWID;

INSERT INTO dpop_proofs_compact (jkt, jti, expires_at)
    SELECT jkt, jti, expires_at FROM dpop_proofs;

DROP TABLE dpop_proofs;

ALTER TABLE dpop_proofs_compact RENAME TO dpop_proofs;
