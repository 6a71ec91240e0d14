package workflows

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/barrage/barrage/internal/profile"
)

// A slot is one shard of the run: one load activity. Slots only grow: a lost
// shard's replacement, or an elastic run's newcomer, gets a new slot.
type slot struct {
	index   int
	first   bool // one of the run's first shards (planned as running at once)
	started bool // a worker took it (ShardState received)
	state   string
	worker  string
	maxVUs  int
	maxRPS  int
	cancel  workflow.CancelFunc
	// group is the shard group it runs in (nil while it waits to be
	// launched, and for runs whose shards are the run's own activities);
	// cancelled: its cancellation was asked for.
	group     *group
	cancelled bool
}

// A group is a shard group workflow: it runs some of the run's shards.
type group struct {
	id      string
	pending bool  // its workflow is not started yet
	cancels []int // shards whose cancellation is to be sent to it
}

// live tells whether the slot waits or runs.
func (s *slot) live() bool { return s.state == slotWaiting || s.state == slotRunning }

// Slot states.
const (
	slotWaiting = "waiting" // in the load queue, no worker yet
	slotRunning = "running"
	slotLost    = "lost"
	slotDone    = "done"
)

func (r *run) firstStarted() bool {
	for _, s := range r.slots {
		if s.first && !s.started && s.state == slotRunning {
			return false
		}
	}
	return true
}

func (r *run) hasWaiting() bool {
	for _, s := range r.slots {
		if s.state == slotWaiting {
			return true
		}
	}
	return false
}

// busy counts the slots that run or wait, and replacements still to come.
func (r *run) busy() int {
	n := len(r.pauses)
	for _, s := range r.slots {
		if s.state == slotWaiting || s.state == slotRunning {
			n++
		}
	}
	return n
}

// launchFirst queues the run's first shards. They count as running at once:
// they share the load from the start.
func (r *run) launchFirst(ctx workflow.Context, n int) {
	for range n {
		r.slots = append(r.slots, &slot{index: len(r.slots), first: true, state: slotRunning})
	}
	for _, s := range r.slots {
		r.start(ctx, s)
	}
}

// launch queues a replacement or an elastic newcomer: it gets its share
// when a worker takes it.
func (r *run) launch(ctx workflow.Context) {
	s := &slot{index: len(r.slots), state: slotWaiting}
	r.slots = append(r.slots, s)
	r.start(ctx, s)
}

func (r *run) start(ctx workflow.Context, s *slot) {
	if r.groups {
		// Launched with the others of this moment, in as few groups as can
		// hold them (flush).
		s.cancel = r.groupCancel(s)
		r.queued = append(r.queued, s)
		return
	}
	opts := shardActivityOptions(workflow.Now(ctx), r.shardEnd(), s.first)
	actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, opts))
	s.cancel = cancel
	r.sel.AddFuture(workflow.ExecuteActivity(actx, ActivityLoadShard, r.shardInput(s)), func(f workflow.Future) {
		var res ShardResult
		err := f.Get(ctx, &res)
		r.ended(ctx, s, endOf(s.index, res, err))
	})
}

// shardEnd is when the profile and its graceful stop are over.
func (r *run) shardEnd() time.Time {
	return r.epoch.Add(r.spec.Profile.Duration() + r.spec.GracefulStop)
}

func (r *run) shardInput(s *slot) ShardInput {
	return ShardInput{
		RunID: r.spec.RunID, Shard: s.index, Shards: r.spec.Shards, Epoch: r.epoch,
		IntervalMS: r.spec.IntervalMS, Token: r.spec.Token,
	}
}

