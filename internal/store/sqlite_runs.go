package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqliteStore) CreateScenario(ctx context.Context, sc *Scenario) error {
	if sc.ID == "" {
		return fmt.Errorf("create scenario: empty id")
	}
	created := orNow(sc.CreatedAt)
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO scenarios (id, latest_version, created_at) VALUES (?, 1, ?)",
			sc.ID, created.UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO scenario_versions (scenario_id, version, name, document, created_at)
			VALUES (?, 1, ?, ?, ?)`, sc.ID, sc.Name, blob(sc.Document), created.UnixMicro())
		return err
	})
	if isSQLiteUnique(err) {
		return fmt.Errorf("create scenario %s: id already used: %w", sc.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create scenario %s: %w", sc.ID, err)
	}
	sc.Version, sc.CreatedAt = 1, created
	return nil
}

func (s *sqliteStore) UpdateScenario(ctx context.Context, id, name string, document []byte) (*Scenario, error) {
	sc := &Scenario{ID: id, Name: name, Document: readBlob(document), CreatedAt: orNow(time.Time{})}
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "UPDATE scenarios SET latest_version = latest_version + 1 WHERE id = ? RETURNING latest_version",
			id).Scan(&sc.Version)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO scenario_versions (scenario_id, version, name, document, created_at)
			VALUES (?, ?, ?, ?, ?)`, id, sc.Version, name, blob(document), sc.CreatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update scenario %s: %w", id, err)
	}
	return sc, nil
}

const sqliteScenarioCols = "v.scenario_id, v.version, v.name, v.document, v.created_at"

func scanSQLiteScenario(row scanner) (Scenario, error) {
	var (
		sc      Scenario
		created int64
	)
	err := row.Scan(&sc.ID, &sc.Version, &sc.Name, &sc.Document, &created)
	sc.Document, sc.CreatedAt = readBlob(sc.Document), time.UnixMicro(created).UTC()
	return sc, err
}

func (s *sqliteStore) GetScenario(ctx context.Context, id string, version int) (*Scenario, error) {
	q := "SELECT " + sqliteScenarioCols + " FROM scenario_versions v WHERE v.scenario_id = ? AND v.version = ?"
	args := []any{id, version}
	if version == 0 {
		q = "SELECT " + sqliteScenarioCols + ` FROM scenarios s
			JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.latest_version WHERE s.id = ?`
		args = args[:1]
	}
	sc, err := scanSQLiteScenario(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get scenario %s version %d: %w", id, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get scenario %s version %d: %w", id, version, err)
	}
	return &sc, nil
}

func (s *sqliteStore) ListScenarios(ctx context.Context, limit, offset int) ([]Scenario, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+sqliteScenarioCols+` FROM scenarios s
		JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.latest_version
		ORDER BY v.created_at DESC, v.scenario_id DESC LIMIT ? OFFSET ?`, clampLimit(limit), max(offset, 0))
	ss, err := collect(rows, err, scanSQLiteScenario)
	if err != nil {
		return nil, fmt.Errorf("list scenarios: %w", err)
	}
	return ss, nil
}

func (s *sqliteStore) DeleteScenario(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, "DELETE FROM scenarios WHERE id = ?", id)
	if isSQLiteForeignKey(err) {
		return fmt.Errorf("delete scenario %s: runs use it: %w", id, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete scenario %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete scenario %s: %w", id, ErrNotFound)
	}
	return nil
}

// sqliteRunCols reads a run of runs r; its tags come aggregated as one JSON
// object ({} when it has none).
const sqliteRunCols = `r.id, r.scenario_id, r.scenario_version, r.scenario, r.overrides, r.status,
	r.target_base_url, r.worker_count, r.elastic, r.workflow_id, r.token, r.epoch, r.interval_ms,
	r.reason, r.created_at, r.started_at, r.ended_at, r.baseline_run_id, r.max_workers,
	(SELECT json_group_object(t.key, t.value) FROM run_tags t WHERE t.run_id = r.id)`

func scanSQLiteRun(row scanner) (Run, error) {
	var (
		r                     Run
		epoch, started, ended sql.NullInt64
		created               int64
		tags                  []byte
	)
	err := row.Scan(&r.ID, &r.ScenarioID, &r.ScenarioVersion, &r.Scenario, &r.Overrides, &r.Status,
		&r.TargetBaseURL, &r.WorkerCount, &r.Elastic, &r.WorkflowID, &r.Token, &epoch, &r.IntervalMS,
		&r.Reason, &created, &started, &ended, &r.BaselineRunID, &r.MaxWorkers, &tags)
	if err != nil {
		return r, err
	}
	r.Scenario, r.Overrides = readBlob(r.Scenario), readBlob(r.Overrides)
	r.Epoch, r.StartedAt, r.EndedAt = fromMicros(epoch), fromMicros(started), fromMicros(ended)
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.Tags, err = decodeTags(r.ID, tags)
	return r, err
}

