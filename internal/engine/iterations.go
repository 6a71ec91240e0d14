package engine

import (
	"sync"
	"sync/atomic"

	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
)

// ReasonIterationsDone is Summary.Reason when the shard's load ended
// because the plan's iterations were done: the run's shared iterations
// are all claimed (none is left for any shard), or every VU of this
// shard did its iterations_per_vu.
const ReasonIterationsDone = "iterations done"

// iterations hands out the plan's iterations to the shard's VUs: a VU
// takes one before it starts an iteration, and stops when there is none.
//
// Shared iterations (plan.Iterations) are claimed, with Config.Claim, from
// the run's ledger under scenario.IterationsFeeder, in the adaptive blocks
// sequential feeders use, and a shard only claims again when its block is
// used, so that a shard told "none left" holds none unstarted. A lost
// shard's iterations that its delivered snapshots do not count as done go
// back to the ledger, for the shards that ask next (its replacement, or
// one whose block ran out). Without Claim, the shard does its VUs' share
// of them.
//
// Per-VU iterations (plan.IterationsPerVU) are counted by each VU; the
// shard ends when every VU it runs has done its own.
type iterations struct {
	claimed *claims      // shared, from the run's ledger
	left    atomic.Int64 // shared without a ledger: this shard's part not started
	perVU   int
	started atomic.Int64 // iterations started by this shard

	mu   sync.Mutex
	done map[int]bool // per VU: the ids of the VUs that did theirs
}

// newIterations returns nil when the plan has no iterations.
func newIterations(p *scenario.Plan, cfg Config, split *profile.Splitter, stop <-chan struct{}) *iterations {
	switch {
	case p.IterationsPerVU > 0:
		return &iterations{perVU: p.IterationsPerVU, done: map[int]bool{}}
	case p.Iterations <= 0:
		return nil
	case cfg.Claim != nil:
		return &iterations{claimed: &claims{claim: cfg.Claim, name: scenario.IterationsFeeder, size: firstClaim, stop: stop}}
	}
	// This shard's part: its VUs' share of them, at the profile's peak.
	it := &iterations{}
	vus := p.Profile.TargetInt(0)
	for _, st := range p.Profile.Stages {
		vus = max(vus, int(st.Target+0.5))
	}
	if vus > 0 {
		before := 0
		for j := range cfg.Shard {
			before += split.Count(vus, j)
		}
		n, lo, hi := int64(p.Iterations), int64(before), int64(before+split.Count(vus, cfg.Shard))
		it.left.Store(n*hi/int64(vus) - n*lo/int64(vus))
	}
	return it
}

// IterationsDone tells the shard that another was told none of the run's
// shared iterations is left. One that holds none asks the ledger once
// more at once — a shard lost since may have given some back — and ends
// its load if it gets none (a shard without VUs, which could not do them,
// ends without asking); one that holds a block does the same when it has
// used it.
func (e *Engine) IterationsDone() {
	it := e.iters
	if it == nil || it.claimed == nil {
		return
	}
	c := it.claimed
	c.mu.Lock()
	holds := c.lo < c.hi
	c.mu.Unlock()
	if holds {
		return
	}
	if e.wantVUs(e.current(), e.offset()) == 0 {
		e.endLoad(ReasonIterationsDone)
		return
	}
	go func() {
		c.mu.Lock()
		if c.lo >= c.hi && !c.dry {
			c.refill()
		}
		dry := c.dry
		c.mu.Unlock()
		if dry {
			e.endLoad(c.reasonIf(ReasonIterationsDone))
		}
	}()
}

// Iterations returns how many iterations this shard started.
func (e *Engine) Iterations() int64 {
	if e.iters == nil {
		return 0
	}
	return e.iters.started.Load()
}

// startIteration takes an iteration for v; false when v must stop. The
// first VU to find none ends the shard's load.
func (e *Engine) startIteration(v *vu) bool {
	it := e.iters
	if it == nil {
		return true
	}
	switch {
	case it.perVU > 0:
		if v.env.Iteration >= uint64(it.perVU) { // #nosec G115 -- perVU > 0
			it.mu.Lock()
			it.done[v.id] = true
			it.mu.Unlock()
			e.poke() // runClosed looks whether every VU is done
			return false
		}
	case it.claimed != nil:
		if _, ok := it.claimed.take(); !ok {
			if it.claimed.isDry() {
				e.endLoad(it.claimed.reasonIf(ReasonIterationsDone))
			}
			return false
		}
	default:
		if it.left.Add(-1) < 0 {
			e.endLoad(ReasonIterationsDone)
			return false
		}
	}
	it.started.Add(1)
	return true
}

// vusDone reports whether every VU of running (each flow's, and no more
// are wanted) did its iterations_per_vu; it then ends the shard's load.
func (e *Engine) vusDone(running [][]*closedVU, want int) bool {
	it := e.iters
	if it == nil || it.perVU == 0 {
		return false
	}
	n := 0
	for _, flow := range running {
		n += len(flow)
	}
	if n < want {
		return false
	}
	it.mu.Lock()
	for _, flow := range running {
		for _, c := range flow {
			if !it.done[c.v.id] {
				it.mu.Unlock()
				return false
			}
		}
	}
	it.mu.Unlock()
	e.endLoad(ReasonIterationsDone)
	return true
}

// endLoad ends the shard's load early, for reason (unless it is ending
// already: then that is not the reason).
func (e *Engine) endLoad(reason string) {
	if e.isEnding() {
		return
	}
	e.mu.Lock()
	if e.endReason == "" {
		e.endReason = reason
	}
	e.mu.Unlock()
	e.endOnce.Do(func() { close(e.ending) })
}

// isDry reports whether the ledger said none is left (or refused).
func (c *claims) isDry() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dry
}

// reasonIf is why the claims are dry: done when the ledger ran out, the
// refusal when the server refused.
func (c *claims) reasonIf(done string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.why != "" {
		return c.why
	}
	return done
}
