package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activity names. The activities package registers its methods under these
// names, so that this package depends on nothing but the core's types.
const (
	ActivityPrepareRun     = "PrepareRun"
	ActivityStartRun       = "StartRun"
	ActivityPublishControl = "PublishControl"
	ActivityRecordEvent    = "RecordEvent"
	ActivityFinishRun      = "FinishRun"
	ActivityBuildReport    = "BuildReport"
	ActivityLoadShard      = "LoadShard"
)

// run is the state of one run workflow.
type run struct {
	spec     RunSpec
	epoch    time.Time
	control  Control
	state    RunState
	cancels  []workflow.CancelFunc
	pending  int
	results  []ShardResult
	failed   bool
	reason   string
	aborted  bool
	shardErr []error
}

// Run is the run workflow: prepare, start the shards, follow signals until
// every shard is done, finish, report.
func Run(ctx workflow.Context, in RunInput) (RunOutcome, error) {
	r := &run{state: RunState{Phase: "preparing"}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (RunState, error) { return r.state, nil }); err != nil {
		return RunOutcome{}, fmt.Errorf("register query: %w", err)
	}
	ctl := controlContext(ctx)
	if err := workflow.ExecuteActivity(ctl, ActivityPrepareRun, in.RunID).Get(ctx, &r.spec); err != nil {
		// A run that cannot even be prepared (its scenario no longer
		// compiles, say) ends as failed, with the reason.
		return r.finish(ctx, "failed", fmt.Sprintf("prepare: %v", err))
	}
	r.epoch = r.spec.Epoch
	if r.epoch.IsZero() {
		// Whole microseconds: what the store keeps, so that workers and the
		// server place snapshots on the same boundaries.
		r.epoch = workflow.Now(ctx).Add(StartLead).Truncate(time.Microsecond)
	}
	start := StartInput{RunID: in.RunID, Epoch: r.epoch, IntervalMS: r.spec.IntervalMS}
	if err := workflow.ExecuteActivity(ctl, ActivityStartRun, start).Get(ctx, nil); err != nil {
		return r.finish(ctx, "failed", fmt.Sprintf("start: %v", err))
	}
	r.state.Phase, r.state.Epoch, r.state.Shards = "running", r.epoch, r.spec.Shards
	r.control = Control{RunID: in.RunID, Version: 1, Profile: r.spec.Profile, Fractions: equalShares(r.spec.Shards)}
	if err := r.publish(ctx); err != nil {
		return r.finish(ctx, "failed", fmt.Sprintf("publish control: %v", err))
	}
	r.loop(ctx)
	switch {
	case r.aborted && r.failed:
		return r.finish(ctx, "failed", r.reason)
	case r.aborted:
		return r.finish(ctx, "aborted", r.reason)
	case len(r.shardErr) == r.spec.Shards:
		return r.finish(ctx, "failed", fmt.Sprintf("every shard failed; the first: %v", r.shardErr[0]))
	}
	return r.finish(ctx, "completed", "")
}

func controlContext(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           ControlQueue,
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: []string{"invalid_run"},
		},
	})
}

func equalShares(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1 / float64(n)
	}
	return out
}

// loop starts every shard and follows them and the signals until all are done.
func (r *run) loop(ctx workflow.Context) {
	sel := workflow.NewSelector(ctx)
	for i := range r.spec.Shards {
		r.startShard(ctx, sel, i)
	}
	abortCh := workflow.GetSignalChannel(ctx, SignalAbort)
	rampCh := workflow.GetSignalChannel(ctx, SignalRamp)
	sel.AddReceive(abortCh, func(c workflow.ReceiveChannel, _ bool) {
		var sig AbortSignal
		c.Receive(ctx, &sig)
		r.abort(ctx, sig)
	})
	sel.AddReceive(rampCh, func(c workflow.ReceiveChannel, _ bool) {
		var sig RampSignal
		c.Receive(ctx, &sig)
		r.ramp(ctx, sig)
	})
	// A last resort: shards still running long after the profile's end are
	// cancelled, so that a run always ends.
	deadline := r.epoch.Add(r.spec.Profile.Duration() + r.spec.GracefulStop + EndSlack)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	sel.AddFuture(workflow.NewTimer(timerCtx, deadline.Sub(workflow.Now(ctx))), func(f workflow.Future) {
		if f.Get(ctx, nil) == nil && r.pending > 0 {
			r.event(ctx, "overdue", fmt.Sprintf("%d shard(s) still running %s after the profile's end: cancelled", r.pending, EndSlack))
			r.cancelShards()
		}
	})
	for r.pending > 0 {
		sel.Select(ctx)
	}
	r.state.Phase = "stopping"
}

