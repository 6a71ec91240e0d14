-- The control a run's shards follow (profile, fractions, abort), as the run's
-- workflow last published it. version only grows: PutControl keeps the
-- stored document when a late retry brings an older one.
CREATE TABLE run_controls (
    run_id     TEXT        PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    version    INTEGER     NOT NULL,
    body       BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
