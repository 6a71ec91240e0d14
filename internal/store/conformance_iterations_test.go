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
	claim := func(shard, n int) string {
		t.Helper()
		lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r", Feeder: "$iterations", Shard: shard, Shards: 2, Total: 9, N: n})
		mustNil(t, err, fmt.Sprintf("claim %d for shard %d", n, shard))
		if lo == hi {
			return "none"
		}
		return fmt.Sprintf("[%d,%d)", lo, hi)
	}
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
	claim2 := func(shard, n int) string {
		t.Helper()
		lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r2", Feeder: "$iterations", Shard: shard, Shards: 2, Total: 6, N: n})
		mustNil(t, err, fmt.Sprintf("claim %d for shard %d", n, shard))
		if lo == hi {
			return "none"
		}
		return fmt.Sprintf("[%d,%d)", lo, hi)
	}
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
}
