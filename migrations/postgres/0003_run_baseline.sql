-- The run a CI run compares with (barrage run --baseline TAG): its report's
-- metrics are what "p95 < baseline * 1.1" thresholds are measured against.
ALTER TABLE runs ADD COLUMN baseline_run_id TEXT NOT NULL DEFAULT '';
