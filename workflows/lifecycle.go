package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

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
	if r.spec.Elastic && !r.ending && !r.itersDone && r.firstStarted() && !r.hasWaiting() && r.belowCap() {
		r.launch(ctx).newcomer = true
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
		r.iterationsEnded(ctx, end.Result)
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
