package engine

import (
	"errors"
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
func newFeed(pf *scenario.PlanFeeder, shard, shards int, claim func(string, int) (int, int, error), stop <-chan struct{}) (*feed, error) {
	recs := pf.Records
	if pf.Mode == scenario.ModeSequential && claim != nil {
		return &feed{plan: pf, recs: recs, claimed: &claims{claim: claim, name: pf.Name, size: firstClaim, stop: stop}}, nil
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
	// A claim the server does not answer is tried again, waiting longer
	// each time up to claimPauseMax, until it is answered or the shard
	// stops: a server restarting does not end the run's load.
	claimPause    = 100 * time.Millisecond
	claimPauseMax = 2 * time.Second
)

// ClaimRefused is returned by a Claim function when the server refused the
// claim for good (the run or the feeder is unknown to it): the feeder then
// counts as dry, with the reason.
type ClaimRefused struct{ Err error }

func (e *ClaimRefused) Error() string { return e.Err.Error() }
func (e *ClaimRefused) Unwrap() error { return e.Err }

type claims struct {
	claim func(string, int) (int, int, error)
	// limit, when set, bounds what one claim asks for (at least one).
	limit   func() int
	name    string
	stop    <-chan struct{} // closed when the shard stops starting iterations
	mu      sync.Mutex
	lo, hi  int // the current block: next record lo, up to hi
	size    int
	claimed time.Time
	dry     bool
	why     string // why it is dry, when not for want of records
}

// take returns the index of the next record, or false when none is left
// (or the shard is stopping).
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

// takeBeyond takes the next index of the held block if the block holds
// more than keep (without claiming more); false when it does not.
func (c *claims) takeBeyond(keep int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hi-c.lo <= keep {
		return false
	}
	c.lo++
	return true
}

// refused reports whether the server refused to hand out more for good.
func (c *claims) refused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why != ""
}

// reason says why the feeder has no record for the shard.
func (c *claims) reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why != "" {
		return c.why
	}
	return fmt.Sprintf("feeder %s exhausted", c.name)
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
	n := c.size
	if c.limit != nil {
		n = max(min(n, c.limit()), 1)
	}
	pause := claimPause
	for {
		lo, hi, err := c.claim(c.name, n)
		var refused *ClaimRefused
		switch {
		case err == nil:
			c.lo, c.hi, c.claimed = lo, hi, time.Now()
			c.dry = lo >= hi
			return
		case errors.As(err, &refused):
			c.dry, c.why = true, fmt.Sprintf("feeder %s: the server refused to hand out records: %v", c.name, err)
			return
		}
		select {
		case <-c.stop:
			return // stopping: no record, not dry
		case <-time.After(pause):
		}
		pause = min(2*pause, claimPauseMax)
	}
}
