package hist

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// MaxStatus is the largest status code kept as is; Record files codes
// outside 0..MaxStatus under 0, and Decode rejects them.
const MaxStatus = 999

// Result is one finished request.
type Result struct {
	Latency       time.Duration
	Status        int        // 0 when no response arrived
	Class         ErrorClass // ClassNone = success; any other class counts as an error
	BytesSent     int64
	BytesReceived int64
	ChecksPassed  uint32
	ChecksFailed  uint32
}

// Recorder accumulates the results of one shard, per step, between two
// Flush calls. It is safe for concurrent use by many goroutines.
type Recorder struct {
	slots   []slot
	dropped atomic.Uint64
	iters   atomic.Uint64

	flushMu sync.Mutex  // serializes Flush
	spares  []*counters // zeroed buffers, one per step, swapped in by Flush

	poolMu sync.Mutex
	free   []*hdrhistogram.Histogram // reset histograms handed back by Release
}

// slot guards one step's live buffer. Each step has its own lock so that
// virtual users on different steps do not contend; the padding keeps two
// slots' locks off one cache line.
type slot struct {
	mu  sync.Mutex
	cur *counters
	_   [48]byte
}

// counters is one interval's recording for one step. Status codes and
// classes are dense arrays rather than maps so that Record never allocates
// or hashes.
type counters struct {
	requests, errors           uint64
	bytesSent, bytesReceived   uint64
	checksPassed, checksFailed uint64
	clamped                    uint64
	status                     [MaxStatus + 1]uint64
	classes                    [NumClasses]uint64
	latency                    *hdrhistogram.Histogram
}

// NewRecorder returns a recorder for a scenario of the given number of
// steps. It panics if steps is negative or above MaxSteps, as make panics on
// a bad length: the caller's scenario is already validated by then.
func NewRecorder(steps int) *Recorder {
	if steps < 0 || steps > MaxSteps {
		panic(fmt.Sprintf("hist: NewRecorder(%d): steps must be within 0..%d", steps, MaxSteps))
	}
	r := &Recorder{
		slots:  make([]slot, steps),
		spares: make([]*counters, steps),
	}
	for i := range r.slots {
		r.slots[i].cur = &counters{latency: NewHistogram()}
		r.spares[i] = &counters{}
	}
	return r
}

// Steps returns the number of steps the recorder was made for.
func (r *Recorder) Steps() int { return len(r.slots) }

// Record adds one finished request to step's current interval. It panics if
// step is out of range, like an index expression. Latencies above
// HighestMicros are recorded as HighestMicros and counted in Clamped; status
// codes outside 0..MaxStatus as 0; undefined classes as ClassOther; negative
// byte counts as 0.
func (r *Recorder) Record(step int, res Result) {
	us, clamped := micros(res.Latency)
	code := res.Status
	if code < 0 || code > MaxStatus {
		code = 0
	}
	class := res.Class
	if !class.Valid() {
		class = ClassOther
	}
	sent, received := nonNegative(res.BytesSent), nonNegative(res.BytesReceived)

	sl := &r.slots[step]
	sl.mu.Lock()
	c := sl.cur
	c.requests++
	if class != ClassNone {
		c.errors++
		c.classes[class]++
	}
	if clamped {
		c.clamped++
	}
	c.bytesSent += sent
	c.bytesReceived += received
	c.checksPassed += uint64(res.ChecksPassed)
	c.checksFailed += uint64(res.ChecksFailed)
	c.status[code]++
	_ = c.latency.RecordValue(us) // cannot fail: us is within [0, HighestMicros]
	sl.mu.Unlock()
}

// AddDropped counts open-model iterations that were due but could not start
// (no free virtual user), so that they are reported rather than lost.
func (r *Recorder) AddDropped(n uint64) {
	r.dropped.Add(n)
}

// AddIteration counts an iteration that ran all its steps; call it after
// the iteration's last Record, so that a snapshot never counts an
// iteration whose requests it does not hold.
func (r *Recorder) AddIteration() {
	r.iters.Add(1)
}

// Flush returns everything recorded since the previous Flush and starts a
// fresh interval. Each step's buffer is swapped under its lock, so Record
// waits only for a pointer swap; the snapshot is built afterwards. The
// caller fills in the identity and VU fields. Hand the snapshot to Release
// once it has been encoded, so that the next Flush reuses its histograms
// instead of allocating new ones.
func (r *Recorder) Flush(start, end time.Time) *Snapshot {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()

	s := &Snapshot{
		Start:   start,
		End:     end,
		Dropped: r.dropped.Swap(0),
		// Swapped before the steps: an iteration counted here had its
		// last request recorded before, so it is in this snapshot or an
		// earlier one.
		Iterations: r.iters.Swap(0),
		Steps:      make([]StepStats, len(r.slots)),
	}
	for i := range r.slots {
		fresh := r.spares[i]
		fresh.latency = r.takeHistogram()

		sl := &r.slots[i]
		sl.mu.Lock()
		old := sl.cur
		sl.cur = fresh
		sl.mu.Unlock()

		s.Steps[i] = old.export()
		*old = counters{}
		r.spares[i] = old
	}
	return s
}

// Release hands the snapshot's histograms back for reuse by later Flush
// calls. The snapshot must not be used afterwards: its Latency fields are
// set to nil so that a mistaken use fails loudly instead of reading a
// histogram that is being recorded into again. Snapshots from Decode, Fold
// or Clone can be released too.
func (r *Recorder) Release(s *Snapshot) {
	if s == nil {
		return
	}
	for i := range s.Steps {
		h := s.Steps[i].Latency
		s.Steps[i].Latency = nil
		if h == nil || !hasGeometry(h) {
			continue
		}
		h.Reset()
		r.poolMu.Lock()
		// Two sets cover one snapshot in flight while the next is flushed;
		// more would only pin memory after a burst of buffered snapshots.
		if len(r.free) < 2*len(r.slots) {
			r.free = append(r.free, h)
		}
		r.poolMu.Unlock()
	}
}

func (r *Recorder) takeHistogram() *hdrhistogram.Histogram {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	if n := len(r.free); n > 0 {
		h := r.free[n-1]
		r.free[n-1] = nil
		r.free = r.free[:n-1]
		return h
	}
	return NewHistogram()
}

// export moves the buffer's data into a StepStats; the histogram changes
// owner, the arrays become sparse maps.
func (c *counters) export() StepStats {
	st := StepStats{
		Requests:      c.requests,
		Errors:        c.errors,
		BytesSent:     c.bytesSent,
		BytesReceived: c.bytesReceived,
		ChecksPassed:  c.checksPassed,
		ChecksFailed:  c.checksFailed,
		Clamped:       c.clamped,
		Status:        make(map[int]uint64),
		Classes:       make(map[ErrorClass]uint64),
		Latency:       c.latency,
	}
	for code, n := range c.status {
		if n != 0 {
			st.Status[code] = n
		}
	}
	for class, n := range c.classes {
		if n != 0 {
			st.Classes[ErrorClass(class)] = n
		}
	}
	return st
}

func nonNegative(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}
