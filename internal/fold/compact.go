package fold

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// compactBatch is how many runs one Compact call takes at most.
const compactBatch = 100

// Compact turns the raw snapshots of runs that ended before `before` (and
// whose report is stored) into nothing but their folded intervals: each
// interval still missing a snapshot is folded again, then the run's raw
// snapshots are deleted. Reports, series and live views read the folded
// intervals, so they stay exactly as they were. It returns how many runs
// and snapshots it compacted; a run it could not compact is left whole,
// and the others are still compacted (the error names the first failure).
// refolded (may be nil) learns each run that had intervals folded again.
func Compact(ctx context.Context, st Compactor, before time.Time, refolded func(runID string)) (runs int, snapshots int64, err error) {
	ids, err := st.CompactableRuns(ctx, before, compactBatch)
	if err != nil {
		return 0, 0, err
	}
	var failed error
	for _, id := range ids {
		n, err := compactRun(ctx, st, id, refolded)
		if err != nil {
			failed = cmp.Or(failed, err)
			continue
		}
		runs, snapshots = runs+1, snapshots+n
	}
	return runs, snapshots, failed
}

func compactRun(ctx context.Context, st Compactor, id string, refolded func(runID string)) (int64, error) {
	r, err := st.GetRun(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("compact run %s: %w", id, err)
	}
	n, err := Refresh(ctx, st, r, nil)
	if err != nil {
		return 0, fmt.Errorf("compact run %s: %w", id, err)
	}
	if n > 0 && refolded != nil {
		refolded(id)
	}
	deleted, err := st.DeleteSnapshots(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("compact run %s: %w", id, err)
	}
	return deleted, nil
}
