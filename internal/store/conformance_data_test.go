package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testEvents(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	mustRun(t, s, "other", "sc", nil)

	_, err := s.AppendEvent(ctx, Event{RunID: "nope", Kind: "x"})
	wantErr(t, err, ErrNotFound, "append to unknown run")
	_, err = s.ListEvents(ctx, "nope")
	wantErr(t, err, ErrNotFound, "list unknown run")
	got, err := s.ListEvents(ctx, "r")
	mustNil(t, err, "list no events")
	if len(got) != 0 {
		t.Fatalf("new run has %d events", len(got))
	}

	var want []Event
	for i, kind := range []string{"worker_joined", "shard_started", "aborted"} {
		e := Event{RunID: "r", At: t0.Add(time.Duration(i) * time.Second), Kind: kind, Detail: "detail " + kind}
		if i == 1 {
			e.Data = []byte(`{"shard": 1}`)
		}
		seq, err := s.AppendEvent(ctx, e)
		mustNil(t, err, "append "+kind)
		if seq != int64(i+1) {
			t.Fatalf("append %s: seq %d, want %d", kind, seq, i+1)
		}
		e.Seq, e.At = seq, stored(e.At)
		want = append(want, e)
	}
	// Seqs count per run.
	seq, err := s.AppendEvent(ctx, Event{RunID: "other", Kind: "worker_lost"})
	mustNil(t, err, "append other")
	if seq != 1 {
		t.Fatalf("first event of another run has seq %d", seq)
	}
	got, err = s.ListEvents(ctx, "r")
	mustNil(t, err, "list")
	wantEqual(t, got, want, "events")
	other, err := s.ListEvents(ctx, "other")
	mustNil(t, err, "list other")
	if len(other) != 1 || other[0].At.IsZero() || time.Since(other[0].At) > time.Minute {
		t.Fatalf("event with zero At reads back as %+v, want At = now", other)
	}
}

func testEventsBatch(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	mustRun(t, s, "other", "sc", nil)
	seq, err := s.AppendEvent(ctx, Event{RunID: "r", Kind: "before"})
	mustNil(t, err, "append one")
	if seq != 1 {
		t.Fatalf("first seq %d", seq)
	}
	batch := []Event{
		{RunID: "r", At: t0, Kind: "a"},
		{RunID: "other", At: t0, Kind: "b"},
		{RunID: "r", At: t0.Add(time.Second), Kind: "c", Detail: "third", Data: []byte(`{"n":3}`)},
	}
	seqs, err := s.AppendEvents(ctx, batch)
	mustNil(t, err, "append batch")
	wantEqual(t, seqs, []int64{2, 1, 3}, "seqs of the batch")
	got, err := s.ListEvents(ctx, "r")
	mustNil(t, err, "list")
	if len(got) != 3 || got[1].Kind != "a" || got[2].Kind != "c" || got[2].Detail != "third" || string(got[2].Data) != `{"n":3}` || got[1].Data != nil || !got[2].At.Equal(stored(t0.Add(time.Second))) {
		t.Fatalf("events after the batch: %+v", got)
	}
	// A batch naming an unknown run stores nothing.
	_, err = s.AppendEvents(ctx, []Event{{RunID: "r", Kind: "lost"}, {RunID: "nope", Kind: "x"}})
	wantErr(t, err, ErrNotFound, "batch naming an unknown run")
	got, err = s.ListEvents(ctx, "r")
	mustNil(t, err, "list after the failed batch")
	if len(got) != 3 {
		t.Fatalf("a failed batch stored part of itself: %+v", got)
	}
	seq, err = s.AppendEvent(ctx, Event{RunID: "r", Kind: "after"})
	mustNil(t, err, "append after the failed batch")
	if seq != 4 {
		t.Fatalf("seq after a failed batch: %d, want 4", seq)
	}
	seqs, err = s.AppendEvents(ctx, nil)
	mustNil(t, err, "append empty batch")
	if len(seqs) != 0 {
		t.Fatalf("empty batch: %v", seqs)
	}
}

