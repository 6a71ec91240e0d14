package store

import (
	"fmt"
	"testing"
)

// testIterationsLedger: a run's shared iterations are claimed as the
// records of the feeder "$iterations". A shard is told none is left only
// when every iteration was handed out — the last one of another shard's
// range included — and a lost shard's unclaimed rest goes to the next.
func testIterationsLedger(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	claim := func(shard, n int) string { return span(claimIterations(t, s, "r", 9, shard, n)) }
	for i, step := range []struct {
		shard, n int
		want     string
	}{
		{shard: 0, n: 4, want: "[0,4)"}, // shards 0, 1 split [0,4), [4,9)
		{shard: 1, n: 4, want: "[4,8)"},
		{shard: 0, n: 4, want: "[8,9)"}, // the last of shard 1's range, whole
		{shard: 1, n: 4, want: "none"},  // none left anywhere
		{shard: 0, n: 1, want: "none"},
	} {
		if got := claim(step.shard, step.n); got != step.want {
			t.Fatalf("step %d: shard %d claims %d: %s, want %s", i, step.shard, step.n, got, step.want)
		}
	}

	// Another run: shard 1 is lost before it claimed; its range is
	// released whole and a replacement (shard 2) does it.
	mustRun(t, s, "r2", "sc", nil)
	claim2 := func(shard, n int) string { return span(claimIterations(t, s, "r2", 6, shard, n)) }
	if got := claim2(0, 2); got != "[0,2)" {
		t.Fatalf("shard 0 claims %s, want [0,2)", got)
	}
	mustNil(t, s.ReleaseRecords(ctx, "r2", "$iterations", 1, 2, 6), "release shard 1")
	for _, step := range []struct {
		shard, n int
		want     string
	}{
		{2, 10, "[3,6)"}, // the replacement takes the lost shard's rest
		{0, 10, "[2,3)"},
		{0, 10, "none"},
		{2, 10, "none"},
	} {
		if got := claim2(step.shard, step.n); got != step.want {
			t.Fatalf("shard %d claims %d: %s, want %s", step.shard, step.n, got, step.want)
		}
	}

	// A third run: shard 1 is lost after it was granted 4 iterations of
	// which its snapshots count 1 done. Its unclaimed one and the 3 not
	// done go to its replacement: 10 done in all, none twice.
	mustRun(t, s, "r3", "sc", nil)
	claim3 := func(shard, n int) string {
		lo, hi := claimIterations(t, s, "r3", 10, shard, n)
		return fmt.Sprint(hi - lo)
	}
	if got := claim3(1, 4); got != "4" {
		t.Fatalf("shard 1 claims 4: got %s", got)
	}
	mustNil(t, s.ReleaseIterations(ctx, "r3", 1, 2, 10, 1), "release shard 1")
	mustNil(t, s.ReleaseIterations(ctx, "r3", 1, 2, 10, 0), "release shard 1 again")
	for _, step := range []struct {
		shard, n int
		want     string
	}{
		{0, 10, "5"},
		{2, 10, "4"}, // its unclaimed one and the 3 it did not do
		{2, 10, "0"},
		{0, 10, "0"},
		{1, 10, "0"}, // released: alive after all, it gets nothing
	} {
		if got := claim3(step.shard, step.n); got != step.want {
			t.Fatalf("shard %d claims %d: %s, want %s", step.shard, step.n, got, step.want)
		}
	}
	rows, err := s.FeedRows(ctx, "r3", "$iterations")
	mustNil(t, err, "feed rows")
	granted := map[int]int{}
	for _, r := range rows {
		granted[r.Shard] = r.Granted
	}
	if granted[0] != 5 || granted[1] != 4 || granted[2] != 4 {
		t.Errorf("granted per shard %v, want 0:5 1:4 2:4", granted)
	}
	// Records are not iterations: a lost shard's claimed records are
	// never handed out again.
	mustRun(t, s, "r4", "sc", nil)
	if _, _, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r4", Feeder: "users", Shard: 1, Shards: 2, Total: 10, N: 4}); err != nil {
		t.Fatal(err)
	}
	mustNil(t, s.ReleaseRecords(ctx, "r4", "users", 1, 2, 10), "release shard 1's records")
	lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r4", Feeder: "users", Shard: 2, Shards: 2, Total: 10, N: 10})
	mustNil(t, err, "claim records")
	if lo != 9 || hi != 10 {
		t.Errorf("the replacement gets [%d,%d) of the records, want [9,10)", lo, hi)
	}
	if err := s.ReleaseIterations(ctx, "nope", 1, 2, 10, 0); err == nil {
		t.Error("releasing the iterations of a run that does not exist: no error")
	}
}

// claimIterations claims n of run's total shared iterations (over 2 first
// shards) for shard.
func claimIterations(t *testing.T, s Store, run string, total, shard, n int) (lo, hi int) {
	t.Helper()
	lo, hi, err := s.ClaimRecords(t.Context(), RecordClaim{RunID: run, Feeder: "$iterations", Shard: shard, Shards: 2, Total: total, N: n})
	mustNil(t, err, fmt.Sprintf("claim %d for shard %d", n, shard))
	return lo, hi
}

// span is a claimed range as "[lo,hi)", or "none".
func span(lo, hi int) string {
	if lo == hi {
		return "none"
	}
	return fmt.Sprintf("[%d,%d)", lo, hi)
}
