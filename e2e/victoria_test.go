package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/deploy/grafana"
	"github.com/barrage/barrage/internal/vmtest"
)

// vmScenario: two steps, latencies spread over a few vmrange buckets.
const vmScenario = `
steps:
  - name: fast
    url_template: /latency?dist=lognormal&median=3&sigma=0.5
    checks: [{status: 200}]
  - name: slow
    url_template: /latency?dist=lognormal&median=20&sigma=0.6
    tags: {team: checkout, api-version: "2"}
  - name: flaky
    url_template: /error?rate=0.05
`

// vmSum returns sum(query) at t (-1: no data).
func vmSum(t *testing.T, vm *vmtest.VM, query string, at time.Time) float64 {
	t.Helper()
	sum, err := vm.Sum(context.Background(), query, at)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// waitVM waits until sum(query) at "now" is want.
func waitVM(t *testing.T, vm *vmtest.VM, query string, want float64, limit time.Duration) {
	t.Helper()
	var got float64
	waitFor(t, limit, fmt.Sprintf("sum(%s) = %v in VictoriaMetrics", query, want), func() bool {
		got = vmSum(t, vm, query, time.Now())
		return got == want
	})
}

// vmBucket is the VictoriaMetrics histogram bucket (18 a decade) that
// holds v seconds.
func vmBucket(v float64) int { return int(math.Floor((math.Log10(v) + 9) * 18)) }

// checkSeries holds a finished run's series in VictoriaMetrics to its
// report: request counters exact, in total and per step; the fleet-wide
// p50 and p99 from the vmrange buckets within one bucket of the report's.
func checkSeries(t *testing.T, vm *vmtest.VM, rep *report) {
	t.Helper()
	id := rep.RunID
	// Series new to VictoriaMetrics take a moment longer to be found than
	// new samples of known ones: each check waits a little.
	waitVM(t, vm, fmt.Sprintf(`barrage_requests_total{run_id=%q}`, id), float64(rep.Totals.Requests), 90*time.Second)
	for _, s := range rep.Steps {
		waitVM(t, vm, fmt.Sprintf(`barrage_requests_total{run_id=%q,step=%q}`, id, s.Name), float64(s.Requests), 15*time.Second)
	}
	waitVM(t, vm, fmt.Sprintf(`barrage_request_duration_seconds_count{run_id=%q}`, id), float64(rep.Totals.Requests), 15*time.Second)
	waitVM(t, vm, fmt.Sprintf(`barrage_run_info{run_id=%q,status=%q}`, id, rep.Status), 1, 15*time.Second)
	for _, q := range []struct {
		q    float64
		want float64 // ms
	}{{0.5, rep.LatencyMS.P50}, {0.99, rep.LatencyMS.P99}} {
		query := fmt.Sprintf(`histogram_quantile(%g, sum(increase(barrage_request_duration_seconds_bucket{run_id=%q}[1m])) by (vmrange))`, q.q, id)
		got, err := vm.Query(context.Background(), query, time.Now())
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", query, got, err)
		}
		t.Logf("p%g: %.2f ms from VictoriaMetrics, %.2f ms in the report", q.q*100, got[0].Value*1000, q.want)
		if d := vmBucket(got[0].Value) - vmBucket(q.want/1000); d < -1 || d > 1 {
			t.Errorf("p%g: %.3f ms from the vmrange buckets, %.3f ms in the report: %d buckets apart", q.q*100, got[0].Value*1000, q.want, d)
		}
	}
}

// TestVictoriaMetricsExport: a three-worker run on a server with
// --victoria-metrics can be charted fleet-wide in VictoriaMetrics; the run
// links to Grafana; /metrics shows the export.
func TestVictoriaMetricsExport(t *testing.T) {
	vm := vmtest.Start(t)
	tg := startTarget(t)
	c := startCluster(t, 3, "--victoria-metrics", vm.URL, "--grafana-url", "http://127.0.0.1:3000")
	file := writeScenario(t, "name: e2e-vm\nvirtual_users: 6\nduration_seconds: 20\n"+vmScenario)
	out := t.TempDir()
	run := start(t, "barrage run", "run", file, "--server", c.url, "--target", tg.url, "--workers", "3", "--out", out)
	if code := run.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("barrage run exited %d:\n%s", code, run.output())
	}
	rep := readReport(t, filepath.Join(out, "report.json"))
	checkWorkers(t, rep)
	checkSeries(t, vm, rep)
	waitVM(t, vm, fmt.Sprintf(`count(barrage_vus{run_id=%q})`, rep.RunID), 3, 10*time.Second) // one per worker
	checkDashboard(t, vm, rep)
	// The slow step's tags label its series, and only its series.
	var n float64
	for _, st := range rep.Steps {
		if st.Name == "slow" {
			n = float64(st.Requests)
		}
	}
	if n == 0 {
		t.Fatalf("the report's steps %+v: no slow step with requests", rep.Steps)
	}
	waitVM(t, vm, fmt.Sprintf(`barrage_requests_total{run_id=%q,team="checkout",api_version="2"}`, rep.RunID), n, 15*time.Second)
	waitVM(t, vm, fmt.Sprintf(`barrage_request_duration_seconds_count{run_id=%q,team="checkout"}`, rep.RunID), n, 15*time.Second)
	waitVM(t, vm, fmt.Sprintf(`count(barrage_requests_total{run_id=%q,team!="",step!="slow"})`, rep.RunID), -1, 5*time.Second) // -1: none

	var run2 struct {
		GrafanaURL string `json:"grafana_url"`
	}
	getJSON(t, c.url+"/runs/"+rep.RunID, &run2)
	if !strings.HasPrefix(run2.GrafanaURL, "http://127.0.0.1:3000/d/barrage-run/barrage-run?") || !strings.Contains(run2.GrafanaURL, "var-run_id="+rep.RunID) {
		t.Errorf("grafana_url %q", run2.GrafanaURL)
	}
	// Once the run's last intervals are pushed, nothing lags.
	waitFor(t, 30*time.Second, "/metrics: no push error, no lag", func() bool {
		m := getText(t, c.url+"/metrics")
		return strings.Contains(m, "\nbarrage_tsdb_push_errors_total 0\n") && strings.Contains(m, "\nbarrage_tsdb_export_lag_seconds 0\n")
	})
}

