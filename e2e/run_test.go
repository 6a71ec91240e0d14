package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/scenario"
)

const loginFlow = `
steps:
  - name: login
    method: POST
    url_template: /login
    headers: {Content-Type: application/json}
    body_template: '{"user": "vu{{ $vu }}-{{ $shard }}", "password": "secret"}'
    extract: [{var: token, json: $.token}]
    checks: [{status: 200}]
  - name: me
    url_template: /me
    headers: {Authorization: 'Bearer {{ token }}'}
    checks: [{status: 200}, {json: $.user, exists: true}]
`

// TestRunAcrossThreeWorkers is the run path end to end: `barrage run
// --server` against a server with its embedded Temporal and three separate
// worker processes, in the closed and the open model.
func TestRunAcrossThreeWorkers(t *testing.T) {
	tg := startTarget(t, "--latency", "fixed:5ms")
	c := startCluster(t, 3)
	for _, tc := range []struct {
		name, load string
		wantReqs   func(uint64) bool
	}{
		{name: "closed", load: "virtual_users: 6\nduration_seconds: 5\n"},
		{name: "open", load: "rate_per_second: 150\nduration_seconds: 4\n",
			wantReqs: func(n uint64) bool { return n >= 2*594 && n <= 2*600 }}, // 150 iterations/s × 4 s, 2 requests each
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg.reset(t)
			file := writeScenario(t, "name: e2e-"+tc.name+"\n"+tc.load+loginFlow+"thresholds: ['p95 < 500ms', 'error_rate < 1%']\n")
			out := t.TempDir()
			run := start(t, "barrage run", "run", file, "--server", c.url, "--target", tg.url, "--workers", "3", "--out", out)
			if code := run.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("barrage run exited %d:\n%s", code, run.output())
			}
			rep := readReport(t, filepath.Join(out, "report.json"))
			served := tg.served(t)
			t.Logf("%s: %d requests reported, %d served by the target, p50 %.2f ms p95 %.2f ms p99 %.2f ms",
				tc.name, rep.Totals.Requests, served, rep.LatencyMS.P50, rep.LatencyMS.P95, rep.LatencyMS.P99)
			if rep.Totals.Requests != served || served == 0 {
				t.Fatalf("report counts %d requests, the target served %d", rep.Totals.Requests, served)
			}
			if tc.wantReqs != nil && !tc.wantReqs(rep.Totals.Requests) {
				t.Errorf("%d requests for the open model's 1200", rep.Totals.Requests)
			}
			if rep.Status != "completed" || rep.Totals.Errors != 0 {
				t.Errorf("status %s, %d errors", rep.Status, rep.Totals.Errors)
			}
			checkWorkers(t, rep)
			// The target answers after 5 ms: the percentiles must say so.
			if rep.LatencyMS.P50 < 5 || rep.LatencyMS.P50 > 15 || rep.LatencyMS.P99 < 5 || rep.LatencyMS.P99 > 60 {
				t.Errorf("latency p50 %.2f p99 %.2f ms for a target with a fixed 5 ms", rep.LatencyMS.P50, rep.LatencyMS.P99)
			}
		})
	}
}

func checkWorkers(t *testing.T, rep *report) {
	t.Helper()
	shards := map[int]string{}
	for _, w := range rep.Workers {
		if w.Requests == 0 {
			t.Errorf("worker %s made no requests", w.ID)
		}
		for _, s := range w.Shards {
			shards[s] = w.ID
		}
	}
	if len(rep.Workers) != 3 || len(shards) != 3 {
		t.Fatalf("want each of 3 workers to run one of 3 shards, got %+v", rep.Workers)
	}
	started := 0
	for _, e := range rep.Events {
		if e.Kind == "shard_started" {
			started++
		}
	}
	if started != 3 {
		t.Errorf("%d shard_started events, want 3: %+v", started, rep.Events)
	}
}

