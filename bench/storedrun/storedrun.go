// Package storedrun stores a long synthetic run as the server would have
// left it — every worker's snapshot of every interval, every interval
// folded, the run finished — for the benchmarks that read one back.
package storedrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/barrage/barrage/bench/synth"
	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

// EnvInt is the positive integer in the environment variable name, else def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Shape is the run to store.
type Shape struct {
	ID                      string
	Workers, Minutes, Steps int
}

// Sizes are the bytes stored: raw snapshots and folded intervals.
type Sizes struct{ Raw, Folded float64 }

// Populate stores the run: scenario, run, every snapshot and every folded
// interval, then finishes the run.
func Populate(ctx context.Context, st store.Store, sh Shape) (Sizes, error) {
	var sz Sizes
	r, err := createRun(ctx, st, sh)
	if err != nil {
		return sz, err
	}
	pool, err := synth.NewPool(synth.PoolSize, sh.Steps)
	if err != nil {
		return sz, err
	}
	var f fold.Folder
	snaps := make([]store.Snapshot, sh.Workers)
	for k := range int64(sh.Minutes * 60) {
		start, end := fold.Bounds(r, k)
		for w := range sh.Workers {
			h := hist.Snapshot{RunID: r.ID, Worker: fmt.Sprintf("w-%d", w), Shard: uint32(w), Attempt: 1,
				Seq: uint64(k + 1), Start: start, End: end, ActiveVUs: 10, TargetVUs: 10}
			data, err := pool.Encode(nil, &h, int(k)+w)
			if err != nil {
				return sz, err
			}
			snaps[w] = store.Snapshot{RunID: r.ID, Shard: w, Attempt: 1, Seq: k + 1, Interval: k, Worker: h.Worker, Data: data, ReceivedAt: end}
			sz.Raw += float64(len(data))
		}
		if _, err := st.PutSnapshots(ctx, snaps); err != nil {
			return sz, err
		}
		row, _, err := f.Interval(r, k, snaps)
		if err != nil {
			return sz, err
		}
		row.FoldedAt = end
		if err := st.PutInterval(ctx, row); err != nil {
			return sz, err
		}
		sz.Folded += float64(len(row.Data) + len(row.Summary))
	}
	ended := r.Epoch.Add(time.Duration(sh.Minutes) * time.Minute)
	return sz, st.FinishRun(ctx, r.ID, store.StatusCompleted, "", ended)
}

// StoreReport builds the run's report as the report activity does, and
// stores it; it returns the report and its encoding.
func StoreReport(ctx context.Context, st store.Store, runID string) (*reports.Report, []byte, error) {
	rep, err := fold.BuildReport(ctx, st, runID, nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return nil, nil, err
	}
	if err := st.PutReport(ctx, runID, body); err != nil {
		return nil, nil, err
	}
	return rep, body, nil
}

func createRun(ctx context.Context, st store.Store, sh Shape) (*store.Run, error) {
	doc := fmt.Sprintf(`{"name": "report bench", "virtual_users": %d, "duration_seconds": %d, "steps": [`, 10*sh.Workers, 60*sh.Minutes)
	for i := range sh.Steps {
		if i > 0 {
			doc += ","
		}
		doc += fmt.Sprintf(`{"name": "step %d", "url_template": "/s%d"}`, i, i)
	}
	doc += `], "thresholds": ["p95 < 300ms", "error_rate < 2%"]}`
	sc, err := scenario.ParseJSON([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	body, err := sc.JSON()
	if err != nil {
		return nil, err
	}
	scenarioID := sh.ID + "-scenario"
	if err := st.CreateScenario(ctx, &store.Scenario{ID: scenarioID, Name: sc.Name, Document: body}); err != nil {
		return nil, err
	}
	epoch := time.Now().Add(-time.Duration(sh.Minutes) * time.Minute).Truncate(time.Second)
	r := &store.Run{ID: sh.ID, ScenarioID: scenarioID, Scenario: body, TargetBaseURL: "http://127.0.0.1:9",
		WorkerCount: sh.Workers, WorkflowID: sh.ID, Token: "bench", IntervalMS: 1000, CreatedAt: epoch}
	if err := st.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	if err := st.StartRun(ctx, r.ID, epoch, 1000, epoch); err != nil {
		return nil, err
	}
	return st.GetRun(ctx, r.ID)
}