// TestVictoriaMetricsDownMidRun stops VictoriaMetrics in the middle of a
// run: the run completes unharmed, the run says the export fell behind,
// and once VictoriaMetrics is back its series are complete. Then a run made
// on a server without --victoria-metrics is exported by `barrage export`.
func TestVictoriaMetricsDownMidRun(t *testing.T) {
	vm := vmtest.Start(t)
	tg := startTarget(t)
	c := startCluster(t, 2, "--victoria-metrics", vm.URL)
	file := writeScenario(t, "name: e2e-vm-down\nvirtual_users: 4\nduration_seconds: 45\n"+vmScenario)
	out := t.TempDir()
	run := start(t, "barrage run", "run", file, "--server", c.url, "--target", tg.url, "--workers", "2", "--out", out)
	waitFor(t, time.Minute, "the run's first series in VictoriaMetrics", func() bool {
		return vmSum(t, vm, `barrage_requests_total`, time.Now()) > 0
	})
	vm.Stop()
	if code := run.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("barrage run exited %d with VictoriaMetrics down:\n%s", code, run.output())
	}
	rep := readReport(t, filepath.Join(out, "report.json"))
	if rep.Status != "completed" || rep.Totals.Requests == 0 || rep.Totals.Requests != tg.served(t) {
		t.Fatalf("status %s, %d requests reported, %d served", rep.Status, rep.Totals.Requests, tg.served(t))
	}
	behind := false
	for _, e := range rep.Events {
		behind = behind || e.Kind == "export_behind"
	}
	if !behind {
		t.Errorf("no export_behind event in %+v", rep.Events)
	}
	if m := getText(t, c.url+"/metrics"); strings.Contains(m, "\nbarrage_tsdb_push_errors_total 0\n") {
		t.Errorf("/metrics counts no push error with VictoriaMetrics down")
	}
	vm.Restart(t)
	checkSeries(t, vm, rep)

	// `barrage export` of a run that no server pushed.
	tg.reset(t)
	plain := startCluster(t, 1)
	out2 := t.TempDir()
	file2 := writeScenario(t, "name: e2e-vm-export\nvirtual_users: 2\nduration_seconds: 5\n"+vmScenario)
	run2 := start(t, "barrage run", "run", file2, "--server", plain.url, "--target", tg.url, "--workers", "1", "--out", out2)
	if code := run2.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("barrage run exited %d:\n%s", code, run2.output())
	}
	rep2 := readReport(t, filepath.Join(out2, "report.json"))
	if got := vmSum(t, vm, fmt.Sprintf(`barrage_requests_total{run_id=%q}`, rep2.RunID), time.Now()); got != -1 {
		t.Fatalf("a server without --victoria-metrics pushed %v", got)
	}
	bad := start(t, "barrage export", "export", "--db", plain.dsn, "--victoria-metrics", vm.URL, rep2.RunID, "run_nope")
	if code := bad.wait(t, time.Minute); code != 2 || !strings.Contains(bad.output(), "run_nope: not found") {
		t.Errorf("export of an unknown run: exit %d:\n%s", code, bad.output())
	}
	exp := start(t, "barrage export", "export", "--db", plain.dsn, "--victoria-metrics", vm.URL, rep2.RunID)
	if code := exp.wait(t, time.Minute); code != 0 {
		t.Fatalf("barrage export exited %d:\n%s", code, exp.output())
	}
	t.Logf("%s", strings.TrimSpace(exp.output()))
	checkSeries(t, vm, rep2)
	// Both runs selected: the dashboard overlays them.
	checkDashboard(t, vm, rep, rep2)
}

// checkDashboard runs every query of deploy/grafana's dashboard, with the
// runs selected, against VictoriaMetrics: each must return data.
func checkDashboard(t *testing.T, vm *vmtest.VM, reps ...*report) {
	t.Helper()
	var ids []string
	start, end := reps[0].StartedAt, reps[0].EndedAt
	for _, r := range reps {
		ids = append(ids, r.RunID)
		if r.StartedAt.Before(start) {
			start = r.StartedAt
		}
		if r.EndedAt.After(end) {
			end = r.EndedAt
		}
	}
	if start.IsZero() || end.IsZero() {
		t.Fatalf("report without started_at/ended_at: %v %v", start, end)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := grafana.CheckAgainst(ctx, vm, ids, start.Add(-10*time.Second), end.Add(10*time.Second)); err != nil {
		t.Errorf("dashboard queries on runs %v:\n%v", ids, err)
		return
	}
	t.Logf("dashboard: %d queries returned data for runs %v", len(grafana.Queries(grafana.Dashboard())), ids)
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, url)), into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}
