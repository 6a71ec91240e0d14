package hist

import (
	"fmt"
	"math"
)

// Fold merges snapshots of the same interval from several shards into one:
// counters, VU gauges, Dropped and Iterations are summed, histograms merged (so its
// percentiles are exactly those of one histogram holding every sample),
// Start is the earliest start and End the latest end. The result carries
// the common RunID; its other identity fields are zero. The inputs are
// validated and left unchanged.
//
// Errors wrap ErrInvalid (no or an invalid input), ErrMismatch (RunIDs or
// step counts differ) or ErrOverflow (a sum does not fit).
func Fold(snaps []*Snapshot) (*Snapshot, error) {
	if len(snaps) == 0 {
		return nil, badf(ErrInvalid, "fold needs at least one snapshot")
	}
	for i, s := range snaps {
		if s == nil {
			return nil, badf(ErrInvalid, "fold: snapshot %d is nil", i)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("fold snapshot %d: %w", i, err)
		}
	}
	first := snaps[0]
	out := &Snapshot{
		RunID: first.RunID,
		Start: first.Start,
		End:   first.End,
		Steps: make([]StepStats, len(first.Steps)),
	}
	for i := range out.Steps {
		out.Steps[i] = emptyStepStats()
	}
	for i, s := range snaps {
		if err := foldInto(out, s); err != nil {
			return nil, fmt.Errorf("fold snapshot %d (shard %d): %w", i, s.Shard, err)
		}
	}
	return out, nil
}

// foldInto adds one validated snapshot into the accumulator out.
func foldInto(out, s *Snapshot) error {
	if s.RunID != out.RunID {
		return badf(ErrMismatch, "run %q, want %q", s.RunID, out.RunID)
	}
	if len(s.Steps) != len(out.Steps) {
		return badf(ErrMismatch, "%d steps, want %d", len(s.Steps), len(out.Steps))
	}
	active, ok1 := addUint32(out.ActiveVUs, s.ActiveVUs)
	target, ok2 := addUint32(out.TargetVUs, s.TargetVUs)
	dropped, ok3 := addUint64(out.Dropped, s.Dropped)
	iters, ok4 := addUint64(out.Iterations, s.Iterations)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return badf(ErrOverflow, "VUs or dropped iterations")
	}
	// Check every step before changing any, so a failed fold leaves out as
	// it was (Fold discards it anyway, but the rule is cheap to keep).
	sums := make([]StepStats, len(out.Steps))
	for i := range out.Steps {
		sums[i] = out.Steps[i]
		if !sums[i].addCounters(&s.Steps[i]) {
			return badf(ErrOverflow, "step %d", i)
		}
	}
	out.ActiveVUs, out.TargetVUs, out.Dropped, out.Iterations = active, target, dropped, iters
	for i := range out.Steps {
		out.Steps[i] = sums[i]
		out.Steps[i].mergeDetail(&s.Steps[i])
	}
	if s.Start.Before(out.Start) {
		out.Start = s.Start
	}
	if s.End.After(out.End) {
		out.End = s.End
	}
	return nil
}

func addUint32(a, b uint32) (uint32, bool) {
	return a + b, b <= math.MaxUint32-a
}

func addUint64(a, b uint64) (uint64, bool) {
	return a + b, b <= math.MaxUint64-a
}
