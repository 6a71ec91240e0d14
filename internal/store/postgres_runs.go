package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgRunCols reads a run of runs r; its tags come aggregated as one JSON
// object (NULL when it has none).
const pgRunCols = `r.id, r.scenario_id, r.scenario_version, r.scenario, r.overrides, r.status,
	r.target_base_url, r.worker_count, r.elastic, r.workflow_id, r.token, r.epoch, r.interval_ms,
	r.reason, r.created_at, r.started_at, r.ended_at, r.baseline_run_id, r.max_workers,
	(SELECT jsonb_object_agg(t.key, t.value) FROM run_tags t WHERE t.run_id = r.id)`

func scanPGRun(row pgx.CollectableRow) (Run, error) {
	var (
		r                     Run
		epoch, started, ended pgtype.Timestamptz
		created               time.Time
		tags                  []byte
	)
	err := row.Scan(&r.ID, &r.ScenarioID, &r.ScenarioVersion, &r.Scenario, &r.Overrides, &r.Status,
		&r.TargetBaseURL, &r.WorkerCount, &r.Elastic, &r.WorkflowID, &r.Token, &epoch, &r.IntervalMS,
		&r.Reason, &created, &started, &ended, &r.BaselineRunID, &r.MaxWorkers, &tags)
	if err != nil {
		return r, err
	}
	r.Scenario, r.Overrides = readBlob(r.Scenario), readBlob(r.Overrides)
	r.Epoch, r.StartedAt, r.EndedAt, r.CreatedAt = fromPG(epoch), fromPG(started), fromPG(ended), created.UTC()
	r.Tags, err = decodeTags(r.ID, tags)
	return r, err
}

