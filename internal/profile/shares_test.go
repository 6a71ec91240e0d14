package profile

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestShares(t *testing.T) {
	for _, tc := range []struct {
		name      string
		peak      float64
		caps      []float64
		active    []bool
		fractions []float64
		served    float64
	}{
		{name: "equal, no caps", peak: 90, caps: []float64{0, 0, 0}, active: []bool{true, true, true},
			fractions: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, served: 1},
		{name: "one lost", peak: 90, caps: []float64{0, 0, 0}, active: []bool{true, false, true},
			fractions: []float64{0.5, 0, 0.5}, served: 1},
		{name: "capped shard gives to others", peak: 90, caps: []float64{10, 0, 0}, active: []bool{true, true, true},
			fractions: []float64{10.0 / 90, 40.0 / 90, 40.0 / 90}, served: 1},
		{name: "capacity exhausted", peak: 90, caps: []float64{30, 30, 30}, active: []bool{true, false, false},
			fractions: []float64{1, 0, 0}, served: 30.0 / 90},
		{name: "two survivors at capacity", peak: 100, caps: []float64{40, 40, 40}, active: []bool{false, true, true},
			fractions: []float64{0, 0.5, 0.5}, served: 0.8},
		{name: "nobody runs", peak: 10, caps: []float64{0, 0}, active: []bool{false, false},
			fractions: []float64{0, 0}, served: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, served, err := Shares(tc.peak, tc.caps, tc.active)
			if err != nil {
				t.Fatal(err)
			}
			for i := range f {
				if math.Abs(f[i]-tc.fractions[i]) > 1e-9 {
					t.Fatalf("fractions %v, want %v", f, tc.fractions)
				}
			}
			if math.Abs(served-tc.served) > 1e-9 {
				t.Fatalf("served %v, want %v", served, tc.served)
			}
		})
	}
}

// Shares never asks a shard for more than its capacity, sums to 1, and
// serves all of peak whenever the capacities allow it.
func TestSharesProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 20).Draw(t, "n")
		peak := rapid.Float64Range(0.5, 1e5).Draw(t, "peak")
		caps := make([]float64, n)
		active := make([]bool, n)
		capacity, unlimited, anyActive := 0.0, false, false
		for i := range caps {
			if rapid.Bool().Draw(t, "capped") {
				caps[i] = rapid.Float64Range(0.1, 2e4).Draw(t, "cap")
			}
			active[i] = rapid.Bool().Draw(t, "active")
			if active[i] {
				anyActive = true
				capacity += caps[i]
				unlimited = unlimited || caps[i] == 0
			}
		}
		f, served, err := Shares(peak, caps, active)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for i, x := range f {
			sum += x
			if !active[i] && x != 0 {
				t.Fatalf("inactive shard %d has %v", i, x)
			}
			if caps[i] > 0 && x*peak*served > caps[i]*(1+1e-9) {
				t.Fatalf("shard %d asked for %v over its capacity %v", i, x*peak*served, caps[i])
			}
		}
		if anyActive && math.Abs(sum-1) > 1e-9 {
			t.Fatalf("fractions sum to %v", sum)
		}
		want := 1.0
		if !unlimited {
			want = math.Min(1, capacity/peak)
		}
		if !anyActive {
			want = 0
		}
		if math.Abs(served-want) > 1e-9 {
			t.Fatalf("served %v, want %v (capacity %v, peak %v)", served, want, capacity, peak)
		}
	})
}

func TestClamp(t *testing.T) {
	spike, _ := Spike(Closed, 100, 1000, 10*time.Second, 10*time.Second, 10*time.Second, 60*time.Second)
	c := spike.Clamp(600)
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{5 * time.Second, 100}, {14 * time.Second, 460}, {16 * time.Second, 600}, {25 * time.Second, 600}, {45 * time.Second, 100}} {
		if got := c.Target(tc.at); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Target(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if c.Duration() != spike.Duration() || c.Peak() != 600 {
		t.Errorf("duration %v peak %v", c.Duration(), c.Peak())
	}
	rapid.Check(t, func(rt *rapid.T) {
		p := genProfile(Closed).Draw(rt, "profile")
		limit := rapid.Float64Range(0, 2*p.Peak()+1).Draw(rt, "limit")
		c := p.Clamp(limit)
		slack, prev := 0.0, p.Start
		for _, st := range p.Stages {
			if st.Duration > 0 {
				slack = math.Max(slack, math.Abs(st.Target-prev)/float64(st.Duration))
			}
			prev = st.Target
		}
		for range 20 {
			at := time.Duration(rapid.Int64Range(0, int64(p.Duration())).Draw(rt, "at"))
			// Never above p or limit; below them by at most what the
			// steepest stage moves in the nanosecond a crossing is
			// rounded by.
			want := math.Min(p.Target(at), limit)
			lo := want - slack
			if got := c.Target(at); got > want+1e-9*(1+want) || got < lo-1e-9*(1+want) {
				rt.Fatalf("Target(%v) = %v, want within [%v, %v]", at, got, lo, want)
			}
		}
	})
}
