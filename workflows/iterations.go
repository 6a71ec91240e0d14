package workflows

import "go.temporal.io/sdk/workflow"

// Values of ShardResult.IterationsDone.
const (
	IterationsShared = "shared"
	IterationsPerVU  = "per_vu"
	// ReasonIterationsDone is a completed run's reason when its iterations
	// ended it.
	ReasonIterationsDone = "iterations done"
)

// iterationsEnded takes a completed shard's word that the run's iterations
// are done. Shared iterations are done when one shard was told none is
// left: the others learn it and end as soon as the ledger tells them the
// same. Per-VU iterations are done when no shard that started still runs.
// A shard lost after that gives its iterations not done back to the
// ledger, so its replacement is still launched (and one waiting is kept):
// it asks the ledger and ends when none is left. Elastic newcomers are no
// longer needed and are cancelled. Runs recorded before itersBack needed
// no more shards then: those waiting for a worker were cancelled, and none
// was launched, so that the run ended when the running ones finished
// their iterations in flight.
func (r *run) iterationsEnded(ctx workflow.Context, res ShardResult) {
	switch res.IterationsDone {
	case IterationsShared:
		if !r.control.IterationsDone {
			// The shards that hold none ask the ledger now (one with no
			// VU would not until the duration's end).
			r.control.IterationsDone = true
			r.control.Version++
			_ = r.publish(ctx)
		}
	case IterationsPerVU:
		for _, s := range r.slots {
			if s.started && s.state == slotRunning {
				return
			}
		}
	default:
		return
	}
	if r.itersBack {
		r.itersDone = true
		r.cancelNewcomers()
		return
	}
	r.itersDone, r.ending = true, true
	r.cancelWaiting()
}

// completedReason is the reason of a run that completed.
func (r *run) completedReason() string {
	if r.itersDone {
		return ReasonIterationsDone
	}
	return ""
}
