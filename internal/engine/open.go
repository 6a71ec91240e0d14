package engine

import (
	"context"
	"time"

	"github.com/barrage/barrage/internal/profile"
)

// runOpen starts iterations at this shard's share of the profile's arrival
// rate until the profile ends, the run ends early, or ctx is cancelled. An
// arrival that finds every VU of the pool busy, with the pool at its cap, is
// counted as a dropped iteration.
func (e *Engine) runOpen(ctx context.Context, pool *openPool) {
	cur := e.current()
	// Arrivals are counted from base until the share or the profile changes:
	// arrival k is due when the shard's share of the arrivals since base
	// reaches k.
	base, k := e.offset(), 0
	var arrivals uint64 // all of them, for the flows' order
	for {
		if cur.frac <= 0 {
			if e.offset() >= cur.prof.Duration() || !e.waitChange(ctx, controlTick) {
				return
			}
			cur, base, k = e.current(), e.offset(), 0
			continue
		}
		next, ok := cur.prof.Advance(base, float64(k+1)/cur.frac)
		if !ok {
			// No arrival before the profile's end (a ramp to 0, say): wait for
			// a change until the end instead of ending the shard.
			left := cur.prof.Duration() - e.offset()
			if left <= 0 || !e.waitChange(ctx, left) {
				return
			}
			if now := e.current(); now.version != cur.version {
				if k > 0 {
					base, _ = cur.prof.Advance(base, float64(k)/cur.frac)
				}
				base = max(base, e.offset())
				cur, k = now, 0
			}
			continue
		}
		if wait := next - e.offset(); wait > 0 {
			if !e.waitChange(ctx, wait) {
				return
			}
			if now := e.current(); now.version != cur.version {
				// Continue from the last arrival, at the new rate.
				if k > 0 {
					base, _ = cur.prof.Advance(base, float64(k)/cur.frac)
				}
				cur, k = now, 0
				continue
			}
			if next > e.offset() {
				continue // woken early
			}
		}
		cap := e.poolCap(cur.split)
		e.target.Store(int64(cap))
		pool.dispatch(arrival{intended: e.epoch.Add(next), flow: e.flows[e.flowSplit.arrival(arrivals)]}, cap)
		arrivals++
		k++
	}
}

func (e *Engine) poolCap(split *profile.Splitter) int {
	c := split.Count(e.plan.MaxVUs, e.cfg.Shard)
	if e.cfg.MaxVUs > 0 {
		c = min(c, e.cfg.MaxVUs)
	}
	return max(c, 1)
}

// waitChange sleeps for d or until the share or profile changes; false when
// the run is over.
func (e *Engine) waitChange(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-e.ending:
		return false
	case <-e.changed:
		return true
	case <-t.C:
		return true
	}
}

// openPool is the open model's VUs. A VU goroutine serves one iteration at a
// time and then waits, idle, for the next intended start; idle VUs exit by
// themselves when the run ends.
type openPool struct {
	e    *Engine
	idle chan *openVU
	size int
}

type openVU struct {
	v    *vu
	work chan arrival
}

// arrival is an iteration to start: when it was due, and of which flow.
type arrival struct {
	intended time.Time
	flow     *flowRT
}

func (e *Engine) newOpenPool() *openPool {
	pool := &openPool{e: e, idle: make(chan *openVU, max(e.plan.MaxVUs, 1))}
	cur := e.current()
	pool.preallocate(min(cur.split.Count(e.plan.PreAllocatedVUs, e.cfg.Shard), e.poolCap(cur.split)))
	return pool
}

// preallocate starts n idle VUs and opens a keep-alive connection for each
// to the first step's host, when it is known in advance.
func (p *openPool) preallocate(n int) {
	if n <= 0 {
		return
	}
	for range n {
		p.size++
		ov := &openVU{v: newVU(p.e, p.size, p.e.flows[0]), work: make(chan arrival, 1)}
		p.e.vus.Add(1)
		go p.serve(ov)
		p.idle <- ov
	}
	first := p.e.steps[0]
	if (first.isStatic || !first.absolute) && !first.ep.https && !p.e.plan.HTTP.HTTP2 {
		// A failure here is not fatal: the requests will report it.
		_ = p.e.tr.fast.Warm(first.ep.addr, n, time.Now().Add(5*time.Second))
	}
}

func (p *openPool) dispatch(a arrival, capacity int) {
	select {
	case ov := <-p.idle:
		ov.work <- a
		return
	default:
	}
	if p.size >= capacity {
		p.e.rec.AddDropped(1)
		return
	}
	p.size++
	ov := &openVU{v: newVU(p.e, p.size, a.flow), work: make(chan arrival, 1)}
	ov.work <- a
	p.e.vus.Add(1)
	go p.serve(ov)
}

func (p *openPool) serve(ov *openVU) {
	defer p.e.vus.Done()
	for {
		select {
		case a := <-ov.work:
			ov.v.setFlow(a.flow)
			p.e.active.Add(1)
			ok := ov.v.iterate(a.intended)
			p.e.active.Add(-1)
			if !ok {
				return
			}
			p.idle <- ov // never blocks: idle holds the whole pool
		case <-p.e.ending:
			return
		}
	}
}
