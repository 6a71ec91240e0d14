package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/api"
	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/bench/benchdb"
	"github.com/barrage/barrage/bench/synth"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/server"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/workflows"
)

// Bounds of the waits around the run.
const (
	startTimeout  = 3 * time.Minute   // the server, Temporal included, and the run's epoch
	finishSlack   = 180 * time.Second // after the profile, for the run to finish
	reportTimeout = 2 * time.Minute
	settle        = 3 * time.Second // after the report, before counting folded snapshots
	viewersGrace  = 10 * time.Second
)

// benchStore runs the benchmark on one store.
func benchStore(ctx context.Context, cfg config, storeName string) (*result, error) {
	res := &result{cfg: cfg, store: storeName}
	tmp, err := os.MkdirTemp("", "barrage-fleet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dsn := "sqlite:" + filepath.Join(tmp, "barrage.db")
	if storeName == "postgres" {
		var drop func()
		if dsn, drop, err = benchdb.Fresh(ctx, cfg.pgBase, "barrage_fleet", progress); err != nil {
			return nil, err
		}
		defer drop()
	}
	res.dsn = dsn
	p, err := synth.NewPool(synth.PoolSize, cfg.steps)
	if err != nil {
		return nil, err
	}
	progress("%s: starting the server (embedded Temporal, %d workers, %d s, %d viewers); snapshots of about %d bytes",
		storeName, cfg.workers, cfg.seconds, cfg.viewers, p.MeanSize()+80)
	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.Start(sctx, server.Config{
		Listen: "127.0.0.1:0", DB: dsn, TemporalListen: "127.0.0.1:0", LocalWorkers: 0, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	defer srv.Close()
	if err := srv.Ready(sctx); err != nil {
		return nil, fmt.Errorf("server not ready: %w", err)
	}
	f := &fleet{base: srv.URL, duration: time.Duration(cfg.seconds) * time.Second, pool: p}
	ws, err := startStandins(srv.TemporalClient(), f, cfg.workers)
	if err != nil {
		return nil, err
	}
	defer stopAll(ws)
	if err := drive(ctx, sctx, cfg, srv, f, res); err != nil {
		return nil, err
	}
	return res, nil
}

// drive starts the run, measures it, waits for its end and collects the
// results.
func drive(ctx, sctx context.Context, cfg config, srv *server.Server, f *fleet, res *result) error {
	c, err := client.New(srv.URL)
	if err != nil {
		return err
	}
	doc, err := scenarioJSON(cfg)
	if err != nil {
		return err
	}
	ref, err := c.CreateScenario(sctx, doc)
	if err != nil {
		return fmt.Errorf("create the scenario: %w", err)
	}
	// A fixed fleet: the stand-ins can take more shards than WORKERS, and
	// an elastic run (the default) would take them all.
	fixed := false
	run, err := c.StartRun(sctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: targetBaseURL, WorkerCount: cfg.workers, Elastic: &fixed})
	if err != nil {
		return fmt.Errorf("start the run: %w", err)
	}
	startedAt := time.Now()
	vctx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	v, err := watch(vctx, srv.URL, run.RunID, cfg.viewers)
	if err != nil {
		return err
	}
	epoch, err := waitEpoch(sctx, srv.Store(), run.RunID)
	switch {
	case err != nil:
		return err
	case epoch.IsZero():
		progress("run %s ended before its load started: nothing measured", run.RunID)
	default:
		progress("run %s: epoch in %s", run.RunID, time.Until(epoch).Round(time.Millisecond))
		end := epoch.Add(time.Duration(cfg.seconds) * time.Second)
		before, _ := benchdb.Activity(ctx, res.dsn)
		if err := measureWindow(ctx, epoch, end, f, &res.cpu); err != nil {
			return err
		}
		if after, err := benchdb.Activity(ctx, res.dsn); err == nil {
			secs := float64(cfg.seconds)
			fmt.Printf("fleet_db workers=%d store=%s commits_per_s=%.0f rows_inserted_per_s=%.0f\n", cfg.workers, res.store,
				float64(after.Commits-before.Commits)/secs, float64(after.Inserted-before.Inserted)/secs)
		}
	}
	if cfg.profileOut != "" && res.cpu.buf.Len() > 0 {
		if err := os.WriteFile(cfg.profileOut+"."+res.store, res.cpu.buf.Bytes(), 0o600); err != nil {
			progress("keep the CPU profile: %v", err)
		}
	}
	res.status, res.endedAt = waitFinished(ctx, c, run.RunID, startedAt.Add(time.Duration(cfg.seconds)*time.Second+finishSlack))
	progress("run %s: %s", run.RunID, res.status)
	res.reportSeconds = waitReport(ctx, srv.Store(), run.RunID, res.endedAt)
	sleep(ctx, settle)
	if res.folded, res.intervals, err = foldedSnapshots(context.WithoutCancel(ctx), srv.Store(), run.RunID); err != nil {
		return err
	}
	res.posted, res.inserted, res.duplicates = f.posted.Load(), f.inserted.Load(), f.duplicates.Load()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if res.historyBytes, res.historyEvents, res.historyRuns, err = chainHistory(dctx, srv.TemporalClient(), run.RunID); err != nil {
		return err
	}
	progress("history: %s", historyKinds(dctx, srv.TemporalClient(), run.RunID))
	if g, err := srv.TemporalClient().DescribeWorkflowExecution(dctx, workflows.ShardGroupID(run.RunID, 0), ""); err == nil {
		gi := g.GetWorkflowExecutionInfo()
		progress("shard group %s: %d events, %.2f MB", workflows.ShardGroupID(run.RunID, 0), gi.GetHistoryLength(), float64(gi.GetHistorySizeBytes())/1e6)
	}
	if !v.wait(viewersGrace) {
		progress("viewers: a live stream did not end within %s of the run's end", viewersGrace)
	}
	stopViewers()
	v.wait(viewersGrace)
	res.lagP50, res.lagP99 = v.lag(0.50), v.lag(0.99)
	progress("lag by interval, ms: %v", v.lagsInOrder())
	progress("stand-ins: %d shards started, %d snapshots posted, %d inserted, %d duplicates, %d lost, %d control requests failed",
		f.started.Load(), res.posted, res.inserted, f.duplicates.Load(), f.lost.Load(), f.controlErrors.Load())
	progress("folded: %d intervals, %d snapshots; viewer events %v (ended: %v)", res.intervals, res.folded, v.events, v.ended)
	return nil
}

// scenarioJSON is the run's scenario: five steps, WORKERS×10 closed-model
// VUs for SECONDS. Its target is never contacted.
func scenarioJSON(cfg config) ([]byte, error) {
	names := []string{"home", "search", "item", "add to cart", "checkout"}
	paths := []string{"/", "/search?q={{ $randString(6) }}", "/items/{{ $randInt(1, 1000) }}", "/cart", "/checkout"}
	var steps []map[string]any
	for i := range cfg.steps {
		st := map[string]any{"name": names[i%len(names)], "url_template": paths[i%len(paths)], "think_time_ms": 100,
			"checks": []map[string]any{{"status": 200}}}
		if i >= 3 {
			st["method"], st["body_template"] = "POST", `{"item": {{ $randInt(1, 1000) }}}`
		}
		steps = append(steps, st)
	}
	doc, err := json.Marshal(map[string]any{
		"name":        "fleet-bench",
		"description": "stand-in workers: nothing is sent to the target",
		"load": map[string]any{"constant": map[string]any{
			"target": cfg.workers * vusPerWorker, "duration": fmt.Sprintf("%ds", cfg.seconds)}},
		"steps":         steps,
		"graceful_stop": "1s",
	})
	if err != nil {
		return nil, err
	}
	s, err := scenario.ParseJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("the bench's scenario: %w", err)
	}
	plan, err := scenario.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("the bench's scenario: %w", err)
	}
	if d := plan.Profile.Duration(); d != time.Duration(cfg.seconds)*time.Second || len(plan.Steps) != cfg.steps {
		return nil, fmt.Errorf("the bench's scenario lasts %s with %d steps, want %ds and %d", d, len(plan.Steps), cfg.seconds, cfg.steps)
	}
	return doc, nil
}