func (s *sqliteStore) CreateRun(ctx context.Context, r *Run) error {
	if err := validateNewRun(r); err != nil {
		return err
	}
	status, created := newRunDefaults(r)
	version := r.ScenarioVersion
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		if version == 0 {
			err := tx.QueryRowContext(ctx, "SELECT latest_version FROM scenarios WHERE id = ?", r.ScenarioID).Scan(&version)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("scenario %s: %w", r.ScenarioID, ErrNotFound)
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO runs (id, scenario_id, scenario_version, scenario, overrides,
			status, target_base_url, worker_count, elastic, workflow_id, token, epoch, interval_ms, reason,
			created_at, started_at, ended_at, baseline_run_id, max_workers)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.ScenarioID, version, blob(r.Scenario), blob(r.Overrides), status, r.TargetBaseURL,
			r.WorkerCount, boolInt(r.Elastic), r.WorkflowID, r.Token, toMicros(r.Epoch), r.IntervalMS, r.Reason,
			created.UnixMicro(), toMicros(r.StartedAt), toMicros(r.EndedAt), r.BaselineRunID, r.MaxWorkers)
		switch {
		case isSQLiteForeignKey(err):
			return fmt.Errorf("scenario %s version %d: %w", r.ScenarioID, version, ErrNotFound)
		case isSQLiteUnique(err):
			return fmt.Errorf("id already used: %w", ErrConflict)
		case err != nil:
			return err
		}
		for k, v := range r.Tags {
			if _, err := tx.ExecContext(ctx, "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)", r.ID, k, v); err != nil {
				return fmt.Errorf("tag %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	storedRun(r, status, version, created)
	return nil
}

func (s *sqliteStore) GetRun(ctx context.Context, id string) (*Run, error) {
	r, err := scanSQLiteRun(s.r.QueryRowContext(ctx, "SELECT "+sqliteRunCols+" FROM runs r WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", id, err)
	}
	return &r, nil
}

func sqlitePlaceholder(int) string { return "?" }

func (s *sqliteStore) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	var cursorAt int64
	if f.Before != "" {
		err := s.r.QueryRowContext(ctx, "SELECT created_at FROM runs WHERE id = ?", f.Before).Scan(&cursorAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("list runs before %s: cursor run: %w", f.Before, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("list runs before %s: %w", f.Before, err)
		}
	}
	q, args := listRunsQuery(sqliteRunCols, f, cursorAt, sqlitePlaceholder)
	rows, err := s.r.QueryContext(ctx, q, args...)
	runs, err := collect(rows, err, scanSQLiteRun)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

func (s *sqliteStore) StartRun(ctx context.Context, id string, epoch time.Time, intervalMS int, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET status = 'running', epoch = ?, interval_ms = ?, started_at = ?
		WHERE id = ? AND status = 'queued'`, toMicros(epoch), intervalMS, orNow(at).UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("start run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return s.transitionRefused(ctx, "start", id)
}

func (s *sqliteStore) FinishRun(ctx context.Context, id, status, reason string, at time.Time) error {
	if !Finished(status) {
		return fmt.Errorf("finish run %s: %q is not a final status", id, status)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET status = ?, reason = ?, ended_at = ?
		WHERE id = ? AND status NOT IN `+finishedStatuses, status, reason, orNow(at).UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return s.transitionRefused(ctx, "finish", id)
}

// transitionRefused explains why a status update matched no row: the run
// is unknown, or its status does not allow the move.
func (s *sqliteStore) transitionRefused(ctx context.Context, verb, id string) error {
	var status string
	err := s.r.QueryRowContext(ctx, "SELECT status FROM runs WHERE id = ?", id).Scan(&status)
	return refusal(verb, id, status, errors.Is(err, sql.ErrNoRows), err)
}

func (s *sqliteStore) LatestRunWithTag(ctx context.Context, key, value string) (*Run, error) {
	r, err := scanSQLiteRun(s.r.QueryRowContext(ctx, "SELECT "+sqliteRunCols+` FROM runs r JOIN run_tags g ON g.run_id = r.id
		WHERE g.key = ? AND g.value = ? AND r.status IN `+finishedStatuses+`
		ORDER BY r.created_at DESC, r.id DESC LIMIT 1`, key, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("latest finished run tagged %s=%s: %w", key, value, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("latest finished run tagged %s=%s: %w", key, value, err)
	}
	return &r, nil
}
