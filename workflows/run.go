package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/barrage/barrage/internal/profile"
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
	spec    RunSpec
	epoch   time.Time
	base    profile.Profile // the asked profile, ramps included
	control Control
	state   RunState
	slots   []*slot
	results []ShardResult // the first listedResults
	failed  bool
	reason  string
	aborted bool
	ending  bool // the profile is over: no more replacements
	sel     workflow.Selector
	ran     int // shards that ever started
	// invalid counts the shards that cannot run anywhere; firstInvalid is
	// the first one's error.
	invalid      int
	firstInvalid string
	shardsDone   int // shards that completed
	// replacements counts lost shards replaced, failedStarts those lost
	// before they started; pauses holds when the replacements waiting on a
	// pause are due.
	replacements, failedStarts int
	pauses                     []time.Time
	// batching is the workflow version of replanning: DefaultVersion for
	// runs recorded when every shard start replanned, then batchedReplans.
	batching workflow.Version
	// replanWhy is what a batched replan waiting on its timer is for (none
	// waits when it is empty).
	replanWhy   []string
	budgetSpent bool // the history passed HistoryBudget
	// groups: the shards run in shard group workflows (WorkflowShardGroup)
	// and the run continues as new when its history grows long; runs
	// recorded before that run the load activities themselves.
	groups bool
	// hearsSilence: this run takes the server's shard_silent signals.
	hearsSilence bool
	queued       []*slot  // shards to launch in new groups (flush)
	toCancel     []*group // groups with cancellations to send (flush)
	starting     int      // shard groups not started yet
	signalling   int      // cancellations sent to groups, not yet delivered
	overdue      bool     // the deadline passed with shards running
	itersDone    bool     // the run's iterations are done (iterations.go)
	// itersBack: a lost shard's shared iterations come back to the ledger,
	// and the run waits for its replacement to do them (iterations.go).
	itersBack bool
	ctx       workflow.Context // the workflow's context, for cancel functions
	detached  workflow.Context // for what must go out even when the run is cancelled
}

// Versions of the run workflow's behaviour (workflow.GetVersion). Version
// 1 of "batched-replans" also brought the history budget.
const (
	changeBatchedReplans = "batched-replans"
	batchedReplans       = workflow.Version(1)
	changeShardGroups    = "shard-groups"
	shardGroups          = workflow.Version(1)
	// Runs recorded before the server could say a shard went silent
	// ignore the signal, so that they replay as they ran.
	changeShardSilent = "shard-silent"
	shardSilent       = workflow.Version(1)
	// Runs recorded before a lost shard's shared iterations came back end
	// as they did when one shard was told none is left.
	changeIterationsBack = "iterations-back"
	iterationsBack       = workflow.Version(1)
)