// waitEpoch polls the store until the run has started and returns its
// epoch; the zero time when the run ended without starting.
func waitEpoch(ctx context.Context, st store.Store, runID string) (time.Time, error) {
	for {
		r, err := st.GetRun(ctx, runID)
		if err == nil && !r.Epoch.IsZero() {
			return r.Epoch, nil
		}
		if err == nil && store.Finished(r.Status) {
			return time.Time{}, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("run %s did not start: %w", runID, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// measureWindow profiles the process's CPU from epoch to end, printing
// progress meanwhile.
func measureWindow(ctx context.Context, epoch, end time.Time, f *fleet, w *cpuWindow) error {
	sleep(ctx, time.Until(epoch))
	if err := w.start(); err != nil {
		return err
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	timer := time.NewTimer(time.Until(end))
	defer timer.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-timer.C:
			done = true
		case <-t.C:
			progress("load: %s of %s; %d shards running, %d snapshots posted, %d inserted, %d lost",
				time.Since(epoch).Round(time.Second), end.Sub(epoch), f.started.Load()-f.finished.Load(),
				f.posted.Load(), f.inserted.Load(), f.lost.Load())
		}
	}
	if err := w.stop(api.ProfileLabel); err != nil {
		return err
	}
	progress("cpu: %d profile samples, %.2f CPU-s sampled, %.2f CPU-s by getrusage over %s",
		w.sampleNum, w.sampled.Seconds(), w.total.Seconds(), w.wall.Round(time.Millisecond))
	return ctx.Err()
}

// waitFinished polls the run until it is finished or until deadline; then
// it aborts it and reports "timeout".
func waitFinished(ctx context.Context, c *client.Client, runID string, deadline time.Time) (string, time.Time) {
	for {
		r, err := c.GetRun(ctx, runID)
		if err == nil && store.Finished(store.Status(r.Status)) {
			ended := time.Now()
			if r.EndedAt != nil {
				ended = *r.EndedAt
			}
			return r.Status, ended
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := c.Abort(actx, runID, "bench-fleet", "the run did not finish in time"); err != nil {
				progress("abort run %s: %v", runID, err)
			}
			for actx.Err() == nil {
				if r, err := c.GetRun(actx, runID); err == nil && store.Finished(store.Status(r.Status)) && r.EndedAt != nil {
					return "timeout", *r.EndedAt
				}
				sleep(actx, 500*time.Millisecond)
			}
			return "timeout", time.Now()
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// waitReport polls until the run's report is stored and returns how long
// after ended that was, in seconds (-1: not within reportTimeout).
func waitReport(ctx context.Context, st store.Store, runID string, ended time.Time) float64 {
	rctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	for {
		_, err := st.GetReport(rctx, runID)
		if err == nil {
			return time.Since(ended).Seconds()
		}
		if !errors.Is(err, store.ErrNotFound) {
			progress("report of run %s: %v", runID, err)
		}
		if rctx.Err() != nil {
			return -1
		}
		sleep(rctx, 100*time.Millisecond)
	}
}

// foldedSnapshots sums Snapshots over a run's folded intervals.
func foldedSnapshots(ctx context.Context, st store.Store, runID string) (int64, int, error) {
	ivs, err := st.ListIntervals(ctx, runID, -1, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("list intervals: %w", err)
	}
	var n int64
	for _, iv := range ivs {
		n += int64(iv.Snapshots)
	}
	return n, len(ivs), nil
}

// chainHistory sums the history of every workflow run of a run's workflow
// (one, unless it continued as new): bytes, events and runs.
func chainHistory(ctx context.Context, tc sdkclient.Client, id string) (size, events int64, runs int, err error) {
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("describe the run's workflow: %w", err)
	}
	for runID := desc.GetWorkflowExecutionInfo().GetFirstRunId(); runID != ""; runs++ {
		d, err := tc.DescribeWorkflowExecution(ctx, id, runID)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("describe workflow run %s: %w", runID, err)
		}
		size += d.GetWorkflowExecutionInfo().GetHistorySizeBytes()
		events += d.GetWorkflowExecutionInfo().GetHistoryLength()
		next := ""
		it := tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return 0, 0, 0, fmt.Errorf("close event of workflow run %s: %w", runID, err)
			}
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		runID = next
	}
	return size, events, runs, nil
}

// historyKinds counts a workflow's history events by type, most frequent
// first, and the activities it scheduled by name: what makes a history grow.
func historyKinds(ctx context.Context, tc sdkclient.Client, id string) string {
	kinds, acts := map[string]int{}, map[string]int{}
	var failures []string
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err.Error()
		}
		kinds[strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")]++
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			acts[a.GetActivityType().GetName()]++
		}
		if f := ev.GetWorkflowTaskFailedEventAttributes(); f != nil {
			failures = append(failures, fmt.Sprintf("%s: %.300s", f.GetCause(), f.GetFailure().GetMessage()))
		}
	}
	out := top(kinds) + "; activities " + top(acts)
	if len(failures) > 0 {
		out += "; workflow task failures: " + strings.Join(failures, " | ")
	}
	return out
}

func top(m map[string]int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
