-- Which records of a run's sequential feeder each shard may use: it has
-- claimed [.., next) and may claim up to hi. A lost shard's unclaimed rest
-- is released to a row with shard < 0 (-1 - the lost shard), which a new
-- shard takes over, so that no record is used twice in a run.
CREATE TABLE feeder_ranges (
    run_id TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    feeder TEXT    NOT NULL,
    shard  INTEGER NOT NULL,
    next   BIGINT  NOT NULL,
    hi     BIGINT  NOT NULL,
    PRIMARY KEY (run_id, feeder, shard)
);
