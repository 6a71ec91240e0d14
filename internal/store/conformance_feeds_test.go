package store

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// testFeederRecords walks a sequential feeder of 10 records over three
// first shards, a shard whose share runs dry, a lost shard and a newcomer.
func testFeederRecords(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	claim := func(shard, n int) string {
		t.Helper()
		lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r", Feeder: "users", Shard: shard, Shards: 3, Total: 10, N: n})
		mustNil(t, err, fmt.Sprintf("claim %d for shard %d", n, shard))
		return fmt.Sprintf("[%d,%d)", lo, hi)
	}
	for _, step := range []struct {
		shard, n int
		want     string
	}{
		{0, 2, "[0,2)"}, // shards 0, 1, 2 split [0,3), [3,6), [6,10)
		{1, 5, "[3,6)"},
		{1, 5, "[8,10)"}, // dry: the upper half of shard 2's [6,10)
		{2, 5, "[6,8)"},
	} {
		if got := claim(step.shard, step.n); got != step.want {
			t.Fatalf("shard %d claims %d: %s, want %s", step.shard, step.n, got, step.want)
		}
	}
	// Shard 0 is lost with [2,3) unclaimed: the next shard without records
	// takes that, and then nothing is left anywhere.
	mustNil(t, s.ReleaseRecords(ctx, "r", "users", 0, 3, 10), "release shard 0")
	mustNil(t, s.ReleaseRecords(ctx, "r", "users", 0, 3, 10), "release shard 0 again")
	// Shard 0 alive after all (cut off, say) gets nothing more: its rest
	// is for the shards that come next.
	if got := claim(0, 4); got != "[0,0)" {
		t.Fatalf("a released shard claims %s, want nothing", got)
	}
	if got := claim(3, 4); got != "[2,3)" {
		t.Fatalf("a replacement claims %s, want the lost shard's [2,3)", got)
	}
	for _, shard := range []int{3, 2, 1, 4} {
		lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r", Feeder: "users", Shard: shard, Shards: 3, Total: 10, N: 4})
		if err != nil || lo != hi {
			t.Fatalf("shard %d claims [%d,%d) %v after every record was handed out", shard, lo, hi, err)
		}
	}
	rows, err := s.FeedRows(ctx, "r", "users")
	mustNil(t, err, "rows")
	if len(rows) == 0 || rows[0].Shard != -1 {
		t.Fatalf("rows %+v: want the released rest first", rows)
	}
	// Another feeder of the same run is separate; a run that does not exist is refused.
	if lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r", Feeder: "coupons", Shard: 1, Shards: 2, Total: 4, N: 9}); err != nil || lo != 2 || hi != 4 {
		t.Fatalf("another feeder: [%d,%d) %v, want [2,4)", lo, hi, err)
	}
	_, _, err = s.ClaimRecords(ctx, RecordClaim{RunID: "nope", Feeder: "users", Shard: 0, Shards: 1, Total: 3, N: 1})
	wantErr(t, err, ErrNotFound, "claim on an unknown run")
	if _, _, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r", Feeder: "users", Shard: -1, Shards: 1, Total: 3, N: 1}); err == nil {
		t.Fatal("a claim for shard -1 was accepted")
	}
}

// testFeederRecordsConcurrent: shards claiming at once, some lost on the
// way, hand out every record exactly once.
func testFeederRecordsConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)
	const total, shards = 3000, 4
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for shard := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if shard%3 == 1 && n == 5 {
					// Lost: its claimed records are gone, its rest released.
					if err := s.ReleaseRecords(ctx, "r", "ids", shard, shards, total); err != nil {
						t.Error(err)
					}
					return
				}
				lo, hi, err := s.ClaimRecords(ctx, RecordClaim{RunID: "r", Feeder: "ids", Shard: shard, Shards: shards, Total: total, N: 7 + shard})
				if err != nil {
					t.Error(err)
					return
				}
				if lo == hi {
					return
				}
				mu.Lock()
				for i := lo; i < hi; i++ {
					got = append(got, i)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("record %d handed out twice", got[i])
		}
	}
	if len(got) == 0 || got[len(got)-1] >= total || len(got) > total {
		t.Fatalf("%d records handed out, last %v", len(got), got[len(got)-1:])
	}
	// Lost shards' claimed-but-unused blocks are the only ones missing.
	if missing := total - len(got); missing > 2*(7+8) {
		t.Fatalf("%d records never handed out, more than the lost shards held", missing)
	}
}
