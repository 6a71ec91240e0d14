package profile

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// gap: 10/s for 1s, nothing for 10s, 10/s for 1s.
var gap = Profile{Model: Open, Start: 10, Stages: []Stage{
	{Duration: s, Target: 10},
	{Duration: 0, Target: 0},
	{Duration: 10 * s, Target: 0},
	{Duration: 0, Target: 10},
	{Duration: s, Target: 10},
}}

// triangle: 0 → 100/s over 10s, back to 0 over 10s; 1000 arrivals in all.
var triangle = Profile{Model: Open, Start: 0, Stages: []Stage{{10 * s, 100}, {10 * s, 0}}}

// Float sums that are not exact must not push an amount that ends at a
// stage boundary past the zero-rate stretch that follows it: 0.7+0.1 is
// 0.7999999999999999 in float64, so after the first stage 0.8 leaves a
// little more than the second stage holds.
func TestAdvanceFloatErrorBeforeZeroStretch(t *testing.T) {
	tests := []struct {
		name   string
		rates  []float64
		amount float64
	}{
		{name: "0.7 then 0.1", rates: []float64{0.7, 0.1}, amount: 0.8},
		{name: "0.1 0.2 0.3", rates: []float64{0.1, 0.2, 0.3}, amount: 0.6},
		{name: "thirds", rates: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, amount: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Profile{Model: Open, Start: tc.rates[0]}
			for _, r := range tc.rates {
				p.Stages = append(p.Stages, Stage{Duration: 0, Target: r}, Stage{Duration: s, Target: r})
			}
			p.Stages = append(p.Stages, Stage{Duration: 0, Target: 0}, Stage{Duration: time.Hour, Target: 0},
				Stage{Duration: 0, Target: 1}, Stage{Duration: s, Target: 1})
			want := time.Duration(len(tc.rates)) * s
			if got, ok := p.Advance(0, tc.amount); got != want || !ok {
				t.Errorf("Advance(0, %v) = %v, %v; want %v", tc.amount, got, ok, want)
			}
		})
	}
}

