package profile

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Splitting virtual users is an apportionment problem: n shards with
// fractions w₁..wₙ share N seats, and as N moves with the profile every
// shard's count must move as little as possible. The obvious roundings fail:
// largest remainder (Hamilton) can take a VU away from a shard when N grows
// (the Alabama paradox), and so can rounding cumulative sums. The
// Balinski–Young quota method is both house monotone and within quota, but
// it is defined seat by seat, so a Splitter caches the seat order.

// MaxSeats is the largest total a Splitter apportions; larger totals are
// clamped to it. It equals MaxVUs, which bounds every closed-model target.
const MaxSeats = MaxVUs

// Normalize scales non-negative weights (such as declared worker capacities)
// into fractions that sum to 1. It rejects an empty list, negative, NaN or
// infinite weights, and a list whose weights are all zero.
func Normalize(weights []float64) ([]float64, error) {
	if len(weights) == 0 {
		return nil, fieldErr("weights", "need at least one")
	}
	var top float64
	for i, w := range weights {
		switch {
		case math.IsNaN(w) || math.IsInf(w, 0):
			return nil, fieldErr(fmt.Sprintf("weights[%d]", i), "must be finite")
		case w < 0:
			return nil, fieldErr(fmt.Sprintf("weights[%d]", i), "must be >= 0")
		}
		top = max(top, w)
	}
	if top == 0 {
		return nil, fieldErr("weights", "at least one must be > 0")
	}
	// Dividing by the largest weight first keeps the sum from overflowing.
	var sum float64
	for _, w := range weights {
		sum += w / top
	}
	out := make([]float64, len(weights))
	for i, w := range weights {
		out[i] = w / top / sum
	}
	return out, nil
}

// SplitRate splits an arrival rate proportionally: shard i gets
// rate × fractions[i]. Rates are real numbers, so no rounding is needed.
func SplitRate(rate float64, fractions []float64) []float64 {
	out := make([]float64, len(fractions))
	for i, f := range fractions {
		out[i] = rate * f
	}
	return out
}

// Splitter apportions an integer total of virtual users over shards so that,
// for every total N:
//
//  1. the counts sum to N exactly;
//  2. each count is ⌊N·wᵢ⌋ or ⌈N·wᵢ⌉ (within quota);
//  3. no count decreases when N grows (house monotone), so a rise of one VU
//     adds exactly one VU to one shard;
//  4. the result is the same on every machine.
//
// It implements the Balinski–Young quota method: seat h+1 goes to the shard
// with the largest wᵢ/(aᵢ+1) among those still below their upper quota
// ⌈(h+1)·wᵢ⌉, ties to the lowest index. To make property 4 hold across
// architectures, the fractions become integer weights once (see
// integerWeights) and every later comparison is exact 128-bit integer
// arithmetic. Fractions that are ratios of small integers, such as those
// Normalize makes from integer capacities, are recovered exactly, so a
// quota that is a whole number is met exactly and ties are true ties.
//
// Seats are assigned lazily up to the largest total asked for, O(n) per new
// seat, and remembered (4 bytes each) so that later queries are a binary
// search. When fractions change (a worker joins or leaves), build a new
// Splitter; keep shard indices stable by giving a departed shard weight 0.
//
// A Splitter is not safe for concurrent use: it is meant to be owned by one
// workflow or one shard's loop, where a lock would be dead weight.
type Splitter struct {
	fractions  []float64
	weights    []uint64  // fractions[i] ≈ weights[i]/sum, exactly when they are small rationals
	sum        uint64    // Σ weights, the exact common denominator
	counts     []int     // seats per shard at house size seats
	eligibleAt []uint64  // per shard, the house size from which it may take a seat
	seats      int       // house size assigned so far
	won        [][]int32 // won[i] lists, ascending, the house sizes at which shard i got a seat
}

// NewSplitter builds a Splitter for fractions, which it normalises, so raw
// weights such as capacities are accepted too. It fails on the inputs
// Normalize rejects.
func NewSplitter(fractions []float64) (*Splitter, error) {
	f, err := Normalize(fractions)
	if err != nil {
		return nil, fmt.Errorf("new splitter: %w", err)
	}
	w, sum := integerWeights(f)
	if sum == 0 {
		// Only reachable with more than 2^53 shards.
		return nil, fmt.Errorf("new splitter: %w", fieldErr("weights", "too many shards to quantise"))
	}
	s := &Splitter{
		fractions:  f,
		weights:    w,
		sum:        sum,
		counts:     make([]int, len(f)),
		eligibleAt: make([]uint64, len(f)),
		won:        make([][]int32, len(f)),
	}
	for i := range w {
		s.eligibleAt[i] = eligibleAt(0, w[i], sum)
	}
	return s, nil
}

