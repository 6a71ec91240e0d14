package hist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Folding many snapshots through Decode and Fold builds a histogram per
// snapshot and step (a 147 KB array each) and then merges them bucket by
// bucket. Inspect and Accumulator work from the wire format instead: an
// encoding's run-length entries are added straight into one dense count
// array per step, and a histogram is built once, when asked for.

// entry is one histogram count read off the wire, at its counts index.
type entry struct {
	idx   int32
	count int64
}

// scanned holds the histogram entries of a snapshot read without building
// its histograms: step i's entries are entries[ends[i-1]:ends[i]].
type scanned struct {
	entries []entry
	ends    []int
	samples []uint64
}

func (sc *scanned) reset() {
	sc.entries, sc.ends, sc.samples = sc.entries[:0], sc.ends[:0], sc.samples[:0]
}

func (sc *scanned) step(i int) []entry {
	from := 0
	if i > 0 {
		from = sc.ends[i-1]
	}
	return sc.entries[from:sc.ends[i]]
}

// Inspect checks an encoding exactly as Decode does — envelope, checksum,
// limits and every rule — without building its histograms, and returns the
// snapshot with a nil Latency in every step. It costs one pass over the
// bytes, so a server can validate what it stores without decoding it.
func Inspect(b []byte) (*Snapshot, error) {
	var sc scanned
	return scan(b, &sc)
}

// scan parses b, collecting its histogram entries into sc (reset first).
func scan(b []byte, sc *scanned) (*Snapshot, error) {
	sc.reset()
	return parse(b, sc)
}

// Accumulator folds encoded snapshots of one interval, as Fold does with
// decoded ones, at the cost of reading each encoding once: counters, status
// codes and error classes are summed, and histogram entries added into one
// dense count array per step. The histograms are built once, by Snapshot or
// Total. The zero value is ready to use. Add and Reset must not run
// concurrently with anything; Snapshot, Total, Header and AppendBinary only
// read, so several goroutines may call them at once.
type Accumulator struct {
	// NoGauges leaves ActiveVUs and TargetVUs out of the fold: they add up
	// across the shards of one interval, but not across intervals, where
	// their sum means nothing and may not fit (a report of a long run).
	NoGauges bool

	out   Snapshot // identity, bounds and gauges of the fold; Steps unused
	steps []accStep
	n     int
	sc    scanned
}

// accStep is one step's sums; counts is nil until a sample arrives, and
// lo..hi bounds its non-zero indexes.
type accStep struct {
	StepStats
	counts []int64
	lo, hi int
}

// Add folds one encoding in and returns it as Inspect would. The first
// encoding sets the run and the step count; later ones must match them
// (ErrMismatch). An encoding that is corrupt, does not match or would
// overflow a sum is refused and changes nothing.
func (a *Accumulator) Add(b []byte) (*Snapshot, error) {
	s, err := scan(b, &a.sc)
	if err != nil {
		return nil, err
	}
	if a.n == 0 {
		a.start(s)
	} else if err := a.fits(s); err != nil {
		return nil, err
	}
	if !a.NoGauges {
		a.out.ActiveVUs += s.ActiveVUs
		a.out.TargetVUs += s.TargetVUs
	}
	a.out.Dropped += s.Dropped
	a.out.Iterations += s.Iterations
	for i := range s.Steps {
		st := &a.steps[i]
		st.addCounters(&s.Steps[i]) // fits checked it
		st.mergeMaps(&s.Steps[i])
		st.addEntries(a.sc.step(i))
	}
	if s.Start.Before(a.out.Start) {
		a.out.Start = s.Start
	}
	if s.End.After(a.out.End) {
		a.out.End = s.End
	}
	a.n++
	return s, nil
}

// start sets the fold up from its first snapshot, reusing count arrays.
func (a *Accumulator) start(s *Snapshot) {
	a.out = Snapshot{RunID: s.RunID, Start: s.Start, End: s.End}
	for len(a.steps) < len(s.Steps) {
		a.steps = append(a.steps, accStep{})
	}
	a.steps = a.steps[:len(s.Steps)]
	for i := range a.steps {
		st := &a.steps[i]
		clear(st.counts)
		st.StepStats = StepStats{Status: map[int]uint64{}, Classes: map[ErrorClass]uint64{}}
		st.lo, st.hi = countsLen, -1
	}
}

// fits checks that s may join the fold: same run, same steps, no overflow.
func (a *Accumulator) fits(s *Snapshot) error {
	if s.RunID != a.out.RunID {
		return badf(ErrMismatch, "run %q, want %q", s.RunID, a.out.RunID)
	}
	if len(s.Steps) != len(a.steps) {
		return badf(ErrMismatch, "%d steps, want %d", len(s.Steps), len(a.steps))
	}
	_, ok1 := addUint32(a.out.ActiveVUs, s.ActiveVUs)
	_, ok2 := addUint32(a.out.TargetVUs, s.TargetVUs)
	_, ok3 := addUint64(a.out.Dropped, s.Dropped)
	if _, ok := addUint64(a.out.Iterations, s.Iterations); !ok {
		ok3 = false
	}
	if a.NoGauges {
		ok1, ok2 = true, true
	}
	if !ok1 || !ok2 || !ok3 {
		return badf(ErrOverflow, "VUs or dropped iterations")
	}
	for i := range s.Steps {
		sum := a.steps[i].StepStats
		if !sum.addCounters(&s.Steps[i]) {
			return badf(ErrOverflow, "step %d", i)
		}
	}
	return nil
}