func TestArrivals(t *testing.T) {
	tests := []struct {
		name     string
		p        Profile
		from, to time.Duration
		want     float64
	}{
		{name: "constant", p: gap, from: 0, to: 500 * time.Millisecond, want: 5},
		{name: "across a zero stretch", p: gap, from: 0, to: 12 * s, want: 20},
		{name: "inside the zero stretch", p: gap, from: 2 * s, to: 5 * s, want: 0},
		{name: "ramp up half", p: triangle, from: 0, to: 5 * s, want: 125},
		{name: "whole triangle", p: triangle, from: 0, to: 20 * s, want: 1000},
		{name: "across the apex", p: triangle, from: 5 * s, to: 15 * s, want: 750},
		{name: "clipped before zero", p: triangle, from: -time.Hour, to: 10 * s, want: 500},
		{name: "clipped after end", p: triangle, from: 10 * s, to: time.Hour, want: 500},
		{name: "reversed is zero", p: triangle, from: 10 * s, to: 5 * s, want: 0},
		{name: "empty", p: triangle, from: 3 * s, to: 3 * s, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Arrivals(tc.from, tc.to); !closeTo(got, tc.want, 1e-12, 1) {
				t.Errorf("Arrivals(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func TestAdvance(t *testing.T) {
	tests := []struct {
		name   string
		p      Profile
		from   time.Duration
		amount float64
		want   time.Duration
		wantOK bool
	}{
		{name: "constant", p: gap, from: 0, amount: 5, want: 500 * time.Millisecond, wantOK: true},
		{name: "ends exactly before a zero stretch", p: gap, from: 0, amount: 10, want: s, wantOK: true},
		{name: "skips the zero stretch", p: gap, from: 0, amount: 10.5, want: 11*s + 50*time.Millisecond, wantOK: true},
		{name: "from inside the zero stretch", p: gap, from: 5 * s, amount: 1, want: 11*s + 100*time.Millisecond, wantOK: true},
		{name: "exactly everything", p: gap, from: 0, amount: 20, want: 12 * s, wantOK: true},
		{name: "more than there is", p: gap, from: 0, amount: 20.5, want: 12 * s, wantOK: false},
		{name: "zero amount", p: gap, from: 3 * s, amount: 0, want: 3 * s, wantOK: true},
		{name: "zero amount after end", p: gap, from: time.Hour, amount: 0, want: time.Hour, wantOK: false},
		{name: "NaN amount", p: gap, from: 0, amount: math.NaN(), want: 12 * s, wantOK: false},
		{name: "infinite amount", p: gap, from: 0, amount: math.Inf(1), want: 12 * s, wantOK: false},
		{name: "from before zero", p: gap, from: -time.Hour, amount: 1, want: 100 * time.Millisecond, wantOK: true},
		// ∫₀ᵗ 10x dx = 5t² = 125 → t = 5s (quadratic root, rising rate).
		{name: "rising ramp", p: triangle, from: 0, amount: 125, want: 5 * s, wantOK: true},
		// 500 on the way up, then ∫ (100-10x) dx = 375 → x = 5s (falling rate).
		{name: "falling ramp", p: triangle, from: 0, amount: 875, want: 15 * s, wantOK: true},
		{name: "starting from zero rate", p: triangle, from: 0, amount: 1e-9, want: 14142, wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.p.Advance(tc.from, tc.amount)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Advance(%v, %v) = %v, %v; want %v, %v", tc.from, tc.amount, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// oneNanosecond is how many arrivals fit in 1ns at p's peak rate: the
// resolution limit of a time.Duration answer.
func oneNanosecond(p Profile) float64 { return p.Peak() * 1e-9 }

func TestAdvanceInvertsArrivals(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Open).Draw(t, "p")
		from := genTime(t, p, "from")
		left := p.Arrivals(from, p.Duration())
		frac := rapid.Float64Range(0, 1.2).Draw(t, "fraction of what is left")
		amount := frac * left
		if amount == 0 {
			return
		}
		got, ok := p.Advance(from, amount)
		// Tolerance: relative 1e-9, plus the nanosecond rounding of t.
		tol := 1e-9*amount + oneNanosecond(p)
		if !ok {
			if amount <= left-tol {
				t.Fatalf("Advance(%v, %v) ran out, but %v are left", from, amount, left)
			}
			return
		}
		if got < from || got > p.Duration() {
			t.Fatalf("Advance(%v, %v) = %v, outside [from, Duration]", from, amount, got)
		}
		if a := p.Arrivals(from, got); math.Abs(a-amount) > tol {
			t.Fatalf("Arrivals(%v, Advance = %v) = %v, want %v ± %v", from, got, a, amount, tol)
		}
		// Earliest: t never lands at the far end of a zero-rate stretch,
		// i.e. with nothing due just before t and the amount reached
		// already (up to float error, but not the nanosecond slack).
		if got > max(from, 0)+2 && p.Arrivals(got-2, got) == 0 {
			if a := p.Arrivals(from, got-2); a >= amount*(1-1e-12) {
				t.Fatalf("Advance(%v, %v) = %v is late: %v were due by %v", from, amount, got, a, got-2)
			}
		}
	})
}

func TestAdvanceMonotoneInAmount(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Open).Draw(t, "p")
		from := genTime(t, p, "from")
		left := p.Arrivals(from, p.Duration())
		a := rapid.Float64Range(0, 1.1).Draw(t, "a") * left
		b := rapid.Float64Range(0, 1.1).Draw(t, "b") * left
		a, b = min(a, b), max(a, b)
		ta, oka := p.Advance(from, a)
		tb, okb := p.Advance(from, b)
		if ta > tb || (okb && !oka) {
			t.Fatalf("Advance(%v, %v) = %v,%v but Advance(%v, %v) = %v,%v", from, a, ta, oka, from, b, tb, okb)
		}
	})
}

func TestArrivalsAdditive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Open).Draw(t, "p")
		a, b, c := genTime(t, p, "a"), genTime(t, p, "b"), genTime(t, p, "c")
		a, b, c = sort3(a, b, c)
		whole := p.Arrivals(a, c)
		if sum := p.Arrivals(a, b) + p.Arrivals(b, c); !closeTo(sum, whole, 1e-12, 1) {
			t.Fatalf("Arrivals(%v,%v)+Arrivals(%v,%v) = %v, Arrivals(%v,%v) = %v", a, b, b, c, sum, a, c, whole)
		}
	})
}

func sort3(a, b, c time.Duration) (time.Duration, time.Duration, time.Duration) {
	a, b = min(a, b), max(a, b)
	b, c = min(b, c), max(b, c)
	a, b = min(a, b), max(a, b)
	return a, b, c
}

func TestRampIntegralIsTrapezoid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r0 := rapid.Float64Range(0, 1e5).Draw(t, "r0")
		r1 := rapid.Float64Range(0, 1e5).Draw(t, "r1")
		d := time.Duration(rapid.Int64Range(1, int64(time.Hour)).Draw(t, "d"))
		p, err := RampingArrivalRate(r0, []Stage{{Duration: d, Target: r1}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Arrivals(0, d), (r0+r1)/2*d.Seconds(); !closeTo(got, want, 1e-12, 1) {
			t.Fatalf("Arrivals over the ramp = %v, trapezoid = %v", got, want)
		}
		lo := time.Duration(rapid.Int64Range(0, int64(d)).Draw(t, "lo"))
		hi := time.Duration(rapid.Int64Range(int64(lo), int64(d)).Draw(t, "hi"))
		want := (p.Target(lo) + p.Target(hi)) / 2 * (hi - lo).Seconds()
		if hi == d {
			want = (p.Target(lo) + r1) / 2 * (hi - lo).Seconds()
		}
		if got := p.Arrivals(lo, hi); !closeTo(got, want, 1e-9, 1) {
			t.Fatalf("Arrivals(%v, %v) = %v, trapezoid = %v", lo, hi, got, want)
		}
	})
}

