package engine

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/barrage/barrage/internal/scenario"
)

// feed hands out one feeder's records to the VUs of a shard.
type feed struct {
	plan *scenario.PlanFeeder
	recs [][]string
	next atomic.Uint64
}

// newFeed takes this shard's records: all of them, or with partition its own
// disjoint, contiguous slice.
func newFeed(pf *scenario.PlanFeeder, shard, shards int) (*feed, error) {
	recs := pf.Records
	if pf.Partition && shards > 1 {
		lo, hi := len(recs)*shard/shards, len(recs)*(shard+1)/shards
		recs = recs[lo:hi]
		if len(recs) == 0 {
			return nil, fmt.Errorf("feeder %s: %d records cannot be partitioned over %d shards", pf.Name, len(pf.Records), shards)
		}
	}
	return &feed{plan: pf, recs: recs}, nil
}

// take returns a record, or false when a sequential feeder is exhausted.
func (f *feed) take(r *rand.Rand) ([]string, bool) {
	switch f.plan.Mode {
	case scenario.ModeRandom:
		return f.recs[r.IntN(len(f.recs))], true
	case scenario.ModeSequential:
		i := f.next.Add(1) - 1
		if i >= uint64(len(f.recs)) {
			return nil, false
		}
		return f.recs[i], true
	default:
		return f.recs[(f.next.Add(1)-1)%uint64(len(f.recs))], true
	}
}

// fill copies a record into the VU's variable slots.
func (f *feed) fill(vars []string, rec []string) {
	for i, slot := range f.plan.Slots {
		vars[slot] = rec[i]
	}
}
