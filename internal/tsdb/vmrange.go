package tsdb

import (
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/barrage/barrage/internal/hist"
)

// ranges maps each HDR count index (hist.IndexRange) to a VictoriaMetrics
// histogram bucket: a vmrange label such as "1.000e-02...1.136e-02" (18
// buckets per decade, upper bound included). The bounds and their labels
// are the metrics package's own: the table is built by putting each index's
// value into a metrics.Histogram and reading back the bucket it lands in, so
// that a series we push merges with series that the package's users push.
//
// An index stands for a range of latencies (a few µs wide at most, 0.1% of
// the value); the whole index goes to the bucket of its high end, the value
// the report's percentiles print. An index that straddles a bucket bound
// (a few in a thousand) may put a sample one bucket higher than
// metrics.Histogram would for the raw latency.
type ranges struct {
	once   sync.Once
	bucket []uint16 // by HDR index: an index into names
	names  []string // vmrange labels, in ascending order
}

var vmranges ranges

func (r *ranges) init() {
	r.once.Do(func() {
		r.bucket = make([]uint16, hist.MaxIndex+1)
		ids := map[string]uint16{}
		var h metrics.Histogram
		for i := range r.bucket {
			_, high := hist.IndexRange(i)
			h.Reset()
			h.Update(seconds(high))
			var name string
			h.VisitNonZeroBuckets(func(vmrange string, _ uint64) { name = vmrange })
			id, ok := ids[name]
			if !ok {
				id = uint16(len(r.names)) // #nosec G115 -- at most one name per HDR index, and MaxIndex < 2^16
				ids[name] = id
				r.names = append(r.names, name)
			}
			r.bucket[i] = id
		}
	})
}

// of returns the bucket (an index into names) of HDR index i.
func (r *ranges) of(i int) uint16 {
	r.init()
	return r.bucket[i]
}

// count returns how many buckets there are.
func (r *ranges) count() int {
	r.init()
	return len(r.names)
}

// name returns bucket b's vmrange label.
func (r *ranges) name(b uint16) string {
	r.init()
	return r.names[b]
}

// seconds converts a latency in µs (the histograms' unit) to seconds, the
// unit of barrage_request_duration_seconds.
func seconds(us int64) float64 { return float64(us) / 1e6 }
