package hist

import (
	"maps"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Snapshot is what one shard recorded during one interval: mergeable,
// encodable data, separate from the Recorder that produced it.
type Snapshot struct {
	RunID   string
	Worker  string // worker (fleet node) id
	Shard   uint32
	Attempt uint32
	Seq     uint64 // per (run, shard, attempt), starting at 1; 0 on folded snapshots

	Start, End time.Time

	ActiveVUs uint32
	TargetVUs uint32
	Dropped   uint64 // open-model iterations that were due but could not start
	// Iterations counts the iterations that ran all their steps in the
	// interval (an iteration counts in the interval it ended in, after its
	// last request).
	Iterations uint64

	Steps []StepStats
}

// StepStats is one step's (or, merged, several steps') traffic.
//
// Maps hold only non-zero counts; an empty map and a nil map mean the same,
// and zero entries do not survive encoding.
type StepStats struct {
	Requests      uint64
	Errors        uint64 // requests whose Class was not ClassNone
	BytesSent     uint64
	BytesReceived uint64
	ChecksPassed  uint64
	ChecksFailed  uint64
	// Clamped counts requests slower than HighestMicros, which the histogram
	// holds as HighestMicros: when it is non-zero, the max is a floor.
	Clamped uint64

	Status  map[int]uint64        // status code -> count (0 = no response)
	Classes map[ErrorClass]uint64 // only error classes (never ClassNone)
	// Latency holds every request, errors included, so
	// Latency.TotalCount() == Requests.
	Latency *hdrhistogram.Histogram
}

// counterFields lists the plain counters once, so that the plain and the
// overflow-checked sums cannot drift apart when a field is added.
func (s *StepStats) counterFields() [7]*uint64 {
	return [...]*uint64{
		&s.Requests, &s.Errors, &s.BytesSent, &s.BytesReceived,
		&s.ChecksPassed, &s.ChecksFailed, &s.Clamped,
	}
}

// Merge adds o into s with HDR merge semantics: the merged histogram is the
// one a single recorder would have built from both sets of samples. Both
// histograms must have the shared geometry. Sums are not checked for
// overflow; Fold checks them for data from the network.
func (s *StepStats) Merge(o *StepStats) {
	s.mergeCounts(o)
	s.mergeLatency(o)
}

// mergeCounts adds o's counters, status codes and error classes, not its
// histogram.
func (s *StepStats) mergeCounts(o *StepStats) {
	dst, src := s.counterFields(), o.counterFields()
	for i := range dst {
		*dst[i] += *src[i]
	}
	s.mergeMaps(o)
}

// mergeDetail merges everything but the plain counters.
func (s *StepStats) mergeDetail(o *StepStats) {
	s.mergeMaps(o)
	s.mergeLatency(o)
}

// mergeMaps adds o's status codes and error classes.
func (s *StepStats) mergeMaps(o *StepStats) {
	if s.Status == nil {
		s.Status = make(map[int]uint64, len(o.Status))
	}
	for code, n := range o.Status {
		s.Status[code] += n
	}
	if s.Classes == nil {
		s.Classes = make(map[ErrorClass]uint64, len(o.Classes))
	}
	for class, n := range o.Classes {
		s.Classes[class] += n
	}
}

func (s *StepStats) mergeLatency(o *StepStats) {
	if s.Latency == nil {
		s.Latency = NewHistogram()
	}
	if o.Latency != nil {
		s.Latency.Merge(o.Latency)
	}
}

// Clone returns a deep copy that shares nothing with s.
func (s *StepStats) Clone() StepStats {
	c := *s
	c.Status = maps.Clone(s.Status)
	c.Classes = maps.Clone(s.Classes)
	if s.Latency != nil {
		c.Latency = s.Latency.Clone()
	}
	return c
}

// Total returns all steps merged: the snapshot's overall traffic.
func (s *Snapshot) Total() StepStats {
	t := emptyStepStats()
	for i := range s.Steps {
		t.Merge(&s.Steps[i])
	}
	return t
}

// Clone returns a deep copy that shares nothing with s.
func (s *Snapshot) Clone() *Snapshot {
	if s == nil {
		return nil
	}
	c := *s
	if s.Steps != nil {
		c.Steps = make([]StepStats, len(s.Steps))
		for i := range s.Steps {
			c.Steps[i] = s.Steps[i].Clone()
		}
	}
	return &c
}

func emptyStepStats() StepStats {
	return StepStats{
		Status:  make(map[int]uint64),
		Classes: make(map[ErrorClass]uint64),
		Latency: NewHistogram(),
	}
}
