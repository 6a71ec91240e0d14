-- A folded interval keeps, beside its encoded data, the figures live views
-- and reports read of it (JSON: totals, percentiles, per worker, per step),
-- so that no reader decodes or re-folds anything. Empty on intervals folded
-- before this migration; readers then derive it from data.
ALTER TABLE intervals ADD COLUMN summary BLOB NOT NULL DEFAULT x'';

-- One interval's snapshots in fold order, and the count of each interval's
-- snapshots, come straight from this index: with (run_id, interval_index)
-- alone SQLite preferred the primary key for the ORDER BY and read the
-- whole run for every interval.
DROP INDEX snapshots_interval_idx;
CREATE INDEX snapshots_interval_idx ON snapshots (run_id, interval_index, shard, attempt, seq);
