package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// A slot is one shard of the run: one load activity. Slots only grow: a lost
// shard's replacement, or an elastic run's newcomer, gets a new slot.
type slot struct {
	index int
	first bool // one of the run's first shards (planned as running at once)
	// newcomer: an elastic run's shard for the next worker that joins
	// (not a replacement).
	newcomer bool
	started  bool // a worker took it (ShardState received)
	state    string
	worker   string
	maxVUs   int
	maxRPS   int
	cancel   workflow.CancelFunc
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
func (r *run) launch(ctx workflow.Context) *slot {
	s := &slot{index: len(r.slots), state: slotWaiting}
	r.slots = append(r.slots, s)
	r.start(ctx, s)
	return s
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

// cancelWaiting cancels the shards no worker has taken yet.
func (r *run) cancelWaiting() {
	for _, s := range r.slots {
		if !s.started && s.live() {
			s.cancel()
		}
	}
}

// cancelNewcomers cancels an elastic run's shards that wait for a worker
// to join, not the replacements of lost shards.
func (r *run) cancelNewcomers() {
	for _, s := range r.slots {
		if !s.started && s.live() && s.newcomer {
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
