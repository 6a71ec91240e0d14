-- Barrage's initial schema (Postgres). Documents, snapshots and reports are
-- BYTEA rather than JSONB: the store hands back exactly the bytes it was
-- given, and JSONB would reorder keys and drop whitespace.

-- One row per scenario; latest_version doubles as the per-scenario counter
-- that UpdateScenario increments under the row lock.
CREATE TABLE scenarios (
    id             TEXT        PRIMARY KEY,
    latest_version INTEGER     NOT NULL CHECK (latest_version >= 1),
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE scenario_versions (
    scenario_id TEXT        NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    version     INTEGER     NOT NULL CHECK (version >= 1),
    name        TEXT        NOT NULL,
    document    BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scenario_id, version)
);

-- A run pins the scenario version it ran; the foreign key (no cascade) is
-- what makes deleting a scenario that has runs fail.
CREATE TABLE runs (
    id               TEXT        PRIMARY KEY,
    scenario_id      TEXT        NOT NULL,
    scenario_version INTEGER     NOT NULL,
    scenario         BYTEA       NOT NULL,
    overrides        BYTEA       NOT NULL,
    status           TEXT        NOT NULL
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'aborted')),
    target_base_url  TEXT        NOT NULL,
    worker_count     INTEGER     NOT NULL,
    elastic          BOOLEAN     NOT NULL,
    workflow_id      TEXT        NOT NULL,
    token            TEXT        NOT NULL,
    epoch            TIMESTAMPTZ,
    interval_ms      INTEGER     NOT NULL,
    reason           TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    ended_at         TIMESTAMPTZ,
    -- last Seq handed out by AppendEvent; incrementing it locks the row,
    -- which serializes concurrent appends to one run.
    event_seq        BIGINT      NOT NULL DEFAULT 0,
    FOREIGN KEY (scenario_id, scenario_version)
        REFERENCES scenario_versions (scenario_id, version)
);
CREATE INDEX runs_created_idx ON runs (created_at DESC, id DESC);
-- Also serves the foreign key check when a scenario is deleted.
CREATE INDEX runs_scenario_idx ON runs (scenario_id, created_at DESC, id DESC);
CREATE INDEX runs_status_idx ON runs (status, created_at DESC, id DESC);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tags_key_value_idx ON run_tags (key, value, run_id);

CREATE TABLE run_events (
    run_id TEXT        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    BIGINT      NOT NULL,
    at     TIMESTAMPTZ NOT NULL,
    kind   TEXT        NOT NULL,
    detail TEXT        NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE snapshots (
    run_id         TEXT        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    shard          INTEGER     NOT NULL,
    attempt        INTEGER     NOT NULL,
    seq            BIGINT      NOT NULL,
    interval_index BIGINT      NOT NULL,
    worker         TEXT        NOT NULL,
    data           BYTEA       NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, shard, attempt, seq)
);
CREATE INDEX snapshots_interval_idx ON snapshots (run_id, interval_index);

CREATE TABLE intervals (
    run_id    TEXT        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx       BIGINT      NOT NULL,
    start_at  TIMESTAMPTZ,
    end_at    TIMESTAMPTZ,
    workers   INTEGER     NOT NULL,
    snapshots INTEGER     NOT NULL,
    data      BYTEA       NOT NULL,
    folded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE reports (
    run_id     TEXT        PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    body       BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- run_id is deliberately not a foreign key: a worker's announcement is
-- recorded even when it names a run this database does not know.
CREATE TABLE workers (
    id        TEXT        PRIMARY KEY,
    max_vus   INTEGER     NOT NULL,
    max_rps   INTEGER     NOT NULL,
    host      TEXT        NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    run_id    TEXT        NOT NULL,
    shard     INTEGER     NOT NULL
);
CREATE INDEX workers_last_seen_idx ON workers (last_seen);
