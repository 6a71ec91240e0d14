// Package temporalport runs runs on Temporal: it adapts a Temporal client
// to service.Orchestrator (start a run's workflow, signal it). It is the
// only code between the HTTP API and Temporal that imports the SDK.
package temporalport

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
	"github.com/barrage/barrage/workflows"
)

// Port is a service.Orchestrator on a Temporal client.
type Port struct{ c sdkclient.Client }

var _ service.Orchestrator = Port{}

// New returns the orchestrator port on c.
func New(c sdkclient.Client) Port { return Port{c: c} }

// Start starts the run's workflow on the control queue.
func (p Port) Start(ctx context.Context, r *store.Run) error {
	opts := sdkclient.StartWorkflowOptions{ID: r.WorkflowID, TaskQueue: workflows.ControlQueue}
	_, err := p.c.ExecuteWorkflow(ctx, opts, workflows.Run, workflows.RunInput{RunID: r.ID})
	return err
}

// Abort signals SignalAbort.
func (p Port) Abort(ctx context.Context, r *store.Run, by, reason string, failed bool) error {
	sig := workflows.AbortSignal{By: by, Reason: reason, Failed: failed}
	return gone(p.c.SignalWorkflow(ctx, r.WorkflowID, "", workflows.SignalAbort, sig))
}

// Ramp signals SignalRamp.
func (p Port) Ramp(ctx context.Context, r *store.Run, target float64, over time.Duration, by string) error {
	sig := workflows.RampSignal{Target: target, Over: over, By: by}
	return gone(p.c.SignalWorkflow(ctx, r.WorkflowID, "", workflows.SignalRamp, sig))
}

// ShardsStarted signals SignalShardStates with the batch.
func (p Port) ShardsStarted(ctx context.Context, workflowID string, states []wire.ShardState) error {
	batch := workflows.ShardStates{States: make([]workflows.ShardState, len(states))}
	for i, st := range states {
		batch.States[i] = workflows.ShardState{Shard: st.Shard, Attempt: st.Attempt, Worker: st.Worker, MaxVUs: st.MaxVUs, MaxRPS: st.MaxRPS}
	}
	return gone(p.c.SignalWorkflow(ctx, workflowID, "", workflows.SignalShardStates, batch))
}

// ShardSilent signals SignalShardSilent.
func (p Port) ShardSilent(ctx context.Context, r *store.Run, shard int, worker, why string) error {
	sig := workflows.ShardSilent{Shard: shard, Worker: worker, Why: why}
	return gone(p.c.SignalWorkflow(ctx, r.WorkflowID, "", workflows.SignalShardSilent, sig))
}

// gone turns Temporal's "no such workflow" into service.ErrNoWorkflow.
func gone(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return errors.Join(service.ErrNoWorkflow, err)
	}
	return err
}
