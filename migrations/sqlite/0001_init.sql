-- Barrage's initial schema (SQLite). Tables are STRICT so that a BLOB stays
-- a BLOB and an INTEGER an INTEGER. Times are INTEGER microseconds since the
-- Unix epoch, UTC (the precision Postgres keeps, so both stores round-trip
-- the same values); NULL is the zero time.

-- One row per scenario; latest_version doubles as the per-scenario counter
-- that UpdateScenario increments.
CREATE TABLE scenarios (
    id             TEXT    PRIMARY KEY,
    latest_version INTEGER NOT NULL CHECK (latest_version >= 1),
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE scenario_versions (
    scenario_id TEXT    NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    name        TEXT    NOT NULL,
    document    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scenario_id, version)
) STRICT;

-- A run pins the scenario version it ran; the foreign key (no cascade) is
-- what makes deleting a scenario that has runs fail.
CREATE TABLE runs (
    id               TEXT    PRIMARY KEY,
    scenario_id      TEXT    NOT NULL,
    scenario_version INTEGER NOT NULL,
    scenario         BLOB    NOT NULL,
    overrides        BLOB    NOT NULL,
    status           TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'aborted')),
    target_base_url  TEXT    NOT NULL,
    worker_count     INTEGER NOT NULL,
    elastic          INTEGER NOT NULL CHECK (elastic IN (0, 1)),
    workflow_id      TEXT    NOT NULL,
    token            TEXT    NOT NULL,
    epoch            INTEGER,
    interval_ms      INTEGER NOT NULL,
    reason           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    ended_at         INTEGER,
    -- last Seq handed out by AppendEvent.
    event_seq        INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (scenario_id, scenario_version)
        REFERENCES scenario_versions (scenario_id, version)
) STRICT;
CREATE INDEX runs_created_idx ON runs (created_at DESC, id DESC);
-- Also serves the foreign key check when a scenario is deleted.
CREATE INDEX runs_scenario_idx ON runs (scenario_id, created_at DESC, id DESC);
CREATE INDEX runs_status_idx ON runs (status, created_at DESC, id DESC);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) STRICT;
CREATE INDEX run_tags_key_value_idx ON run_tags (key, value, run_id);

CREATE TABLE run_events (
    run_id TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    kind   TEXT    NOT NULL,
    detail TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT;

CREATE TABLE snapshots (
    run_id         TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    shard          INTEGER NOT NULL,
    attempt        INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    interval_index INTEGER NOT NULL,
    worker         TEXT    NOT NULL,
    data           BLOB    NOT NULL,
    received_at    INTEGER NOT NULL,
    PRIMARY KEY (run_id, shard, attempt, seq)
) STRICT;
CREATE INDEX snapshots_interval_idx ON snapshots (run_id, interval_index);

CREATE TABLE intervals (
    run_id    TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    start_at  INTEGER,
    end_at    INTEGER,
    workers   INTEGER NOT NULL,
    snapshots INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    folded_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, idx)
) STRICT;

CREATE TABLE reports (
    run_id     TEXT    PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    body       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- run_id is deliberately not a foreign key: a worker's announcement is
-- recorded even when it names a run this database does not know.
CREATE TABLE workers (
    id        TEXT    PRIMARY KEY,
    max_vus   INTEGER NOT NULL,
    max_rps   INTEGER NOT NULL,
    host      TEXT    NOT NULL,
    last_seen INTEGER NOT NULL,
    run_id    TEXT    NOT NULL,
    shard     INTEGER NOT NULL
) STRICT;
CREATE INDEX workers_last_seen_idx ON workers (last_seen);
