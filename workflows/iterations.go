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
// are done. Shared iterations are done for every shard when one was told
// none is left (the ledger hands out a lost shard's rest before it says
// so); per-VU iterations when no shard that started still runs. Then the
// run needs no more shards: those waiting for a worker (an elastic
// newcomer, a replacement) are cancelled, and none is launched, so that
// the run ends when the running ones finish their iterations in flight.
func (r *run) iterationsEnded(ctx workflow.Context, res ShardResult) {
	switch res.IterationsDone {
	case IterationsShared:
		if !r.control.IterationsDone {
			// The shards that hold none end now (one with no VU would
			// not ask the ledger until the duration's end).
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
