package service

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/barrage/barrage/internal/wire"
)

// TestShardStartsGatherABurst: a burst of starts of one run goes out as a
// few signals that carry every start exactly once; another run's starts
// go to its own workflow; a failed signal fails each request it carried.
func TestShardStartsGatherABurst(t *testing.T) {
	var (
		mu      sync.Mutex
		signals = map[string][][]wire.ShardState{}
		failing = map[string]bool{"wf-bad": true}
	)
	ss := newShardStarts(func(_ context.Context, wf string, b []wire.ShardState) error {
		mu.Lock()
		defer mu.Unlock()
		signals[wf] = append(signals[wf], b)
		if failing[wf] {
			return errors.New("temporal unavailable")
		}
		return nil
	})
	const n = 1200
	var wg sync.WaitGroup
	errs := make([]error, n+3)
	for i := range n {
		wg.Go(func() {
			errs[i] = ss.relay(t.Context(), "run-a", "wf-a", wire.ShardState{Shard: i, Worker: "w"})
		})
	}
	for i := range 3 {
		wg.Go(func() {
			errs[n+i] = ss.relay(t.Context(), "run-b", "wf-bad", wire.ShardState{Shard: i, Worker: "w"})
		})
	}
	wg.Wait()
	seen := map[int]int{}
	for _, b := range signals["wf-a"] {
		if len(b) > shardBatchMax {
			t.Errorf("a signal of %d states", len(b))
		}
		for _, st := range b {
			seen[st.Shard]++
		}
	}
	if len(seen) != n {
		t.Fatalf("%d of %d starts were signalled", len(seen), n)
	}
	for shard, k := range seen {
		if k != 1 {
			t.Fatalf("shard %d signalled %d times", shard, k)
		}
	}
	if len(signals["wf-a"]) > 10 {
		t.Errorf("%d signals for a burst of %d starts", len(signals["wf-a"]), n)
	}
	for i, err := range errs {
		if (i >= n) != (err != nil) {
			t.Fatalf("request %d: error %v", i, err)
		}
	}
}