func testEventsConcurrent(t *testing.T, s Store) {
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	const goroutines, each = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs []int64
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				seq, err := s.AppendEvent(t.Context(), Event{RunID: "r", Kind: "k", Detail: fmt.Sprint(g, i)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs = append(seqs, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	events, err := s.ListEvents(t.Context(), "r")
	mustNil(t, err, "list")
	if len(seqs) != goroutines*each || len(events) != goroutines*each {
		t.Fatalf("%d seqs returned, %d events stored, want %d", len(seqs), len(events), goroutines*each)
	}
	for i := range seqs {
		if seqs[i] != int64(i+1) || events[i].Seq != int64(i+1) {
			t.Fatalf("position %d: returned seq %d, stored seq %d, want %d", i, seqs[i], events[i].Seq, i+1)
		}
	}
}

func testSnapshotIdempotent(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	data := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1, 2, 3}).Read(data)
	first := Snapshot{RunID: "r", Shard: 2, Attempt: 1, Seq: 7, Interval: 3, Worker: "w1", Data: data, ReceivedAt: t0}
	sn := first
	ok, err := s.PutSnapshot(ctx, &sn)
	mustNil(t, err, "put")
	if !ok {
		t.Fatal("first put: inserted = false")
	}
	want := first
	want.ReceivedAt = stored(t0)

	// A replay, identical or not, is refused and changes nothing.
	for _, replay := range []Snapshot{
		first,
		{RunID: "r", Shard: 2, Attempt: 1, Seq: 7, Interval: 9, Worker: "w2", Data: []byte("other"), ReceivedAt: t0.Add(time.Hour)},
	} {
		ok, err := s.PutSnapshot(ctx, &replay)
		mustNil(t, err, "replay")
		if ok {
			t.Fatal("replay: inserted = true")
		}
	}
	got, err := s.ListSnapshots(ctx, "r", -1)
	mustNil(t, err, "list")
	wantEqual(t, got, []Snapshot{want}, "snapshots after replays")

	// Each part of the key makes a new snapshot.
	for i, key := range []Snapshot{
		{RunID: "r", Shard: 3, Attempt: 1, Seq: 7},
		{RunID: "r", Shard: 2, Attempt: 2, Seq: 7},
		{RunID: "r", Shard: 2, Attempt: 1, Seq: 8},
	} {
		ok, err := s.PutSnapshot(ctx, &key)
		mustNil(t, err, fmt.Sprint("put key ", i))
		if !ok {
			t.Fatalf("key %d: inserted = false", i)
		}
	}
	_, err = s.PutSnapshot(ctx, &Snapshot{RunID: "nope", Data: []byte("x")})
	wantErr(t, err, ErrNotFound, "put to unknown run")

	// A batch: new keys, a replay of a stored one, a key twice.
	batch := []Snapshot{
		{RunID: "r", Shard: 5, Attempt: 1, Seq: 1, Interval: 4, Worker: "w5", Data: []byte("a")},
		first,
		{RunID: "r", Shard: 5, Attempt: 1, Seq: 2, Interval: 4, Worker: "w5", Data: []byte("b")},
		{RunID: "r", Shard: 5, Attempt: 1, Seq: 1, Interval: 9, Worker: "w6", Data: []byte("c")},
	}
	ins, err := s.PutSnapshots(ctx, batch)
	mustNil(t, err, "put batch")
	wantEqual(t, ins, []bool{true, false, true, false}, "inserted in the batch")
	got, err = s.ListSnapshots(ctx, "r", 4)
	mustNil(t, err, "list batch")
	if len(got) != 2 || string(got[0].Data) != "a" || string(got[1].Data) != "b" || got[0].ReceivedAt.IsZero() {
		t.Fatalf("batch stored %+v", got)
	}
	_, err = s.PutSnapshots(ctx, []Snapshot{{RunID: "r", Shard: 6, Seq: 1, Data: []byte("x")}, {RunID: "nope", Data: []byte("x")}})
	wantErr(t, err, ErrNotFound, "batch naming an unknown run")
	got, err = s.ListSnapshots(ctx, "r", 0)
	mustNil(t, err, "list after the failed batch")
	for _, sn := range got {
		if sn.Shard == 6 {
			t.Fatal("a failed batch stored part of itself")
		}
	}
	ins, err = s.PutSnapshots(ctx, nil)
	mustNil(t, err, "put empty batch")
	if len(ins) != 0 {
		t.Fatalf("empty batch: %v", ins)
	}

	// One shard's, every attempt, in attempt and seq order.
	got, err = s.ListShardSnapshots(ctx, "r", 2)
	mustNil(t, err, "list shard 2")
	keys := []string{}
	for _, sn := range got {
		keys = append(keys, fmt.Sprintf("%d/%d/%d", sn.Shard, sn.Attempt, sn.Seq))
	}
	wantEqual(t, keys, []string{"2/1/7", "2/1/8", "2/2/7"}, "shard 2's snapshots")
	got, err = s.ListShardSnapshots(ctx, "r", 42)
	mustNil(t, err, "list a shard without snapshots")
	if len(got) != 0 {
		t.Fatalf("shard 42: %+v", got)
	}
	_, err = s.ListShardSnapshots(ctx, "nope", 0)
	wantErr(t, err, ErrNotFound, "list a shard of an unknown run")
}

func testSnapshotList(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	mustRun(t, s, "empty", "sc", nil)
	keys := []struct {
		interval int64
		shard    int
		attempt  int
		seq      int64
	}{{1, 0, 0, 1}, {0, 1, 0, 0}, {1, 0, 1, 0}, {0, 0, 0, 0}, {1, 1, 0, 1}, {2, 0, 0, 2}}
	// Inserted out of order, listed by interval, shard, attempt, seq.
	for _, k := range []int{4, 0, 5, 2, 1, 3} {
		key := keys[k]
		sn := &Snapshot{RunID: "r", Shard: key.shard, Attempt: key.attempt, Seq: key.seq, Interval: key.interval,
			Worker: fmt.Sprint("w", key.shard), Data: []byte{byte(k)}, ReceivedAt: t0}
		_, err := s.PutSnapshot(ctx, sn)
		mustNil(t, err, "put")
	}
	order := func(ss []Snapshot) (out []string) {
		for _, sn := range ss {
			out = append(out, fmt.Sprintf("%d/%d/%d/%d", sn.Interval, sn.Shard, sn.Attempt, sn.Seq))
		}
		return out
	}
	for _, tc := range []struct {
		interval int64
		want     []string
	}{
		{-1, []string{"0/0/0/0", "0/1/0/0", "1/0/0/1", "1/0/1/0", "1/1/0/1", "2/0/0/2"}},
		{1, []string{"1/0/0/1", "1/0/1/0", "1/1/0/1"}},
		{7, nil},
	} {
		got, err := s.ListSnapshots(ctx, "r", tc.interval)
		mustNil(t, err, "list")
		wantEqual(t, order(got), tc.want, fmt.Sprint("interval ", tc.interval))
	}
	got, err := s.ListSnapshots(ctx, "empty", -1)
	mustNil(t, err, "list run without snapshots")
	if len(got) != 0 {
		t.Fatalf("run without snapshots lists %d", len(got))
	}
	_, err = s.ListSnapshots(ctx, "nope", -1)
	wantErr(t, err, ErrNotFound, "list unknown run")

	counts, err := s.CountSnapshots(ctx, "r")
	mustNil(t, err, "count")
	wantEqual(t, counts, map[int64]int{0: 2, 1: 3, 2: 1}, "snapshots per interval")
	counts, err = s.CountSnapshots(ctx, "empty")
	mustNil(t, err, "count run without snapshots")
	if len(counts) != 0 {
		t.Fatalf("run without snapshots counts %v", counts)
	}
	_, err = s.CountSnapshots(ctx, "nope")
	wantErr(t, err, ErrNotFound, "count unknown run")
}

// testSnapshotConcurrent has 8 goroutines put 200 snapshots each over 800
// keys, every key put by two of them: exactly 800 inserts must win.
func testSnapshotConcurrent(t *testing.T, s Store) {
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	const goroutines, each, keys = 8, 200, 800
	var (
		wg       sync.WaitGroup
		inserted atomic.Int64
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				k := (g*each/2 + i) % keys
				sn := &Snapshot{RunID: "r", Shard: k % 8, Attempt: k % 3, Seq: int64(k), Interval: int64(k / 10),
					Worker: fmt.Sprint("w", g), Data: bytes.Repeat([]byte{byte(k)}, 512)}
				ok, err := s.PutSnapshot(t.Context(), sn)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					inserted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	got, err := s.ListSnapshots(t.Context(), "r", -1)
	mustNil(t, err, "list")
	if inserted.Load() != keys || len(got) != keys {
		t.Fatalf("inserted = %d, stored = %d, want %d", inserted.Load(), len(got), keys)
	}
}

func testIntervals(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	got, err := s.ListIntervals(ctx, "r", -1, 0)
	mustNil(t, err, "list none")
	if len(got) != 0 {
		t.Fatalf("new run lists %d intervals", len(got))
	}
	iv := func(idx int64, snapshots int, data string) *Interval {
		return &Interval{RunID: "r", Index: idx, Start: t0.Add(time.Duration(idx) * time.Second),
			End: t0.Add(time.Duration(idx+1) * time.Second), Workers: 2, Snapshots: snapshots,
			Data: []byte(data), Summary: []byte(`{"requests":` + fmt.Sprint(snapshots) + `}`), FoldedAt: t0.Add(time.Minute)}
	}
	want := map[int64]Interval{}
	put := func(v *Interval, keep bool) {
		t.Helper()
		mustNil(t, s.PutInterval(ctx, v), fmt.Sprint("put ", v.Index))
		if keep {
			// PutInterval rounds v's times as stored: v is what a read
			// returns, with its count of folds.
			v.Revision = want[v.Index].Revision + 1
			want[v.Index] = *v
		}
	}
	put(iv(2, 3, "two"), true)
	put(iv(0, 3, "zero"), true)
	put(iv(1, 3, "one"), true)
	put(iv(1, 5, "one, refolded"), true)   // more snapshots: replaces
	put(iv(1, 4, "one, stale"), false)     // fewer: ignored
	put(iv(1, 5, "one, same count"), true) // as many: replaces, not a revision
	want[1] = func(v Interval) Interval { v.Revision--; return v }(want[1])
	zero := &Interval{RunID: "r", Index: 3, Snapshots: 1, Data: binary()}
	put(zero, true) // zero Start/End stay zero; FoldedAt defaults to now
	if zero.FoldedAt.IsZero() {
		t.Fatal("PutInterval left a zero FoldedAt")
	}

	for _, tc := range []struct {
		after int64
		want  []int64
		limit int
	}{{-1, []int64{0, 1, 2, 3}, 0}, {0, []int64{1, 2, 3}, 0}, {2, []int64{3}, 0}, {3, nil, 0},
		{-1, []int64{0, 1}, 2}, {1, []int64{2, 3}, 5}, {0, []int64{1}, 1}} {
		got, err := s.ListIntervals(ctx, "r", tc.after, tc.limit)
		mustNil(t, err, fmt.Sprint("list after ", tc.after))
		var wantIvs []Interval
		for _, i := range tc.want {
			wantIvs = append(wantIvs, want[i])
		}
		if len(got) == 0 && len(wantIvs) == 0 {
			continue
		}
		wantEqual(t, got, wantIvs, fmt.Sprint("intervals after ", tc.after))
	}
	if want[1].Revision != 2 || want[2].Revision != 1 {
		t.Fatalf("revisions %d, %d: the test's bookkeeping is off", want[1].Revision, want[2].Revision)
	}
	// What a live view lacks: new intervals, and those folded since (only
	// those folded again with more snapshots, when revisedOnly). Interval 3
	// was folded now, the others at t0+1m.
	for _, tc := range []struct {
		after   int64
		since   time.Time
		revised bool
		limit   int
		want    []int64
	}{{3, t0, true, 0, []int64{1}}, {3, t0.Add(time.Minute), true, 0, nil}, {2, t0, true, 0, []int64{1, 3}},
		{0, t0, true, 0, []int64{1, 2, 3}}, {-1, t0, true, 0, []int64{0, 1, 2, 3}}, {2, t0, true, 1, []int64{1}},
		{0, t0.Add(time.Hour), true, 0, []int64{1, 2, 3}},
		{3, t0, false, 0, []int64{0, 1, 2, 3}}, {3, t0.Add(time.Minute), false, 0, []int64{3}}, {2, t0.Add(time.Hour), false, 0, []int64{3}}} {
		got, err := s.ListIntervalsChanged(ctx, "r", tc.after, tc.since, tc.revised, tc.limit)
		mustNil(t, err, fmt.Sprint("changed after ", tc.after))
		var wantIvs []Interval
		for _, i := range tc.want {
			wantIvs = append(wantIvs, want[i])
		}
		if len(got) == 0 && len(wantIvs) == 0 {
			continue
		}
		wantEqual(t, got, wantIvs, fmt.Sprintf("intervals after %d or folded after %s (revised only: %v)", tc.after, tc.since, tc.revised))
	}
	// Heads: every interval folded after since, without data.
	for _, tc := range []struct {
		since time.Time
		want  []int64
	}{{time.Time{}, []int64{0, 1, 2, 3}}, {t0, []int64{0, 1, 2, 3}}, {t0.Add(time.Minute), []int64{3}}, {time.Now().Add(time.Hour), nil}} {
		got, err := s.ListIntervalHeads(ctx, "r", tc.since)
		mustNil(t, err, fmt.Sprint("heads since ", tc.since))
		var wantHeads []IntervalHead
		for _, i := range tc.want {
			wantHeads = append(wantHeads, IntervalHead{Index: i, Snapshots: want[i].Snapshots, FoldedAt: want[i].FoldedAt})
		}
		if len(got) == 0 && len(wantHeads) == 0 {
			continue
		}
		wantEqual(t, got, wantHeads, fmt.Sprint("interval heads since ", tc.since))
	}
	_, err = s.ListIntervalHeads(ctx, "nope", time.Time{})
	wantErr(t, err, ErrNotFound, "heads of unknown run")
	wantErr(t, s.PutInterval(ctx, &Interval{RunID: "nope"}), ErrNotFound, "put to unknown run")
	_, err = s.ListIntervals(ctx, "nope", -1, 0)
	wantErr(t, err, ErrNotFound, "list unknown run")
	_, err = s.ListIntervalsChanged(ctx, "nope", -1, t0, true, 0)
	wantErr(t, err, ErrNotFound, "list changes of unknown run")
}

func testControls(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	_, err := s.GetControl(ctx, "r")
	wantErr(t, err, ErrNotFound, "get before put")
	for _, tc := range []struct {
		version int
		doc     string
		want    string
	}{
		{1, `{"Version":1}`, `{"Version":1}`},
		{3, `{"Version":3}`, `{"Version":3}`},
		{2, `{"Version":2}`, `{"Version":3}`},                       // older: kept the newer
		{3, `{"Version":3, "retry":1}`, `{"Version":3, "retry":1}`}, // same: replaced
	} {
		mustNil(t, s.PutControl(ctx, "r", tc.version, []byte(tc.doc)), fmt.Sprint("put version ", tc.version))
		got, err := s.GetControl(ctx, "r")
		mustNil(t, err, "get")
		if string(got) != tc.want {
			t.Fatalf("after putting version %d: control = %s, want %s", tc.version, got, tc.want)
		}
	}
	wantErr(t, s.PutControl(ctx, "nope", 1, []byte("{}")), ErrNotFound, "put for unknown run")
	_, err = s.GetControl(ctx, "nope")
	wantErr(t, err, ErrNotFound, "get for unknown run")
}

func testReports(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	_, err := s.GetReport(ctx, "r")
	wantErr(t, err, ErrNotFound, "get before put")
	for _, body := range [][]byte{[]byte("{\"total\": 1,\n \"a\": 2}"), binary()} {
		mustNil(t, s.PutReport(ctx, "r", body), "put")
		got, err := s.GetReport(ctx, "r")
		mustNil(t, err, "get")
		if !bytes.Equal(got, body) {
			t.Fatalf("report = %q, want %q", got, body)
		}
	}
	wantErr(t, s.PutReport(ctx, "nope", []byte("{}")), ErrNotFound, "put for unknown run")
	_, err = s.GetReport(ctx, "nope")
	wantErr(t, err, ErrNotFound, "get for unknown run")
}

func testWorkers(t *testing.T, s Store) {
	ctx := t.Context()
	got, err := s.ListWorkers(ctx, time.Time{})
	mustNil(t, err, "list none")
	if len(got) != 0 {
		t.Fatalf("empty store lists %d workers", len(got))
	}
	w1 := Worker{ID: "w1", MaxVUs: 100, MaxRPS: 5000, Host: "host-1", LastSeen: t0}
	w2 := Worker{ID: "w2", MaxVUs: 50, Host: "host-2", LastSeen: t0.Add(10 * time.Second), RunID: "r", Shard: 3}
	for _, w := range []Worker{w2, w1} {
		mustNil(t, s.UpsertWorker(ctx, &w), "upsert "+w.ID)
	}
	w1.LastSeen, w2.LastSeen = stored(w1.LastSeen), stored(w2.LastSeen)
	for _, tc := range []struct {
		name  string
		since time.Time
		want  []Worker
	}{
		{"all", time.Time{}, []Worker{w1, w2}},
		{"at w1", t0, []Worker{w1, w2}},
		{"after w1", t0.Add(5 * time.Second), []Worker{w2}},
		{"after both", t0.Add(time.Minute), nil},
	} {
		got, err := s.ListWorkers(ctx, tc.since)
		mustNil(t, err, tc.name)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		wantEqual(t, got, tc.want, tc.name)
	}

	// An announcement replaces every field.
	w1 = Worker{ID: "w1", MaxVUs: 200, MaxRPS: 1, Host: "host-1b", LastSeen: t0.Add(20 * time.Second), RunID: "r2", Shard: 1}
	mustNil(t, s.UpsertWorker(ctx, &w1), "upsert w1 again")
	got, err = s.ListWorkers(ctx, t0.Add(5*time.Second))
	mustNil(t, err, "list after update")
	wantEqual(t, got, []Worker{w1, w2}, "workers after update")

	w3 := Worker{ID: "w3"}
	mustNil(t, s.UpsertWorker(ctx, &w3), "upsert w3 with zero LastSeen")
	if time.Since(w3.LastSeen) > time.Minute {
		t.Fatalf("zero LastSeen became %v, want now", w3.LastSeen)
	}
	if err := s.UpsertWorker(ctx, &Worker{}); err == nil {
		t.Fatal("upsert worker with empty id: no error")
	}
}

// testCompaction: runs that ended before the cut-off, have their report and
// still have snapshots are listed, earliest first; deleting a run's
// snapshots leaves its intervals and every other run's snapshots.
func testCompaction(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	snap := func(run string, seq int64) {
		t.Helper()
		_, err := s.PutSnapshot(ctx, &Snapshot{RunID: run, Shard: 0, Seq: seq, Data: []byte("x")})
		mustNil(t, err, "put snapshot of "+run)
	}
	for i, id := range []string{"old", "older", "fresh", "unreported", "empty", "running"} {
		mustRun(t, s, id, "sc", nil)
		if id != "empty" {
			snap(id, 1)
			snap(id, 2)
		}
		if id != "unreported" {
			mustNil(t, s.PutReport(ctx, id, []byte("{}")), "report of "+id)
		}
		ended := t0.Add(time.Duration(i) * time.Hour)
		switch id {
		case "older":
			ended = t0.Add(-time.Hour)
		case "fresh":
			ended = t0.Add(48 * time.Hour)
		}
		if id != "running" {
			mustNil(t, s.FinishRun(ctx, id, StatusCompleted, "", ended), "finish "+id)
		}
	}
	mustNil(t, s.PutInterval(ctx, &Interval{RunID: "old", Index: 0, Snapshots: 2, Data: []byte("folded")}), "interval")
	cut := t0.Add(24 * time.Hour)
	got, err := s.CompactableRuns(ctx, cut, 0)
	mustNil(t, err, "compactable")
	wantEqual(t, got, []string{"older", "old"}, "compactable runs")
	got, err = s.CompactableRuns(ctx, cut, 1)
	mustNil(t, err, "compactable, limit 1")
	wantEqual(t, got, []string{"older"}, "compactable runs, limit 1")

	n, err := s.DeleteSnapshots(ctx, "old")
	mustNil(t, err, "delete")
	if n != 2 {
		t.Fatalf("deleted %d snapshots, want 2", n)
	}
	left, err := s.ListSnapshots(ctx, "old", -1)
	mustNil(t, err, "list deleted")
	ivs, err := s.ListIntervals(ctx, "old", -1, 0)
	mustNil(t, err, "intervals after delete")
	if len(left) != 0 || len(ivs) != 1 {
		t.Fatalf("after delete: %d snapshots, %d intervals", len(left), len(ivs))
	}
	others, err := s.ListSnapshots(ctx, "fresh", -1)
	mustNil(t, err, "list other run")
	if len(others) != 2 {
		t.Fatalf("another run lost snapshots: %d left", len(others))
	}
	got, err = s.CompactableRuns(ctx, cut, 0)
	mustNil(t, err, "compactable after delete")
	wantEqual(t, got, []string{"older"}, "compactable runs after delete")
	n, err = s.DeleteSnapshots(ctx, "old")
	mustNil(t, err, "delete again")
	if n != 0 {
		t.Fatalf("second delete removed %d", n)
	}
	_, err = s.DeleteSnapshots(ctx, "nope")
	wantErr(t, err, ErrNotFound, "delete snapshots of unknown run")
}
