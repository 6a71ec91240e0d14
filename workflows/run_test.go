package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/barrage/barrage/internal/profile"
)

// fakeActivities stands in for package activities: it records what the
// workflow asked for. LoadShard "runs" for shardTime of test-suite time, or
// until cancelled.
type fakeActivities struct {
	mu        sync.Mutex
	shardTime time.Duration
	shardErr  error
	finished  []FinishInput
	controls  []Control
	events    []EventInput
	reports   []string
	shards    []ShardInput
}

func (f *fakeActivities) PrepareRun(_ context.Context, id string) (RunSpec, error) {
	p, _ := profile.Constant(profile.Closed, 30, time.Minute)
	return RunSpec{RunID: id, Shards: 3, Profile: p, GracefulStop: 5 * time.Second, IntervalMS: 1000}, nil
}

func (f *fakeActivities) StartRun(context.Context, StartInput) error { return nil }

func (f *fakeActivities) PublishControl(_ context.Context, c Control) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.controls = append(f.controls, c)
	return nil
}

func (f *fakeActivities) RecordEvent(_ context.Context, e EventInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
	return nil
}

func (f *fakeActivities) FinishRun(_ context.Context, in FinishInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished = append(f.finished, in)
	return nil
}

func (f *fakeActivities) BuildReport(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, id)
	return nil
}

func (f *fakeActivities) LoadShard(ctx context.Context, in ShardInput) (ShardResult, error) {
	f.mu.Lock()
	f.shards = append(f.shards, in)
	f.mu.Unlock()
	if f.shardErr != nil {
		return ShardResult{}, f.shardErr
	}
	// The test suite runs activities in real time; keep them short and let
	// cancellation (delivered through the heartbeat) end them early.
	t := time.NewTimer(f.shardTime)
	defer t.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.C:
			return ShardResult{Shard: in.Shard, Worker: "w", Attempt: 1, Reason: "completed"}, nil
		case <-tick.C:
			activity.RecordHeartbeat(ctx, ShardProgress{Worker: "w"})
		case <-ctx.Done():
			return ShardResult{Shard: in.Shard, Aborted: true}, ctx.Err()
		}
	}
}

// activitySet is what a test registers under the activity names.
type activitySet interface {
	PrepareRun(context.Context, string) (RunSpec, error)
	StartRun(context.Context, StartInput) error
	PublishControl(context.Context, Control) error
	RecordEvent(context.Context, EventInput) error
	FinishRun(context.Context, FinishInput) error
	BuildReport(context.Context, string) error
	LoadShard(context.Context, ShardInput) (ShardResult, error)
}

func newEnv(t *testing.T, f activitySet) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// Activities run in real time here; signals are delivered by delayed
	// callbacks in the suite's clock.
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflow(Run)
	env.RegisterWorkflowWithOptions(ShardGroup, workflow.RegisterOptions{Name: WorkflowShardGroup})
	for name, fn := range map[string]any{
		ActivityPrepareRun: f.PrepareRun, ActivityStartRun: f.StartRun, ActivityPublishControl: f.PublishControl,
		ActivityRecordEvent: f.RecordEvent, ActivityFinishRun: f.FinishRun, ActivityBuildReport: f.BuildReport,
		ActivityLoadShard: f.LoadShard,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	return env
}

// startShards has shards 0..n-1 report their start (worker wI, capacity
// maxVUs) 10 ms into the run.
func startShards(env *testsuite.TestWorkflowEnvironment, n, maxVUs int) {
	for shard := range n {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalShardState, ShardState{Shard: shard, Worker: fmt.Sprintf("w%d", shard), MaxVUs: maxVUs})
		}, 10*time.Millisecond)
	}
}

