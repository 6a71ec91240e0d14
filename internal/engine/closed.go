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
// profile ends, the run ends early, or ctx is cancelled.
func (e *Engine) runClosed(ctx context.Context) {
	var running []*closedVU // in start order; ramp-down stops the newest first
	tick := time.NewTicker(controlTick)
	defer tick.Stop()
	for {
		cur := e.current()
		t := e.offset()
		if t >= cur.prof.Duration() {
			break
		}
		want := cur.split.Count(cur.prof.TargetInt(t), e.cfg.Shard)
		if e.cfg.MaxVUs > 0 {
			want = min(want, e.cfg.MaxVUs)
		}
		if e.plan.MaxVUs > 0 {
			want = min(want, e.plan.MaxVUs)
		}
		e.target.Store(int64(want))
		for len(running) < want {
			// Ids are never reused: a stopped VU may still be finishing its
			// iteration, and $vu and the random seed must stay its own.
			running = append(running, e.startClosedVU(int(e.nextVUID.Add(1))))
		}
		for len(running) > want {
			last := running[len(running)-1]
			running = running[:len(running)-1]
			close(last.stop)
		}
		e.active.Store(int64(len(running)))
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

func (e *Engine) startClosedVU(id int) *closedVU {
	c := &closedVU{v: newVU(e, id), stop: make(chan struct{})}
	e.vus.Add(1)
	go func() {
		defer e.vus.Done()
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