func (r *run) startShard(ctx workflow.Context, sel workflow.Selector, shard int) {
	profileEnd := r.epoch.Add(r.spec.Profile.Duration() + r.spec.GracefulStop)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: LoadQueue,
		// Every attempt together may not outlast the profile by much: a
		// shard that no worker takes ends instead of waiting forever.
		ScheduleToCloseTimeout: profileEnd.Sub(workflow.Now(ctx)) + EndSlack,
		StartToCloseTimeout:    profileEnd.Sub(workflow.Now(ctx)) + EndSlack,
		HeartbeatTimeout:       HeartbeatTimeout,
		WaitForCancellation:    true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        500 * time.Millisecond,
			BackoffCoefficient:     1.5,
			MaximumInterval:        3 * time.Second,
			NonRetryableErrorTypes: []string{"invalid_run"},
		},
	})
	actx, cancel := workflow.WithCancel(actx)
	r.cancels = append(r.cancels, cancel)
	r.pending++
	in := ShardInput{
		RunID: r.spec.RunID, Shard: shard, Shards: r.spec.Shards, Epoch: r.epoch,
		IntervalMS: r.spec.IntervalMS, Fractions: r.control.Fractions, Token: r.spec.Token,
	}
	sel.AddFuture(workflow.ExecuteActivity(actx, ActivityLoadShard, in), func(f workflow.Future) {
		r.pending--
		r.state.Finished++
		var res ShardResult
		if err := f.Get(ctx, &res); err != nil {
			if !temporal.IsCanceledError(err) {
				r.shardErr = append(r.shardErr, err)
				r.event(ctx, "shard_failed", fmt.Sprintf("shard %d: %v", shard, err))
			}
			res = ShardResult{Shard: shard, Reason: err.Error(), Aborted: temporal.IsCanceledError(err)}
		}
		r.results = append(r.results, res)
		r.state.Completed = r.results
	})
}

func (r *run) cancelShards() {
	for _, c := range r.cancels {
		c()
	}
}

func (r *run) abort(ctx workflow.Context, sig AbortSignal) {
	if r.aborted {
		return
	}
	r.aborted, r.failed, r.state.Aborted = true, sig.Failed, true
	by := sig.By
	if by == "" {
		by = "unknown"
	}
	r.reason = fmt.Sprintf("aborted by %s", by)
	if sig.Reason != "" {
		r.reason += ": " + sig.Reason
	}
	r.state.Reason = r.reason
	r.event(ctx, "aborted", r.reason)
	r.control.Aborted, r.control.Reason = true, r.reason
	r.control.Version++
	// Workers see the published abort within their control poll, sooner
	// than the cancellation that travels with their next heartbeat.
	_ = r.publish(ctx)
	r.cancelShards()
}

func (r *run) ramp(ctx workflow.Context, sig RampSignal) {
	if r.aborted || sig.Target < 0 {
		return
	}
	at := workflow.Now(ctx).Sub(r.epoch)
	r.control.Profile = r.control.Profile.Retarget(max(at, 0), sig.Target, max(sig.Over, 0))
	r.control.Version++
	r.event(ctx, "ramp", fmt.Sprintf("target %g over %s at %s, asked by %s", sig.Target, sig.Over, at.Round(time.Millisecond), nonEmpty(sig.By)))
	_ = r.publish(ctx)
}

func nonEmpty(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (r *run) publish(ctx workflow.Context) error {
	r.state.Control = r.control.Version
	return workflow.ExecuteActivity(controlContext(ctx), ActivityPublishControl, r.control).Get(ctx, nil)
}

// event records a timeline line; a failure to record is not a reason to
// fail the run.
func (r *run) event(ctx workflow.Context, kind, detail string) {
	in := EventInput{RunID: r.spec.RunID, Kind: kind, Detail: detail}
	_ = workflow.ExecuteActivity(controlContext(ctx), ActivityRecordEvent, in).Get(ctx, nil)
}

// finish marks the run and builds its report. It runs in a disconnected
// context so that a cancelled workflow still ends its run properly.
func (r *run) finish(ctx workflow.Context, status, reason string) (RunOutcome, error) {
	r.state.Phase = "reporting"
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	ctl := controlContext(dctx)
	in := FinishInput{RunID: r.spec.RunID, Status: status, Reason: reason}
	if in.RunID == "" {
		in.RunID = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	err := workflow.ExecuteActivity(ctl, ActivityFinishRun, in).Get(dctx, nil)
	if rerr := workflow.ExecuteActivity(ctl, ActivityBuildReport, in.RunID).Get(dctx, nil); err == nil {
		err = rerr
	}
	r.state.Phase = "done"
	out := RunOutcome{RunID: in.RunID, Status: status, Reason: reason, Shards: r.results}
	if err != nil {
		return out, fmt.Errorf("finish run %s: %w", in.RunID, err)
	}
	return out, nil
}
