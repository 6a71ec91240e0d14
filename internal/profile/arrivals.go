package profile

import (
	"math"
	"time"
)

// In the open model the target is a rate, and the number of iterations due
// between two instants is its integral. Rates are piecewise linear, so the
// integral is a sum of trapezoids and its inverse is, per stage, the root of
// a linear or quadratic equation: no stepping, no accumulated error.
//
// Outside [0, Duration] the rate counts as zero: no arrivals are scheduled
// before a run starts or after it ends.

// Arrivals is the number of iterations due in [from, to]: the exact integral
// of the rate (iterations/s) over that interval, clipped to [0, Duration].
// It is 0 if to <= from.
func (p Profile) Arrivals(from, to time.Duration) float64 {
	from, to = max(from, 0), min(to, p.Duration())
	if to <= from {
		return 0
	}
	var sum float64
	prev := p.Start
	var start time.Duration
	for _, s := range p.Stages {
		end := start + s.Duration
		lo, hi := max(from, start), min(to, end)
		if lo < hi {
			rlo := lerp(prev, s.Target, lo-start, s.Duration)
			rhi := lerp(prev, s.Target, hi-start, s.Duration)
			sum += float64(seconds(hi-lo) * (rlo + rhi) / 2)
		}
		if end >= to {
			break
		}
		prev, start = s.Target, end
	}
	return sum
}

// Advance is the earliest t >= from by which amount iterations are due,
// i.e. Arrivals(from, t) == amount, rounded to the nearest nanosecond. Where
// the rate is zero for a while, t is the start of that stretch, not its end.
// It reports false, with t = Duration, if the profile ends before amount is
// reached (or amount is NaN or +Inf). An amount <= 0 returns from (true
// while from <= Duration). An amount that runs out within a relative 1e-12
// of a stage's end is taken to end there, so that float error in summing
// stages cannot carry it across a following zero-rate stretch.
//
// Chaining Advance(t, 1) accumulates the nanosecond rounding of every step;
// a scheduler that runs for long at high rates should use a [Pacer], which
// solves from a fixed origin instead.
func (p Profile) Advance(from time.Duration, amount float64) (time.Duration, bool) {
	switch {
	case math.IsNaN(amount) || math.IsInf(amount, 1):
		return p.Duration(), false
	case amount <= 0:
		return from, from <= p.Duration()
	}
	c := newCursor(p, from)
	return c.find(amount)
}

// Pacer hands out the intended start times of open-model iterations: the
// k-th call to Next (k from 0) returns Advance(from, k+phase), computed from
// the fixed origin so that rounding never accumulates. These are the
// instants latency is measured from, which corrects coordinated omission.
//
// A Pacer is a value with no clock: tests and workflows drive it with
// numbers. It is not safe for concurrent use.
type Pacer struct {
	cur   cursor
	phase float64
	next  uint64
}

// Pacer starts a schedule at from. A phase of 0 puts the first iteration at
// from itself (as k6 does); 0.5 centres each iteration in its share of the
// integral, so that short shards with small rates neither all fire at once
// at the start nor lose their last iteration. phase is clamped to [0, 1).
func (p Profile) Pacer(from time.Duration, phase float64) *Pacer {
	if !(phase > 0) { // also NaN
		phase = 0
	}
	phase = min(phase, math.Nextafter(1, 0))
	return &Pacer{cur: newCursor(p, from), phase: phase}
}

// Next returns the intended start of the next iteration, or false (with t =
// Duration) when the profile ends first; after false it keeps returning false.
func (pc *Pacer) Next() (time.Duration, bool) {
	t, ok := pc.cur.find(float64(pc.next) + pc.phase)
	if ok {
		pc.next++
	}
	return t, ok
}

// Issued is how many start times Next has returned, so a caller can tell
// how many iterations were due even if it could not start them.
func (pc *Pacer) Issued() uint64 { return pc.next }

// cursor walks the stages forward from an origin, remembering how many
// arrivals lie between the origin and the stage it stands on, so that
// repeated searches with growing targets cost O(1) amortised.
type cursor struct {
	stages []Stage
	total  time.Duration
	from   time.Duration // origin, >= 0
	i      int           // current stage
	start  time.Duration // start of stage i
	prev   float64       // rate at the start of stage i
	done   float64       // arrivals in [from, max(from, start))
}

func newCursor(p Profile, from time.Duration) cursor {
	return cursor{stages: p.Stages, total: p.Duration(), from: max(from, 0), prev: p.Start}
}

// find returns the earliest t with arrivals(from, t) == want. Stages wholly
// before the answer are consumed, so want must not decrease between calls.
func (c *cursor) find(want float64) (time.Duration, bool) {
	// The running subtraction of stage integrals loses a few ulps per stage;
	// without this slack an amount that ends exactly at a stage boundary
	// could skip a following zero-rate stretch and land at its far end.
	tol := want * 1e-12
	for ; c.i < len(c.stages); c.i++ {
		s := c.stages[c.i]
		end := c.start + s.Duration
		if x0 := max(c.from, c.start); end > x0 {
			r0 := lerp(c.prev, s.Target, x0-c.start, s.Duration)
			avail := float64(seconds(end-x0) * (r0 + s.Target) / 2)
			if rem := want - c.done; rem <= avail+tol {
				return x0 + solve(r0, s.Target, end-x0, rem), true
			}
			c.done += avail
		}
		c.prev, c.start = s.Target, end
	}
	// Only reachable with nothing left to wait for when from is the end.
	return c.total, want-c.done <= tol && c.from <= c.total
}

// solve returns the τ in [0, span] at which a rate moving linearly from r0
// to r1 over span has accumulated rem (rates per second, rem in iterations):
// r0·τ + ½·k·τ² = rem with k = (r1-r0)/span. The form 2·rem/(r0+√(r0²+2k·rem))
// is the quadratic root without the cancellation of (−r0+√…)/k, and it stays
// exact for k == 0 (constant rate). Rates are first divided by the larger of
// r0 and r1 so that the products under the root neither underflow nor
// overflow whatever their magnitude. A zero rate with something left to wait
// for cannot happen here (the caller only solves where rem fits), so it
// answers the stretch's start.
func solve(r0, r1 float64, span time.Duration, rem float64) time.Duration {
	top := max(r0, r1)
	if !(rem > 0) || !(top > 0) {
		return 0
	}
	r0, r1, rem = r0/top, r1/top, rem/top
	secs := seconds(span)
	k := (r1 - r0) / secs
	disc := float64(r0*r0) + float64(2*k*rem)
	den := r0 + math.Sqrt(max(disc, 0))
	if !(den > 0) {
		return 0
	}
	tau := math.Round(2 * rem / den * 1e9)
	if tau >= float64(span) {
		return span
	}
	return time.Duration(tau)
}

// seconds converts with one correctly rounded division; d.Seconds() splits
// the value and rounds twice.
func seconds(d time.Duration) float64 { return float64(d) / 1e9 }
