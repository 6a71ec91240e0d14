package tsdb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/VictoriaMetrics/metrics"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// bucketsOf returns a metrics.Histogram's buckets by vmrange.
func bucketsOf(h *metrics.Histogram) map[string]uint64 {
	out := map[string]uint64{}
	h.VisitNonZeroBuckets(func(vmrange string, n uint64) { out[vmrange] = n })
	return out
}

// mapped returns an HDR histogram's counts in vmrange buckets, as the
// exporter maps them.
func mapped(h *hdrhistogram.Histogram) map[string]uint64 {
	out := map[string]uint64{}
	for i, n := range h.Export().Counts {
		if n > 0 {
			out[vmranges.name(vmranges.of(i))] += uint64(n)
		}
	}
	return out
}

// TestVMRangeMatchesMetricsHistogram feeds the same latencies to an HDR
// histogram (mapped to vmrange by the exporter) and to a metrics.Histogram
// (which buckets the raw value). Below 2,048 µs HDR keeps every µs, so the
// buckets must be equal. Above, an HDR index holds a few µs; a sample whose
// index straddles a vmrange bound may go one bucket up, and only those: the
// test counts them independently and allows exactly that many moves.
func TestVMRangeMatchesMetricsHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name     string
		lo, hi   int64
		wantSame bool
	}{
		{"exact below 2048 µs", 0, 2047, true},
		{"1 ms to 100 s", 1000, hist.HighestMicros, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hist.NewHistogram()
			var vm metrics.Histogram
			straddling := 0
			for range 200_000 {
				v := tc.lo + rng.Int64N(tc.hi-tc.lo+1)
				if rng.IntN(2) == 0 { // log-uniform too, to cover every decade
					v = max(tc.lo, min(tc.hi, int64(float64(tc.lo+1)*math.Pow(float64(tc.hi)/float64(tc.lo+1), rng.Float64()))))
				}
				if err := h.RecordValue(v); err != nil {
					t.Fatal(err)
				}
				vm.Update(seconds(v))
				// Independent of the exporter's table: does v's index hold
				// latencies of two buckets?
				if low, high := hist.IndexRange(index(v)); bucketOfRaw(seconds(low)) != bucketOfRaw(seconds(high)) {
					straddling++
				}
			}
			got, want := mapped(h), bucketsOf(&vm)
			var total, moved uint64
			for r, n := range want {
				total += n
				if got[r] < n {
					moved += n - got[r]
				}
			}
			var gotTotal uint64
			for _, n := range got {
				gotTotal += n
			}
			if gotTotal != total || total != uint64(h.TotalCount()) {
				t.Fatalf("mapped %d samples, metrics.Histogram %d, HDR %d", gotTotal, total, h.TotalCount())
			}
			t.Logf("%d samples in %d buckets; %d moved, %d straddle a bound", total, len(want), moved, straddling)
			if tc.wantSame && (moved != 0 || straddling != 0) {
				t.Fatalf("%d samples in other buckets than metrics.Histogram's: got %v, want %v", moved, got, want)
			}
			if moved > uint64(straddling) {
				t.Fatalf("%d samples moved, only %d straddle a bound", moved, straddling)
			}
			for r, n := range got {
				if want[r] == 0 && n > 0 && !adjacentToWanted(r, want) {
					t.Errorf("bucket %s has %d samples, metrics.Histogram none nearby", r, n)
				}
			}
		})
	}
}

// bucketOfRaw is the bucket metrics.Histogram puts v in.
func bucketOfRaw(v float64) string {
	var h metrics.Histogram
	h.Update(v)
	var name string
	h.VisitNonZeroBuckets(func(r string, _ uint64) { name = r })
	return name
}

// index is the HDR count index of value v.
func index(v int64) int {
	return sort.Search(hist.MaxIndex+1, func(i int) bool { _, high := hist.IndexRange(i); return high >= v })
}

func adjacentToWanted(r string, want map[string]uint64) bool {
	for b := range vmranges.count() {
		if vmranges.name(uint16(b)) == r {
			return b > 0 && want[vmranges.name(uint16(b-1))] > 0
		}
	}
	return false
}

// TestTagLabels: run tags become run_info labels that never clash with its
// own labels or with each other.
func TestTagLabels(t *testing.T) {
	r := &store.Run{ID: "r", Tags: map[string]string{"env-x": "a", "env_x": "b", "status": "c", "tag_status": "d", "9lives": "e", "__x": "f"}}
	l := labelsOf(r, &scenario.Plan{Name: "s"})
	got := map[string]string{}
	for _, kv := range l.tags {
		if _, dup := got[kv[0]]; dup {
			t.Fatalf("label %s twice in %v", kv[0], l.tags)
		}
		got[kv[0]] = kv[1]
	}
	want := map[string]string{"tag_9lives": "e", "tag___x": "f", "env_x": "a", "env_x_2": "b", "tag_status": "c", "tag_status_2": "d"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}
