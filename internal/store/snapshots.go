package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

const (
	insertSnapshot = "INSERT INTO snapshots (run_id, shard, attempt, seq, interval_index, worker, data, received_at)"
	// keepFirst keeps the first write of a key: a replayed snapshot never
	// replaces what was folded from the original.
	keepFirst = " ON CONFLICT (run_id, shard, attempt, seq) DO NOTHING"
)

func (s *sqlStore) PutSnapshot(ctx context.Context, sn *Snapshot) (bool, error) {
	sn.ReceivedAt = orNow(sn.ReceivedAt)
	n, err := affected(s.w.ExecContext(ctx, insertSnapshot+" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"+keepFirst,
		sn.RunID, sn.Shard, sn.Attempt, sn.Seq, sn.Interval, sn.Worker, blob(sn.Data), sn.ReceivedAt))
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("put snapshot %d/%d/%d of run %s: %w", sn.Shard, sn.Attempt, sn.Seq, sn.RunID, err)
	}
	return n == 1, nil
}

func (s *sqlStore) PutSnapshots(ctx context.Context, snaps []Snapshot) ([]bool, error) {
	inserted := make([]bool, len(snaps))
	if len(snaps) == 0 {
		return inserted, nil
	}
	for i := range snaps {
		snaps[i].ReceivedAt = orNow(snaps[i].ReceivedAt)
	}
	var err error
	if s.d.arrays {
		// One statement, so no transaction around it.
		err = insertSnapshotArrays(ctx, s.w, snaps, inserted)
	} else {
		err = inTx(ctx, s.w, func(tx *sql.Tx) error { return insertSnapshotRows(ctx, tx, snaps, inserted) })
	}
	if violated(err) == foreignKeyViolation {
		err = ErrNotFound
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

// insertSnapshotArrays passes the batch's rows as arrays: one parse, one
// plan and one commit for what a thousand workers send in a moment.
// RETURNING names the rows that were new; keepFirst applies also to a key
// twice in the batch.
func insertSnapshotArrays(ctx context.Context, q querier, snaps []Snapshot, inserted []bool) error {
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
		if s.Shard < 0 || s.Shard > math.MaxInt32 || s.Attempt < 0 || s.Attempt > math.MaxInt32 {
			return fmt.Errorf("snapshot of run %s: shard %d or attempt %d out of range", s.RunID, s.Shard, s.Attempt)
		}
		runIDs[i], shards[i], attempts[i], seqs[i] = s.RunID, int32(s.Shard), int32(s.Attempt), s.Seq
		intervals[i], workers[i], data[i], received[i] = s.Interval, s.Worker, blob(s.Data), s.ReceivedAt
		k := snapshotKey{s.RunID, s.Shard, s.Attempt, s.Seq}
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	rows, err := q.QueryContext(ctx, insertSnapshot+`
		SELECT * FROM unnest($1::text[], $2::int4[], $3::int4[], $4::int8[], $5::int8[], $6::text[], $7::bytea[], $8::timestamptz[])`+
		keepFirst+" RETURNING run_id, shard, attempt, seq",
		runIDs, shards, attempts, seqs, intervals, workers, data, received)
	keys, err := collect(rows, err, func(row scanner) (snapshotKey, error) {
		var k snapshotKey
		return k, row.Scan(&k.run, &k.shard, &k.attempt, &k.seq)
	})
	for _, k := range keys {
		if i, ok := first[k]; ok {
			inserted[i] = true
		}
	}
	return err
}

func insertSnapshotRows(ctx context.Context, tx *sql.Tx, snaps []Snapshot, inserted []bool) error {
	stmt, err := tx.PrepareContext(ctx, insertSnapshot+" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"+keepFirst)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range snaps {
		sn := &snaps[i]
		n, err := affected(stmt.ExecContext(ctx, sn.RunID, sn.Shard, sn.Attempt, sn.Seq, sn.Interval, sn.Worker, blob(sn.Data), sn.ReceivedAt))
		if err != nil {
			return err
		}
		inserted[i] = n == 1
	}
	return nil
}

func (s *sqlStore) ListSnapshots(ctx context.Context, runID string, interval int64) ([]Snapshot, error) {
	const cols = "SELECT run_id, shard, attempt, seq, interval_index, worker, data, received_at FROM snapshots"
	const order = " ORDER BY interval_index, shard, attempt, seq"
	q, args := cols+" WHERE run_id = $1"+order, []any{runID}
	if interval >= 0 {
		q, args = cols+" WHERE run_id = $1 AND interval_index = $2"+order, []any{runID, interval}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	snaps, err := collect(rows, err, scanSnapshot)
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

func (s *sqlStore) ListShardSnapshots(ctx context.Context, runID string, shard int) ([]Snapshot, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT run_id, shard, attempt, seq, interval_index, worker, data, received_at FROM snapshots
		WHERE run_id = $1 AND shard = $2 ORDER BY attempt, seq`, runID, shard)
	snaps, err := collect(rows, err, scanSnapshot)
	if err != nil {
		return nil, fmt.Errorf("list snapshots of shard %d of run %s: %w", shard, runID, err)
	}
	if len(snaps) == 0 {
		if err := s.mustExist(ctx, "list snapshots of", runID); err != nil {
			return nil, err
		}
	}
	return snaps, nil
}

func scanSnapshot(row scanner) (Snapshot, error) {
	var sn Snapshot
	err := row.Scan(&sn.RunID, &sn.Shard, &sn.Attempt, &sn.Seq, &sn.Interval, &sn.Worker, &sn.Data, timeCol{&sn.ReceivedAt})
	sn.Data = readBlob(sn.Data)
	return sn, err
}

func (s *sqlStore) CountSnapshots(ctx context.Context, runID string) (map[int64]int, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT interval_index, COUNT(*) FROM snapshots WHERE run_id = $1 GROUP BY interval_index", runID)
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

func (s *sqlStore) CompactableRuns(ctx context.Context, t time.Time, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.id FROM runs r
		WHERE r.ended_at IS NOT NULL AND r.ended_at < $1
			AND EXISTS (SELECT 1 FROM reports rp WHERE rp.run_id = r.id)
			AND EXISTS (SELECT 1 FROM snapshots sn WHERE sn.run_id = r.id)
		ORDER BY r.ended_at, r.id LIMIT $2`, dbTime(t), clampLimit(limit))
	ids, err := collect(rows, err, func(row scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("list compactable runs: %w", err)
	}
	return ids, nil
}

func (s *sqlStore) DeleteSnapshots(ctx context.Context, runID string) (int64, error) {
	q, args := "DELETE FROM snapshots WHERE run_id = $1", []any{runID}
	if s.d.deleteChunk > 0 {
		// By rowid, SQLite's address of a row: its DELETE takes no LIMIT.
		q = "DELETE FROM snapshots WHERE rowid IN (SELECT rowid FROM snapshots WHERE run_id = $1 LIMIT $2)"
		args = append(args, s.d.deleteChunk)
	}
	var n int64
	for {
		k, err := affected(s.w.ExecContext(ctx, q, args...))
		if err != nil {
			return n, fmt.Errorf("delete snapshots of run %s: %w", runID, err)
		}
		n += k
		if s.d.deleteChunk == 0 || k < int64(s.d.deleteChunk) {
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
