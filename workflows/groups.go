package workflows

import (
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"
)

// ShardGroupID is the workflow ID of a run's shard group whose first
// shard is shard.
func ShardGroupID(runID string, shard int) string {
	return fmt.Sprintf("%s/shards/%d", runID, shard)
}

// flush launches the queued shards, in groups of at most ShardGroupSize,
// and sends the cancellations asked for to the groups that are started.
func (r *run) flush(ctx workflow.Context) {
	for len(r.queued) > 0 {
		n := min(len(r.queued), ShardGroupSize)
		r.startGroup(ctx, r.queued[:n])
		r.queued = r.queued[n:]
	}
	r.queued = nil
	for _, g := range r.toCancel {
		if !g.pending {
			r.sendCancels(g)
		}
	}
	r.toCancel = nil
}

// startGroup starts a shard group workflow for slots. It runs on when this
// workflow run continues as new, and signals its shards' ends to whichever
// run of the run's workflow is current by then.
func (r *run) startGroup(ctx workflow.Context, slots []*slot) {
	g := &group{id: ShardGroupID(r.spec.RunID, slots[0].index), pending: true}
	in := ShardGroupInput{Parent: workflow.GetInfo(ctx).WorkflowExecution.ID, First: slots[0].first, End: r.shardEnd()}
	members := slices.Clone(slots)
	for _, s := range members {
		s.group = g
		in.Shards = append(in.Shards, r.shardInput(s))
	}
	// Detached: its cancellation is asked for explicitly, by whichever
	// workflow run of the run is current.
	cctx := workflow.WithChildOptions(r.detached, workflow.ChildWorkflowOptions{
		WorkflowID:        g.id,
		TaskQueue:         ControlQueue,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		// Its shards' ends come by signal in any case; this makes the SDK's
		// test environment run its cancellation, as Temporal does.
		WaitForCancellation: true,
	})
	r.starting++
	r.sel.AddFuture(workflow.ExecuteChildWorkflow(cctx, WorkflowShardGroup, in).GetChildWorkflowExecution(), func(f workflow.Future) {
		r.starting--
		g.pending = false
		if err := f.Get(ctx, nil); err != nil {
			for _, s := range members {
				r.ended(ctx, s, ShardEnded{Shard: s.index, Outcome: OutcomeLost, Error: err.Error(), Short: "its workflow did not start: " + shortError(err)})
			}
			return
		}
		if len(g.cancels) > 0 {
			r.sendCancels(g)
		}
	})
}

// groupCancel asks the slot's shard group to cancel its load activity,
// once; a slot not launched yet just ends.
func (r *run) groupCancel(s *slot) workflow.CancelFunc {
	return func() {
		if s.cancelled || !s.live() {
			return
		}
		s.cancelled = true
		if s.group == nil {
			if i := slices.Index(r.queued, s); i >= 0 {
				r.queued = slices.Delete(r.queued, i, i+1)
			}
			r.ended(r.ctx, s, ShardEnded{Shard: s.index, Outcome: OutcomeCancelled})
			return
		}
		g := s.group
		if len(g.cancels) == 0 && !slices.Contains(r.toCancel, g) {
			r.toCancel = append(r.toCancel, g)
		}
		g.cancels = append(g.cancels, s.index)
	}
}

// sendCancels sends a group the cancellations asked for. It goes out even
// when the run's own workflow is being cancelled.
func (r *run) sendCancels(g *group) {
	if len(g.cancels) == 0 {
		return
	}
	// The run does not continue as new while a cancellation is on its way:
	// Temporal drops a signal whose sender has closed.
	r.signalling++
	r.sel.AddFuture(workflow.SignalExternalWorkflow(r.detached, g.id, "", SignalCancelShards, CancelShards{Shards: g.cancels}), func(workflow.Future) {
		r.signalling--
	})
	g.cancels = nil
}

// ShardGroup is the shard group workflow: it runs its shards' load
// activities and signals how they ended to the run's workflow (by ID, so to
// its current run), several at once when they end together. Cancelling it
// cancels them all; SignalCancelShards cancels some.
func ShardGroup(ctx workflow.Context, in ShardGroupInput) error {
	now := workflow.Now(ctx)
	sel := workflow.NewSelector(ctx)
	cancels := make(map[int]workflow.CancelFunc, len(in.Shards))
	var ends []ShardEnded
	for _, si := range in.Shards {
		actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, shardActivityOptions(now, in.End, in.First)))
		cancels[si.Shard] = cancel
		sel.AddFuture(workflow.ExecuteActivity(actx, ActivityLoadShard, si), func(f workflow.Future) {
			var res ShardResult
			err := f.Get(ctx, &res)
			ends = append(ends, endOf(si.Shard, res, err))
			delete(cancels, si.Shard)
		})
	}
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalCancelShards), func(c workflow.ReceiveChannel, _ bool) {
		var cs CancelShards
		c.Receive(ctx, &cs)
		for _, shard := range cs.Shards {
			if cancel, ok := cancels[shard]; ok {
				cancel()
			}
		}
	})
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	for len(cancels) > 0 {
		sel.Select(ctx)
		for sel.HasPending() {
			sel.Select(ctx)
		}
		if len(ends) > 0 {
			// A run that has ended no longer listens: nothing to tell then.
			_ = workflow.SignalExternalWorkflow(dctx, in.Parent, "", SignalShardsEnded, ShardsEnded{Ends: ends}).Get(dctx, nil)
			ends = nil
		}
	}
	return nil
}
