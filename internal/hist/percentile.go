package hist

import (
	"math/big"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// maxExactCount bounds the sample counts Percentile is exact for: it hands
// the rank to the library as a percentile, which must not drift by a
// quarter of a rank in float64 (a year at 500,000 requests/s is 2^44).
const maxExactCount = 1 << 49

// Rank returns which sample, counting from 1 in increasing order, is the
// q-th percentile of n samples: ⌈q·n/100⌉, at least 1 and at most n (0 when
// n is 0). q is taken as the decimal it prints as — 99.9 is 999/10, not the
// binary fraction nearest to it — so that p99.9 of 1000 samples is exactly
// rank 999. q below 0 (or NaN) counts as 0, above 100 as 100.
func Rank(q float64, n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case !(q > 0):
		return 1
	case q >= 100:
		return n
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(q, 'g', -1, 64))
	if !ok { // cannot happen: FormatFloat of a finite number parses
		return n
	}
	r.Mul(r, big.NewRat(n, 100))
	num, den := r.Num(), r.Denom()
	rank := new(big.Int).Add(num, den)
	rank.Sub(rank, big.NewInt(1)).Quo(rank, den) // ⌈num/den⌉: both are positive
	return min(max(rank.Int64(), 1), n)
}

// Percentile returns the latency at percentile q (0 to 100) of h: the
// highest value equivalent to the sample at Rank(q, TotalCount) — the
// largest value that sample may have been — or, for q = 0, the lowest value
// equivalent to the smallest sample. 0 for an empty histogram.
//
// This is the definition of HdrHistogram's reference implementation (Java's
// getValueAtPercentile) and of hdr-histogram-js, which other HDR tools
// report. hdrhistogram-go's own ValueAtQuantile rounds the rank to the
// nearest instead (so p99.9 of 970 samples is the 969th, not the max):
// every percentile Barrage shows goes through this function instead.
func Percentile(h *hdrhistogram.Histogram, q float64) int64 {
	if h == nil {
		return 0
	}
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	if !(q > 0) {
		return h.ValueAtPercentile(0)
	}
	r := Rank(q, n)
	if r == n {
		return h.Max()
	}
	if n > maxExactCount {
		return valueAtRank(h, r)
	}
	// The library takes rank int64(p/100·n + 0.5) for p; at
	// p = 100·(r − ¼)/n that is r (and so it would be were the library to
	// round the rank up, as the reference does), however p's last bits fall.
	return h.ValueAtPercentile(100 * (float64(r) - 0.25) / float64(n))
}

// valueAtRank is Percentile's slow path, for counts too large to pass as a
// percentile: it walks the histogram's bars to the r-th sample.
func valueAtRank(h *hdrhistogram.Histogram, r int64) int64 {
	var seen int64
	for _, bar := range h.Distribution() {
		seen += bar.Count
		if seen >= r {
			return bar.To
		}
	}
	return h.Max()
}