// Chaining one-unit advances is what a naive scheduler does; over a
// constant rate r for d it must start r·d iterations, give or take one.
func TestChainedAdvanceCountsConstantRate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rapid.Float64Range(0.5, 2000).Draw(t, "rate")
		d := time.Duration(rapid.Int64Range(int64(time.Second), int64(20*time.Second)).Draw(t, "d"))
		p, err := ConstantArrivalRate(r, d)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for at, ok := p.Advance(0, 1); ok; at, ok = p.Advance(at, 1) {
			n++
		}
		// ±1, plus up to half a nanosecond of rounding per step, which
		// chaining accumulates (see TestPacerCountsConstantRate).
		want := r * d.Seconds()
		if tol := 1 + float64(n)*0.5e-9*r; math.Abs(float64(n)-want) > tol {
			t.Fatalf("%d iterations at %v/s for %v, want %v ± %v", n, r, d, want, tol)
		}
	})
}

// A Pacer solves every arrival from the origin, so it meets ±1 without
// accumulated drift even at high rates (half a nanosecond of rounding at
// the very end aside).
func TestPacerCountsConstantRate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rapid.Float64Range(0.5, 5e4).Draw(t, "rate")
		d := time.Duration(rapid.Int64Range(int64(time.Second), int64(5*time.Second)).Draw(t, "d"))
		phase := rapid.Float64Range(0, 0.99).Draw(t, "phase")
		p, err := ConstantArrivalRate(r, d)
		if err != nil {
			t.Fatal(err)
		}
		pc := p.Pacer(0, phase)
		for _, ok := pc.Next(); ok; _, ok = pc.Next() {
		}
		// Iterations k = 0.. are due at (k+phase)/r, so within d there are
		// ⌊r·d - phase⌋ + 1 of them.
		n, want := float64(pc.Issued()), r*d.Seconds()+1-phase
		if tol := 1 + 0.5e-9*r; math.Abs(n-want) > tol {
			t.Fatalf("%v iterations at %v/s for %v with phase %v, want %v ± %v", n, r, d, phase, want, tol)
		}
	})
}

func TestPacer(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		d     time.Duration
		phase float64
		want  uint64
	}{
		// 33333.3/s does not divide a second evenly: chained rounding
		// would drift, a Pacer does not.
		{name: "high rate, first at zero", rate: 33333.3, d: 10 * s, phase: 0, want: 333334},
		{name: "high rate, centred", rate: 33333.3, d: 10 * s, phase: 0.5, want: 333333},
		{name: "slow shard, centred", rate: 0.1, d: 10 * s, phase: 0.5, want: 1},
		{name: "phase clamped below one", rate: 1, d: 10 * s, phase: 7, want: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ConstantArrivalRate(tc.rate, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			pc := p.Pacer(0, tc.phase)
			last := time.Duration(-1)
			for {
				at, ok := pc.Next()
				if !ok {
					break
				}
				if at < last {
					t.Fatalf("Next went back from %v to %v", last, at)
				}
				last = at
			}
			if got := pc.Issued(); got != tc.want {
				t.Errorf("Issued() = %d, want %d", got, tc.want)
			}
			if _, ok := pc.Next(); ok {
				t.Error("Next after the end reported true")
			}
		})
	}
}

func TestPacerMatchesAdvance(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Open).Draw(t, "p")
		from := genTime(t, p, "from")
		phase := rapid.Float64Range(0, 0.99).Draw(t, "phase")
		pc := p.Pacer(from, phase)
		for k := 0; k < 50; k++ {
			got, ok := pc.Next()
			want, wantOK := p.Advance(from, float64(k)+phase)
			if k == 0 && phase == 0 {
				want, wantOK = max(from, 0), from <= p.Duration() // Advance(from, 0) is from itself
			}
			if ok != wantOK || (ok && absDur(got-want) > 1) {
				t.Fatalf("arrival %d: Pacer %v,%v; Advance %v,%v", k, got, ok, want, wantOK)
			}
			if !ok {
				return
			}
		}
	})
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

func BenchmarkAdvance(b *testing.B) {
	p, err := RampingArrivalRate(0, []Stage{
		{Duration: time.Minute, Target: 1000},
		{Duration: 5 * time.Minute, Target: 1000},
		{Duration: 0, Target: 5000},
		{Duration: time.Minute, Target: 5000},
		{Duration: 2 * time.Minute, Target: 0},
	})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	froms := make([]time.Duration, 1024)
	for i := range froms {
		froms[i] = time.Duration(r.Int64N(int64(p.Duration())))
	}
	b.Run("one arrival", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p.Advance(froms[i%len(froms)], 1)
		}
	})
	b.Run("pacer next", func(b *testing.B) {
		pc := p.Pacer(0, 0.5)
		for b.Loop() {
			if _, ok := pc.Next(); !ok {
				pc = p.Pacer(0, 0.5)
			}
		}
	})
}
