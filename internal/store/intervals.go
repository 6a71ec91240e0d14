package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqlStore) PutInterval(ctx context.Context, iv *Interval) error {
	iv.Start, iv.End, iv.FoldedAt = dbTime(iv.Start), dbTime(iv.End), orNow(iv.FoldedAt)
	// The WHERE of DO UPDATE keeps the fuller fold: an update that folded
	// fewer snapshots (a slower server, a stale re-fold) changes nothing.
	_, err := s.w.ExecContext(ctx, `INSERT INTO intervals (run_id, idx, start_at, end_at, workers, snapshots, data, summary, folded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (run_id, idx) DO UPDATE SET start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
			workers = EXCLUDED.workers, snapshots = EXCLUDED.snapshots, data = EXCLUDED.data, summary = EXCLUDED.summary,
			folded_at = EXCLUDED.folded_at,
			revision = intervals.revision + CASE WHEN EXCLUDED.snapshots > intervals.snapshots THEN 1 ELSE 0 END
		WHERE intervals.snapshots <= EXCLUDED.snapshots`,
		iv.RunID, iv.Index, nullTime(iv.Start), nullTime(iv.End), iv.Workers, iv.Snapshots, blob(iv.Data), blob(iv.Summary), iv.FoldedAt)
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("put interval %d of run %s: %w", iv.Index, iv.RunID, err)
	}
	return nil
}

const intervalColumns = `run_id, idx, start_at, end_at, workers, snapshots, data, summary, folded_at, revision`

func (s *sqlStore) ListIntervals(ctx context.Context, runID string, after int64, limit int) ([]Interval, error) {
	return s.listIntervals(ctx, runID, `SELECT `+intervalColumns+` FROM intervals
		WHERE run_id = $1 AND idx > $2 ORDER BY idx LIMIT $3`, runID, after, sqlLimit(limit))
}

func (s *sqlStore) ListIntervalsChanged(ctx context.Context, runID string, after int64, since time.Time, revisedOnly bool, limit int) ([]Interval, error) {
	minRevision := 0
	if revisedOnly {
		minRevision = 1
	}
	// Two selects, each served by its own index: the primary key for the
	// new intervals, intervals_folded_idx for the ones folded since.
	return s.listIntervals(ctx, runID, `SELECT * FROM (
		SELECT `+intervalColumns+` FROM intervals WHERE run_id = $1 AND idx > $2
		UNION ALL
		SELECT `+intervalColumns+` FROM intervals WHERE run_id = $1 AND folded_at > $3 AND idx <= $2 AND revision > $5) AS changed
		ORDER BY idx LIMIT $4`, runID, after, dbTime(since), sqlLimit(limit), minRevision)
}

func (s *sqlStore) listIntervals(ctx context.Context, runID, query string, args ...any) ([]Interval, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	ivs, err := collect(rows, err, func(row scanner) (Interval, error) {
		var iv Interval
		err := row.Scan(&iv.RunID, &iv.Index, timeCol{&iv.Start}, timeCol{&iv.End}, &iv.Workers, &iv.Snapshots,
			&iv.Data, &iv.Summary, timeCol{&iv.FoldedAt}, &iv.Revision)
		iv.Data, iv.Summary = readBlob(iv.Data), readBlob(iv.Summary)
		return iv, err
	})
	if err != nil {
		return nil, fmt.Errorf("list intervals of run %s: %w", runID, err)
	}
	if len(ivs) == 0 {
		if err := s.mustExist(ctx, "list intervals of", runID); err != nil {
			return nil, err
		}
	}
	return ivs, nil
}

func (s *sqlStore) PutControl(ctx context.Context, runID string, version int, doc []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO run_controls (run_id, version, body, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (run_id) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body,
			updated_at = EXCLUDED.updated_at
		WHERE run_controls.version <= EXCLUDED.version`,
		runID, version, blob(doc), orNow(time.Time{}))
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("put control %d of run %s: %w", version, runID, err)
	}
	return nil
}

func (s *sqlStore) GetControl(ctx context.Context, runID string) ([]byte, error) {
	body, err := s.body(ctx, "SELECT body FROM run_controls WHERE run_id = $1", runID)
	if err != nil {
		return nil, fmt.Errorf("get control of run %s: %w", runID, err)
	}
	return body, nil
}

func (s *sqlStore) PutReport(ctx context.Context, runID string, report []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO reports (run_id, body, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (run_id) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at`,
		runID, blob(report), orNow(time.Time{}))
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("put report of run %s: %w", runID, err)
	}
	return nil
}

func (s *sqlStore) GetReport(ctx context.Context, runID string) ([]byte, error) {
	body, err := s.body(ctx, "SELECT body FROM reports WHERE run_id = $1", runID)
	if err != nil {
		return nil, fmt.Errorf("get report of run %s: %w", runID, err)
	}
	return body, nil
}

// body reads the one document a query selects; ErrNotFound if none.
func (s *sqlStore) body(ctx context.Context, query, runID string) ([]byte, error) {
	var body []byte
	err := s.r.QueryRowContext(ctx, query, runID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return readBlob(body), err
}

func (s *sqlStore) UpsertWorker(ctx context.Context, w *Worker) error {
	if w.ID == "" {
		return fmt.Errorf("upsert worker: empty id")
	}
	w.LastSeen = orNow(w.LastSeen)
	_, err := s.w.ExecContext(ctx, `INSERT INTO workers (id, max_vus, max_rps, host, last_seen, run_id, shard)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET max_vus = EXCLUDED.max_vus, max_rps = EXCLUDED.max_rps,
			host = EXCLUDED.host, last_seen = EXCLUDED.last_seen, run_id = EXCLUDED.run_id, shard = EXCLUDED.shard`,
		w.ID, w.MaxVUs, w.MaxRPS, w.Host, w.LastSeen, w.RunID, w.Shard)
	if err != nil {
		return fmt.Errorf("upsert worker %s: %w", w.ID, err)
	}
	return nil
}

func (s *sqlStore) ListWorkers(ctx context.Context, since time.Time) ([]Worker, error) {
	const cols = "SELECT id, max_vus, max_rps, host, last_seen, run_id, shard FROM workers"
	q, args := cols+" ORDER BY id", []any(nil)
	if !since.IsZero() {
		q, args = cols+" WHERE last_seen >= $1 ORDER BY id", []any{dbTime(since)}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	ws, err := collect(rows, err, func(row scanner) (Worker, error) {
		var w Worker
		err := row.Scan(&w.ID, &w.MaxVUs, &w.MaxRPS, &w.Host, timeCol{&w.LastSeen}, &w.RunID, &w.Shard)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return ws, nil
}

func (s *sqlStore) ListIntervalHeads(ctx context.Context, runID string, since time.Time) ([]IntervalHead, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, snapshots, folded_at FROM intervals
		WHERE run_id = $1 AND folded_at > $2 ORDER BY idx`, runID, dbTime(since))
	heads, err := collect(rows, err, func(row scanner) (IntervalHead, error) {
		var h IntervalHead
		err := row.Scan(&h.Index, &h.Snapshots, timeCol{&h.FoldedAt})
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("list interval heads of run %s: %w", runID, err)
	}
	if len(heads) == 0 {
		if err := s.mustExist(ctx, "list interval heads of", runID); err != nil {
			return nil, err
		}
	}
	return heads, nil
}
