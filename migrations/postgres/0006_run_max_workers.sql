-- Runs take workers that join by default; max_workers caps how many shards
-- a run keeps running at once (0: no cap).
ALTER TABLE runs ADD COLUMN max_workers INTEGER NOT NULL DEFAULT 0;
