package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

func (p *postgresStore) PutSnapshot(ctx context.Context, s *Snapshot) (bool, error) {
	s.ReceivedAt = orNow(s.ReceivedAt)
	// DO NOTHING keeps the first write: a replayed snapshot never replaces
	// what was folded from the original.
	tag, err := p.pool.Exec(ctx, `INSERT INTO snapshots (run_id, shard, attempt, seq, interval_index, worker, data, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, shard, attempt, seq) DO NOTHING`,
		s.RunID, s.Shard, s.Attempt, s.Seq, s.Interval, s.Worker, blob(s.Data), s.ReceivedAt)
	if pgCode(err) == pgForeignKeyViolation {
		return false, fmt.Errorf("put snapshot %d/%d/%d of run %s: %w", s.Shard, s.Attempt, s.Seq, s.RunID, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("put snapshot %d/%d/%d of run %s: %w", s.Shard, s.Attempt, s.Seq, s.RunID, err)
	}
	return tag.RowsAffected() == 1, nil
}

func (p *postgresStore) PutSnapshots(ctx context.Context, snaps []Snapshot) ([]bool, error) {
	inserted := make([]bool, len(snaps))
	if len(snaps) == 0 {
		return inserted, nil
	}
	// One statement for the batch, its rows passed as arrays: one parse,
	// one plan and one commit for what a thousand workers send in a moment.
	var (
		runIDs, workers  = make([]string, len(snaps)), make([]string, len(snaps))
		shards, attempts = make([]int32, len(snaps)), make([]int32, len(snaps))
		seqs, intervals  = make([]int64, len(snaps)), make([]int64, len(snaps))
		data             = make([][]byte, len(snaps))
		received         = make([]time.Time, len(snaps))
		first            = make(map[snapshotKey]int, len(snaps))
	)
	for i := range snaps {
		s := &snaps[i]
		s.ReceivedAt = orNow(s.ReceivedAt)
		runIDs[i], shards[i], attempts[i], seqs[i] = s.RunID, int32(s.Shard), int32(s.Attempt), s.Seq
		intervals[i], workers[i], data[i], received[i] = s.Interval, s.Worker, blob(s.Data), s.ReceivedAt
		k := snapshotKey{s.RunID, s.Shard, s.Attempt, s.Seq}
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	// DO NOTHING keeps the first write, also of a key twice in the batch;
	// RETURNING names the rows that were new.
	rows, err := p.pool.Query(ctx, `INSERT INTO snapshots (run_id, shard, attempt, seq, interval_index, worker, data, received_at)
		SELECT * FROM unnest($1::text[], $2::int4[], $3::int4[], $4::int8[], $5::int8[], $6::text[], $7::bytea[], $8::timestamptz[])
		ON CONFLICT (run_id, shard, attempt, seq) DO NOTHING
		RETURNING run_id, shard, attempt, seq`,
		runIDs, shards, attempts, seqs, intervals, workers, data, received)
	if err == nil {
		var k snapshotKey
		_, err = pgx.ForEachRow(rows, []any{&k.run, &k.shard, &k.attempt, &k.seq}, func() error {
			if i, ok := first[k]; ok {
				inserted[i] = true
			}
			return nil
		})
	}
	if pgCode(err) == pgForeignKeyViolation {
		return nil, fmt.Errorf("put %d snapshots: %w", len(snaps), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("put %d snapshots: %w", len(snaps), err)
	}
	return inserted, nil
}

// snapshotKey is a snapshot's primary key.
type snapshotKey struct {
	run            string
	shard, attempt int
	seq            int64
}

func (p *postgresStore) ListSnapshots(ctx context.Context, runID string, interval int64) ([]Snapshot, error) {
	const cols = "SELECT run_id, shard, attempt, seq, interval_index, worker, data, received_at FROM snapshots"
	const order = " ORDER BY interval_index, shard, attempt, seq"
	q, args := cols+" WHERE run_id = $1"+order, []any{runID}
	if interval >= 0 {
		q, args = cols+" WHERE run_id = $1 AND interval_index = $2"+order, []any{runID, interval}
	}
	rows, _ := p.pool.Query(ctx, q, args...)
	snaps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Snapshot, error) {
		var s Snapshot
		err := row.Scan(&s.RunID, &s.Shard, &s.Attempt, &s.Seq, &s.Interval, &s.Worker, &s.Data, &s.ReceivedAt)
		s.Data, s.ReceivedAt = readBlob(s.Data), s.ReceivedAt.UTC()
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots of run %s: %w", runID, err)
	}
	if len(snaps) == 0 {
		if err := p.mustExist(ctx, "list snapshots of", runID); err != nil {
			return nil, err
		}
	}
	return snaps, nil
}

func (p *postgresStore) CountSnapshots(ctx context.Context, runID string) (map[int64]int, error) {
	rows, _ := p.pool.Query(ctx, "SELECT interval_index, COUNT(*) FROM snapshots WHERE run_id = $1 GROUP BY interval_index", runID)
	out := map[int64]int{}
	var (
		k int64
		n int
	)
	_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error {
		out[k] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count snapshots of run %s: %w", runID, err)
	}
	if len(out) == 0 {
		if err := p.mustExist(ctx, "count snapshots of", runID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *postgresStore) CompactableRuns(ctx context.Context, t time.Time, limit int) ([]string, error) {
	rows, _ := p.pool.Query(ctx, `SELECT r.id FROM runs r
		WHERE r.ended_at IS NOT NULL AND r.ended_at < $1
			AND EXISTS (SELECT 1 FROM reports rp WHERE rp.run_id = r.id)
			AND EXISTS (SELECT 1 FROM snapshots sn WHERE sn.run_id = r.id)
		ORDER BY r.ended_at, r.id LIMIT $2`, dbTime(t), clampLimit(limit))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list compactable runs: %w", err)
	}
	return ids, nil
}

func (p *postgresStore) DeleteSnapshots(ctx context.Context, runID string) (int64, error) {
	tag, err := p.pool.Exec(ctx, "DELETE FROM snapshots WHERE run_id = $1", runID)
	if err != nil {
		return 0, fmt.Errorf("delete snapshots of run %s: %w", runID, err)
	}
	if tag.RowsAffected() == 0 {
		if err := p.mustExist(ctx, "delete snapshots of", runID); err != nil {
			return 0, err
		}
	}
	return tag.RowsAffected(), nil
}

func (p *postgresStore) PutInterval(ctx context.Context, iv *Interval) error {
	iv.Start, iv.End, iv.FoldedAt = dbTime(iv.Start), dbTime(iv.End), orNow(iv.FoldedAt)
	// The WHERE of DO UPDATE keeps the fuller fold: an update that folded
	// fewer snapshots (a slower server, a stale re-fold) changes nothing.
	_, err := p.pool.Exec(ctx, `INSERT INTO intervals (run_id, idx, start_at, end_at, workers, snapshots, data, summary, folded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (run_id, idx) DO UPDATE SET start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
			workers = EXCLUDED.workers, snapshots = EXCLUDED.snapshots, data = EXCLUDED.data, summary = EXCLUDED.summary,
			folded_at = EXCLUDED.folded_at,
			revision = intervals.revision + (EXCLUDED.snapshots > intervals.snapshots)::int
		WHERE intervals.snapshots <= EXCLUDED.snapshots`,
		iv.RunID, iv.Index, pgTime(iv.Start), pgTime(iv.End), iv.Workers, iv.Snapshots, blob(iv.Data), blob(iv.Summary), iv.FoldedAt)
	if pgCode(err) == pgForeignKeyViolation {
		return fmt.Errorf("put interval %d of run %s: %w", iv.Index, iv.RunID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put interval %d of run %s: %w", iv.Index, iv.RunID, err)
	}
	return nil
}

func (p *postgresStore) ListIntervals(ctx context.Context, runID string, after int64, limit int) ([]Interval, error) {
	return p.listIntervals(ctx, runID, `SELECT `+pgIntervalColumns+` FROM intervals
		WHERE run_id = $1 AND idx > $2 ORDER BY idx LIMIT $3`, runID, after, sqlLimit(limit))
}

func (p *postgresStore) ListIntervalsChanged(ctx context.Context, runID string, after int64, since time.Time, revisedOnly bool, limit int) ([]Interval, error) {
	minRevision := 0
	if revisedOnly {
		minRevision = 1
	}
	return p.listIntervals(ctx, runID, `SELECT `+pgIntervalColumns+` FROM intervals WHERE run_id = $1 AND idx > $2
		UNION ALL
		SELECT `+pgIntervalColumns+` FROM intervals WHERE run_id = $1 AND folded_at > $3 AND idx <= $2 AND revision > $5
		ORDER BY idx LIMIT $4`, runID, after, since, sqlLimit(limit), minRevision)
}

const pgIntervalColumns = `run_id, idx, start_at, end_at, workers, snapshots, data, summary, folded_at, revision`

func (p *postgresStore) listIntervals(ctx context.Context, runID, query string, args ...any) ([]Interval, error) {
	rows, _ := p.pool.Query(ctx, query, args...)
	ivs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Interval, error) {
		var (
			iv         Interval
			start, end pgtype.Timestamptz
		)
		err := row.Scan(&iv.RunID, &iv.Index, &start, &end, &iv.Workers, &iv.Snapshots, &iv.Data, &iv.Summary, &iv.FoldedAt, &iv.Revision)
		iv.Start, iv.End, iv.FoldedAt, iv.Data, iv.Summary = fromPG(start), fromPG(end), iv.FoldedAt.UTC(), readBlob(iv.Data), readBlob(iv.Summary)
		return iv, err
	})
	if err != nil {
		return nil, fmt.Errorf("list intervals of run %s: %w", runID, err)
	}
	if len(ivs) == 0 {
		if err := p.mustExist(ctx, "list intervals of", runID); err != nil {
			return nil, err
		}
	}
	return ivs, nil
}

func (p *postgresStore) PutControl(ctx context.Context, runID string, version int, doc []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO run_controls (run_id, version, body, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (run_id) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body,
			updated_at = EXCLUDED.updated_at
		WHERE run_controls.version <= EXCLUDED.version`,
		runID, version, blob(doc), orNow(time.Time{}))
	if pgCode(err) == pgForeignKeyViolation {
		return fmt.Errorf("put control %d of run %s: %w", version, runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put control %d of run %s: %w", version, runID, err)
	}
	return nil
}

func (p *postgresStore) GetControl(ctx context.Context, runID string) ([]byte, error) {
	var body []byte
	err := p.pool.QueryRow(ctx, "SELECT body FROM run_controls WHERE run_id = $1", runID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get control of run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get control of run %s: %w", runID, err)
	}
	return readBlob(body), nil
}

func (p *postgresStore) PutReport(ctx context.Context, runID string, report []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO reports (run_id, body, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (run_id) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at`,
		runID, blob(report), orNow(time.Time{}))
	if pgCode(err) == pgForeignKeyViolation {
		return fmt.Errorf("put report of run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put report of run %s: %w", runID, err)
	}
	return nil
}

func (p *postgresStore) GetReport(ctx context.Context, runID string) ([]byte, error) {
	var body []byte
	err := p.pool.QueryRow(ctx, "SELECT body FROM reports WHERE run_id = $1", runID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get report of run %s: %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get report of run %s: %w", runID, err)
	}
	return readBlob(body), nil
}

func (p *postgresStore) UpsertWorker(ctx context.Context, w *Worker) error {
	if w.ID == "" {
		return fmt.Errorf("upsert worker: empty id")
	}
	w.LastSeen = orNow(w.LastSeen)
	_, err := p.pool.Exec(ctx, `INSERT INTO workers (id, max_vus, max_rps, host, last_seen, run_id, shard)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET max_vus = EXCLUDED.max_vus, max_rps = EXCLUDED.max_rps,
			host = EXCLUDED.host, last_seen = EXCLUDED.last_seen, run_id = EXCLUDED.run_id, shard = EXCLUDED.shard`,
		w.ID, w.MaxVUs, w.MaxRPS, w.Host, w.LastSeen, w.RunID, w.Shard)
	if err != nil {
		return fmt.Errorf("upsert worker %s: %w", w.ID, err)
	}
	return nil
}

func (p *postgresStore) ListWorkers(ctx context.Context, since time.Time) ([]Worker, error) {
	const cols = "SELECT id, max_vus, max_rps, host, last_seen, run_id, shard FROM workers"
	q, args := cols+" ORDER BY id", []any(nil)
	if !since.IsZero() {
		q, args = cols+" WHERE last_seen >= $1 ORDER BY id", []any{dbTime(since)}
	}
	rows, _ := p.pool.Query(ctx, q, args...)
	ws, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Worker, error) {
		var w Worker
		err := row.Scan(&w.ID, &w.MaxVUs, &w.MaxRPS, &w.Host, &w.LastSeen, &w.RunID, &w.Shard)
		w.LastSeen = w.LastSeen.UTC()
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return ws, nil
}
