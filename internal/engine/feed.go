package engine

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/internal/scenario"
)

// feed hands out one feeder's records to the VUs of a shard.
type feed struct {
	plan *scenario.PlanFeeder
	recs [][]string
	next atomic.Uint64
	// claimed hands out a sequential feeder's records claimed for the run
	// (nil: recs are this shard's).
	claimed *claims
}

// newFeed takes this shard's records: all of them, or with partition its own
// disjoint, contiguous slice; a sequential feeder with claim takes them as
// it goes, in blocks claimed for the whole run.
func newFeed(pf *scenario.PlanFeeder, shard, shards int, claim func(string, int) (int, int, error)) (*feed, error) {
	recs := pf.Records
	if pf.Mode == scenario.ModeSequential && claim != nil {
		return &feed{plan: pf, recs: recs, claimed: &claims{claim: claim, name: pf.Name, size: firstClaim}}, nil
	}
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
		if f.claimed != nil {
			i, ok := f.claimed.take()
			if !ok || i >= len(f.recs) {
				return nil, false
			}
			return f.recs[i], true
		}
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

// Claiming records. A shard claims a block of records before it uses them;
// the block grows while blocks last less than claimFast and shrinks when
// they last more than claimSlow, so that a busy shard claims a few times a
// second and a slow one does not hold many records it may never use (a lost
// shard's claimed, unused records are skipped, never used twice).
const (
	firstClaim = 8
	maxClaim   = 4096
	claimFast  = 250 * time.Millisecond
	claimSlow  = 2 * time.Second
	// claimTries bounds how long a VU waits for a claim the server does not
	// answer (about claimTries × claimPause) before the feeder counts as dry.
	claimTries = 40
	claimPause = 250 * time.Millisecond
)

type claims struct {
	claim    func(string, int) (int, int, error)
	name     string
	mu       sync.Mutex
	lo, hi   int // the current block: next record lo, up to hi
	size     int
	claimed  time.Time
	dry      bool
	lastErr  error
	attempts int
}

// take returns the index of the next record, or false when none is left.
func (c *claims) take() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lo >= c.hi && !c.dry {
		c.refill()
	}
	if c.lo >= c.hi {
		return 0, false
	}
	c.lo++
	return c.lo - 1, true
}

// refill claims the next block; c.mu is held, so VUs wait for it.
func (c *claims) refill() {
	if !c.claimed.IsZero() {
		switch d := time.Since(c.claimed); {
		case d < claimFast:
			c.size = min(2*c.size, maxClaim)
		case d > claimSlow:
			c.size = max(c.size/2, 1)
		}
	}
	for try := 0; try < claimTries; try++ {
		lo, hi, err := c.claim(c.name, c.size)
		c.attempts++
		if err == nil {
			c.lo, c.hi, c.claimed = lo, hi, time.Now()
			c.dry = lo >= hi
			return
		}
		c.lastErr = err
		time.Sleep(claimPause)
	}
	c.dry = true
}
