package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// runTables are the tables that hold a run's rows besides runs itself, all
// keyed by run_id: what DeleteRun removes. Their foreign keys cascade too;
// deleting explicitly keeps DeleteRun whole should one ever not. workers
// is not one of them: its run_id is what a fleet node was last busy with,
// not the run's data.
var runTables = []string{"snapshots", "intervals", "run_events", "run_tags", "run_controls", "reports", "feeder_ranges"}

func (s *sqlStore) DeleteRun(ctx context.Context, id string) error {
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		// Touching the row locks it (Postgres; SQLite's write transaction
		// holds the database), so the run cannot change status meanwhile.
		n, err := affected(tx.ExecContext(ctx, "UPDATE runs SET event_seq = event_seq WHERE id = $1 AND status IN "+finishedStatuses, id))
		if err != nil {
			return err
		}
		if n == 0 {
			var status Status
			err := tx.QueryRowContext(ctx, "SELECT status FROM runs WHERE id = $1", id).Scan(&status)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return refusal("delete", id, status, err != nil, nil)
		}
		for _, table := range runTables {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE run_id = $1", id); err != nil { // #nosec G202 -- table is one of runTables' constants
				return fmt.Errorf("delete %s: %w", table, err)
			}
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM runs WHERE id = $1", id)
		return err
	})
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return err // a refusal names the run already
	}
	return fmt.Errorf("delete run %s: %w", id, err)
}
