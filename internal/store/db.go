package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// sqlStore is the Store's one implementation, over database/sql; d holds
// what differs between the databases.
//
// w takes the writes and r the reads. They are the same pool on Postgres
// and on SQLite's :memory:; an SQLite file has a writer pool of one
// connection and a read-only pool beside it (see openSQLite).
type sqlStore struct {
	d       dialect
	w, r    *sql.DB
	runCols string // reads a run of runs r, with its tags as one JSON object
}

func newSQLStore(d dialect, w, r *sql.DB) sqlStore {
	return sqlStore{d: d, w: w, r: r, runCols: `r.id, r.scenario_id, r.scenario_version, r.scenario, r.overrides, r.status,
	r.target_base_url, r.worker_count, r.elastic, r.workflow_id, r.token, r.epoch, r.interval_ms,
	r.reason, r.created_at, r.started_at, r.ended_at, r.baseline_run_id, r.max_workers,
	(SELECT ` + d.tagsObject + ` FROM run_tags t WHERE t.run_id = r.id)`}
}

func (s *sqlStore) Ping(ctx context.Context) error {
	// The read pool: on SQLite, a long write holding the one writer
	// connection does not make the database look down.
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d, err)
	}
	return nil
}

func (s *sqlStore) Close() error {
	var rerr error
	if s.r != s.w {
		rerr = s.r.Close()
	}
	if err := errors.Join(rerr, s.w.Close()); err != nil {
		return fmt.Errorf("close %s: %w", s.d, err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// beginner is what *sql.DB and *sql.Conn have in common.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// inTx runs fn in a transaction, committed when fn returns nil. On SQLite's
// writer pool it is a BEGIN IMMEDIATE (see sqliteDSN).
func inTx(ctx context.Context, db beginner, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one to report
		return err
	}
	return tx.Commit()
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row and closes rows before it returns, which matters
// on :memory:, where a second query would wait for the one connection.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// affected is how many rows a write changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// mustExist tells an unknown run (ErrNotFound) from one with nothing to
// list yet.
func (s *sqlStore) mustExist(ctx context.Context, what, runID string) error {
	var one int
	err := s.r.QueryRowContext(ctx, "SELECT 1 FROM runs WHERE id = $1", runID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s run %s: %w", what, runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s run %s: %w", what, runID, err)
	}
	return nil
}