// Fractions returns a copy of the normalised fractions.
func (s *Splitter) Fractions() []float64 { return append([]float64(nil), s.fractions...) }

// Shards is the number of shards.
func (s *Splitter) Shards() int { return len(s.fractions) }

// Counts returns every shard's count for total. total is clamped to
// [0, MaxSeats], so the counts sum to the clamped total.
func (s *Splitter) Counts(total int) []int {
	total = clampSeats(total)
	s.extend(total)
	if total == s.seats {
		return append([]int(nil), s.counts...)
	}
	out := make([]int, len(s.counts))
	for i := range out {
		out[i] = s.countBelow(total, i)
	}
	return out
}

// Count returns one shard's count for total (clamped as in Counts). It
// panics if shard is out of range, like indexing a slice.
func (s *Splitter) Count(total, shard int) int {
	total = clampSeats(total)
	s.extend(total)
	if total == s.seats {
		return s.counts[shard]
	}
	return s.countBelow(total, shard)
}

func clampSeats(total int) int { return min(max(total, 0), MaxSeats) }

// countBelow counts shard's seats among the first total; total <= s.seats.
func (s *Splitter) countBelow(total, shard int) int {
	// Seat numbers are distinct, so where total+1 would go is how many
	// are <= total.
	n, _ := slices.BinarySearch(s.won[shard], int32(total)+1) // #nosec G115 -- total is in 0..MaxSeats (< 2^31), as callers clamp it
	return n
}

// extend assigns seats until the house has total of them.
func (s *Splitter) extend(total int) {
	for s.seats < total {
		next := uint64(s.seats) + 1 // #nosec G115 -- seats and counts stay in 0..MaxSeats
		best := -1
		for i, at := range s.eligibleAt {
			if next < at {
				continue
			}
			// Largest w/(a+1) wins; strictly greater keeps ties at the
			// lowest index.
			// #nosec G115 -- counts are in 0..MaxSeats
			if best < 0 || cmpProducts(s.weights[i], uint64(s.counts[best])+1, s.weights[best], uint64(s.counts[i])+1) > 0 {
				best = i
			}
		}
		if best < 0 {
			// The upper quotas at next sum to at least next > seats, so
			// some shard is below its own; reaching here is a bug.
			panic("profile: quota method found no eligible shard")
		}
		s.counts[best]++
		s.seats++
		s.won[best] = append(s.won[best], int32(s.seats))                               // #nosec G115 -- seats <= MaxSeats < 2^31
		s.eligibleAt[best] = eligibleAt(uint64(s.counts[best]), s.weights[best], s.sum) // #nosec G115 -- counts are in 0..MaxSeats
	}
}

// eligibleAt is the smallest house size h at which a shard holding a seats
// is below its upper quota ⌈h·w/sum⌉. For integer a that is a < h·w/sum,
// i.e. h > a·sum/w, so h = ⌊a·sum/w⌋+1. Caching it per shard leaves one
// integer comparison per shard and seat instead of two 128-bit products.
func eligibleAt(a, w, sum uint64) uint64 {
	if w == 0 {
		return math.MaxUint64
	}
	hi, lo := bits.Mul64(a, sum)
	if hi >= w {
		return math.MaxUint64 // beyond any house size
	}
	q, _ := bits.Div64(hi, lo, w)
	return q + 1
}

// cmpProducts compares a·b with c·d exactly.
func cmpProducts(a, b, c, d uint64) int {
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d)
	if h1 != h2 {
		return cmp.Compare(h1, h2)
	}
	return cmp.Compare(l1, l2)
}

// Cycle is a whole round of seats: with weights that are ratios of small
// integers, the house size at which every quota is whole (their sum), so
// that Seat cycling through 1..Cycle() hands out exactly the fractions;
// otherwise a round large enough that the difference is below one seat
// in 2^16.
func (s *Splitter) Cycle() int {
	return int(min(s.sum, 1<<16)) // #nosec G115 -- at most 2^16
}

// Seat returns the shard that seat h (1-based, clamped to 1..MaxSeats)
// goes to: the seat order of the quota method, so that the first h seats
// are Counts(h).
func (s *Splitter) Seat(h int) int {
	h = min(max(h, 1), MaxSeats)
	s.extend(h)
	for i, won := range s.won {
		if _, ok := slices.BinarySearch(won, int32(h)); ok { // #nosec G115 -- h is in 1..MaxSeats
			return i
		}
	}
	panic("profile: a seat the quota method assigned has no shard")
}
