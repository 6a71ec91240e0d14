package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqliteStore) AppendEvent(ctx context.Context, e Event) (int64, error) {
	var seq int64
	// BEGIN IMMEDIATE holds the database's write lock for the whole
	// transaction, so incrementing the run's counter and inserting the
	// event cannot interleave with another append.
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "UPDATE runs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq",
			e.RunID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO run_events (run_id, seq, at, kind, detail, data) VALUES (?, ?, ?, ?, ?, ?)",
			e.RunID, seq, orNow(e.At).UnixMicro(), e.Kind, e.Detail, blob(e.Data))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("append event to run %s: %w", e.RunID, err)
	}
	return seq, nil
}

func (s *sqliteStore) AppendEvents(ctx context.Context, events []Event) ([]int64, error) {
	seqs := make([]int64, len(events))
	if len(events) == 0 {
		return seqs, nil
	}
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		for _, run := range eventRuns(events) {
			var last int64
			err := tx.QueryRowContext(ctx, "UPDATE runs SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq",
				run.n, run.id).Scan(&last)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("run %s: %w", run.id, ErrNotFound)
			}
			if err != nil {
				return err
			}
			run.number(events, seqs, last)
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO run_events (run_id, seq, at, kind, detail, data) VALUES (?, ?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, e := range events {
			if _, err := stmt.ExecContext(ctx, e.RunID, seqs[i], orNow(e.At).UnixMicro(), e.Kind, e.Detail, blob(e.Data)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append %d events: %w", len(events), err)
	}
	return seqs, nil
}

func (s *sqliteStore) ListEvents(ctx context.Context, runID string) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT run_id, seq, at, kind, detail, data FROM run_events WHERE run_id = ? ORDER BY seq", runID)
	events, err := collect(rows, err, func(row scanner) (Event, error) {
		var (
			e  Event
			at int64
		)
		err := row.Scan(&e.RunID, &e.Seq, &at, &e.Kind, &e.Detail, &e.Data)
		e.At, e.Data = time.UnixMicro(at).UTC(), readBlob(e.Data)
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

// mustExist tells an unknown run (ErrNotFound) from one with nothing to
// list yet.
func (s *sqliteStore) mustExist(ctx context.Context, what, runID string) error {
	var one int
	err := s.r.QueryRowContext(ctx, "SELECT 1 FROM runs WHERE id = ?", runID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s run %s: %w", what, runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s run %s: %w", what, runID, err)
	}
	return nil
}

func (s *sqliteStore) PutSnapshot(ctx context.Context, sn *Snapshot) (bool, error) {
	sn.ReceivedAt = orNow(sn.ReceivedAt)
	// DO NOTHING keeps the first write: a replayed snapshot never replaces
	// what was folded from the original.
	res, err := s.w.ExecContext(ctx, `INSERT INTO snapshots (run_id, shard, attempt, seq, interval_index, worker, data, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, shard, attempt, seq) DO NOTHING`,
		sn.RunID, sn.Shard, sn.Attempt, sn.Seq, sn.Interval, sn.Worker, blob(sn.Data), sn.ReceivedAt.UnixMicro())
	if isSQLiteForeignKey(err) {
		return false, fmt.Errorf("put snapshot %d/%d/%d of run %s: %w", sn.Shard, sn.Attempt, sn.Seq, sn.RunID, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("put snapshot %d/%d/%d of run %s: %w", sn.Shard, sn.Attempt, sn.Seq, sn.RunID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("put snapshot %d/%d/%d of run %s: %w", sn.Shard, sn.Attempt, sn.Seq, sn.RunID, err)
	}
	return n == 1, nil
}

func (s *sqliteStore) PutSnapshots(ctx context.Context, snaps []Snapshot) ([]bool, error) {
	inserted := make([]bool, len(snaps))
	if len(snaps) == 0 {
		return inserted, nil
	}
	err := sqliteTx(ctx, s.w, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO snapshots (run_id, shard, attempt, seq, interval_index, worker, data, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, shard, attempt, seq) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range snaps {
			sn := &snaps[i]
			sn.ReceivedAt = orNow(sn.ReceivedAt)
			res, err := stmt.ExecContext(ctx, sn.RunID, sn.Shard, sn.Attempt, sn.Seq, sn.Interval, sn.Worker, blob(sn.Data), sn.ReceivedAt.UnixMicro())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			inserted[i] = n == 1
		}
		return nil
	})
	if isSQLiteForeignKey(err) {
		return nil, fmt.Errorf("put %d snapshots: %w", len(snaps), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("put %d snapshots: %w", len(snaps), err)
	}
	return inserted, nil
}

func (s *sqliteStore) ListSnapshots(ctx context.Context, runID string, interval int64) ([]Snapshot, error) {
	const cols = "SELECT run_id, shard, attempt, seq, interval_index, worker, data, received_at FROM snapshots"
	const order = " ORDER BY interval_index, shard, attempt, seq"
	q, args := cols+" WHERE run_id = ?"+order, []any{runID}
	if interval >= 0 {
		q, args = cols+" WHERE run_id = ? AND interval_index = ?"+order, []any{runID, interval}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	snaps, err := collect(rows, err, func(row scanner) (Snapshot, error) {
		var (
			sn       Snapshot
			received int64
		)
		err := row.Scan(&sn.RunID, &sn.Shard, &sn.Attempt, &sn.Seq, &sn.Interval, &sn.Worker, &sn.Data, &received)
		sn.Data, sn.ReceivedAt = readBlob(sn.Data), time.UnixMicro(received).UTC()
		return sn, err
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots of run %s: %w", runID, err)
	}
	if len(snaps) == 0 {
		if err := s.mustExist(ctx, "list snapshots of", runID); err != nil {
			return nil, err
		}
	}
	return snaps, nil
}

func (s *sqliteStore) CountSnapshots(ctx context.Context, runID string) (map[int64]int, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT interval_index, COUNT(*) FROM snapshots WHERE run_id = ? GROUP BY interval_index", runID)
	type count struct {
		k int64
		n int
	}
	counts, err := collect(rows, err, func(row scanner) (count, error) {
		var c count
		return c, row.Scan(&c.k, &c.n)
	})
	if err != nil {
		return nil, fmt.Errorf("count snapshots of run %s: %w", runID, err)
	}
	if len(counts) == 0 {
		if err := s.mustExist(ctx, "count snapshots of", runID); err != nil {
			return nil, err
		}
	}
	out := make(map[int64]int, len(counts))
	for _, c := range counts {
		out[c.k] = c.n
	}
	return out, nil
}

func (s *sqliteStore) CompactableRuns(ctx context.Context, t time.Time, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.id FROM runs r
		WHERE r.ended_at IS NOT NULL AND r.ended_at < ?
			AND EXISTS (SELECT 1 FROM reports p WHERE p.run_id = r.id)
			AND EXISTS (SELECT 1 FROM snapshots sn WHERE sn.run_id = r.id)
		ORDER BY r.ended_at, r.id LIMIT ?`, dbTime(t).UnixMicro(), clampLimit(limit))
	ids, err := collect(rows, err, func(row scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("list compactable runs: %w", err)
	}
	return ids, nil
}

// deleteChunk bounds the rows one DELETE removes: SQLite has one writer, and
// a run's millions of snapshots in one statement would hold up every live
// run's ingest meanwhile.
const deleteChunk = 5000

func (s *sqliteStore) DeleteSnapshots(ctx context.Context, runID string) (int64, error) {
	var n int64
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM snapshots WHERE rowid IN
			(SELECT rowid FROM snapshots WHERE run_id = ? LIMIT ?)`, runID, deleteChunk)
		if err != nil {
			return n, fmt.Errorf("delete snapshots of run %s: %w", runID, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("delete snapshots of run %s: %w", runID, err)
		}
		n += k
		if k < deleteChunk {
			break
		}
	}
	if n == 0 {
		if err := s.mustExist(ctx, "delete snapshots of", runID); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (s *sqliteStore) PutInterval(ctx context.Context, iv *Interval) error {
	iv.Start, iv.End, iv.FoldedAt = dbTime(iv.Start), dbTime(iv.End), orNow(iv.FoldedAt)
	// The WHERE of DO UPDATE keeps the fuller fold: an update that folded
	// fewer snapshots (a slower server, a stale re-fold) changes nothing.
	_, err := s.w.ExecContext(ctx, `INSERT INTO intervals (run_id, idx, start_at, end_at, workers, snapshots, data, summary, folded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, idx) DO UPDATE SET start_at = excluded.start_at, end_at = excluded.end_at,
			workers = excluded.workers, snapshots = excluded.snapshots, data = excluded.data, summary = excluded.summary,
			folded_at = excluded.folded_at,
			revision = intervals.revision + (excluded.snapshots > intervals.snapshots)
		WHERE intervals.snapshots <= excluded.snapshots`,
		iv.RunID, iv.Index, toMicros(iv.Start), toMicros(iv.End), iv.Workers, iv.Snapshots, blob(iv.Data), blob(iv.Summary),
		iv.FoldedAt.UnixMicro())
	if isSQLiteForeignKey(err) {
		return fmt.Errorf("put interval %d of run %s: %w", iv.Index, iv.RunID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put interval %d of run %s: %w", iv.Index, iv.RunID, err)
	}
	return nil
}

func (s *sqliteStore) ListIntervals(ctx context.Context, runID string, after int64, limit int) ([]Interval, error) {
	return s.listIntervals(ctx, runID, `SELECT `+sqliteIntervalColumns+` FROM intervals
		WHERE run_id = ? AND idx > ? ORDER BY idx LIMIT ?`, runID, after, sqlLimit(limit))
}

func (s *sqliteStore) ListIntervalsChanged(ctx context.Context, runID string, after int64, since time.Time, revisedOnly bool, limit int) ([]Interval, error) {
	// Two selects, each served by its own index: the primary key for the
	// new intervals, intervals_folded_idx for the ones folded since.
	minRevision := 0
	if revisedOnly {
		minRevision = 1
	}
	return s.listIntervals(ctx, runID, `SELECT * FROM (
		SELECT `+sqliteIntervalColumns+` FROM intervals WHERE run_id = ? AND idx > ?
		UNION ALL
		SELECT `+sqliteIntervalColumns+` FROM intervals WHERE run_id = ? AND folded_at > ? AND idx <= ? AND revision > ?)
		ORDER BY idx LIMIT ?`, runID, after, runID, since.UnixMicro(), after, minRevision, sqlLimit(limit))
}

const sqliteIntervalColumns = `run_id, idx, start_at, end_at, workers, snapshots, data, summary, folded_at, revision`

func (s *sqliteStore) listIntervals(ctx context.Context, runID, query string, args ...any) ([]Interval, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	ivs, err := collect(rows, err, func(row scanner) (Interval, error) {
		var (
			iv         Interval
			start, end sql.NullInt64
			folded     int64
		)
		err := row.Scan(&iv.RunID, &iv.Index, &start, &end, &iv.Workers, &iv.Snapshots, &iv.Data, &iv.Summary, &folded, &iv.Revision)
		iv.Start, iv.End, iv.FoldedAt = fromMicros(start), fromMicros(end), time.UnixMicro(folded).UTC()
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

func (s *sqliteStore) PutControl(ctx context.Context, runID string, version int, doc []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO run_controls (run_id, version, body, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET version = excluded.version, body = excluded.body,
			updated_at = excluded.updated_at
		WHERE run_controls.version <= excluded.version`,
		runID, version, blob(doc), orNow(time.Time{}).UnixMicro())
	if isSQLiteForeignKey(err) {
		return fmt.Errorf("put control %d of run %s: %w", version, runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put control %d of run %s: %w", version, runID, err)
	}
	return nil
}

func (s *sqliteStore) GetControl(ctx context.Context, runID string) ([]byte, error) {
	var body []byte
	err := s.r.QueryRowContext(ctx, "SELECT body FROM run_controls WHERE run_id = ?", runID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get control of run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get control of run %s: %w", runID, err)
	}
	return readBlob(body), nil
}

func (s *sqliteStore) PutReport(ctx context.Context, runID string, report []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO reports (run_id, body, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
		runID, blob(report), orNow(time.Time{}).UnixMicro())
	if isSQLiteForeignKey(err) {
		return fmt.Errorf("put report of run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put report of run %s: %w", runID, err)
	}
	return nil
}

func (s *sqliteStore) GetReport(ctx context.Context, runID string) ([]byte, error) {
	var body []byte
	err := s.r.QueryRowContext(ctx, "SELECT body FROM reports WHERE run_id = ?", runID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get report of run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get report of run %s: %w", runID, err)
	}
	return readBlob(body), nil
}

func (s *sqliteStore) UpsertWorker(ctx context.Context, w *Worker) error {
	if w.ID == "" {
		return fmt.Errorf("upsert worker: empty id")
	}
	w.LastSeen = orNow(w.LastSeen)
	_, err := s.w.ExecContext(ctx, `INSERT INTO workers (id, max_vus, max_rps, host, last_seen, run_id, shard)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET max_vus = excluded.max_vus, max_rps = excluded.max_rps,
			host = excluded.host, last_seen = excluded.last_seen, run_id = excluded.run_id, shard = excluded.shard`,
		w.ID, w.MaxVUs, w.MaxRPS, w.Host, w.LastSeen.UnixMicro(), w.RunID, w.Shard)
	if err != nil {
		return fmt.Errorf("upsert worker %s: %w", w.ID, err)
	}
	return nil
}

func (s *sqliteStore) ListWorkers(ctx context.Context, since time.Time) ([]Worker, error) {
	const cols = "SELECT id, max_vus, max_rps, host, last_seen, run_id, shard FROM workers"
	q, args := cols+" ORDER BY id", []any(nil)
	if !since.IsZero() {
		q, args = cols+" WHERE last_seen >= ? ORDER BY id", []any{dbTime(since).UnixMicro()}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	ws, err := collect(rows, err, func(row scanner) (Worker, error) {
		var (
			w    Worker
			seen int64
		)
		err := row.Scan(&w.ID, &w.MaxVUs, &w.MaxRPS, &w.Host, &seen, &w.RunID, &w.Shard)
		w.LastSeen = time.UnixMicro(seen).UTC()
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return ws, nil
}
