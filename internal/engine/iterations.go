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
// shard ends when every VU it runs has done its own. With Config.Claim
// they are also claimed from the ledger, which holds VUs × N of them for
// the run, so that a lost shard's are done by others, and only once: the
// shard's first VUs (as many as it runs at first) are its own, and each
// takes at most N; a VU it starts later (the share of a lost shard, or
// VUs moved to it) takes over, and does what the ledger still has. A
// shard claims no more than its own VUs have left to do unless it runs
// one that takes over, so that none of the run's iterations is held where
// no VU can do it.
type iterations struct {
	claimed *claims      // shared, or per VU with a ledger
	left    atomic.Int64 // shared without a ledger: this shard's part not started
	perVU   int
	started atomic.Int64 // iterations started by this shard

	mu   sync.Mutex
	done map[int]bool // per VU: the ids of the VUs that did theirs
	// Per VU with a ledger: own is how many of the first VUs are the
	// shard's own (-1 until the shard knows its VU count); ownStarted
	// counts those started.
	own, ownStarted int
	budget          atomic.Int64 // what the running own VUs have left to do
	takers          atomic.Int64 // running VUs that take over
}

// newIterations returns nil when the plan has no iterations.
func newIterations(p *scenario.Plan, cfg Config, split *profile.Splitter, stop <-chan struct{}) *iterations {
	switch {
	case p.IterationsPerVU > 0:
		it := &iterations{perVU: p.IterationsPerVU, done: map[int]bool{}, own: -1}
		if cfg.Claim != nil {
			it.claimed = &claims{claim: cfg.Claim, name: scenario.IterationsFeeder, size: firstClaim, stop: stop, limit: it.claimLimit}
		}
		return it
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
	if it == nil || it.claimed == nil || it.perVU > 0 {
		return
	}
	c := it.claimed
	c.mu.Lock()
	holds := c.lo < c.hi
	c.mu.Unlock()
	if holds {
		return
	}
	if e.planned.Load() && e.wantVUs(e.current(), e.offset()) == 0 {
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
		if !it.takePerVU(v) {
			it.mu.Lock()
			it.done[v.id] = true
			it.mu.Unlock()
			if it.claimed != nil && it.claimed.refused() {
				e.endLoad(it.claimed.reasonIf(ReasonIterationsDone))
			}
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

// takePerVU takes an iteration for v: one of its own N, from the ledger
// when there is one, or, for a VU that takes over, what the ledger still
// has. An own VU that did its N does one more only when the shard holds
// more than its own VUs have left to do (a VU that took over or one moved
// away left them), so that the shard's block is not left undone.
func (it *iterations) takePerVU(v *vu) bool {
	capped := !v.takesOver && v.env.Iteration >= uint64(it.perVU) // #nosec G115 -- perVU > 0
	switch {
	case it.claimed == nil:
		return !capped
	case capped:
		return it.claimed.takeBeyond(int(it.budget.Load()))
	}
	if _, ok := it.claimed.take(); !ok {
		return false
	}
	if !v.takesOver {
		it.budget.Add(-1)
	}
	return true
}

// takerBlock is what a per-VU shard may claim for each VU that takes over,
// beyond what its own VUs have left: small, so that a VU that takes over
// and stops leaves little behind.
const takerBlock = 8

// claimLimit bounds a per-VU shard's claim: what its own VUs have left to
// do, and a little for each VU that takes over.
func (it *iterations) claimLimit() int {
	return int(it.budget.Load() + takerBlock*it.takers.Load())
}

// perVULedger reports whether the shard claims per-VU iterations from the
// run's ledger (and so tells its own VUs from those that take over).
func (it *iterations) perVULedger() bool {
	return it != nil && it.perVU > 0 && it.claimed != nil
}

// vuStarts tells whether the shard's next VU is one of its own or takes
// over (per VU with a ledger), and counts it. own is how many VUs the
// shard runs at first.
func (it *iterations) vuStarts(own int) (takesOver bool) {
	if !it.perVULedger() {
		return false
	}
	it.mu.Lock()
	if it.own < 0 {
		it.own = own
	}
	takesOver = it.ownStarted >= it.own
	if !takesOver {
		it.ownStarted++
	}
	it.mu.Unlock()
	if takesOver {
		it.takers.Add(1)
	} else {
		it.budget.Add(int64(it.perVU))
	}
	return takesOver
}

// vuEnds takes a VU's end (done, or stopped by a smaller share): an own
// VU's iterations not started are no longer its shard's to do.
func (it *iterations) vuEnds(v *vu) {
	if !it.perVULedger() {
		return
	}
	if v.takesOver {
		it.takers.Add(-1)
		return
	}
	n := uint64(it.perVU)                              // #nosec G115 -- perVU > 0
	it.budget.Add(-int64(n - min(v.env.Iteration, n))) // #nosec G115 -- at most 1e9
}

// vusDone reports whether every VU of running (each flow's, and no more
// are wanted) did its iterations_per_vu; it then ends the shard's load.
func (e *Engine) vusDone(running [][]*closedVU, want int) bool {
	it := e.iters
	if it == nil || it.perVU == 0 || (want == 0 && !e.planned.Load()) {
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
