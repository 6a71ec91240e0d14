-- An interval folded again (a late snapshot) counts its folds, and live
-- streams find the intervals folded again since they last looked through
-- the index on folded_at, without reading every interval of the run.
ALTER TABLE intervals ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
CREATE INDEX intervals_folded_idx ON intervals (run_id, folded_at);
