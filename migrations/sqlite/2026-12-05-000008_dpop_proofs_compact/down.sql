CREATE TABLE dpop_proofs_rowid (
    jkt TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (jkt, jti)
);

INSERT INTO dpop_proofs_rowid (jkt, jti, expires_at)
    SELECT jkt, jti, expires_at FROM dpop_proofs;

DROP TABLE dpop_proofs;

ALTER TABLE dpop_proofs_rowid RENAME TO dpop_proofs;

CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);
