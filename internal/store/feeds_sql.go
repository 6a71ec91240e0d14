package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/barrage/barrage/internal/scenario"
)

// Claims and releases read a feeder's rows and write the ones planClaim or
// planRelease planned, in one transaction. A claim its shard's own range
// can grant whole is one UPDATE of that row alone.

func (s *sqlStore) ClaimRecords(ctx context.Context, c RecordClaim) (lo, hi int, err error) {
	if err := c.validate(); err != nil {
		return 0, 0, err
	}
	// The row lock the UPDATE takes is all it needs.
	err = s.w.QueryRowContext(ctx, `UPDATE feeder_ranges SET next = next + $4, granted = granted + $4
		WHERE run_id = $1 AND feeder = $2 AND shard = $3 AND next + $4 <= hi
		RETURNING next`, c.RunID, c.Feeder, c.Shard, c.N).Scan(&hi)
	if err == nil {
		return hi - c.N, hi, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		// The rest of its range, another's, or none: in a transaction of
		// its own, which takes the feeder's lock before any row's (never
		// the other way round: no deadlock).
		err = inTx(ctx, s.w, func(tx *sql.Tx) error {
			rows, err := s.lockFeedRows(ctx, tx, c.RunID, c.Feeder)
			if err != nil {
				return err
			}
			var write []FeedRow
			lo, hi, write = planClaim(rows, c)
			return writeFeedRows(ctx, tx, c.RunID, c.Feeder, write)
		})
	}
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("claim records of feeder %s of run %s: %w", c.Feeder, c.RunID, err)
	}
	return lo, hi, nil
}

func (s *sqlStore) ReleaseRecords(ctx context.Context, runID, feeder string, shard, shards, total int) error {
	return s.release(ctx, runID, feeder, shard, shards, total, -1)
}

func (s *sqlStore) ReleaseIterations(ctx context.Context, runID string, shard, shards, total, done int) error {
	if done < 0 {
		return fmt.Errorf("release iterations of run %s: %d done", runID, done)
	}
	return s.release(ctx, runID, scenario.IterationsFeeder, shard, shards, total, done)
}

func (s *sqlStore) release(ctx context.Context, runID, feeder string, shard, shards, total, done int) error {
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		rows, err := s.lockFeedRows(ctx, tx, runID, feeder)
		if err != nil {
			return err
		}
		return writeFeedRows(ctx, tx, runID, feeder, planRelease(rows, shard, max(shards, 1), total, done))
	})
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("release records of feeder %s of run %s: %w", feeder, runID, err)
	}
	return nil
}

func (s *sqlStore) FeedRows(ctx context.Context, runID, feeder string) ([]FeedRow, error) {
	rows, err := feedRows(ctx, s.r, runID, feeder, "")
	if err != nil {
		return nil, fmt.Errorf("feeder %s of run %s: %w", feeder, runID, err)
	}
	return rows, nil
}

// lockFeedRows reads a feeder's rows for a change to several of them: the
// feeder's lock serializes such changes, the rows' keep single-row claims
// out.
func (s *sqlStore) lockFeedRows(ctx context.Context, tx *sql.Tx, runID, feeder string) ([]FeedRow, error) {
	if s.d.lockFeeder != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockFeeder, runID, feeder); err != nil {
			return nil, err
		}
	}
	return feedRows(ctx, tx, runID, feeder, s.d.forUpdate)
}

func feedRows(ctx context.Context, q querier, runID, feeder, suffix string) ([]FeedRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT shard, next, hi, granted FROM feeder_ranges WHERE run_id = $1 AND feeder = $2 ORDER BY shard"+suffix,
		runID, feeder)
	return collect(rows, err, func(row scanner) (FeedRow, error) {
		var r FeedRow
		return r, row.Scan(&r.Shard, &r.Next, &r.Hi, &r.Granted)
	})
}

func writeFeedRows(ctx context.Context, tx *sql.Tx, runID, feeder string, rows []FeedRow) error {
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO feeder_ranges (run_id, feeder, shard, next, hi, granted) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (run_id, feeder, shard) DO UPDATE SET next = EXCLUDED.next, hi = EXCLUDED.hi, granted = EXCLUDED.granted`,
			runID, feeder, r.Shard, r.Next, r.Hi, r.Granted); err != nil {
			return err
		}
	}
	return nil
}
