package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"
)

// historyLong tells whether this workflow run's history has grown long
// enough to continue as new.
func (r *run) historyLong(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return ctx.Err() == nil && (info.GetCurrentHistoryLength() > ContinueAfter || info.GetContinueAsNewSuggested())
}

// settle takes the signals that have arrived and tells whether the run may
// continue as new now: no shard group is still being started and no
// cancellation is on its way to one. Otherwise the run tries again after
// the next thing that happens.
func (r *run) settle(ctx workflow.Context) bool {
	took := drain(ctx, SignalAbort, func(sig AbortSignal) { r.abort(ctx, sig) })
	took = drain(ctx, SignalRamp, func(sig RampSignal) { r.ramp(ctx, sig) }) || took
	took = drain(ctx, SignalShardState, func(st ShardState) { r.started(ctx, st) }) || took
	took = drain(ctx, SignalShardStates, func(batch ShardStates) {
		for _, st := range batch.States {
			r.started(ctx, st)
		}
	}) || took
	took = drain(ctx, SignalShardSilent, func(sig ShardSilent) { r.silent(ctx, sig) }) || took
	took = drain(ctx, SignalShardsEnded, func(batch ShardsEnded) {
		for _, end := range batch.Ends {
			r.shardEnded(ctx, end)
		}
	}) || took
	if took {
		r.flush(ctx)
	}
	// What the signals started is done (activities) or carried (timers),
	// unless it started a shard group or sent a cancellation.
	return r.starting == 0 && r.signalling == 0 && r.busy() > 0
}

// drain gives take every signal waiting on the channel name and tells
// whether there was any.
func drain[T any](ctx workflow.Context, name string, take func(T)) bool {
	took := false
	for {
		var v T
		if !workflow.GetSignalChannel(ctx, name).ReceiveAsync(&v) {
			return took
		}
		took = true
		take(v)
	}
}

// carry is what the next workflow run of this run starts from. Timers are
// carried as the moments they are due at; shard groups run on.
func (r *run) carry(ctx workflow.Context) *RunCarry {
	c := &RunCarry{
		Spec: r.spec, Epoch: r.epoch, Base: r.base, Control: r.control, State: r.state,
		Slots: len(r.slots), Results: r.results,
		Failed: r.failed, Aborted: r.aborted, Ending: r.ending, Reason: r.reason,
		Ran: r.ran, Invalid: r.invalid, FirstInvalid: r.firstInvalid, ShardsDone: r.shardsDone,
		FailedStarts: r.failedStarts, Replacements: r.replacements, Overdue: r.overdue, IterationsDone: r.itersDone,
		Pauses: slices.Clone(r.pauses), ReplanWhy: slices.Clone(r.replanWhy),
	}
	c.State.Completed = nil // the same as Results
	c.State.Continued++
	for _, s := range r.slots {
		if s.live() {
			c.Live = append(c.Live, CarriedSlot{
				Index: s.index, First: s.first, Started: s.started, State: s.state,
				Worker: s.worker, MaxVUs: s.maxVUs, MaxRPS: s.maxRPS, Cancelled: s.cancelled, Group: s.group.id,
				Newcomer: s.newcomer,
			})
		}
	}
	workflow.GetLogger(ctx).Info("run continues as new",
		"run", r.spec.RunID, "history", workflow.GetInfo(ctx).GetCurrentHistoryLength(), "live", len(c.Live), "slots", c.Slots)
	return c
}

// resume goes on with a run where its previous workflow run left it.
func (r *run) resume(ctx workflow.Context, in RunInput) (RunOutcome, error) {
	c := in.Carry
	r.spec, r.epoch, r.base, r.control, r.state = c.Spec, c.Epoch, c.Base, c.Control, c.State
	r.results, r.shardsDone = c.Results, c.ShardsDone
	r.state.Completed = r.results
	r.failed, r.aborted, r.ending, r.reason = c.Failed, c.Aborted, c.Ending, c.Reason
	r.ran, r.invalid, r.firstInvalid = c.Ran, c.Invalid, c.FirstInvalid
	r.failedStarts, r.replacements, r.overdue = c.FailedStarts, c.Replacements, c.Overdue
	r.itersDone = c.IterationsDone
	r.begin(ctx)
	r.slots = make([]*slot, c.Slots)
	for i := range r.slots {
		r.slots[i] = &slot{index: i, state: slotDone}
	}
	groups := map[string]*group{}
	for _, l := range c.Live {
		if l.Index < 0 || l.Index >= len(r.slots) {
			continue
		}
		g := groups[l.Group]
		if g == nil {
			g = &group{id: l.Group}
			groups[l.Group] = g
		}
		s := &slot{
			index: l.Index, first: l.First, started: l.Started, state: l.State,
			worker: l.Worker, maxVUs: l.MaxVUs, maxRPS: l.MaxRPS, cancelled: l.Cancelled, group: g,
			newcomer: l.Newcomer,
		}
		s.cancel = r.groupCancel(s)
		r.slots[l.Index] = s
		if l.Cancelled {
			// Sent before, most likely delivered: again, in case it was
			// not (a group ignores a shard it no longer runs).
			s.cancelled = false
			s.cancel()
		}
	}
	for _, due := range c.Pauses {
		r.launchAt(ctx, due, until(ctx, due))
	}
	for _, why := range c.ReplanWhy {
		r.replanSoon(ctx, why)
	}
	r.flush(ctx)
	return r.follow(ctx)
}

// until is how long from now to t: at least a millisecond, so that a timer
// for a moment already past fires at once.
func until(ctx workflow.Context, t time.Time) time.Duration {
	return max(t.Sub(workflow.Now(ctx)), time.Millisecond)
}
