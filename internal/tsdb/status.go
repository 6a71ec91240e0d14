package tsdb

import (
	"context"
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
)

// Stats is how the export is doing, for the service's /metrics.
type Stats struct {
	Pushes     uint64 // pushes tried
	PushErrors uint64 // pushes that failed
	Bytes      uint64 // text pushed (before compression)
	Samples    uint64 // samples pushed
	// Deletes counts runs whose series were deleted and pushed again from
	// their start, to correct an interval folded again after its push.
	Deletes uint64
	// Lag is how long ago the oldest interval folded but not yet pushed
	// ended (0 when every fold is pushed).
	Lag  time.Duration
	Runs int // runs with intervals to push
}

// Stats returns the export's counters and lag.
func (x *Exporter) Stats() Stats {
	s := Stats{Pushes: x.pushes.Load(), PushErrors: x.pushErrors.Load(), Bytes: x.bytes.Load(), Samples: x.samples.Load(),
		Deletes: x.deletes.Load()}
	now := time.Now()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, rs := range x.runs {
		if lag := rs.lag(now); lag > 0 {
			s.Runs++
			s.Lag = max(s.Lag, lag)
		}
	}
	return s
}

// lag is how long ago the run's oldest unpushed fold ended; under x.mu.
func (rs *runState) lag(now time.Time) time.Duration {
	if rs.folded < rs.pushed || rs.run == nil {
		return 0
	}
	_, end := fold.Bounds(rs.run, rs.pushed)
	return max(now.Sub(end), time.Nanosecond)
}

// checkBehind records an export_behind event on each run the export has
// left behind for longer than BehindAfter (once, until it catches up).
func (x *Exporter) checkBehind(ctx context.Context, cause error) {
	type late struct {
		id  string
		lag time.Duration
	}
	var runs []late
	now := time.Now()
	x.mu.Lock()
	for id, rs := range x.runs {
		if lag := rs.lag(now); !rs.behind && lag >= x.cfg.BehindAfter {
			rs.behind = true
			runs = append(runs, late{id, lag})
		}
	}
	x.mu.Unlock()
	for _, r := range runs {
		x.event(ctx, r.id, EventBehind, fmt.Sprintf("the VictoriaMetrics export is %s behind (%v); it is retried, and the store keeps every interval", r.lag.Round(time.Second), cause))
	}
}

// caughtUp records export_caught_up on a run that had an export_behind.
func (x *Exporter) caughtUp(ctx context.Context, id string, rs *runState) {
	x.mu.Lock()
	was := rs.behind && rs.lag(time.Now()) == 0
	if was {
		rs.behind = false
	}
	x.mu.Unlock()
	if was {
		x.event(ctx, id, EventCaughtUp, "the VictoriaMetrics export caught up")
	}
}

func (x *Exporter) event(ctx context.Context, id, kind, detail string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := x.cfg.Store.AppendEvent(ctx, store.Event{RunID: id, At: time.Now(), Kind: kind, Detail: detail}); err != nil {
		x.cfg.Log.Warn("record export event", "run", id, "kind", kind, "err", err)
	}
}

// ExportRun pushes a stored run from its first interval, whatever was
// pushed of it before: for runs made before VictoriaMetrics was set up, or
// to repair one (`barrage export`). It does not need Run, and must not be
// called on an exporter whose Run is running (both would work on the run).
func (x *Exporter) ExportRun(ctx context.Context, runID string) (Stats, error) {
	before := x.Stats()
	x.mu.Lock()
	if _, busy := x.runs[runID]; busy {
		x.mu.Unlock()
		return Stats{}, fmt.Errorf("run %s is being exported already", runID)
	}
	x.runs[runID] = &runState{folded: -1, finished: true}
	x.mu.Unlock()
	defer x.forget(runID)
	if _, err := x.cfg.Store.GetRun(ctx, runID); err != nil {
		return Stats{}, fmt.Errorf("run %s: %w", runID, err)
	}
	if err := x.exportRun(ctx, runID); err != nil {
		return Stats{}, err
	}
	after := x.Stats()
	return Stats{Pushes: after.Pushes - before.Pushes, PushErrors: after.PushErrors - before.PushErrors,
		Bytes: after.Bytes - before.Bytes, Samples: after.Samples - before.Samples}, nil
}
