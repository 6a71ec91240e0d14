package reports

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

func testPlan(t *testing.T, thresholds string) *scenario.Plan {
	t.Helper()
	return mustPlan(t, `name: r
virtual_users: 2
duration_seconds: 2
steps:
  - {name: login, method: POST, url_template: /login}
  - {name: me, url_template: /me}
thresholds: `+thresholds+"\n")
}

// interval records n requests per step with the given latency and status.
func interval(t0 time.Time, sec int, lat time.Duration, status int, n int) Interval {
	rec := hist.NewRecorder(2)
	for step := range 2 {
		for range n {
			class := hist.ClassNone
			if status >= 500 {
				class = hist.ClassHTTP5xx
			}
			rec.Record(step, hist.Result{Latency: lat, Status: status, Class: class, BytesSent: 10, BytesReceived: 100, ChecksPassed: 1})
		}
	}
	start := t0.Add(time.Duration(sec) * time.Second)
	snap := rec.Flush(start, start.Add(time.Second))
	snap.ActiveVUs = 2
	return Interval{Start: start, End: start.Add(time.Second), Data: snap, Workers: 1}
}

func TestBuild(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := Input{
		RunID: "r1", Status: "completed", StartedAt: t0, EndedAt: t0.Add(2 * time.Second),
		Plan: testPlan(t, `["p50 < 15ms", "p99 < 15ms", "error_rate < 30%", {expression: "max < 25ms", step: me}, "rps > 100"]`),
		Intervals: []Interval{
			interval(t0, 0, 10*time.Millisecond, 200, 90),
			interval(t0, 1, 20*time.Millisecond, 503, 10),
		},
	}
	r := Build(in)
	if r.Totals.Requests != 200 || r.Totals.Errors != 20 || r.Totals.ErrorRate != 0.1 || r.Totals.RPS != 100 {
		t.Fatalf("totals %+v", r.Totals)
	}
	if r.Totals.BytesSent != 2000 || r.Totals.ChecksPassed != 200 {
		t.Errorf("bytes/checks %+v", r.Totals)
	}
	// HDR keeps 3 significant digits: a value reads back within 0.1%.
	near := func(got, want float64) bool { return got >= want && got <= want*1.001 }
	if !near(r.LatencyMS.P50, 10) || !near(r.LatencyMS.P90, 10) || !near(r.LatencyMS.P95, 20) || !near(r.LatencyMS.Max, 20) || !near(r.LatencyMS.Min, 10) {
		t.Errorf("latency %+v", r.LatencyMS)
	}
	if r.StatusCodes["200"] != 180 || r.StatusCodes["503"] != 20 || r.ErrorsByClass["http_5xx"] != 20 {
		t.Errorf("status %v classes %v", r.StatusCodes, r.ErrorsByClass)
	}
	if len(r.Steps) != 2 || r.Steps[0].Name != "login" || r.Steps[0].Method != "POST" || r.Steps[1].Requests != 100 {
		t.Errorf("steps %+v", r.Steps)
	}
	if len(r.Series) != 2 || r.Series[0].RPS != 180 || r.Series[1].ErrorRate != 1 || r.Series[1].T != 2 || r.Series[0].VUs != 2 {
		t.Errorf("series %+v", r.Series)
	}
	var inBuckets uint64
	for _, b := range r.Histogram {
		inBuckets += b.Count
	}
	if inBuckets != 200 || r.Histogram[0].LeMS != 10 || r.Histogram[len(r.Histogram)-1].LeMS != 20 {
		t.Errorf("histogram %+v", r.Histogram)
	}
	want := []bool{true, false, true, true, false}
	for i, th := range r.Thresholds {
		if th.Passed != want[i] {
			t.Errorf("threshold %q: passed=%v actual=%v, want %v", th.Expression, th.Passed, th.Actual, want[i])
		}
	}
	if r.Passed() {
		t.Error("a report with failed thresholds passed")
	}
	b, _ := json.Marshal(r)
	for _, field := range []string{`"run_id"`, `"temporal_workflow_id"`, `"dropped_iterations"`, `"p999"`, `"errors_by_class"`, `"le_ms"`, `"events":[]`, `"workers":[]`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("report.json lacks %s", field)
		}
	}
}

