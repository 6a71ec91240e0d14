package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/barrage/barrage/internal/scenario"
)

// runClaims stands in for the store: it hands out a run's record indexes
// in blocks, each once, and fails the first fail claims.
type runClaims struct {
	mu     sync.Mutex
	next   int
	total  int
	sizes  []int
	fail   int
	claims int
}

func (r *runClaims) claim(_ string, n int) (int, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.claims++
	if r.fail > 0 {
		r.fail--
		return 0, 0, errors.New("server unreachable")
	}
	r.sizes = append(r.sizes, n)
	lo := r.next
	r.next = min(r.total, r.next+n)
	return lo, r.next, nil
}

// TestSequentialFeedersClaimRecords: shards whose sequential feeder claims
// records for the run use each record once between them, in order within
// a block, until none is left; a claim that fails is tried again; blocks
// grow while they run out fast.
func TestSequentialFeedersClaimRecords(t *testing.T) {
	const total = 5000
	pf := &scenario.PlanFeeder{Name: "ids", Mode: scenario.ModeSequential, Partition: true}
	for i := range total {
		pf.Records = append(pf.Records, []string{fmt.Sprint(i)})
	}
	rc := &runClaims{total: total, fail: 2}
	var mu sync.Mutex
	var used []int
	var wg sync.WaitGroup
	for shard := range 3 {
		f, err := newFeed(pf, shard, 3, rc.claim, make(chan struct{}))
		if err != nil {
			t.Fatal(err)
		}
		for range 4 { // VUs
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(1, 2))
				for {
					rec, ok := f.take(r)
					if !ok {
						return
					}
					var i int
					fmt.Sscan(rec[0], &i)
					mu.Lock()
					used = append(used, i)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	slices.Sort(used)
	if len(used) != total || used[0] != 0 || used[total-1] != total-1 {
		t.Fatalf("%d records used, want each of %d once", len(used), total)
	}
	for i := 1; i < len(used); i++ {
		if used[i] == used[i-1] {
			t.Fatalf("record %d used twice", used[i])
		}
	}
	if slices.Max(rc.sizes) <= firstClaim {
		t.Errorf("blocks never grew: %v", rc.sizes)
	}
}