func (p *postgresStore) CreateRun(ctx context.Context, r *Run) error {
	if err := validateNewRun(r); err != nil {
		return err
	}
	status, created := newRunDefaults(r)
	version := r.ScenarioVersion
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if version == 0 {
			err := tx.QueryRow(ctx, "SELECT latest_version FROM scenarios WHERE id = $1", r.ScenarioID).Scan(&version)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("scenario %s: %w", r.ScenarioID, ErrNotFound)
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO runs (id, scenario_id, scenario_version, scenario, overrides,
			status, target_base_url, worker_count, elastic, workflow_id, token, epoch, interval_ms, reason,
			created_at, started_at, ended_at, baseline_run_id, max_workers)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			r.ID, r.ScenarioID, version, blob(r.Scenario), blob(r.Overrides), status, r.TargetBaseURL,
			r.WorkerCount, r.Elastic, r.WorkflowID, r.Token, pgTime(r.Epoch), r.IntervalMS, r.Reason,
			created, pgTime(r.StartedAt), pgTime(r.EndedAt), r.BaselineRunID, r.MaxWorkers)
		switch pgCode(err) {
		case pgForeignKeyViolation:
			return fmt.Errorf("scenario %s version %d: %w", r.ScenarioID, version, ErrNotFound)
		case pgUniqueViolation:
			return fmt.Errorf("id already used: %w", ErrConflict)
		}
		if err != nil {
			return err
		}
		for k, v := range r.Tags {
			if _, err := tx.Exec(ctx, "INSERT INTO run_tags (run_id, key, value) VALUES ($1, $2, $3)", r.ID, k, v); err != nil {
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

func (p *postgresStore) GetRun(ctx context.Context, id string) (*Run, error) {
	rows, _ := p.pool.Query(ctx, "SELECT "+pgRunCols+" FROM runs r WHERE r.id = $1", id)
	r, err := pgx.CollectExactlyOneRow(rows, scanPGRun)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", id, err)
	}
	return &r, nil
}

func pgPlaceholder(n int) string { return "$" + strconv.Itoa(n) }

func (p *postgresStore) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	var cursorAt time.Time
	if f.Before != "" {
		err := p.pool.QueryRow(ctx, "SELECT created_at FROM runs WHERE id = $1", f.Before).Scan(&cursorAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("list runs before %s: cursor run: %w", f.Before, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("list runs before %s: %w", f.Before, err)
		}
	}
	q, args := listRunsQuery(pgRunCols, f, cursorAt, pgPlaceholder)
	rows, _ := p.pool.Query(ctx, q, args...)
	runs, err := pgx.CollectRows(rows, scanPGRun)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

func (p *postgresStore) StartRun(ctx context.Context, id string, epoch time.Time, intervalMS int, at time.Time) error {
	tag, err := p.pool.Exec(ctx, `UPDATE runs SET status = 'running', epoch = $2, interval_ms = $3, started_at = $4
		WHERE id = $1 AND status = 'queued'`, id, pgTime(epoch), intervalMS, orNow(at))
	if err != nil {
		return fmt.Errorf("start run %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return p.transitionRefused(ctx, "start", id)
}

func (p *postgresStore) FinishRun(ctx context.Context, id, status, reason string, at time.Time) error {
	if !Finished(status) {
		return fmt.Errorf("finish run %s: %q is not a final status", id, status)
	}
	tag, err := p.pool.Exec(ctx, `UPDATE runs SET status = $2, reason = $3, ended_at = $4
		WHERE id = $1 AND status NOT IN `+finishedStatuses, id, status, reason, orNow(at))
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return p.transitionRefused(ctx, "finish", id)
}

// transitionRefused explains why a status update matched no row: the run
// is unknown, or its status does not allow the move.
func (p *postgresStore) transitionRefused(ctx context.Context, verb, id string) error {
	var status string
	err := p.pool.QueryRow(ctx, "SELECT status FROM runs WHERE id = $1", id).Scan(&status)
	return refusal(verb, id, status, errors.Is(err, pgx.ErrNoRows), err)
}

func (p *postgresStore) LatestRunWithTag(ctx context.Context, key, value string) (*Run, error) {
	rows, _ := p.pool.Query(ctx, "SELECT "+pgRunCols+` FROM runs r JOIN run_tags g ON g.run_id = r.id
		WHERE g.key = $1 AND g.value = $2 AND r.status IN `+finishedStatuses+`
		ORDER BY r.created_at DESC, r.id DESC LIMIT 1`, key, value)
	r, err := pgx.CollectExactlyOneRow(rows, scanPGRun)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("latest finished run tagged %s=%s: %w", key, value, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("latest finished run tagged %s=%s: %w", key, value, err)
	}
	return &r, nil
}

func (p *postgresStore) AppendEvent(ctx context.Context, e Event) (int64, error) {
	var seq int64
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		// The counter lives on the run's row; its row lock queues
		// concurrent appends, so seqs have no gaps and no duplicates.
		err := tx.QueryRow(ctx, "UPDATE runs SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
			e.RunID).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO run_events (run_id, seq, at, kind, detail, data) VALUES ($1, $2, $3, $4, $5, $6)",
			e.RunID, seq, orNow(e.At), e.Kind, e.Detail, blob(e.Data))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append event to run %s: %w", e.RunID, err)
	}
	return seq, nil
}

func (p *postgresStore) AppendEvents(ctx context.Context, events []Event) ([]int64, error) {
	seqs := make([]int64, len(events))
	if len(events) == 0 {
		return seqs, nil
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		// One counter update per run, for all its events at once.
		for _, run := range eventRuns(events) {
			var last int64
			err := tx.QueryRow(ctx, "UPDATE runs SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
				run.id, run.n).Scan(&last)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("run %s: %w", run.id, ErrNotFound)
			}
			if err != nil {
				return err
			}
			run.number(events, seqs, last)
		}
		runIDs, kinds, details := make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
		ats, data := make([]time.Time, len(events)), make([][]byte, len(events))
		for i, e := range events {
			runIDs[i], kinds[i], details[i], ats[i], data[i] = e.RunID, e.Kind, e.Detail, orNow(e.At), blob(e.Data)
		}
		_, err := tx.Exec(ctx, `INSERT INTO run_events (run_id, seq, at, kind, detail, data)
			SELECT * FROM unnest($1::text[], $2::int8[], $3::timestamptz[], $4::text[], $5::text[], $6::bytea[])`,
			runIDs, seqs, ats, kinds, details, data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append %d events: %w", len(events), err)
	}
	return seqs, nil
}

func (p *postgresStore) ListEvents(ctx context.Context, runID string) ([]Event, error) {
	rows, _ := p.pool.Query(ctx, "SELECT run_id, seq, at, kind, detail, data FROM run_events WHERE run_id = $1 ORDER BY seq", runID)
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Event, error) {
		var e Event
		err := row.Scan(&e.RunID, &e.Seq, &e.At, &e.Kind, &e.Detail, &e.Data)
		e.At, e.Data = e.At.UTC(), readBlob(e.Data)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list events of run %s: %w", runID, err)
	}
	if len(events) == 0 {
		if err := p.mustExist(ctx, "list events of", runID); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// mustExist tells an unknown run (ErrNotFound) from one with nothing to
// list yet.
func (p *postgresStore) mustExist(ctx context.Context, what, runID string) error {
	var one int
	err := p.pool.QueryRow(ctx, "SELECT 1 FROM runs WHERE id = $1", runID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s run %s: %w", what, runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s run %s: %w", what, runID, err)
	}
	return nil
}