// shardActivityOptions are a load activity's options, at now: a first
// shard waits FirstPickup for a worker, a later one until the end.
func shardActivityOptions(now, end time.Time, first bool) workflow.ActivityOptions {
	pickup := end.Sub(now)
	if first {
		pickup = FirstPickup
	}
	return workflow.ActivityOptions{
		TaskQueue:              LoadQueue,
		ScheduleToStartTimeout: max(pickup, time.Second),
		StartToCloseTimeout:    end.Sub(now) + EndSlack,
		HeartbeatTimeout:       HeartbeatTimeout,
		WaitForCancellation:    true,
		// The workflow decides what a lost shard becomes; Temporal does not
		// retry it behind its back.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	}
}

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

// endOf says how a load activity ended.
func endOf(shard int, res ShardResult, err error) ShardEnded {
	end := ShardEnded{Shard: shard, Result: res, Outcome: OutcomeCompleted}
	if err == nil {
		return end
	}
	end.Error, end.Short = err.Error(), shortError(err)
	var timeout *temporal.TimeoutError
	switch {
	case temporal.IsCanceledError(err):
		end.Outcome = OutcomeCancelled
	case errors.As(err, &timeout) && timeout.TimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START:
		end.Outcome = OutcomeNotTaken
	case isInvalid(err):
		end.Outcome = OutcomeInvalid
	default:
		end.Outcome = OutcomeLost
	}
	return end
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

// started takes a shard's report that a worker took it.
func (r *run) started(ctx workflow.Context, st ShardState) {
	if st.Shard < 0 || st.Shard >= len(r.slots) {
		return
	}
	s := r.slots[st.Shard]
	if s.started || (s.state != slotWaiting && s.state != slotRunning) {
		return
	}
	s.started, s.state, s.worker, s.maxVUs, s.maxRPS = true, slotRunning, st.Worker, st.MaxVUs, st.MaxRPS
	r.ran++
	if !s.first {
		r.event(ctx, "worker_joined", fmt.Sprintf("worker %s took shard %d", st.Worker, s.index))
	}
	// An elastic run keeps one shard waiting in the load queue for the next
	// worker that joins — once its first shards have their workers, so that
	// it does not take a worker one of them needs.
	if r.spec.Elastic && !r.ending && r.firstStarted() && !r.hasWaiting() && r.belowCap() {
		r.launch(ctx)
	}
	r.replanSoon(ctx, "shard started")
}

// belowCap reports whether an elastic run may take one more worker.
func (r *run) belowCap() bool {
	if r.spec.MaxWorkers <= 0 {
		return true
	}
	n := 0
	for _, s := range r.slots {
		if s.state == slotRunning {
			n++
		}
	}
	return n < r.spec.MaxWorkers
}

// replanSoon replans after ReplanDelay, once for everything that happened
// meanwhile (shards starting, lost, failing). Runs recorded before
// batching replan at once.
func (r *run) replanSoon(ctx workflow.Context, why string) {
	if r.batching == workflow.DefaultVersion {
		_ = r.replan(ctx, why)
		return
	}
	pending := len(r.replanWhy) > 0
	if !slices.Contains(r.replanWhy, why) {
		r.replanWhy = append(r.replanWhy, why)
	}
	if pending {
		return
	}
	r.sel.AddFuture(workflow.NewTimer(ctx, ReplanDelay), func(workflow.Future) {
		why := strings.Join(r.replanWhy, ", ")
		r.replanWhy = nil
		if !r.aborted {
			_ = r.replan(ctx, why)
		}
	})
}

// ended takes a shard's end.
func (r *run) ended(ctx workflow.Context, s *slot, end ShardEnded) {
	if !s.live() {
		return // told twice
	}
	switch {
	case end.Outcome == OutcomeCompleted:
		s.state = slotDone
		r.shardsDone++
		if len(r.results) < listedResults {
			r.results = append(r.results, end.Result)
		}
		if !s.started {
			r.ran++ // its start report never reached us, but it ran
		}
	case end.Outcome == OutcomeCancelled:
		s.state = slotDone
	case !s.started && end.Outcome == OutcomeNotTaken && !s.first:
		s.state = slotDone // a replacement no worker came for before the end
	case end.Outcome == OutcomeInvalid:
		// The shard cannot run anywhere (its scenario does not compile on
		// the worker, say): a replacement would fail the same way.
		s.state = slotLost
		if r.invalid == 0 {
			r.firstInvalid = end.Error
		}
		r.invalid++
		r.event(ctx, "shard_failed", fmt.Sprintf("shard %d: %s", s.index, end.Short))
		r.replanSoon(ctx, "shard failed")
	default:
		s.state = slotLost
		// Survivors first: the share of the lost shard is planned before
		// anything is recorded (with the other losses of ReplanDelay).
		r.replanSoon(ctx, "shard lost")
		r.lost(ctx, s, end.Short)
		r.replace(ctx, s)
	}
	r.state.Finished++
	r.state.Completed, r.state.ShardsDone = r.results, r.shardsDone
}

// silent takes the server's word that a running shard went silent: it is
// lost now, not after the heartbeat timeout. Its activity is cancelled —
// a worker only cut off from the server stops with its next heartbeat —
// and its share goes to the others and to a replacement, as for any loss.
func (r *run) silent(ctx workflow.Context, sig ShardSilent) {
	if !r.hearsSilence || sig.Shard < 0 || sig.Shard >= len(r.slots) || r.ending || r.aborted {
		return
	}
	s := r.slots[sig.Shard]
	if s.state != slotRunning || !s.started || (sig.Worker != "" && sig.Worker != s.worker) {
		return // ended, or not the shard the server saw
	}
	s.cancel()
	s.state = slotLost
	r.state.Finished++
	r.replanSoon(ctx, "shard lost")
	if r.groups {
		r.flush(ctx)
	}
	r.lost(ctx, s, sig.Why)
	r.replace(ctx, s)
	if r.groups {
		r.flush(ctx)
	}
}

// listedResults is how many shard results a run lists in its state and
// outcome; it counts the others.
const listedResults = 1000

// replace queues a replacement for a lost shard: at once when the shard had
// run (its worker died), after a growing pause when it failed before it
// started (a worker that cannot reach the server, say). A run recorded
// before shard groups (which cannot continue as new) never replaces beyond
// a cap, so that a failing fleet cannot grow its history without end.
func (r *run) replace(ctx workflow.Context, s *slot) {
	if r.ending || r.aborted {
		return
	}
	r.replacements++
	// A run whose shards run in shard groups continues as new before its
	// history grows long, and replaces lost shards until its end; runs
	// recorded before that cap the replacements. Both keep the history
	// budget (for groups, a last resort should continuing as new never
	// find its moment).
	if !r.groups && r.replacements > max(10, 3*r.spec.Shards) {
		if r.replacements == max(10, 3*r.spec.Shards)+1 {
			r.event(ctx, "replacements_exhausted", fmt.Sprintf("%d shards lost: no more replacements for this run", r.replacements))
		}
		return
	}
	// Runs recorded before the budget (DefaultVersion) replay without it.
	if n := workflow.GetInfo(ctx).GetCurrentHistoryLength(); r.batching >= batchedReplans && n > HistoryBudget {
		// Temporal terminates a workflow whose history passes its limit,
		// and a terminated run would never end or report: past the budget
		// the survivors carry on without replacements.
		if !r.budgetSpent {
			r.budgetSpent = true
			r.event(ctx, "replacements_exhausted", fmt.Sprintf("the run's history holds %d events: no more replacements for this run", n))
		}
		return
	}
	r.relaunch(ctx, s)
}

// relaunch queues the replacement of a lost shard: at once when it had run,
// after a pause growing with the failed starts when it had not.
func (r *run) relaunch(ctx workflow.Context, s *slot) {
	if s.started {
		r.launch(ctx)
		return
	}
	r.failedStarts++
	pause := min(30*time.Second, time.Duration(1<<min(r.failedStarts, 5))*time.Second)
	r.launchAt(ctx, workflow.Now(ctx).Add(pause), pause)
}

// launchAt launches a replacement after pause (due at due).
func (r *run) launchAt(ctx workflow.Context, due time.Time, pause time.Duration) {
	r.pauses = append(r.pauses, due)
	r.sel.AddFuture(workflow.NewTimer(ctx, pause), func(workflow.Future) {
		if i := slices.Index(r.pauses, due); i >= 0 {
			r.pauses = slices.Delete(r.pauses, i, i+1)
		}
		if !r.ending && !r.aborted {
			r.launch(ctx)
		}
	})
}

func isInvalid(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == "invalid_run"
}

// shortError names the cause of an activity's failure, not the wrapping.
func shortError(err error) string {
	var (
		app     *temporal.ApplicationError
		timeout *temporal.TimeoutError
	)
	switch {
	case errors.As(err, &timeout):
		return strings.ToLower(strings.TrimPrefix(timeout.TimeoutType().String(), "TIMEOUT_TYPE_")) + " timeout"
	case errors.As(err, &app):
		return app.Error()
	}
	return err.Error()
}

// replan recomputes every running shard's fraction from the fleet's
// capacities and publishes it. When the fleet cannot carry the profile, the
// run goes on at reduced load and says so.
func (r *run) replan(ctx workflow.Context, why string) error {
	if r.aborted {
		return nil
	}
	caps := make([]float64, len(r.slots))
	active := make([]bool, len(r.slots))
	for i, s := range r.slots {
		active[i] = s.state == slotRunning
		caps[i] = float64(s.maxVUs)
		if r.base.Model == profile.Open {
			caps[i] = float64(s.maxRPS)
		}
	}
	// Plan for what is left of the profile: a spike that is over does not
	// hold the rest of the run down.
	peak := r.base.Peak()
	if rest := r.base.Shift(max(workflow.Now(ctx).Sub(r.epoch), 0)); len(rest.Stages) > 0 {
		peak = rest.Peak()
	}
	fractions, served, err := profile.Shares(peak, caps, active)
	if err != nil {
		return err
	}
	r.control.Fractions = fractions
	r.control.Profile = r.base
	if served > 0 && served < 1 {
		// The fleet carries served·peak: the profile is cut there, and
		// stays as asked wherever it asks for less.
		r.control.Profile = r.base.Clamp(served * peak)
	}
	prev := r.control.Served
	r.control.Version++
	r.control.Served = served
	perr := r.publish(ctx)
	r.noteServed(ctx, prev, served, active, peak)
	if why != "start" && why != "ramp" {
		r.event(ctx, "redistributed", fmt.Sprintf("%s: %s", why, describeShares(r.slots, fractions)))
	}
	return perr
}

// noteServed records a change of the carried load as an event.
func (r *run) noteServed(ctx workflow.Context, prev, served float64, active []bool, peak float64) {
	running := 0
	for _, a := range active {
		if a {
			running++
		}
	}
	switch {
	case running == 0:
		if !r.ending {
			r.event(ctx, "load_stopped", "no shard runs: the run waits for a worker")
		}
	case served < 1 && (served < prev-1e-9 || prev == 0 && served > 0):
		r.event(ctx, "load_reduced", fmt.Sprintf("load reduced to %.1f%% of the target: the %d running worker(s) can carry %.0f of %.0f %s",
			100*served, running, served*peak, peak, unit(r.base.Model)))
	case served >= 1 && prev < 1 && prev > 0:
		r.event(ctx, "load_restored", fmt.Sprintf("the %d running worker(s) carry the whole target again", running))
	}
}

func unit(m profile.Model) string {
	if m == profile.Open {
		return "iterations/s"
	}
	return "VUs"
}

// listedShares is how many running shards an event names one by one; a
// larger fleet is summed up, so that an event's size does not grow with it.
const listedShares = 10

func describeShares(slots []*slot, fractions []float64) string {
	var parts []string
	running, lo, hi := 0, math.Inf(1), 0.0
	workers := map[string]bool{}
	for i, s := range slots {
		if s.state != slotRunning {
			continue
		}
		running++
		lo, hi = min(lo, fractions[i]), max(hi, fractions[i])
		who := s.worker
		if who == "" {
			who = "starting"
		} else {
			workers[who] = true
		}
		if running <= listedShares {
			parts = append(parts, fmt.Sprintf("shard %d (%s) %.1f%%", i, who, 100*fractions[i]))
		}
	}
	switch {
	case running == 0:
		return "no shard runs"
	case running > listedShares:
		return fmt.Sprintf("%d shards on %d workers, %.3g%% to %.3g%% each", running, len(workers), 100*lo, 100*hi)
	}
	return strings.Join(parts, ", ")
}

// cancelWaiting cancels the shards no worker has taken yet.
func (r *run) cancelWaiting() {
	for _, s := range r.slots {
		if !s.started && s.live() {
			s.cancel()
		}
	}
}

// cancelAll cancels the shards that wait or run (cancelling one that has
// ended does nothing).
func (r *run) cancelAll() {
	for _, s := range r.slots {
		if s.live() {
			s.cancel()
		}
	}
}