// Run is the run workflow: prepare, start the shards, follow the fleet and
// the signals until every shard is done, finish, report. A long run
// continues as new: in.Carry then holds where it was.
func Run(ctx workflow.Context, in RunInput) (RunOutcome, error) {
	r := &run{state: RunState{Phase: "preparing"}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (RunState, error) { return r.state, nil }); err != nil {
		return RunOutcome{}, fmt.Errorf("register query: %w", err)
	}
	if in.Carry != nil {
		return r.resume(ctx, in)
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
	r.base = r.spec.Profile
	r.control = Control{RunID: in.RunID, Profile: r.base, Served: 1}
	r.begin(ctx)
	r.launchFirst(ctx, r.spec.Shards)
	if r.groups {
		r.flush(ctx)
	}
	_ = r.replan(ctx, "start")
	return r.follow(ctx)
}

// begin sets up what every workflow run of a run needs before its shards.
func (r *run) begin(ctx workflow.Context) {
	r.batching = workflow.GetVersion(ctx, changeBatchedReplans, workflow.DefaultVersion, batchedReplans)
	r.groups = workflow.GetVersion(ctx, changeShardGroups, workflow.DefaultVersion, shardGroups) >= shardGroups
	r.hearsSilence = workflow.GetVersion(ctx, changeShardSilent, workflow.DefaultVersion, shardSilent) >= shardSilent
	r.itersBack = workflow.GetVersion(ctx, changeIterationsBack, workflow.DefaultVersion, iterationsBack) >= iterationsBack
	r.ctx = ctx
	r.detached, _ = workflow.NewDisconnectedContext(ctx)
	r.sel = workflow.NewSelector(ctx)
}

// follow follows the run until its shards are done, then finishes it, or
// continues it as new when its history has grown long.
func (r *run) follow(ctx workflow.Context) (RunOutcome, error) {
	if carry := r.loop(ctx); carry != nil {
		return RunOutcome{}, workflow.NewContinueAsNewError(ctx, "Run", RunInput{RunID: r.spec.RunID, Carry: carry})
	}
	if ctx.Err() != nil && !r.aborted {
		// The workflow itself was cancelled (from Temporal's UI or CLI).
		r.aborted, r.reason = true, "aborted: the run's workflow was cancelled in Temporal"
	}
	switch {
	case r.aborted && r.failed:
		return r.finish(ctx, "failed", r.reason)
	case r.aborted:
		return r.finish(ctx, "aborted", r.reason)
	case r.ran == 0 && r.invalid > 0:
		return r.finish(ctx, "failed", fmt.Sprintf("every shard failed; the first: %s", r.firstInvalid))
	case r.ran == 0:
		return r.finish(ctx, "failed", "no worker ran any shard")
	}
	return r.finish(ctx, "completed", r.completedReason())
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

// Report building reads every interval of the run: its time grows with the
// run's length, so it is bounded by its heartbeat (one per page of
// intervals), not by a fixed time.
const (
	reportHeartbeat = time.Minute
	reportDeadline  = 6 * time.Hour
)

func reportContext(ctx workflow.Context) workflow.Context {
	opts := workflow.GetActivityOptions(controlContext(ctx))
	opts.StartToCloseTimeout, opts.HeartbeatTimeout = reportDeadline, reportHeartbeat
	return workflow.WithActivityOptions(ctx, opts)
}

// loop follows the shards, the fleet and the signals until no shard runs
// or waits any more, and returns nil; or returns what the next workflow run
// carries when this one's history has grown long.
func (r *run) loop(ctx workflow.Context) *RunCarry {
	r.listen(ctx)
	end := r.epoch.Add(r.spec.Profile.Duration())
	deadline := end.Add(r.spec.GracefulStop + EndSlack)
	timerCtx, cancelTimers := workflow.WithCancel(ctx)
	defer cancelTimers()
	// Runs recorded before shard groups set their timers as they were.
	untilEnd, untilDeadline := end.Sub(workflow.Now(ctx)), deadline.Sub(workflow.Now(ctx))
	if r.groups {
		untilEnd, untilDeadline = until(ctx, end), until(ctx, deadline)
	}
	if !r.ending {
		r.sel.AddFuture(workflow.NewTimer(timerCtx, untilEnd), func(workflow.Future) {
			// The profile is over: shards that never started are not needed.
			r.ending = true
			r.cancelWaiting()
		})
	}
	// A last resort: shards still running long after the profile's end are
	// cancelled, so that a run always ends (said once, also when the run
	// continued as new after it).
	r.sel.AddFuture(workflow.NewTimer(timerCtx, untilDeadline), func(f workflow.Future) {
		if f.Get(ctx, nil) == nil && r.busy() > 0 {
			if !r.overdue {
				r.event(ctx, "overdue", fmt.Sprintf("%d shard(s) still running %s after the profile's end: cancelled", r.busy(), EndSlack))
			}
			r.overdue = true
			r.cancelAll()
		}
	})
	if r.groups {
		// Shard groups are not cancelled with this one: ask them, and
		// launch nothing more.
		r.sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {
			r.ending = true
			r.cancelAll()
		})
	}
	for r.busy() > 0 {
		r.sel.Select(ctx)
		if !r.groups {
			continue
		}
		r.flush(ctx)
		if r.historyLong(ctx) && r.settle(ctx) {
			return r.carry(ctx)
		}
	}
	r.state.Phase = "stopping"
	return nil
}

func (r *run) listen(ctx workflow.Context) {
	r.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalAbort), func(c workflow.ReceiveChannel, _ bool) {
		var sig AbortSignal
		c.Receive(ctx, &sig)
		r.abort(ctx, sig)
	})
	r.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalRamp), func(c workflow.ReceiveChannel, _ bool) {
		var sig RampSignal
		c.Receive(ctx, &sig)
		r.ramp(ctx, sig)
	})
	r.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalShardState), func(c workflow.ReceiveChannel, _ bool) {
		var st ShardState
		c.Receive(ctx, &st)
		r.started(ctx, st)
	})
	r.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalShardStates), func(c workflow.ReceiveChannel, _ bool) {
		var batch ShardStates
		c.Receive(ctx, &batch)
		for _, st := range batch.States {
			r.started(ctx, st)
		}
	})
	r.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalShardSilent), func(c workflow.ReceiveChannel, _ bool) {
		var sig ShardSilent
		c.Receive(ctx, &sig)
		r.silent(ctx, sig)
	})
	if r.groups {
		r.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalShardsEnded), func(c workflow.ReceiveChannel, _ bool) {
			var batch ShardsEnded
			c.Receive(ctx, &batch)
			for _, end := range batch.Ends {
				r.shardEnded(ctx, end)
			}
		})
	}
}

