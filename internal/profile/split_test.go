package profile

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name      string
		in        []float64
		want      []float64
		wantField string
	}{
		{name: "capacities", in: []float64{2, 1, 1}, want: []float64{0.5, 0.25, 0.25}},
		{name: "with a zero", in: []float64{0, 3}, want: []float64{0, 1}},
		{name: "huge weights do not overflow", in: []float64{math.MaxFloat64, math.MaxFloat64}, want: []float64{0.5, 0.5}},
		{name: "empty", in: nil, wantField: "weights"},
		{name: "all zero", in: []float64{0, 0}, wantField: "weights"},
		{name: "negative", in: []float64{1, -1}, wantField: "weights[1]"},
		{name: "NaN", in: []float64{math.NaN()}, wantField: "weights[0]"},
		{name: "infinite", in: []float64{1, math.Inf(1)}, wantField: "weights[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.wantField {
					t.Fatalf("error = %v, want a FieldError on %q", err, tc.wantField)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Normalize(%v) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNewSplitterRejectsBadWeights(t *testing.T) {
	_, err := NewSplitter([]float64{0, 0})
	if want := "new splitter: weights: at least one must be > 0"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestSplitRate(t *testing.T) {
	got := SplitRate(1000, []float64{0.5, 0.25, 0.25, 0})
	if want := []float64{500, 250, 250, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("SplitRate = %v, want %v", got, want)
	}
}

// The seat order is part of the contract: workflow histories replayed on
// another machine or after an upgrade must see the same counts.
func TestSplitterGolden(t *testing.T) {
	tests := []struct {
		name      string
		fractions []float64
		want      [][]int // Counts(1), Counts(2), ...
	}{
		{name: "halves, ties to the lower index", fractions: []float64{1, 1},
			want: [][]int{{1, 0}, {1, 1}, {2, 1}, {2, 2}}},
		{name: "five three two", fractions: []float64{5, 3, 2},
			// At 8, B and C tie on w/(a+1) = 0.1 and B, the lower index,
			// wins; at 9 the same happens between A and C.
			want: [][]int{{1, 0, 0}, {1, 1, 0}, {2, 1, 0}, {2, 1, 1}, {3, 1, 1}, {3, 2, 1}, {4, 2, 1}, {4, 3, 1}, {5, 3, 1}, {5, 3, 2}}},
		{name: "zero fraction never gets a seat", fractions: []float64{0, 1, 2},
			want: [][]int{{0, 0, 1}, {0, 1, 1}, {0, 1, 2}, {0, 1, 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := NewSplitter(tc.fractions)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				if got := sp.Counts(i + 1); !reflect.DeepEqual(got, want) {
					t.Errorf("Counts(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// Why not the obvious roundings: on these small cases largest remainder
// (Hamilton) and cumulative floors both take a VU away from a shard when
// the total grows by one. The quota method does not.
func TestSplitterAvoidsTheAlabamaParadox(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		total   int
		naive   func(w []float64, n int) []int
	}{
		{name: "largest remainder", weights: []float64{1, 3, 3}, total: 3, naive: largestRemainder},
		{name: "cumulative floor", weights: []float64{2, 1, 2}, total: 2, naive: cumulativeFloor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !shrinks(tc.naive(tc.weights, tc.total), tc.naive(tc.weights, tc.total+1)) {
				t.Fatalf("%s should shrink a shard from %d to %d seats", tc.name, tc.total, tc.total+1)
			}
			sp, err := NewSplitter(tc.weights)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := sp.Counts(tc.total), sp.Counts(tc.total+1); shrinks(a, b) {
				t.Errorf("quota method shrinks a shard too: %v → %v", a, b)
			}
		})
	}
}

func shrinks(a, b []int) bool {
	for i := range a {
		if b[i] < a[i] {
			return true
		}
	}
	return false
}

func largestRemainder(w []float64, n int) []int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	out, rem, left := make([]int, len(w)), make([]float64, len(w)), n
	for i, x := range w {
		q := float64(n) * x / sum
		out[i] = int(q)
		rem[i] = q - float64(out[i])
		left -= out[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	return out
}

func cumulativeFloor(w []float64, n int) []int {
	var sum, acc float64
	for _, x := range w {
		sum += x
	}
	out, prev := make([]int, len(w)), 0
	for i, x := range w {
		acc += x
		cur := int(math.Floor(acc * float64(n) / sum))
		out[i], prev = cur-prev, cur
	}
	return out
}

// checkQuota fails unless counts sum to total and each lies within quota,
// allowing the tiny float epsilon by which the splitter's integer weights
// may differ from the float fractions.
func checkQuota(t *rapid.T, fractions []float64, total int, counts []int) {
	sum := 0
	for i, c := range counts {
		sum += c
		q := float64(total) * fractions[i]
		eps := 1e-9 * max(q, 1)
		if float64(c) < math.Floor(q-eps) || float64(c) > math.Ceil(q+eps) {
			t.Fatalf("N=%d shard %d: count %d outside quota %v (fractions %v)", total, i, c, q, fractions)
		}
	}
	if sum != total {
		t.Fatalf("N=%d: counts %v sum to %d", total, counts, sum)
	}
}

// Capacities are usually small integers, and then quotas are exact: a
// shard with 5 of 20 capacity gets exactly 2 of 8 VUs, with no epsilon,
// whether the splitter is given the capacities or Normalize's fractions.
func TestSplitterExactForIntegerCapacities(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		caps := rapid.SliceOfN(rapid.IntRange(0, 12), 1, 64).Draw(t, "capacities")
		weights, capSum := make([]float64, len(caps)), 0
		for i, c := range caps {
			weights[i], capSum = float64(c), capSum+c
		}
		if capSum == 0 {
			weights[0], caps[0], capSum = 1, 1, 1
		}
		fractions, _ := Normalize(weights)
		fromCaps, _ := NewSplitter(weights)
		fromFractions, _ := NewSplitter(fractions)
		for n := 0; n <= 400; n++ {
			counts := fromCaps.Counts(n)
			if other := fromFractions.Counts(n); !reflect.DeepEqual(counts, other) {
				t.Fatalf("N=%d: capacities give %v, fractions give %v", n, counts, other)
			}
			for i, c := range counts {
				lo := n * caps[i] / capSum
				hi := (n*caps[i] + capSum - 1) / capSum
				if c < lo || c > hi {
					t.Fatalf("N=%d shard %d: count %d outside [%d, %d] (capacities %v)", n, i, c, lo, hi, caps)
				}
			}
		}
	})
}

func TestSnap(t *testing.T) {
	tests := []struct {
		name     string
		x        float64
		num, den uint64
		ok       bool
	}{
		{name: "zero", x: 0, num: 0, den: 1, ok: true},
		{name: "one", x: 1, num: 1, den: 1, ok: true},
		{name: "a twentieth", x: 0.05, num: 1, den: 20, ok: true},
		{name: "a third, rounded", x: 1.0 / 3, num: 1, den: 3, ok: true},
		{name: "after Normalize", x: 5.0 / 7 / (1 + 2.0/7 + 5.0/7 + 1), num: 5, den: 21, ok: true},
		{name: "tiny", x: 1e-30, ok: false},
		{name: "irrational", x: math.Pi - 3, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			num, den, ok := snap(tc.x)
			if ok != tc.ok || (ok && (num != tc.num || den != tc.den)) {
				t.Errorf("snap(%v) = %d/%d, %v; want %d/%d, %v", tc.x, num, den, ok, tc.num, tc.den, tc.ok)
			}
		})
	}
}

func TestSplitterProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fractions := genFractions(64).Draw(t, "fractions")
		top := rapid.IntRange(0, 2000).Draw(t, "top")
		sp, err := NewSplitter(fractions)
		if err != nil {
			t.Fatal(err)
		}
		prev := sp.Counts(0)
		checkQuota(t, fractions, 0, prev)
		for n := 1; n <= top; n++ {
			cur := sp.Counts(n)
			checkQuota(t, fractions, n, cur)
			grew := 0
			for i := range cur {
				if cur[i] < prev[i] {
					t.Fatalf("shard %d went from %d to %d when N rose to %d", i, prev[i], cur[i], n)
				}
				grew += cur[i] - prev[i]
			}
			if grew != 1 {
				t.Fatalf("N=%d: %d seats changed hands, want exactly 1", n, grew)
			}
			prev = cur
		}
	})
}

// Large totals, asked in any order, through Count and Counts alike.
func TestSplitterLargeTotals(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fractions := genFractions(64).Draw(t, "fractions")
		sp, err := NewSplitter(fractions)
		if err != nil {
			t.Fatal(err)
		}
		totals := rapid.SliceOfN(rapid.IntRange(0, 50_000), 1, 5).Draw(t, "totals")
		for _, n := range totals {
			counts := sp.Counts(n)
			checkQuota(t, fractions, n, counts)
			next := sp.Counts(n + 1)
			for i := range counts {
				if next[i] < counts[i] {
					t.Fatalf("shard %d went from %d to %d at N=%d", i, counts[i], next[i], n+1)
				}
				if got := sp.Count(n, i); got != counts[i] {
					t.Fatalf("Count(%d, %d) = %d, Counts gave %d", n, i, got, counts[i])
				}
			}
		}
		// A fresh splitter asked in a different order agrees: the cache
		// does not change answers.
		fresh, _ := NewSplitter(fractions)
		for i := len(totals) - 1; i >= 0; i-- {
			if a, b := fresh.Counts(totals[i]), sp.Counts(totals[i]); !reflect.DeepEqual(a, b) {
				t.Fatalf("Counts(%d): fresh %v, cached %v", totals[i], a, b)
			}
		}
	})
}

// When a worker joins or leaves, a new Splitter takes over; at the same N
// its counts are still within quota and move only as far as the quotas do.
func TestSplitterFractionChange(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		old := genFractions(64).Draw(t, "old")
		w := rapid.SliceOfN(genWeight, len(old), len(old)).Draw(t, "new weights")
		if allZero(w) {
			w[0] = 1
		}
		next, err := Normalize(w)
		if err != nil {
			t.Fatal(err)
		}
		n := rapid.IntRange(0, 20_000).Draw(t, "N")
		a, _ := NewSplitter(old)
		b, _ := NewSplitter(next)
		ca, cb := a.Counts(n), b.Counts(n)
		checkQuota(t, next, n, cb)
		moved, bound := 0, len(old)
		for i := range ca {
			moved += abs(cb[i] - ca[i])
			bound += int(math.Ceil(math.Abs(next[i]-old[i]) * float64(n)))
		}
		if moved > bound {
			t.Fatalf("%d VUs moved, quotas force at most %d", moved, bound)
		}
	})
}