func (st *accStep) addEntries(es []entry) {
	if len(es) == 0 {
		return
	}
	if st.counts == nil {
		st.counts = make([]int64, countsLen)
	}
	for _, e := range es {
		st.counts[e.idx] += e.count
	}
	st.lo = min(st.lo, int(es[0].idx))
	st.hi = max(st.hi, int(es[len(es)-1].idx))
}

// Len returns how many snapshots were folded in.
func (a *Accumulator) Len() int { return a.n }

// Reset empties the fold, keeping its count arrays for reuse.
func (a *Accumulator) Reset() { a.n = 0 }

// Header returns the fold's identity, bounds and summed gauges, without steps.
func (a *Accumulator) Header() Snapshot { return a.out }

// Snapshot returns the fold as Fold would: a new snapshot whose histograms
// are built once from the summed counts. It is nil when nothing was added.
func (a *Accumulator) Snapshot() *Snapshot {
	if a.n == 0 {
		return nil
	}
	s := a.out
	s.Steps = make([]StepStats, len(a.steps))
	for i := range a.steps {
		s.Steps[i] = a.steps[i].stats()
	}
	return &s
}

// stats returns a step's sums with their histogram.
func (st *accStep) stats() StepStats {
	out := st.StepStats.Clone()
	out.Latency = histogramOf(st.counts)
	return out
}

// Total returns every step merged — the snapshot's Total — with one
// histogram built from all steps' counts.
func (a *Accumulator) Total() StepStats {
	t := StepStats{Status: map[int]uint64{}, Classes: map[ErrorClass]uint64{}}
	var counts []int64
	for i := range a.steps {
		st := &a.steps[i]
		t.mergeCounts(&st.StepStats)
		if st.hi < st.lo {
			continue
		}
		if counts == nil {
			counts = make([]int64, countsLen)
		}
		for j := st.lo; j <= st.hi; j++ {
			counts[j] += st.counts[j]
		}
	}
	t.Latency = histogramOf(counts)
	return t
}

// histogramOf builds a histogram of the shared geometry from dense counts
// (nil: an empty one).
func histogramOf(counts []int64) *hdrhistogram.Histogram {
	if counts == nil {
		return NewHistogram()
	}
	return hdrhistogram.Import(&hdrhistogram.Snapshot{
		LowestTrackableValue: LowestMicros, HighestTrackableValue: HighestMicros,
		SignificantFigures: SigFigs, Counts: counts,
	})
}

// AppendBinary appends the encoding of the fold, with header's identity,
// bounds and gauges (its Steps are ignored), to dst — byte for byte what
// MarshalBinary writes for the same snapshot, without building a histogram.
func (a *Accumulator) AppendBinary(dst []byte, header *Snapshot) ([]byte, error) {
	h := *header
	h.Steps = make([]StepStats, len(a.steps))
	samples := make([]uint64, len(a.steps)) // each step's histogram holds its requests
	for i := range a.steps {
		h.Steps[i], samples[i] = a.steps[i].StepStats, a.steps[i].Requests
	}
	if err := h.checkWith(ErrInvalid, samples); err != nil {
		return nil, fmt.Errorf("marshal fold: %w", err)
	}
	start := len(dst)
	b := appendHeader(dst, &h)
	for i := range a.steps {
		st := &a.steps[i]
		b = appendStepCounts(b, &st.StepStats)
		b = appendDense(b, st.counts, st.lo, st.hi)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	if n := len(b) - start; n > MaxEncodedSize {
		return nil, fmt.Errorf("marshal fold: %w", badf(ErrTooLarge, "encoding is %d bytes, limit %d", n, MaxEncodedSize))
	}
	return b, nil
}

// appendDense writes dense counts, non-zero only in lo..hi, as a histogram.
func appendDense(b []byte, counts []int64, lo, hi int) []byte {
	b = binary.AppendUvarint(b, LowestMicros)
	b = binary.AppendUvarint(b, HighestMicros)
	b = binary.AppendUvarint(b, SigFigs)
	zeros := lo
	for i := lo; i <= hi; i++ {
		c := counts[i]
		if c == 0 {
			zeros++
			continue
		}
		if zeros > 0 {
			b = binary.AppendVarint(b, -int64(zeros))
			zeros = 0
		}
		b = binary.AppendVarint(b, c)
	}
	return binary.AppendVarint(b, 0)
}

// Steps returns how many steps the fold has.
func (a *Accumulator) Steps() int { return len(a.steps) }

// StepSums returns step i's counters, status codes and error classes, with
// no histogram (Latency is nil; StepCounts has its counts). Its maps are the
// fold's own: read them before the next Add or Reset.
func (a *Accumulator) StepSums(i int) StepStats {
	s := a.steps[i].StepStats
	s.Latency = nil
	return s
}

// StepCounts returns step i's histogram counts from index lo on (nil when
// the step has no samples): counts[j] samples lie in IndexRange(lo+j). The
// slice is the fold's own: read it before the next Add or Reset.
func (a *Accumulator) StepCounts(i int) (counts []int64, lo int) {
	st := &a.steps[i]
	if st.hi < st.lo {
		return nil, 0
	}
	return st.counts[st.lo : st.hi+1], st.lo
}
