package hist

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The one histogram geometry used everywhere. Latency is recorded in
// microseconds; histograms of different geometries cannot be merged exactly,
// so the encoding carries these numbers and Decode rejects any others.
const (
	LowestMicros  = 1
	HighestMicros = 100_000_000 // 100 s; Record clamps longer latencies to this and counts them in StepStats.Clamped
	SigFigs       = 3
)

// Index math for the geometry above, needed because hdrhistogram-go exposes
// counts only through Export, and Decode must place a count at an index
// without building a dense 147 KB array first. TestGeometry pins these
// numbers to the library's own.
const (
	subBucketHalfMag = 10 // log2(half of the 2048 sub-buckets that give 3 significant digits)
	subBucketHalf    = 1 << subBucketHalfMag
	countsLen        = 18 * subBucketHalf // 17 buckets cover 2^27 > HighestMicros; +1 half for bucket 0
	// maxIndex is the index of HighestMicros. The library would accept the
	// rest of its last bucket (up to ~134 s), but Record never goes there, so
	// Decode treats anything above it as corrupt.
	maxIndex = 17909
)

// NewHistogram returns an empty histogram of the shared geometry.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestMicros, HighestMicros, SigFigs)
}

// hasGeometry reports whether h was built by NewHistogram (or an equivalent
// constructor): only then are its count indexes the ones this package uses.
func hasGeometry(h *hdrhistogram.Histogram) bool {
	return h.LowestTrackableValue() == LowestMicros &&
		h.HighestTrackableValue() == HighestMicros &&
		h.SignificantFigures() == SigFigs
}

// valueAtIndex returns the lowest value that the library records at counts
// index i; recording it puts the count back at i.
func valueAtIndex(i int) int64 {
	bucket := i>>subBucketHalfMag - 1
	sub := i&(subBucketHalf-1) + subBucketHalf
	if bucket < 0 {
		sub -= subBucketHalf
		bucket = 0
	}
	return int64(sub) << bucket
}

// micros converts a latency to the recorded unit. Negative durations (a
// clock step) record as 0; values above HighestMicros are clamped, and the
// caller counts them so that a capped max is never mistaken for a real one.
func micros(d time.Duration) (us int64, clamped bool) {
	if d <= 0 {
		return 0, false
	}
	us = int64(d / time.Microsecond)
	if us > HighestMicros {
		return HighestMicros, true
	}
	return us, false
}

// MaxIndex is the highest count index a histogram of the shared geometry
// holds a sample at (the index of HighestMicros).
const MaxIndex = maxIndex

// IndexRange returns the latencies, in µs, that the count at index i stands
// for: low to high, both included. high is what Percentile reports for a
// sample at i (its highest equivalent value).
func IndexRange(i int) (low, high int64) {
	return valueAtIndex(i), valueAtIndex(i+1) - 1
}
