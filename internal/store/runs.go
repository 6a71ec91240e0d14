package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func scanRun(row scanner) (Run, error) {
	var (
		r    Run
		tags []byte
	)
	err := row.Scan(&r.ID, &r.ScenarioID, &r.ScenarioVersion, &r.Scenario, &r.Overrides, &r.Status,
		&r.TargetBaseURL, &r.WorkerCount, &r.Elastic, &r.WorkflowID, &r.Token, timeCol{&r.Epoch}, &r.IntervalMS,
		&r.Reason, timeCol{&r.CreatedAt}, timeCol{&r.StartedAt}, timeCol{&r.EndedAt}, &r.BaselineRunID, &r.MaxWorkers, &tags)
	if err != nil {
		return r, err
	}
	r.Scenario, r.Overrides = readBlob(r.Scenario), readBlob(r.Overrides)
	r.Tags, err = decodeTags(r.ID, tags)
	return r, err
}

func (s *sqlStore) CreateRun(ctx context.Context, r *Run) error {
	if err := validateNewRun(r); err != nil {
		return err
	}
	status, created := newRunDefaults(r)
	version := r.ScenarioVersion
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		if version == 0 {
			err := tx.QueryRowContext(ctx, "SELECT latest_version FROM scenarios WHERE id = $1", r.ScenarioID).Scan(&version)
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
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			r.ID, r.ScenarioID, version, blob(r.Scenario), blob(r.Overrides), status, r.TargetBaseURL,
			r.WorkerCount, r.Elastic, r.WorkflowID, r.Token, nullTime(r.Epoch), r.IntervalMS, r.Reason,
			created, nullTime(r.StartedAt), nullTime(r.EndedAt), r.BaselineRunID, r.MaxWorkers)
		switch violated(err) {
		case foreignKeyViolation:
			return fmt.Errorf("scenario %s version %d: %w", r.ScenarioID, version, ErrNotFound)
		case uniqueViolation:
			return fmt.Errorf("id already used: %w", ErrConflict)
		}
		if err != nil {
			return err
		}
		for k, v := range r.Tags {
			if _, err := tx.ExecContext(ctx, "INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3)", r.ID, k, v); err != nil {
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

func (s *sqlStore) GetRun(ctx context.Context, id string) (*Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, "SELECT "+s.runCols+" FROM runs r WHERE r.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", id, err)
	}
	return &r, nil
}

func (s *sqlStore) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	// The cursor's created_at goes back as the driver gave it: the
	// dialect's representation, compared with its own.
	var cursorAt any
	if f.Before != "" {
		err := s.r.QueryRowContext(ctx, "SELECT created_at FROM runs WHERE id = $1", f.Before).Scan(&cursorAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("list runs before %s: cursor run: %w", f.Before, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("list runs before %s: %w", f.Before, err)
		}
	}
	q, args := listRunsQuery(s.runCols, f, cursorAt)
	rows, err := s.r.QueryContext(ctx, q, args...)
	runs, err := collect(rows, err, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

func (s *sqlStore) StartRun(ctx context.Context, id string, epoch time.Time, intervalMS int, at time.Time) error {
	n, err := affected(s.w.ExecContext(ctx, `UPDATE runs SET status = 'running', epoch = $2, interval_ms = $3, started_at = $4
		WHERE id = $1 AND status = 'queued'`, id, nullTime(epoch), intervalMS, orNow(at)))
	if err != nil {
		return fmt.Errorf("start run %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	return s.transitionRefused(ctx, "start", id)
}

func (s *sqlStore) FinishRun(ctx context.Context, id string, status Status, reason string, at time.Time) error {
	if !Finished(status) {
		return fmt.Errorf("finish run %s: %q is not a final status", id, status)
	}
	n, err := affected(s.w.ExecContext(ctx, `UPDATE runs SET status = $2, reason = $3, ended_at = $4
		WHERE id = $1 AND status NOT IN `+finishedStatuses, id, status, reason, orNow(at)))
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	return s.transitionRefused(ctx, "finish", id)
}

// transitionRefused explains why a status update matched no row: the run
// is unknown, or its status does not allow the move.
func (s *sqlStore) transitionRefused(ctx context.Context, verb, id string) error {
	var status Status
	err := s.r.QueryRowContext(ctx, "SELECT status FROM runs WHERE id = $1", id).Scan(&status)
	return refusal(verb, id, status, errors.Is(err, sql.ErrNoRows), err)
}

func (s *sqlStore) LatestRunWithTag(ctx context.Context, key, value string) (*Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, "SELECT "+s.runCols+` FROM runs r JOIN run_tags g ON g.run_id = r.id
		WHERE g.key = $1 AND g.value = $2 AND r.status IN `+finishedStatuses+`
		ORDER BY r.created_at DESC, r.id DESC LIMIT 1`, key, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("latest finished run tagged %s=%s: %w", key, value, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("latest finished run tagged %s=%s: %w", key, value, err)
	}
	return &r, nil
}
