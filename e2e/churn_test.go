package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/barrage/barrage/activities"
	"github.com/barrage/barrage/internal/devserver"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
	"github.com/barrage/barrage/workers"
	"github.com/barrage/barrage/workflows"
)

// churner stands in for a fleet whose workers die as soon as they take a
// shard, losses times in all; after that its shards complete at once. A
// taken shard reports its start as activities.LoadShard does (the server
// turns it into a signal), so that a loss is replaced at once.
type churner struct {
	tc     client.Client
	losses int64
	taken  atomic.Int64
}

func (c *churner) LoadShard(ctx context.Context, in workflows.ShardInput) (workflows.ShardResult, error) {
	st := workflows.ShardState{Shard: in.Shard, Attempt: int(activity.GetInfo(ctx).Attempt), Worker: "churn"}
	if err := c.tc.SignalWorkflow(ctx, in.RunID, "", workflows.SignalShardState, st); err != nil {
		return workflows.ShardResult{}, err
	}
	if c.taken.Add(1) <= c.losses {
		return workflows.ShardResult{}, errors.New("the worker died")
	}
	return workflows.ShardResult{Shard: in.Shard, Worker: "churn", Attempt: 1, Reason: "completed"}, nil
}

// TestThousandsOfReplacements replaces shards thousands of times in one run
// on the real (embedded) Temporal, with the server's real control worker
// and activities on an SQLite store: the run continues as new whenever its
// history grows long, no workflow run's history reaches 10,000 events, and
// the run completes once, with one report. It takes a few minutes of about
// one core; it lives here, where tests run one after another, so that it
// does not share the machine with the timing of the fault suite.
// BARRAGE_CHURN sets the number of losses (default 2,000).
func TestThousandsOfReplacements(t *testing.T) {
	losses := int64(2000)
	if n, err := strconv.Atoi(os.Getenv("BARRAGE_CHURN")); err == nil && n > 0 {
		losses = int64(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	tc, err := client.DialContext(ctx, client.Options{
		HostPort: srv.FrontendAddr(), Namespace: srv.Namespace(),
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "churn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := createRun(ctx, t, st, 4)

	control := workers.NewControl(tc, &activities.Server{Store: st})
	ch := &churner{tc: tc, losses: losses}
	load := worker.New(tc, workflows.LoadQueue, worker.Options{MaxConcurrentActivityExecutionSize: 8, DisableWorkflowWorker: true})
	load.RegisterActivityWithOptions(ch.LoadShard, activity.RegisterOptions{Name: workflows.ActivityLoadShard})
	for _, w := range []worker.Worker{control, load} {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
	}

	began := time.Now()
	we, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: run.ID, TaskQueue: workflows.ControlQueue}, "Run", workflows.RunInput{RunID: run.ID})
	if err != nil {
		t.Fatal(err)
	}
	first := we.GetRunID() // Get moves it along the chain
	var out workflows.RunOutcome
	if err := we.Get(ctx, &out); err != nil {
		t.Fatalf("run after %d shards taken: %v", ch.taken.Load(), err)
	}
	t.Logf("%d losses replaced in %s; the run continued as new %d times", losses, time.Since(began).Round(time.Second), out.Continued)
	if out.Status != "completed" || out.ShardsDone != 4 || out.Continued < 1 {
		t.Fatalf("outcome %+v", out)
	}

	// Every workflow run of the chain stayed short.
	runID, runs, longest := first, 0, 0
	for runID != "" {
		events, next := historyOf(ctx, t, tc, run.ID, runID)
		longest = max(longest, events)
		if runs == 1 && os.Getenv("BARRAGE_RECORD_HISTORY") != "" {
			// A workflow run that started from a carry, for the replay test.
			recordHistory(t, tc, run.ID, runID, "run_history_continued.json.gz")
		}
		if events >= 10_000 {
			t.Errorf("workflow run %s has %d events", runID, events)
		}
		runs++
		runID = next
	}
	if runs != out.Continued+1 {
		t.Errorf("%d workflow runs in the chain, the outcome says %d continuations", runs, out.Continued)
	}
	t.Logf("%d workflow runs, the longest with %d events", runs, longest)

	// The store holds one finished run, every loss on its timeline, and one report.
	r, err := st.GetRun(ctx, run.ID)
	if err != nil || r.Status != store.StatusCompleted {
		t.Fatalf("stored run %+v, %v", r, err)
	}
	evs, err := st.ListEvents(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds["worker_lost"] != int(losses) || kinds["finished"] != 1 || kinds["replacements_exhausted"] != 0 {
		t.Errorf("timeline: %v", kinds)
	}
	b, err := st.GetReport(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rep reports.Report
	if err := json.Unmarshal(b, &rep); err != nil || rep.RunID != run.ID || rep.Status != string(store.StatusCompleted) {
		t.Fatalf("report: %v %.200s", err, b)
	}
}

// createRun stores a run of shards shards of a long profile (its shards end
// it long before).
func createRun(ctx context.Context, t *testing.T, st store.Store, shards int) *store.Run {
	t.Helper()
	sc, err := scenario.ParseYAML([]byte("name: churn\nvirtual_users: 8\nduration_seconds: 1800\nsteps:\n  - {name: a, url_template: /a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := sc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateScenario(ctx, &store.Scenario{ID: "churn", Name: "churn", Document: doc}); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("churn-%d", time.Now().UnixNano())
	r := &store.Run{ID: id, ScenarioID: "churn", Scenario: doc, TargetBaseURL: "http://127.0.0.1:1", WorkerCount: shards,
		WorkflowID: id, Token: "t", IntervalMS: 1000}
	if err := st.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// historyOf counts a workflow run's events and returns the run it
// continued as ("" when it did not).
func historyOf(ctx context.Context, t *testing.T, tc client.Client, id, runID string) (int, string) {
	t.Helper()
	it := tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n, next := 0, ""
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		n++
		if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			next = a.GetNewExecutionRunId()
		}
	}
	return n, next
}
