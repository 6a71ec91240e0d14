package profile

import (
	"math"
	"testing"

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
