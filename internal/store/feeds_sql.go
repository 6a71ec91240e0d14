package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The two stores share planClaim and planRelease; each reads a feeder's
// rows and writes the planned ones in one transaction. A claim on a shard
// that has records left touches its own row only.

func (s *sqliteStore) ClaimRecords(ctx context.Context, c RecordClaim) (lo, hi int, err error) {
	if err := c.validate(); err != nil {
		return 0, 0, err
	}
	// BEGIN IMMEDIATE (the write connection) serializes claims.
	err = sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		var next, end int
		err := tx.QueryRowContext(ctx, "SELECT next, hi FROM feeder_ranges WHERE run_id = ? AND feeder = ? AND shard = ?",
			c.RunID, c.Feeder, c.Shard).Scan(&next, &end)
		if err == nil && next < end {
			lo, hi = next, min(end, next+c.N)
			_, err = tx.ExecContext(ctx, "UPDATE feeder_ranges SET next = ? WHERE run_id = ? AND feeder = ? AND shard = ?",
				hi, c.RunID, c.Feeder, c.Shard)
			return err
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		rows, err := sqliteFeedRows(ctx, tx, c.RunID, c.Feeder)
		if err != nil {
			return err
		}
		var write []FeedRow
		lo, hi, write = planClaim(rows, c)
		return sqliteWriteRows(ctx, tx, c.RunID, c.Feeder, write)
	})
	if isSQLiteForeignKey(err) {
		err = ErrNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("claim records of feeder %s of run %s: %w", c.Feeder, c.RunID, err)
	}
	return lo, hi, nil
}

func (s *sqliteStore) ReleaseRecords(ctx context.Context, runID, feeder string, shard, shards, total int) error {
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		rows, err := sqliteFeedRows(ctx, tx, runID, feeder)
		if err != nil {
			return err
		}
		return sqliteWriteRows(ctx, tx, runID, feeder, planRelease(rows, shard, max(shards, 1), total))
	})
	if isSQLiteForeignKey(err) {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("release records of feeder %s of run %s: %w", feeder, runID, err)
	}
	return nil
}

func (s *sqliteStore) FeedRows(ctx context.Context, runID, feeder string) ([]FeedRow, error) {
	rows, err := sqliteFeedRows(ctx, s.r, runID, feeder)
	if err != nil {
		return nil, fmt.Errorf("feeder %s of run %s: %w", feeder, runID, err)
	}
	return rows, nil
}

type sqliteQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func sqliteFeedRows(ctx context.Context, q sqliteQuerier, runID, feeder string) ([]FeedRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT shard, next, hi FROM feeder_ranges WHERE run_id = ? AND feeder = ? ORDER BY shard", runID, feeder)
	return collect(rows, err, func(row scanner) (FeedRow, error) {
		var r FeedRow
		err := row.Scan(&r.Shard, &r.Next, &r.Hi)
		return r, err
	})
}

func sqliteWriteRows(ctx context.Context, tx *sql.Tx, runID, feeder string, rows []FeedRow) error {
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO feeder_ranges (run_id, feeder, shard, next, hi) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (run_id, feeder, shard) DO UPDATE SET next = excluded.next, hi = excluded.hi`,
			runID, feeder, r.Shard, r.Next, r.Hi); err != nil {
			return err
		}
	}
	return nil
}

func (p *postgresStore) ClaimRecords(ctx context.Context, c RecordClaim) (lo, hi int, err error) {
	if err := c.validate(); err != nil {
		return 0, 0, err
	}
	// A shard with records left: its own row, locked by the UPDATE alone.
	err = p.pool.QueryRow(ctx, `WITH old AS (SELECT next FROM feeder_ranges
			WHERE run_id = $1 AND feeder = $2 AND shard = $3 AND next < hi FOR UPDATE)
		UPDATE feeder_ranges f SET next = LEAST(f.next + $4, f.hi) FROM old
		WHERE f.run_id = $1 AND f.feeder = $2 AND f.shard = $3
		RETURNING old.next, f.next`, c.RunID, c.Feeder, c.Shard, c.N).Scan(&lo, &hi)
	if err == nil {
		return lo, hi, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, fmt.Errorf("claim records of feeder %s of run %s: %w", c.Feeder, c.RunID, err)
	}
	// Otherwise, in a transaction of its own that takes the feeder's lock
	// before any row's (never the other way round: no deadlock).
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		rows, err := pgLockFeedRows(ctx, tx, c.RunID, c.Feeder)
		if err != nil {
			return err
		}
		var write []FeedRow
		lo, hi, write = planClaim(rows, c)
		return pgWriteRows(ctx, tx, c.RunID, c.Feeder, write)
	})
	if pgCode(err) == pgForeignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("claim records of feeder %s of run %s: %w", c.Feeder, c.RunID, err)
	}
	return lo, hi, nil
}

func (p *postgresStore) ReleaseRecords(ctx context.Context, runID, feeder string, shard, shards, total int) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		rows, err := pgLockFeedRows(ctx, tx, runID, feeder)
		if err != nil {
			return err
		}
		return pgWriteRows(ctx, tx, runID, feeder, planRelease(rows, shard, max(shards, 1), total))
	})
	if pgCode(err) == pgForeignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("release records of feeder %s of run %s: %w", feeder, runID, err)
	}
	return nil
}

func (p *postgresStore) FeedRows(ctx context.Context, runID, feeder string) ([]FeedRow, error) {
	rows, _ := p.pool.Query(ctx, "SELECT shard, next, hi FROM feeder_ranges WHERE run_id = $1 AND feeder = $2 ORDER BY shard", runID, feeder)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FeedRow])
	if err != nil {
		return nil, fmt.Errorf("feeder %s of run %s: %w", feeder, runID, err)
	}
	return out, nil
}

// pgLockFeedRows reads a feeder's rows for a change to several of them:
// the advisory lock serializes such changes (the first rows of a feeder do
// not exist yet to be locked), FOR UPDATE keeps single-row claims out.
func pgLockFeedRows(ctx context.Context, tx pgx.Tx, runID, feeder string) ([]FeedRow, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7))", runID, feeder); err != nil {
		return nil, err
	}
	rows, _ := tx.Query(ctx, "SELECT shard, next, hi FROM feeder_ranges WHERE run_id = $1 AND feeder = $2 ORDER BY shard FOR UPDATE", runID, feeder)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[FeedRow])
}

func pgWriteRows(ctx context.Context, tx pgx.Tx, runID, feeder string, rows []FeedRow) error {
	for _, r := range rows {
		if _, err := tx.Exec(ctx, `INSERT INTO feeder_ranges (run_id, feeder, shard, next, hi) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (run_id, feeder, shard) DO UPDATE SET next = EXCLUDED.next, hi = EXCLUDED.hi`,
			runID, feeder, r.Shard, r.Next, r.Hi); err != nil {
			return err
		}
	}
	return nil
}