func abs(x int) int { return max(x, -x) }

func TestSplitterClampsTotals(t *testing.T) {
	sp, err := NewSplitter([]float64{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Counts(-5); !reflect.DeepEqual(got, []int{0, 0}) {
		t.Errorf("Counts(-5) = %v", got)
	}
	if got := sp.Count(-5, 1); got != 0 {
		t.Errorf("Count(-5, 1) = %d", got)
	}
	if got := sp.Fractions(); !reflect.DeepEqual(got, []float64{0.25, 0.75}) || sp.Shards() != 2 {
		t.Errorf("Fractions() = %v, Shards() = %d", got, sp.Shards())
	}
}

func TestSplitterClampsAtMaxSeats(t *testing.T) {
	if testing.Short() {
		t.Skip("assigns ten million seats")
	}
	sp, err := NewSplitter([]float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	a, b := sp.Counts(MaxSeats), sp.Counts(math.MaxInt)
	if !reflect.DeepEqual(a, b) || a[0]+a[1]+a[2] != MaxSeats {
		t.Errorf("Counts(MaxSeats) = %v, Counts(MaxInt) = %v", a, b)
	}
}

// Every shard computes its own count from the shared global target; the
// shares must add up to the global target at every instant.
func TestTargetIntSplitsExactly(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProfile(Closed).Draw(t, "p")
		fractions := genFractions(64).Draw(t, "fractions")
		sp, err := NewSplitter(fractions)
		if err != nil {
			t.Fatal(err)
		}
		at := genTime(t, p, "t")
		n := p.TargetInt(at)
		sum := 0
		for i := range fractions {
			sum += sp.Count(n, i)
		}
		if sum != n {
			t.Fatalf("shards sum to %d at %v, global target is %d", sum, at, n)
		}
	})
}

func BenchmarkCount(b *testing.B) {
	const shards, top = 16, 100_000
	r := rand.New(rand.NewPCG(3, 4))
	weights := make([]float64, shards)
	for i := range weights {
		weights[i] = 1 + r.Float64()*9
	}
	totals := make([]int, 4096)
	for i := range totals {
		totals[i] = r.IntN(top + 1)
	}
	b.Run("cold 100k seats", func(b *testing.B) {
		for b.Loop() {
			sp, _ := NewSplitter(weights)
			sp.Count(top, 0)
		}
	})
	b.Run("warm random total", func(b *testing.B) {
		sp, _ := NewSplitter(weights)
		sp.Count(top, 0)
		for i := 0; b.Loop(); i++ {
			sp.Count(totals[i%len(totals)], i%shards)
		}
	})
	b.Run("ramp one VU at a time", func(b *testing.B) {
		// What a shard does as the target climbs: each new total is one
		// seat beyond the cache.
		sp, _ := NewSplitter(weights)
		for i := 0; b.Loop(); i++ {
			if i%top == 0 {
				sp, _ = NewSplitter(weights)
			}
			sp.Count(i%top+1, 3)
		}
	})
}
