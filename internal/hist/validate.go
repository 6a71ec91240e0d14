package hist

import (
	"fmt"
	"math"
	"math/bits"
	"time"
	"unicode/utf8"
)

// Limits on what a snapshot may hold. They bound what Decode allocates for
// untrusted input; MarshalBinary enforces the same ones so that whatever is
// encoded also decodes.
const (
	MaxEncodedSize = 1 << 20
	MaxStringLen   = 256
	MaxSteps       = 1024
)

// Validate reports whether s is consistent: the rules Decode applies to its
// input, so that a snapshot that validates can be encoded and decoded back.
// It is cheap because it does not read histogram counts; the one rule that
// needs them (no sample above HighestMicros) is left to MarshalBinary.
// Errors wrap ErrInvalid, or ErrTooLarge for a limit.
func (s *Snapshot) Validate() error {
	return s.check(ErrInvalid)
}

// check applies the rules, reporting a broken one as kind.
func (s *Snapshot) check(kind error) error {
	return s.checkWith(kind, nil)
}

// checkWith is check for a snapshot whose histograms were scanned rather
// than built: samples[i] is step i's histogram sample count (nil: read the
// histograms).
func (s *Snapshot) checkWith(kind error, samples []uint64) error {
	if err := checkString("run id", s.RunID, kind); err != nil {
		return err
	}
	if err := checkString("worker", s.Worker, kind); err != nil {
		return err
	}
	if len(s.Steps) > MaxSteps {
		return badf(ErrTooLarge, "%d steps, limit %d", len(s.Steps), MaxSteps)
	}
	if !representable(s.Start) || !representable(s.End) {
		return badf(kind, "interval %v..%v not representable in Unix nanoseconds", s.Start, s.End)
	}
	if s.Start.After(s.End) {
		return badf(kind, "start %v after end %v", s.Start, s.End)
	}
	var sum StepStats
	for i := range s.Steps {
		st := &s.Steps[i]
		p := ""
		if samples != nil {
			p = st.countProblem(samples[i])
		} else {
			p = st.problem()
		}
		if p != "" {
			return badf(kind, "step %d: %s", i, p)
		}
		// Total merges the steps, so their sums must fit too.
		if !sum.addCounters(st) {
			return badf(kind, "step %d: counters summed over steps overflow", i)
		}
	}
	return nil
}

// problem describes the first per-step rule s breaks, or returns "". Every
// request has exactly one status and one histogram sample; every error
// exactly one class.
func (s *StepStats) problem() string {
	if s.Latency == nil {
		return "no latency histogram"
	}
	if !hasGeometry(s.Latency) {
		return fmt.Sprintf("histogram geometry %d..%d/%d, want %d..%d/%d",
			s.Latency.LowestTrackableValue(), s.Latency.HighestTrackableValue(), s.Latency.SignificantFigures(),
			LowestMicros, HighestMicros, SigFigs)
	}
	samples := s.Latency.TotalCount()
	if samples < 0 {
		return fmt.Sprintf("histogram holds %d samples", samples)
	}
	return s.countProblem(uint64(samples))
}

// countProblem is problem for a histogram of samples samples, whatever its
// form.
func (s *StepStats) countProblem(samples uint64) string {
	if samples != s.Requests {
		return fmt.Sprintf("histogram holds %d samples for %d requests", samples, s.Requests)
	}
	if s.Errors > s.Requests || s.Clamped > s.Requests {
		return fmt.Sprintf("%d errors and %d clamped exceed %d requests", s.Errors, s.Clamped, s.Requests)
	}
	var statuses uint64
	for code, n := range s.Status {
		if code < 0 || code > MaxStatus {
			return fmt.Sprintf("status code %d outside 0..%d", code, MaxStatus)
		}
		var carry uint64
		if statuses, carry = bits.Add64(statuses, n, 0); carry != 0 {
			return "status counts overflow"
		}
	}
	if statuses != s.Requests {
		return fmt.Sprintf("status counts sum to %d for %d requests", statuses, s.Requests)
	}
	var classes uint64
	for class, n := range s.Classes {
		if class == ClassNone || !class.Valid() {
			return fmt.Sprintf("error class %d is not an error class", uint8(class))
		}
		var carry uint64
		if classes, carry = bits.Add64(classes, n, 0); carry != 0 {
			return "class counts overflow"
		}
	}
	if classes != s.Errors {
		return fmt.Sprintf("class counts sum to %d for %d errors", classes, s.Errors)
	}
	return ""
}

// addCounters adds o's plain counters to s unless a sum would overflow, and
// reports whether it did. Requests stay within int64, the histogram's
// total, so that merging the histograms cannot drop samples.
func (s *StepStats) addCounters(o *StepStats) bool {
	dst, src := s.counterFields(), o.counterFields()
	var next [len(dst)]uint64
	for i := range dst {
		var carry uint64
		if next[i], carry = bits.Add64(*dst[i], *src[i], 0); carry != 0 {
			return false
		}
	}
	if next[0] > math.MaxInt64 {
		return false
	}
	for i := range dst {
		*dst[i] = next[i]
	}
	return true
}

func checkString(what, v string, kind error) error {
	if len(v) > MaxStringLen {
		return badf(ErrTooLarge, "%s is %d bytes, limit %d", what, len(v), MaxStringLen)
	}
	if !utf8.ValidString(v) {
		return badf(kind, "%s is not valid UTF-8", what)
	}
	return nil
}

// representable reports whether t survives the encoding, which carries Unix
// nanoseconds (years 1678 to 2262; not the zero Time).
func representable(t time.Time) bool {
	return time.Unix(0, t.UnixNano()).Equal(t)
}
