-- How many records (or shared iterations) each shard was granted over the
-- run, whichever ranges they came from: a lost shard's granted iterations
-- that its delivered snapshots do not count as done are handed out again.
ALTER TABLE feeder_ranges ADD COLUMN granted BIGINT NOT NULL DEFAULT 0;
