package service

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

// Abort asks run r to stop. A run without a workflow (it never started, or
// its history was lost) has nothing running its load: it ends here.
func (s *Runs) Abort(ctx context.Context, r *store.Run, by, reason string) error {
	if store.Finished(r.Status) {
		return refuse(Conflict, "finished", "", "run %s is already %s", r.ID, r.Status)
	}
	if by == "" {
		by = "api"
	}
	err := s.orch.Abort(ctx, r, by, reason, false)
	if errors.Is(err, ErrNoWorkflow) {
		_ = s.store.FinishRun(ctx, r.ID, store.StatusAborted, "aborted by "+by+" (no workflow)", time.Now())
		return nil
	}
	if err != nil {
		return refuse(Unavailable, "temporal_unavailable", "", "signal abort: %v", err)
	}
	return nil
}

// AbortFailed ends run r as failed: the fold saw its error rate reach
// abort_on (fold.Aborter).
func (s *Runs) AbortFailed(ctx context.Context, r *store.Run, by, reason string) error {
	return s.orch.Abort(ctx, r, by, reason, true)
}

// MaxRampSeconds bounds a ramp's duration.
const MaxRampSeconds = 3600

// Ramp moves run r's target load (VUs, or iterations/s in the open model)
// to target over overSeconds; target nil: the request gave none.
func (s *Runs) Ramp(ctx context.Context, r *store.Run, target *float64, overSeconds float64, by string) error {
	if target == nil || *target < 0 || math.IsNaN(*target) {
		return refuse(Invalid, "invalid_field", "target", "target must be a number >= 0 (VUs, or iterations/s in the open model)")
	}
	if overSeconds < 0 || overSeconds > MaxRampSeconds {
		return refuse(Invalid, "invalid_field", "over_seconds", "over_seconds must be 0..%d", MaxRampSeconds)
	}
	if store.Finished(r.Status) {
		return refuse(Conflict, "finished", "", "run %s is already %s", r.ID, r.Status)
	}
	if plan, err := fold.CompileRun(r); err == nil && plan.MaxVUs > 0 && plan.Profile.Model == profile.Closed && *target > float64(plan.MaxVUs) {
		return refuse(Invalid, "invalid_field", "target", "target %g is above the scenario's max_vus (%d)", *target, plan.MaxVUs)
	}
	if plan, err := fold.CompileRun(r); err == nil {
		if err := s.Guard.checkRamp(plan.Profile.Model, *target); err != nil {
			return err
		}
	}
	if *target > profile.MaxVUs {
		return refuse(Invalid, "invalid_field", "target", "target %g is above the limit of %d", *target, profile.MaxVUs)
	}
	if err := s.orch.Ramp(ctx, r, *target, time.Duration(overSeconds*float64(time.Second)), by); err != nil {
		return refuse(Unavailable, "temporal_unavailable", "", "signal ramp: %v", err)
	}
	return nil
}

// ShardStarted relays a worker's start of a shard of run r to the run's
// workflow, gathered with the others that arrive at the same time; it
// returns once the relay is done.
func (s *Runs) ShardStarted(ctx context.Context, r *store.Run, st wire.ShardState) error {
	return s.starts.relay(ctx, r.ID, r.WorkflowID, st)
}

// ShardSilent tells run r that one of its running shards went silent;
// ErrNoWorkflow when the run has no workflow any more.
func (s *Runs) ShardSilent(ctx context.Context, r *store.Run, shard int, worker, why string) error {
	return s.orch.ShardSilent(ctx, r, shard, worker, why)
}
