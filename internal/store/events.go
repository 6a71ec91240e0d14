package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqlStore) AppendEvent(ctx context.Context, e Event) (int64, error) {
	var seq int64
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		// The counter lives on the run's row; its row lock (SQLite: the
		// write lock) queues concurrent appends, so seqs have no gaps and
		// no duplicates.
		err := tx.QueryRowContext(ctx, "UPDATE runs SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
			e.RunID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO run_events (run_id, seq, at, kind, detail, data) VALUES ($1, $2, $3, $4, $5, $6)",
			e.RunID, seq, orNow(e.At), e.Kind, e.Detail, blob(e.Data))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append event to run %s: %w", e.RunID, err)
	}
	return seq, nil
}

func (s *sqlStore) AppendEvents(ctx context.Context, events []Event) ([]int64, error) {
	seqs := make([]int64, len(events))
	if len(events) == 0 {
		return seqs, nil
	}
	err := inTx(ctx, s.w, func(tx *sql.Tx) error {
		// One counter update per run, for all its events at once.
		for _, run := range eventRuns(events) {
			var last int64
			err := tx.QueryRowContext(ctx, "UPDATE runs SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
				run.id, run.n).Scan(&last)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("run %s: %w", run.id, ErrNotFound)
			}
			if err != nil {
				return err
			}
			run.number(events, seqs, last)
		}
		if s.d.arrays {
			return insertEventArrays(ctx, tx, events, seqs)
		}
		return insertEventRows(ctx, tx, events, seqs)
	})
	if err != nil {
		return nil, fmt.Errorf("append %d events: %w", len(events), err)
	}
	return seqs, nil
}

const insertEvent = "INSERT INTO run_events (run_id, seq, at, kind, detail, data)"

func insertEventArrays(ctx context.Context, tx *sql.Tx, events []Event, seqs []int64) error {
	runIDs, kinds, details := make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	ats, data := make([]time.Time, len(events)), make([][]byte, len(events))
	for i, e := range events {
		runIDs[i], kinds[i], details[i], ats[i], data[i] = e.RunID, e.Kind, e.Detail, orNow(e.At), blob(e.Data)
	}
	_, err := tx.ExecContext(ctx, insertEvent+`
		SELECT * FROM unnest($1::text[], $2::int8[], $3::timestamptz[], $4::text[], $5::text[], $6::bytea[])`,
		runIDs, seqs, ats, kinds, details, data)
	return err
}

func insertEventRows(ctx context.Context, tx *sql.Tx, events []Event, seqs []int64) error {
	stmt, err := tx.PrepareContext(ctx, insertEvent+" VALUES ($1, $2, $3, $4, $5, $6)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, e := range events {
		if _, err := stmt.ExecContext(ctx, e.RunID, seqs[i], orNow(e.At), e.Kind, e.Detail, blob(e.Data)); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) ListEvents(ctx context.Context, runID string) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT run_id, seq, at, kind, detail, data FROM run_events WHERE run_id = $1 ORDER BY seq", runID)
	events, err := collect(rows, err, func(row scanner) (Event, error) {
		var e Event
		err := row.Scan(&e.RunID, &e.Seq, timeCol{&e.At}, &e.Kind, &e.Detail, &e.Data)
		e.Data = readBlob(e.Data)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list events of run %s: %w", runID, err)
	}
	if len(events) == 0 {
		if err := s.mustExist(ctx, "list events of", runID); err != nil {
			return nil, err
		}
	}
	return events, nil
}
