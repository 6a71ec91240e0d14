package engine

import (
	"context"
	"time"
)

// closedVU is a closed-model VU goroutine's handle: closing stop asks it to
// end after its current iteration.
type closedVU struct {
	v    *vu
	stop chan struct{}
}

// runClosed keeps this shard's share of the profile's VUs running until the
// profile ends, the run ends early, or ctx is cancelled. The shard's VUs
// are split over the flows by weight (flows.go).
func (e *Engine) runClosed(ctx context.Context) {
	// Per flow, in start order; ramp-down stops the newest first.
	running := make([][]*closedVU, len(e.flows))
	tick := time.NewTicker(controlTick)
	defer tick.Stop()
	for {
		cur := e.current()
		t := e.offset()
		if t >= cur.prof.Duration() {
			break
		}
		want := e.wantVUs(cur, t)
		e.target.Store(int64(want))
		active := 0
		for f, fl := range e.flows {
			running[f] = e.resizeFlow(running[f], e.flowSplit.count(want, f), fl, want)
			active += len(running[f])
		}
		e.active.Store(int64(active))
		if e.vusDone(running, want) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-e.ending:
			return
		case <-e.changed:
		case <-tick.C:
		}
	}
}

// wantVUs is how many VUs the shard runs at profile time t (closed model).
func (e *Engine) wantVUs(cur shareState, t time.Duration) int {
	want := cur.split.Count(cur.prof.TargetInt(t), e.cfg.Shard)
	if e.cfg.MaxVUs > 0 {
		want = min(want, e.cfg.MaxVUs)
	}
	if e.plan.MaxVUs > 0 {
		want = min(want, e.plan.MaxVUs)
	}
	return want
}

// resizeFlow starts or stops a flow's VUs until want of them run; all is
// the shard's VU count.
func (e *Engine) resizeFlow(running []*closedVU, want int, fl *flowRT, all int) []*closedVU {
	for len(running) < want {
		// Ids are never reused: a stopped VU may still be finishing its
		// iteration, and $vu and the random seed must stay its own.
		running = append(running, e.startClosedVU(int(e.nextVUID.Add(1)), fl, e.iters.vuStarts(all)))
	}
	for len(running) > want {
		last := running[len(running)-1]
		running = running[:len(running)-1]
		close(last.stop)
	}
	return running
}

func (e *Engine) startClosedVU(id int, fl *flowRT, takesOver bool) *closedVU {
	c := &closedVU{v: newVU(e, id, fl), stop: make(chan struct{})}
	c.v.takesOver = takesOver
	e.vus.Add(1)
	go func() {
		defer e.vus.Done()
		defer e.iters.vuEnds(c.v)
		for {
			select {
			case <-c.stop:
				return
			case <-e.ending:
				return
			default:
			}
			if !c.v.iterate(time.Time{}) {
				return
			}
		}
	}()
	return c
}
