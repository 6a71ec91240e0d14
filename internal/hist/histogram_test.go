package hist

import (
	"testing"
	"time"
)

// TestGeometry pins the index math Decode relies on to the library's own:
// every index's value must land back on that index.
func TestGeometry(t *testing.T) {
	h := NewHistogram()
	counts := h.Export().Counts
	if len(counts) != countsLen {
		t.Fatalf("library has %d counts, package assumes %d", len(counts), countsLen)
	}
	for i := range countsLen {
		if err := h.RecordValues(valueAtIndex(i), int64(i+1)); err != nil {
			t.Fatalf("record value of index %d: %v", i, err)
		}
	}
	for i, c := range h.Export().Counts {
		if c != int64(i+1) {
			t.Fatalf("value %d of index %d landed elsewhere: count %d", valueAtIndex(i), i, c)
		}
	}

	top := NewHistogram()
	if err := top.RecordValue(HighestMicros); err != nil {
		t.Fatal(err)
	}
	if got := top.Export().Counts[maxIndex]; got != 1 {
		t.Fatalf("HighestMicros is not at maxIndex %d", maxIndex)
	}
	if valueAtIndex(maxIndex+1) <= HighestMicros {
		t.Fatalf("index after maxIndex holds %d, not above HighestMicros", valueAtIndex(maxIndex+1))
	}
}

func TestMicros(t *testing.T) {
	tests := []struct {
		name        string
		in          time.Duration
		want        int64
		wantClamped bool
	}{
		{name: "negative", in: -time.Second, want: 0},
		{name: "zero", in: 0, want: 0},
		{name: "sub-microsecond truncates", in: 999 * time.Nanosecond, want: 0},
		{name: "one microsecond", in: time.Microsecond, want: 1},
		{name: "typical", in: 20*time.Millisecond + 1500*time.Nanosecond, want: 20001},
		{name: "exactly the highest", in: HighestMicros * time.Microsecond, want: HighestMicros},
		{name: "above the highest", in: 101 * time.Second, want: HighestMicros, wantClamped: true},
		{name: "max duration", in: time.Duration(1<<63 - 1), want: HighestMicros, wantClamped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, clamped := micros(tt.in)
			if got != tt.want || clamped != tt.wantClamped {
				t.Errorf("micros(%v) = %d, %v; want %d, %v", tt.in, got, clamped, tt.want, tt.wantClamped)
			}
		})
	}
}

// TestIndexRange: each index's range is what the library takes as one
// value, and its high end is what Percentile reports for a sample there.
func TestIndexRange(t *testing.T) {
	for _, i := range []int{0, 1, 1023, 1024, 2047, 2048, 2049, 3071, 3072, 9000, MaxIndex} {
		low, high := IndexRange(i)
		h := NewHistogram()
		if err := h.RecordValue(low); err != nil {
			t.Fatal(err)
		}
		if !h.ValuesAreEquivalent(low, high) || h.ValuesAreEquivalent(low, high+1) || (low > 0 && h.ValuesAreEquivalent(low-1, low)) {
			t.Errorf("index %d: [%d, %d] is not exactly one of the library's values", i, low, high)
		}
		if got := Percentile(h, 50); got != high {
			t.Errorf("index %d: Percentile %d, IndexRange high %d", i, got, high)
		}
	}
}
