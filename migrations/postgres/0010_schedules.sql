-- Scheduled runs (POST /schedules): what each firing of a Temporal
-- Schedule starts. The schedule itself (its spec, next firing, paused
-- state) lives in Temporal as barrage-schedule-<id>; this row is what the
-- firing turns into a run request, and what the API lists. Exactly one of
-- cron and every_ms is set. A scenario a schedule runs cannot be deleted.
CREATE TABLE schedules (
    id              TEXT        PRIMARY KEY,
    scenario_id     TEXT        NOT NULL REFERENCES scenarios (id),
    cron            TEXT        NOT NULL DEFAULT '',
    every_ms        BIGINT      NOT NULL DEFAULT 0 CHECK (every_ms >= 0),
    target_base_url TEXT        NOT NULL DEFAULT '',
    worker_count    INTEGER     NOT NULL CHECK (worker_count >= 1),
    tags            JSONB       NOT NULL DEFAULT '{}',
    baseline        TEXT        NOT NULL DEFAULT '',
    paused          BOOLEAN     NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT        NOT NULL DEFAULT '',
    CHECK ((cron = '') <> (every_ms = 0))
);

CREATE INDEX schedules_scenario ON schedules (scenario_id);
