// Package workers composes Temporal workers: which task queue runs which
// workflows and activities, with which options.
//
// Usage:
//
//  1. A server runs NewControl: the run workflow and the activities that use
//     the store, on workflows.ControlQueue.
//  2. A fleet node runs NewLoad: LoadShard on workflows.LoadQueue, one shard
//     at a time, never workflow tasks.
//  3. Start them with Start, stop them with Stop.
package workers

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/barrage/barrage/activities"
	"github.com/barrage/barrage/workflows"
)

// NewControl returns the server's worker: the run workflow and the store's activities.
func NewControl(c client.Client, acts *activities.Server) worker.Worker {
	w := worker.New(c, workflows.ControlQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: 64,
	})
	w.RegisterWorkflowWithOptions(workflows.Run, workflow.RegisterOptions{Name: "Run"})
	w.RegisterWorkflowWithOptions(workflows.ShardGroup, workflow.RegisterOptions{Name: workflows.WorkflowShardGroup})
	w.RegisterWorkflowWithOptions(workflows.ScheduledRun, workflow.RegisterOptions{Name: workflows.WorkflowScheduledRun})
	acts.Register(w)
	return w
}

// NewLoad returns a fleet node's worker: it takes one shard at a time and
// sends each of its heartbeats (every workflows.HeartbeatEvery) at once,
// rather than the SDK's default of holding them back up to 80 % of the
// heartbeat timeout, so that loss detection stays predictable.
func NewLoad(c client.Client, acts *activities.Fleet) worker.Worker {
	w := worker.New(c, workflows.LoadQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: 1,
		DisableWorkflowWorker:              true,
		MaxHeartbeatThrottleInterval:       workflows.HeartbeatEvery,
		DefaultHeartbeatThrottleInterval:   workflows.HeartbeatEvery,
	})
	acts.Register(w)
	return w
}
