package profile

import (
	"math"
	"math/bits"
)

// The quota method compares wᵢ·(aⱼ+1) with wⱼ·(aᵢ+1) and aᵢ with (h+1)·wᵢ,
// and its answers change exactly where those are equal. Quantising float
// fractions would move those equalities: Normalize turns capacities
// {1,3,3,3,5,5} into 0.05, 0.15, … and quantising those to 2^-52 pushed
// the 25% shard's quota at N=8 a hair above 2, which handed it a third VU.
// Recovering the small rationals the fractions stand for (1/20, 3/20, …)
// keeps whole quotas whole and ties tied. Fractions that are not such
// rationals (within 1e-14) fall back to quantisation, where a near-tie is
// a genuine near-tie and the difference is far below one seat.

const (
	// snapTolerance is how close, relatively, a rational must be to a
	// fraction to stand for it: looser than Normalize's few ulps of error,
	// far tighter than anything that changes a count (1e-7 seats at
	// MaxSeats), and tight enough that a typical irrational-looking
	// fraction needs a denominator beyond maxDenominator.
	snapTolerance = 1e-14
	// maxDenominator bounds the denominators tried: capacities summing to
	// more than 16M are not worth recovering exactly. maxCommon bounds
	// their common multiple, so weights stay below 2^52 and products with
	// a seat count below 2^128.
	maxDenominator = 1 << 24
	maxCommon      = 1 << 52
	// quantum scales fractions in the fallback.
	quantum = 1 << 52
)

// integerWeights returns integer weights proportional to the fractions f
// (which sum to about 1) and their sum; sum is 0 only if every weight
// quantised to zero.
func integerWeights(f []float64) ([]uint64, uint64) {
	if w, sum, ok := rationalWeights(f); ok {
		return w, sum
	}
	w := make([]uint64, len(f))
	var sum uint64
	for i, x := range f {
		w[i] = uint64(math.Round(x * quantum))
		sum += w[i]
	}
	return w, sum
}

// rationalWeights writes every fraction as num/den and scales them to a
// common denominator; ok is false if some fraction is not a small rational
// or the common denominator grows too large.
func rationalWeights(f []float64) ([]uint64, uint64, bool) {
	nums, dens := make([]uint64, len(f)), make([]uint64, len(f))
	common := uint64(1)
	for i, x := range f {
		n, d, ok := snap(x)
		if !ok {
			return nil, 0, false
		}
		nums[i], dens[i] = n, d
		common = common / gcd(common, d) * d
		if common > maxCommon {
			return nil, 0, false
		}
	}
	w := make([]uint64, len(f))
	var sum, carry uint64
	for i := range f {
		w[i] = nums[i] * (common / dens[i]) // <= common·x <= 2^52
		sum, carry = bits.Add64(sum, w[i], 0)
		if carry != 0 {
			return nil, 0, false
		}
	}
	return w, sum, true
}

// snap finds the simplest fraction num/den (den <= maxDenominator) within
// snapTolerance of x in [0, 1], by walking the continued-fraction
// convergents of x, which are the best approximations for their size.
// The float recurrence may drift, but each candidate is checked against x
// itself, so drift can only cost a fallback, never a wrong answer.
func snap(x float64) (num, den uint64, ok bool) {
	if x == 0 {
		return 0, 1, true
	}
	tol := x * snapTolerance
	h0, h1 := uint64(0), uint64(1) // numerators of the last two convergents
	k0, k1 := uint64(1), uint64(0) // denominators
	r := x
	for range 64 {
		a := math.Floor(r)
		if a > maxDenominator {
			return 0, 0, false
		}
		ai := uint64(a)
		// Checked before multiplying so that nothing wraps; numerators
		// never exceed denominators by more than one since x <= 1.
		if k1 > 0 && ai > (maxDenominator-k0)/k1 {
			return 0, 0, false
		}
		h0, h1 = h1, ai*h1+h0
		k0, k1 = k1, ai*k1+k0
		if math.Abs(float64(h1)/float64(k1)-x) <= tol {
			return h1, k1, true
		}
		rest := r - a
		if rest == 0 {
			return 0, 0, false
		}
		r = 1 / rest
	}
	return 0, 0, false
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