// shardEnded takes a shard group's report of a shard's end.
func (r *run) shardEnded(ctx workflow.Context, end ShardEnded) {
	if end.Shard >= 0 && end.Shard < len(r.slots) {
		r.ended(ctx, r.slots[end.Shard], end)
	}
}

func (r *run) abort(ctx workflow.Context, sig AbortSignal) {
	if r.aborted {
		return
	}
	r.aborted, r.failed, r.state.Aborted, r.ending = true, sig.Failed, true, true
	r.reason = fmt.Sprintf("aborted by %s", nonEmpty(sig.By))
	if sig.Reason != "" {
		r.reason += ": " + sig.Reason
	}
	r.state.Reason = r.reason
	// Stop first: cancellation needs no store, and workers see the published
	// abort within their control poll, sooner than the cancellation that
	// travels with their next heartbeat. Then the timeline.
	r.cancelAll()
	if r.groups {
		r.flush(ctx) // the groups' cancellations go out now
	}
	r.control.Aborted, r.control.Reason = true, r.reason
	r.control.Version++
	_ = r.publish(ctx)
	r.event(ctx, "aborted", r.reason)
}

func (r *run) ramp(ctx workflow.Context, sig RampSignal) {
	if r.aborted || r.ending || sig.Target < 0 {
		return
	}
	at := max(workflow.Now(ctx).Sub(r.epoch), 0)
	r.base = r.base.Retarget(at, sig.Target, max(sig.Over, 0))
	r.event(ctx, "ramp", fmt.Sprintf("target %g over %s at %s, asked by %s", sig.Target, sig.Over, at.Round(time.Millisecond), nonEmpty(sig.By)))
	_ = r.replan(ctx, "ramp")
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
	r.record(ctx, EventInput{RunID: r.spec.RunID, Kind: kind, Detail: detail})
}

func (r *run) record(ctx workflow.Context, in EventInput) {
	_ = workflow.ExecuteActivity(controlContext(ctx), ActivityRecordEvent, in).Get(ctx, nil)
}

// lost records that shard s was lost: the server then declares what of its
// load was not measured.
func (r *run) lost(ctx workflow.Context, s *slot, why string) {
	who := s.worker
	if who == "" {
		who = "no worker"
	}
	shard := s.index
	r.record(ctx, EventInput{RunID: r.spec.RunID, Kind: "worker_lost", Shard: &shard,
		Detail: fmt.Sprintf("shard %d on %s lost: %s", s.index, who, why)})
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
	if rerr := workflow.ExecuteActivity(reportContext(dctx), ActivityBuildReport, in.RunID).Get(dctx, nil); err == nil {
		err = rerr
	}
	r.state.Phase = "done"
	out := RunOutcome{RunID: in.RunID, Status: status, Reason: reason, Shards: r.results, ShardsDone: r.shardsDone, Continued: r.state.Continued}
	if err != nil {
		return out, fmt.Errorf("finish run %s: %w", in.RunID, err)
	}
	return out, nil
}
