package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
)

// TestRestartKeepsRunsAndReports: a finished run's scenario, events, series
// and report survive a restart of the server on the same database.
func TestRestartKeepsRunsAndReports(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			db := "sqlite:" + filepath.Join(dir, "barrage.db")
			if kind == "postgres" {
				db = postgresDSN(t)
			}
			restartKeeps(t, dir, db)
		})
	}
}

func restartKeeps(t *testing.T, dir, db string) {
	tg := startTarget(t)
	c := startClusterOn(t, 1, db, "--temporal-db", filepath.Join(dir, "temporal.db"))
	file := writeScenario(t, "name: survives\nvirtual_users: 2\nduration_seconds: 3\nsteps: [{url_template: /, think_time_ms: 10}]\n")
	out := t.TempDir()
	run := start(t, "barrage run", "run", file, "--server", c.url, "--target", tg.url, "--out", out)
	if code := run.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("barrage run exited %d:\n%s", code, run.output())
	}
	before := readReport(t, filepath.Join(out, "report.json"))
	c.server.kill()
	for _, w := range c.workers {
		w.kill()
	}
	again := startClusterOn(t, 0, db, "--temporal-db", filepath.Join(dir, "temporal.db"))
	ctx := context.Background()
	b, err := again.api.Report(ctx, before.RunID, "json")
	if err != nil {
		t.Fatal(err)
	}
	var after report
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatal(err)
	}
	if after.Totals != before.Totals || len(after.Series) != len(before.Series) || len(after.Events) != len(before.Events) || after.Status != "completed" {
		t.Fatalf("the report changed across a restart:\nbefore %+v\nafter  %+v", before.Totals, after.Totals)
	}
	r, err := again.api.GetRun(ctx, before.RunID)
	if err != nil || r.Status != "completed" {
		t.Fatalf("run after restart: %+v %v", r, err)
	}
	t.Logf("restart: run %s and its report (%d requests, %d intervals) read back from the restarted server", r.RunID, after.Totals.Requests, len(after.Series))
}

// TestTwoServersOnePostgres: two server processes on one Postgres and one
// Temporal serve the same runs; a stream on one sees the intervals whose
// snapshots arrive at the other.
func TestTwoServersOnePostgres(t *testing.T) {
	dsn := postgresDSN(t)
	tg := startTarget(t)
	a := startClusterOn(t, 0, dsn)
	bURL := "http://" + freeAddr(t)
	start(t, "server B", append([]string{"server", "--listen", strings.TrimPrefix(bURL, "http://"), "--db", dsn, "--temporal", a.temporal}, openServer...)...)
	b, err := apiClient(bURL)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "server B health", func() bool { return b.Health(context.Background()) == nil })
	// The workers report to server A only.
	a.addWorker(t, "w1")
	a.addWorker(t, "w2")
	ctx := context.Background()
	ref, err := b.CreateScenario(ctx, scenarioJSON(t, "name: two-servers\nvirtual_users: 4\nduration_seconds: 5\nsteps: [{url_template: /, think_time_ms: 10}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := b.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	col, _ := follow(t, b, run.RunID, "")
	evs := col.ended(t, 2*time.Minute, "the stream on server B")
	checkStream(t, evs, "completed")
	ps, lags := dataPoints(t, evs)
	if len(ps) < 5 {
		t.Fatalf("server B streamed %d intervals of a 5 s run", len(ps))
	}
	t.Logf("two servers: B streamed %d intervals ingested by A; lag p50 %v max %v", len(ps), quantile(lags, 0.5).Round(time.Millisecond), quantile(lags, 1).Round(time.Millisecond))
	var rep report
	rb, err := b.Report(ctx, run.RunID, "json")
	if err != nil || json.Unmarshal(rb, &rep) != nil || rep.Totals.Requests != tg.served(t) {
		t.Fatalf("report on B: %v, %d requests for %d served", err, rep.Totals.Requests, tg.served(t))
	}
}

// TestCIBaselineAndExitCodes: tag a run, compare the next with it, and get
// the exit codes and JUnit file CI relies on.
func TestCIBaselineAndExitCodes(t *testing.T) {
	tg := startTarget(t, "--latency", "fixed:2ms")
	c := startCluster(t, 1)
	base := "name: ci\nvirtual_users: 2\nduration_seconds: 2\nsteps: [{url_template: /, think_time_ms: 5}]\n"
	runCLI := func(doc string, args ...string) (int, string) {
		out := t.TempDir()
		p := start(t, "barrage run", append([]string{"run", writeScenario(t, doc), "--server", c.url, "--target", tg.url, "--out", out, "--quiet"}, args...)...)
		return p.wait(t, 2*time.Minute), out
	}
	if code, _ := runCLI(base+"thresholds: ['p95 < 1s']\n", "--tag", "release=v1"); code != 0 {
		t.Fatalf("baseline run exited %d", code)
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, out := runCLI(base+"thresholds: ['p95 < baseline * 10', 'error_rate < 1%']\n", "--baseline", "release=v1", "--junit", junit, "--tag", "release=v2")
	if code != 0 {
		t.Fatalf("run against the baseline exited %d", code)
	}
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	var rep struct {
		BaselineRunID string `json:"baseline_run_id"`
		Thresholds    []struct {
			Expression string  `json:"expression"`
			Passed     bool    `json:"passed"`
			Limit      float64 `json:"limit"`
		} `json:"thresholds"`
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal(b, &rep)
	if rep.BaselineRunID == "" || !rep.Thresholds[0].Passed || rep.Thresholds[0].Limit <= 0 {
		t.Fatalf("baseline threshold: %+v", rep)
	}
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), "p95 &lt; baseline * 10") {
		t.Fatalf("JUnit file: %v\n%s", err, x)
	}
	if code, _ := runCLI(base + "thresholds: ['p95 < 1us']\n"); code != 99 {
		t.Fatalf("a failed threshold exited %d, want 99", code)
	}
	if code, _ := runCLI("name: bad\nsteps: []\n"); code != 2 {
		t.Fatalf("a bad scenario exited %d, want 2", code)
	}
	resp := do(t, "GET", c.url+"/runs/compare?base="+rep.BaselineRunID+"&head="+rep.RunID, "")
	if resp.status != 200 || !strings.Contains(resp.body, `"metric":"p95"`) {
		t.Fatalf("compare: %d %s", resp.status, resp.body)
	}
}
