package api

import (
	"slices"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// TestLostShardGivesBackIterations: a lost shard's shared iterations that
// its stored snapshots do not count as done go back to the ledger with
// those it never claimed, so that the run still does exactly N.
func TestLostShardGivesBackIterations(t *testing.T) {
	s, _, claim, deliver := iterationsFixture(t)
	if got := claim(1, 30); got != 30 {
		t.Fatalf("shard 1 claims 30: got %d", got)
	}
	deliver(1, 12, 5, 0) // three snapshots counting 12 + 5 + 0 done
	for range 2 {        // told twice: nothing more
		if err := s.ShardLost("r", 1); err != nil {
			t.Fatal(err)
		}
	}
	// Its replacement gets the 20 it never claimed and the 13 it did not do.
	if got := claim(2, 1000); got != 33 {
		t.Errorf("the replacement claims %d, want 20 never claimed + 13 not done", got)
	}
	if got := claim(0, 1000); got != 50 {
		t.Errorf("shard 0 claims %d, want its 50", got)
	}
	for _, shard := range []int{0, 1, 2} {
		if got := claim(shard, 1000); got != 0 {
			t.Errorf("shard %d claims %d more, want none: 17 + 33 + 50 = 100", shard, got)
		}
	}
}

// TestFinishedShardGivesBackIterations: a shard that finished (its
// snapshots delivered) holding iterations it did not do gives them back
// for the shards still running.
func TestFinishedShardGivesBackIterations(t *testing.T) {
	s, st, claim, deliver := iterationsFixture(t)
	if got := claim(0, 50); got != 50 {
		t.Fatalf("shard 0 claims 50: got %d", got)
	}
	deliver(0, 40, 5)
	r, err := st.GetRun(t.Context(), "r")
	if err != nil {
		t.Fatal(err)
	}
	s.finishedIterations(r, 0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := st.FeedRows(t.Context(), "r", scenario.IterationsFeeder)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(rows, func(r store.FeedRow) bool { return r.Shard == -1 }); i >= 0 {
			if n := rows[i].Hi - rows[i].Next; n != 5 {
				t.Fatalf("shard 0 gave back %d, want the 5 it did not do", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard 0 gave nothing back: %+v", rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := claim(1, 1000); got != 50 {
		t.Errorf("shard 1 claims %d, want its 50", got)
	}
	if got := claim(1, 1000); got != 5 {
		t.Errorf("shard 1 claims %d more, want the 5 shard 0 gave back", got)
	}
}

// iterationsFixture is a server and store with run "r": 100 shared
// iterations over 2 shards. claim claims for a shard; deliver stores a
// shard's snapshots counting the iterations given as done.
func iterationsFixture(t *testing.T) (*Server, store.Store, func(shard, n int) int, func(shard int, done ...uint64)) {
	t.Helper()
	ctx := t.Context()
	s, st := runFixture(t, `{"name":"it","virtual_users":2,"iterations":100,"steps":[{"name":"a","url_template":"/"}]}`, 2)
	claim := func(shard, n int) int {
		t.Helper()
		lo, hi, err := st.ClaimRecords(ctx, store.RecordClaim{RunID: "r", Feeder: scenario.IterationsFeeder, Shard: shard, Shards: 2, Total: 100, N: n})
		if err != nil {
			t.Fatal(err)
		}
		return hi - lo
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	deliver := func(shard int, done ...uint64) {
		t.Helper()
		for seq, n := range done {
			sn := &hist.Snapshot{RunID: "r", Worker: "w", Shard: uint32(shard), Attempt: 1, Seq: uint64(seq + 1),
				Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second), Iterations: n,
				Steps: []hist.StepStats{{Latency: hist.NewHistogram()}}}
			b, err := sn.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.PutSnapshot(ctx, &store.Snapshot{RunID: "r", Shard: shard, Attempt: 1, Seq: int64(seq + 1), Interval: int64(seq), Worker: "w", Data: b}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, st, claim, deliver
}
