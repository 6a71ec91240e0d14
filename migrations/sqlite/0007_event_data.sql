-- An event may carry structured data (JSON) beside its line of text: a
-- measurement gap's worker, shard, span and estimate, say.
ALTER TABLE run_events ADD COLUMN data BLOB NOT NULL DEFAULT x'';