// TestAbortSilencesTheTarget aborts a running run through the API and
// measures how long the target keeps receiving requests; it also measures
// the live metrics' lag (worker flush → folded interval on the stream).
func TestAbortSilencesTheTarget(t *testing.T) {
	tg := startTarget(t, "--latency", "fixed:2ms")
	c := startCluster(t, 3)
	ctx := context.Background()
	s, err := scenario.ParseYAML([]byte("name: e2e-abort\nvirtual_users: 9\nduration_seconds: 120\n" + loginFlow))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := s.JSON()
	ref, err := c.api.CreateScenario(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	tg.reset(t)
	run, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	lags := followLag(t, c, run.RunID)
	waitFor(t, 30*time.Second, "load on the target", func() bool { return tg.served(t) > 500 })
	time.Sleep(3 * time.Second)
	abortAt := time.Now()
	if err := c.api.Abort(ctx, run.RunID, "e2e", "testing abort"); err != nil {
		t.Fatal(err)
	}
	silentAt := waitSilent(t, tg, abortAt)
	t.Logf("abort: the target's counter stopped %v after the abort request", silentAt.Sub(abortAt).Round(time.Millisecond))
	if d := silentAt.Sub(abortAt); d > 2*time.Second {
		t.Errorf("load went on for %v after the abort", d)
	}
	waitFor(t, 60*time.Second, "run aborted", func() bool {
		r, err := c.api.GetRun(ctx, run.RunID)
		return err == nil && r.Status == "aborted"
	})
	var rep report
	waitFor(t, 30*time.Second, "report", func() bool {
		b, err := c.api.Report(ctx, run.RunID, "json")
		return err == nil && json.Unmarshal(b, &rep) == nil && rep.Status == "aborted"
	})
	served := tg.served(t)
	t.Logf("abort: %d requests reported, %d served", rep.Totals.Requests, served)
	if rep.Totals.Requests > served || rep.Totals.Requests+9 < served {
		t.Errorf("report counts %d requests, the target served %d (9 VUs may have been in flight)", rep.Totals.Requests, served)
	}
	found := false
	for _, e := range rep.Events {
		found = found || (e.Kind == "aborted" && e.Detail == "aborted by e2e: testing abort")
	}
	if !found {
		t.Errorf("no abort event naming who aborted: %+v", rep.Events)
	}
	ls := lags()
	if len(ls) < 3 {
		t.Fatalf("only %d live intervals seen", len(ls))
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	p := func(q float64) time.Duration { return ls[min(len(ls)-1, int(q*float64(len(ls))))] }
	t.Logf("live lag (interval end → event received): p50 %v p99 %v max %v over %d intervals", p(0.5), p(0.99), ls[len(ls)-1], len(ls))
}

// followLag subscribes to the run's live metrics and returns a function
// that reports, for each interval, the lag from its end to the moment this
// subscriber received it (worker flush, ingest, fold and stream together).
func followLag(t *testing.T, c *cluster, runID string) func() []time.Duration {
	t.Helper()
	var mu sync.Mutex
	var lags []time.Duration
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		_ = c.api.Metrics(ctx, runID, "", func(ev client.Event) bool {
			if ev.Name != "message" {
				return ev.Name != "end"
			}
			var p struct {
				EndAt int64 `json:"end_at_ms"`
			}
			if json.Unmarshal(ev.Data, &p) == nil && p.EndAt > 0 {
				mu.Lock()
				lags = append(lags, time.Since(time.UnixMilli(p.EndAt)))
				mu.Unlock()
			}
			return true
		})
	}()
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), lags...)
	}
}

// waitSilent returns when the target's counter last moved, once it has not
// moved for a second.
func waitSilent(t *testing.T, tg *target, since time.Time) time.Time {
	t.Helper()
	last, lastAt := tg.served(t), time.Now()
	for time.Since(since) < 20*time.Second {
		time.Sleep(20 * time.Millisecond)
		n := tg.served(t)
		if n != last {
			last, lastAt = n, time.Now()
			continue
		}
		if time.Since(lastAt) > time.Second {
			return lastAt
		}
	}
	t.Fatalf("the target still receives requests 20 s after the abort")
	return time.Time{}
}