func TestRunCompletes(t *testing.T) {
	f := &fakeActivities{shardTime: 50 * time.Millisecond}
	env := newEnv(t, f)
	env.ExecuteWorkflow(Run, RunInput{RunID: "r1"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || len(out.Shards) != 3 {
		t.Fatalf("outcome %+v", out)
	}
	seen := map[int]bool{}
	for _, s := range f.shards {
		seen[s.Shard] = true
		if s.Shards != 3 || s.Epoch.IsZero() {
			t.Errorf("shard input %+v", s)
		}
	}
	if len(seen) != 3 {
		t.Errorf("shards started: %v", seen)
	}
	if len(f.finished) != 1 || f.finished[0].Status != "completed" || len(f.reports) != 1 {
		t.Errorf("finish %+v reports %v", f.finished, f.reports)
	}
	if len(f.controls) != 1 || f.controls[0].Version != 1 || f.controls[0].Fractions[0] != 1.0/3 {
		t.Errorf("controls %+v", f.controls)
	}
}

func TestAbortCancelsEveryShard(t *testing.T) {
	f := &fakeActivities{shardTime: time.Minute}
	env := newEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAbort, AbortSignal{By: "alice", Reason: "wrong target"})
	}, 3*time.Second)
	start := time.Now()
	env.ExecuteWorkflow(Run, RunInput{RunID: "r2"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "aborted" || out.Reason != "aborted by alice: wrong target" {
		t.Fatalf("outcome %+v", out)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("the shards were not cancelled: the workflow took %v", time.Since(start))
	}
	last := f.controls[len(f.controls)-1]
	if !last.Aborted || last.Version != 2 {
		t.Errorf("published control %+v", last)
	}
	if f.finished[0].Status != "aborted" || !hasEvent(f.events, "aborted", "alice") {
		t.Errorf("finish %+v events %+v", f.finished, f.events)
	}
}

func hasEvent(es []EventInput, kind, substr string) bool {
	for _, e := range es {
		if e.Kind == kind && strings.Contains(e.Detail, substr) {
			return true
		}
	}
	return false
}

func TestErrorRateAbortFailsTheRun(t *testing.T) {
	f := &fakeActivities{shardTime: time.Minute}
	env := newEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalAbort, AbortSignal{By: "error_rate", Reason: "error rate 0.93 over 10s >= 0.5", Failed: true})
	}, 3*time.Second)
	env.ExecuteWorkflow(Run, RunInput{RunID: "r3"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "failed" || !strings.Contains(out.Reason, "error rate 0.93") {
		t.Fatalf("outcome %+v", out)
	}
}

func TestRampPublishesARetargetedProfile(t *testing.T) {
	f := &fakeActivities{shardTime: 1500 * time.Millisecond}
	env := newEnv(t, f)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalRamp, RampSignal{Target: 90, Over: 2 * time.Second, By: "bob"})
	}, time.Second)
	env.ExecuteWorkflow(Run, RunInput{RunID: "r4"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(f.controls) < 2 {
		t.Fatalf("controls %+v", f.controls)
	}
	c := f.controls[1]
	if c.Version != 2 || c.Aborted {
		t.Fatalf("ramp control %+v", c)
	}
	// Signalled 1 s after the start, before the profile's time zero
	// (StartLead after the start): the ramp starts at offset 0, from 30 to
	// 90 over 2 s.
	for at, want := range map[time.Duration]float64{0: 30, time.Second: 60, 2 * time.Second: 90, 50 * time.Second: 90} {
		if got := c.Profile.Target(at); got < want-0.5 || got > want+0.5 {
			t.Errorf("Target(%v) = %v, want %v", at, got, want)
		}
	}
	if !hasEvent(f.events, "ramp", "bob") {
		t.Errorf("events %+v", f.events)
	}
}

func TestEveryShardFailingFailsTheRun(t *testing.T) {
	f := &fakeActivities{shardErr: temporal.NewNonRetryableApplicationError("bad scenario on worker", "invalid_run", errors.New("x"))}
	env := newEnv(t, f)
	env.ExecuteWorkflow(Run, RunInput{RunID: "r5"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "failed" || !strings.Contains(out.Reason, "every shard failed") {
		t.Fatalf("outcome %+v", out)
	}
	if !hasEvent(f.events, "shard_failed", "bad scenario") {
		t.Errorf("events %+v", f.events)
	}
}

// lossyActivities fails one shard with a heartbeat timeout, as a killed
// worker does; the others run their time.
type lossyActivities struct {
	fakeActivities
	lose int
}

func (f *lossyActivities) LoadShard(ctx context.Context, in ShardInput) (ShardResult, error) {
	if in.Shard == f.lose {
		f.mu.Lock()
		f.shards = append(f.shards, in)
		f.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
		return ShardResult{}, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_HEARTBEAT, nil)
	}
	return f.fakeActivities.LoadShard(ctx, in)
}

func TestLostShardIsRedistributedAndReplaced(t *testing.T) {
	for _, tc := range []struct {
		name       string
		caps       int     // each worker's max VUs (0: none)
		served     float64 // of the target of 30 VUs, once shard 1 is lost
		wantEvents []string
	}{
		{name: "spare capacity", caps: 0, served: 1, wantEvents: []string{"worker_lost", "redistributed"}},
		{name: "capacity exhausted", caps: 10, served: 20.0 / 30, wantEvents: []string{"worker_lost", "load_reduced"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &lossyActivities{fakeActivities: fakeActivities{shardTime: 1500 * time.Millisecond}, lose: 1}
			env := newEnv(t, f)
			startShards(env, 3, tc.caps)
			env.ExecuteWorkflow(Run, RunInput{RunID: "lossy"})
			var out RunOutcome
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}
			if out.Status != "completed" {
				t.Fatalf("outcome %+v", out)
			}
			for _, kind := range tc.wantEvents {
				if !hasEvent(f.events, kind, "") {
					t.Errorf("no %s event in %+v", kind, f.events)
				}
			}
			var after *Control
			for i := range f.controls {
				if f.controls[i].Fractions[1] == 0 && len(f.controls[i].Fractions) >= 3 {
					after = &f.controls[i]
					break
				}
			}
			if after == nil || after.Fractions[0] != 0.5 || after.Fractions[2] != 0.5 || math.Abs(after.Served-tc.served) > 1e-9 {
				t.Fatalf("no control gave shard 1's share to shards 0 and 2 at served %v: %+v", tc.served, f.controls)
			}
			if got := after.Profile.Peak(); math.Abs(got-30*tc.served) > 1e-9 {
				t.Errorf("published peak %v, want %v", got, 30*tc.served)
			}
			replaced := false
			for _, in := range f.shards {
				replaced = replaced || in.Shard == 3
			}
			if !replaced {
				t.Errorf("no replacement shard was queued: %+v", f.shards)
			}
		})
	}
}

// wideActivities is a fleet of many shards that all report their start.
type wideActivities struct {
	fakeActivities
	n int
}

func (f *wideActivities) PrepareRun(_ context.Context, id string) (RunSpec, error) {
	p, _ := profile.Constant(profile.Closed, float64(10*f.n), time.Minute)
	return RunSpec{RunID: id, Shards: f.n, Profile: p, GracefulStop: 5 * time.Second, IntervalMS: 1000}, nil
}

// TestShardStartsAreBatched: a fleet's shards starting together cost a few
// published controls, not one each, and neither a shard's input nor an
// event grows with the fleet.
func TestShardStartsAreBatched(t *testing.T) {
	const n = 300
	f := &wideActivities{fakeActivities: fakeActivities{shardTime: 1500 * time.Millisecond}, n: n}
	env := newEnv(t, f)
	// Half of the shards report one by one, the others in batches of 50,
	// as a server gathers them.
	for shard := range n / 2 {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalShardState, ShardState{Shard: shard, Worker: fmt.Sprintf("w%d", shard)})
		}, time.Duration(10+shard)*time.Millisecond)
	}
	for from := n / 2; from < n; from += 50 {
		var batch ShardStates
		for shard := from; shard < from+50; shard++ {
			batch.States = append(batch.States, ShardState{Shard: shard, Worker: fmt.Sprintf("w%d", shard)})
		}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalShardStates, batch) }, time.Duration(10+from)*time.Millisecond)
	}
	env.ExecuteWorkflow(Run, RunInput{RunID: "wide"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || len(out.Shards) != n {
		t.Fatalf("outcome: %s with %d shards", out.Status, len(out.Shards))
	}
	// One plan at the start, then one per ReplanDelay while shards report.
	if max := 2 + int(300*time.Millisecond/ReplanDelay) + 1; len(f.controls) > max {
		t.Errorf("%d controls published for %d shard starts, want at most %d", len(f.controls), n, max)
	}
	last := f.controls[len(f.controls)-1]
	if len(last.Fractions) != n || last.Fractions[n-1] != 1.0/n {
		t.Errorf("the last control does not share the load among all %d shards: %v", n, last.Fractions[:3])
	}
	for _, in := range f.shards {
		if b, _ := json.Marshal(in); len(b) > 300 {
			t.Fatalf("shard input of %d bytes: %s", len(b), b)
		}
	}
	lastPlan := ""
	for _, e := range f.events {
		if e.Kind == "redistributed" {
			lastPlan = e.Detail
		}
		if len(e.Detail) > 300 {
			t.Fatalf("event %s of %d bytes: %.200s", e.Kind, len(e.Detail), e.Detail)
		}
	}
	if !strings.Contains(lastPlan, fmt.Sprintf("%d shards on %d workers", n, n)) {
		t.Errorf("the last plan does not know every shard's worker: %q", lastPlan)
	}
}

// TestHistoryBudgetStopsReplacements: past its history budget a run
// recorded before shard workflows (which runs its load activities itself
// and cannot continue as new) gives a lost shard's share to the survivors
// but queues no replacement, says so, and completes (rather than growing
// until Temporal terminates it).
func TestHistoryBudgetStopsReplacements(t *testing.T) {
	f := &lossyActivities{fakeActivities: fakeActivities{shardTime: 1500 * time.Millisecond}, lose: 1}
	env := newEnv(t, f)
	env.OnGetVersion(changeShardGroups, workflow.DefaultVersion, shardGroups).Return(workflow.DefaultVersion)
	env.SetCurrentHistoryLength(HistoryBudget + 1)
	env.ExecuteWorkflow(Run, RunInput{RunID: "tight"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" {
		t.Fatalf("outcome %+v", out)
	}
	for _, in := range f.shards {
		if in.Shard >= 3 {
			t.Fatalf("a replacement was queued past the budget: %+v", in)
		}
	}
	if !hasEvent(f.events, "replacements_exhausted", "history holds") {
		t.Errorf("no replacements_exhausted event naming the history: %+v", f.events)
	}
	if !hasEvent(f.events, "worker_lost", "") {
		t.Errorf("no worker_lost event: %+v", f.events)
	}
}

// TestLongHistoryContinuesAsNew: a run whose history has grown long
// continues as new carrying its shards, its plan and its state; the next
// workflow run takes the ends its shards signal and finishes the run once.
func TestLongHistoryContinuesAsNew(t *testing.T) {
	f := &lossyActivities{fakeActivities: fakeActivities{shardTime: 5 * time.Second}, lose: 1}
	env := newEnv(t, f)
	startShards(env, 3, 0)
	// Long once shard 1 has been lost and replaced; a repeated start report
	// wakes the run up.
	env.RegisterDelayedCallback(func() {
		env.SetCurrentHistoryLength(ContinueAfter + 1)
		env.SignalWorkflow(SignalShardState, ShardState{Shard: 0, Worker: "w0"})
	}, time.Second)
	env.ExecuteWorkflow(Run, RunInput{RunID: "long"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue as new", err)
	}
	var in RunInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatal(err)
	}
	c := in.Carry
	if in.RunID != "long" || c == nil {
		t.Fatalf("carried input %+v", in)
	}
	if c.State.Continued != 1 || c.Slots != 4 || c.Replacements != 1 || c.Ran != 3 || c.Spec.RunID != "long" || c.Epoch.IsZero() {
		t.Fatalf("carry %+v", c)
	}
	live := map[int]CarriedSlot{}
	for _, l := range c.Live {
		live[l.Index] = l
	}
	if len(live) != 3 || !live[0].Started || live[0].Worker != "w0" || !live[2].Started || live[3].State != slotWaiting || live[3].Started ||
		live[0].Group != ShardGroupID("long", 0) || live[3].Group != ShardGroupID("long", 3) {
		t.Fatalf("live slots %+v", c.Live)
	}
	if len(c.Control.Fractions) != 4 || c.Control.Fractions[1] != 0 || c.Control.Version != len(f.controls) {
		t.Fatalf("carried control %+v, published %d", c.Control, len(f.controls))
	}

	// The next workflow run: the shards it carries end on their own. The
	// cancellation of shard 3 was asked for before the run continued: the
	// next workflow run sends it again (Temporal drops a signal whose
	// sender has closed).
	for i := range c.Live {
		if c.Live[i].Index == 3 {
			c.Live[i].Cancelled = true
		}
	}
	g := &fakeActivities{}
	next := newEnv(t, g)
	var resent []CancelShards
	next.OnSignalExternalWorkflow(mock.Anything, ShardGroupID("long", 3), "", SignalCancelShards, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			resent = append(resent, arg.(CancelShards))
			return nil
		})
	ends := []ShardEnded{
		{Shard: 0, Outcome: OutcomeCompleted, Result: ShardResult{Shard: 0, Worker: "w0"}},
		{Shard: 2, Outcome: OutcomeCompleted, Result: ShardResult{Shard: 2, Worker: "w2"}},
		{Shard: 2, Outcome: OutcomeCompleted, Result: ShardResult{Shard: 2, Worker: "w2"}}, // told twice
		{Shard: 3, Outcome: OutcomeCancelled},
	}
	for i, end := range ends {
		next.RegisterDelayedCallback(func() {
			next.SignalWorkflow(SignalShardsEnded, ShardsEnded{Ends: []ShardEnded{end}})
		}, time.Duration(10+i)*time.Millisecond)
	}
	next.ExecuteWorkflow(Run, in)
	var out RunOutcome
	if err := next.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Status != "completed" || out.Continued != 1 || out.ShardsDone != 2 || len(out.Shards) != 2 {
		t.Fatalf("outcome %+v", out)
	}
	if len(resent) != 1 || !slices.Equal(resent[0].Shards, []int{3}) {
		t.Errorf("cancellations sent again: %+v, want shard 3 once", resent)
	}
	if len(g.shards) != 0 || len(g.finished) != 1 || len(g.reports) != 1 {
		t.Errorf("the next workflow run started %d shards, finished %d times, reported %d times", len(g.shards), len(g.finished), len(g.reports))
	}
}

// TestSilentShardIsLostAtOnce: the server's word that a running shard went
// silent makes it lost there and then — its activity cancelled, its share
// given to the others, a replacement queued, a worker_lost event naming the
// shard — while a word about a shard another worker now runs is ignored.
func TestSilentShardIsLostAtOnce(t *testing.T) {
	f := &fakeActivities{shardTime: 1500 * time.Millisecond}
	env := newEnv(t, f)
	startShards(env, 3, 0)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalShardSilent, ShardSilent{Shard: 2, Worker: "w9", Why: "not the worker that runs it"})
		env.SignalWorkflow(SignalShardSilent, ShardSilent{Shard: 1, Worker: "w1", Why: "silent: its connection closed"})
	}, 20*time.Millisecond)
	env.ExecuteWorkflow(Run, RunInput{RunID: "silent"})
	var out RunOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	var lost []EventInput
	for _, e := range f.events {
		if e.Kind == "worker_lost" {
			lost = append(lost, e)
		}
	}
	if len(lost) != 1 || lost[0].Shard == nil || *lost[0].Shard != 1 || !strings.Contains(lost[0].Detail, "silent: its connection closed") {
		t.Fatalf("worker_lost events %+v, want one for shard 1 saying why", lost)
	}
	moved := false
	for _, c := range f.controls {
		moved = moved || (len(c.Fractions) >= 3 && c.Fractions[1] == 0 && c.Fractions[0] == 0.5 && c.Fractions[2] == 0.5)
	}
	if !moved {
		t.Errorf("no control gave shard 1's share to shards 0 and 2: %+v", f.controls)
	}
	replaced := false
	for _, in := range f.shards {
		replaced = replaced || in.Shard == 3
	}
	if !replaced || out.Status != "completed" {
		t.Errorf("replacement queued %v, outcome %+v", replaced, out)
	}
}