func TestBaselineThresholds(t *testing.T) {
	t0 := time.Now()
	plan := testPlan(t, `["p95 < baseline * 1.1", "rps > baseline * 0.5"]`)
	base := Build(Input{StartedAt: t0, EndedAt: t0.Add(time.Second), Plan: plan,
		Intervals: []Interval{interval(t0, 0, 10*time.Millisecond, 200, 50)}})
	head := Input{StartedAt: t0, EndedAt: t0.Add(time.Second), Plan: plan,
		Intervals: []Interval{interval(t0, 0, 12*time.Millisecond, 200, 50)}}
	r := Build(head)
	// Without a baseline run: reported as such, not evaluated, not failed.
	if th := r.Thresholds[0]; th.Error == "" || th.Passed || !th.NoBaseline || th.Actual < 11 || !r.Passed() || !r.MissingBaseline() {
		t.Errorf("without a baseline: %+v, passed %v", th, r.Passed())
	}
	r.Status = "completed"
	j, err := JUnit(r)
	if err != nil || !strings.Contains(string(j), `<skipped message="no baseline run`) || strings.Contains(string(j), "<failure") {
		t.Errorf("JUnit without a baseline: %v\n%s", err, j)
	}
	head.Baseline = base
	r = Build(head)
	if r.Thresholds[0].Passed || r.Thresholds[0].Limit < 11 || r.Thresholds[0].Limit > 11.02 || !r.Thresholds[1].Passed {
		t.Errorf("with a baseline: %+v", r.Thresholds)
	}
	if r.Passed() || r.MissingBaseline() || r.Thresholds[0].NoBaseline {
		t.Errorf("with a baseline, a failed threshold fails the run: passed %v", r.Passed())
	}
}

// TestPointRateOverItsSpan: a point's rps is its requests over the
// interval's width, or over the span its data covers when shorter (the
// run's tail: 10 requests in 19 ms are 526 req/s, not 10).
func TestPointRateOverItsSpan(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span time.Duration
		want float64
	}{
		{time.Second, 10},
		{19 * time.Millisecond, 526.316},
	} {
		p := SeriesPoint(t0, Folded{Start: t0, End: t0.Add(tc.span), Width: time.Second, Requests: 10})
		if p.RPS != tc.want {
			t.Errorf("10 requests over %s of a 1 s interval: rps %v, want %v", tc.span, p.RPS, tc.want)
		}
	}
}

// TestBuildCountsIterations: totals.iterations is the sum of the
// snapshots' iterations, over the run's seconds for its rate, and each
// point has its interval's; thresholds read it. A run without any says 0,
// never leaves them out.
func TestBuildCountsIterations(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, second := interval(t0, 0, 10*time.Millisecond, 200, 30), interval(t0, 1, 10*time.Millisecond, 200, 20)
	first.Data.Iterations, second.Data.Iterations = 30, 19
	plan := testPlan(t, `["iterations >= 49", "iterations > 49"]`)
	r := Build(Input{StartedAt: t0, EndedAt: t0.Add(2 * time.Second), Plan: plan, Intervals: []Interval{first, second}})
	if r.Totals.Iterations != 49 || r.Totals.IterationsPerSecond != 24.5 {
		t.Errorf("totals: %d iterations, %v/s; want 49, 24.5/s", r.Totals.Iterations, r.Totals.IterationsPerSecond)
	}
	if len(r.Series) != 2 || r.Series[0].Iterations != 30 || r.Series[1].Iterations != 19 {
		t.Errorf("series %+v, want 30 then 19 iterations", r.Series)
	}
	if th := r.Thresholds; len(th) != 2 || !th[0].Passed || th[1].Passed || th[0].Actual != 49 || th[1].Error != "" {
		t.Errorf("thresholds %+v, want iterations >= 49 passed, > 49 failed, at 49", th)
	}

	none := Build(Input{StartedAt: t0, EndedAt: t0.Add(time.Second), Plan: testPlan(t, "[]"),
		Intervals: []Interval{interval(t0, 0, 10*time.Millisecond, 200, 5)}})
	b, _ := json.Marshal(none)
	for _, field := range []string{`"iterations":0,"iterations_per_second":0}`, `"dropped_iterations":0,"iterations":0,`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("report.json without iterations lacks %s", field)
		}
	}
}
