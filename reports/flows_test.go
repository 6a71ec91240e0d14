package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

// TestFlowsInReport: steps name their flow, flows[] sums each flow's
// steps, and a flow's threshold is decided on its steps alone.
func TestFlowsInReport(t *testing.T) {
	p := mustPlan(t, `name: shop
virtual_users: 4
duration_seconds: 1
flows:
  - {name: browse, weight: 3, steps: [{name: home, url_template: /}, {name: search, url_template: /s}]}
  - {name: checkout, steps: [{name: pay, method: POST, url_template: /pay}]}
thresholds:
  - {expression: "p95 < 20ms", flow: browse}
  - {expression: "p95 < 20ms", flow: checkout}
  - {expression: "error_rate < 1%", flow: checkout, step: pay}
  - "p50 < 20ms"
`)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := hist.NewRecorder(3)
	for range 300 {
		rec.Record(0, hist.Result{Latency: 5 * time.Millisecond, Status: 200})
		rec.Record(1, hist.Result{Latency: 10 * time.Millisecond, Status: 200})
	}
	for range 100 {
		rec.Record(2, hist.Result{Latency: 50 * time.Millisecond, Status: 500, Class: hist.ClassHTTP5xx})
	}
	snap := rec.Flush(t0, t0.Add(time.Second))
	r := Build(Input{RunID: "r", Status: "completed", StartedAt: t0, EndedAt: t0.Add(time.Second), Plan: p,
		Intervals: []Interval{{Start: t0, End: t0.Add(time.Second), Data: snap, Workers: 1}}})

	if r.Steps[0].Flow != "browse" || r.Steps[1].Flow != "browse" || r.Steps[2].Flow != "checkout" {
		t.Errorf("steps' flows: %q %q %q", r.Steps[0].Flow, r.Steps[1].Flow, r.Steps[2].Flow)
	}
	if len(r.Flows) != 2 {
		t.Fatalf("flows = %+v", r.Flows)
	}
	b, c := r.Flows[0], r.Flows[1]
	if b.Name != "browse" || b.Requests != 600 || b.Errors != 0 || b.Share != 0.75 || b.RPS != 600 || len(b.Steps) != 2 || b.Steps[1] != "search" {
		t.Errorf("browse = %+v", b)
	}
	if b.LatencyMS.P95 < 9.9 || b.LatencyMS.P95 > 10.1 || b.LatencyMS.Min < 4.9 || b.LatencyMS.Min > 5.1 {
		t.Errorf("browse latency = %+v, want p95 ≈ 10ms and min ≈ 5ms from its two steps", b.LatencyMS)
	}
	if c.Name != "checkout" || c.Requests != 100 || c.Errors != 100 || c.ErrorRate != 1 || c.Share != 0.25 || c.RequestShare != 0.142857 {
		t.Errorf("checkout = %+v", c)
	}
	want := []struct {
		flow, step string
		passed     bool
	}{{"browse", "", true}, {"checkout", "", false}, {"checkout", "pay", false}, {"", "", true}}
	for i, w := range want {
		th := r.Thresholds[i]
		if th.Flow != w.flow || th.Step != w.step || th.Passed != w.passed || th.Error != "" {
			t.Errorf("thresholds[%d] = %+v, want flow %q step %q passed %v", i, th, w.flow, w.step, w.passed)
		}
	}
	// A stored report answers a flow's threshold from its flows[] (a
	// baseline comparison reads no histograms).
	base := BaselineThresholds(mustPlan(t, `name: x
virtual_users: 1
duration_seconds: 1
flows: [{name: browse, steps: [{name: home, url_template: /}, {name: search, url_template: /s}]}, {name: checkout, steps: [{name: pay, url_template: /pay}]}]
thresholds: [{expression: "p95 < baseline * 1.5", flow: checkout}]
`), r, r)
	if len(base) != 1 || !base[0].Passed || base[0].Flow != "checkout" || base[0].Actual != r.Flows[1].LatencyMS.P95 {
		t.Errorf("baseline threshold on a flow: %+v", base)
	}
}

// TestNoFlowsNoFlowLines: a scenario without flows has no flows[] (its
// report.json stays as it was).
func TestNoFlowsNoFlowLines(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := Build(Input{RunID: "r", StartedAt: t0, EndedAt: t0.Add(time.Second), Plan: testPlan(t, "[]"),
		Intervals: []Interval{interval(t0, 0, time.Millisecond, 200, 10)}})
	if r.Flows != nil || r.Steps[0].Flow != "" {
		t.Errorf("flows = %+v, steps[0].flow = %q", r.Flows, r.Steps[0].Flow)
	}
}

// mustPlan compiles a scenario document the test knows to be valid.
func mustPlan(t *testing.T, doc string) *scenario.Plan {
	t.Helper()
	s, err := scenario.ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := scenario.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompareFlows: flows in both runs are compared by name, over all
// their steps; the text and Markdown forms list them.
func TestCompareFlows(t *testing.T) {
	base := &Report{RunID: "a", Flows: []Flow{
		{Name: "browse", Requests: 750, Errors: 0, LatencyMS: Latency{P95: 10}, RequestShare: 0.75},
		{Name: "checkout", Requests: 250, Errors: 5, LatencyMS: Latency{P95: 40}, RequestShare: 0.25},
	}}
	head := &Report{RunID: "b", Flows: []Flow{
		{Name: "checkout", Requests: 200, Errors: 0, LatencyMS: Latency{P95: 60}, RequestShare: 0.2},
		{Name: "search", Requests: 10},
	}}
	c := Compare(base, head)
	if len(c.Flows) != 1 || c.Flows[0].Name != "checkout" {
		t.Fatalf("flows compared: %+v", c.Flows)
	}
	got := map[string]MetricDelta{}
	for _, m := range c.Flows[0].Metrics {
		got[m.Metric] = m
	}
	if p95 := got["p95"]; p95.Base != 40 || p95.Head != 60 || !p95.Worse {
		t.Errorf("p95 %+v", p95)
	}
	if er := got["error_rate"]; er.Base != 0.02 || er.Head != 0 || !er.Better {
		t.Errorf("error_rate %+v", er)
	}
	if sh := got["request_share"]; sh.Base != 0.25 || sh.Head != 0.2 || sh.Better || sh.Worse {
		t.Errorf("request_share %+v", sh)
	}
	var text, md strings.Builder
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "FLOW") || !strings.Contains(text.String(), "checkout") || !strings.Contains(md.String(), "**Per flow**") || strings.Contains(md.String(), "search") {
		t.Errorf("text:\n%s\nmarkdown:\n%s", text.String(), md.String())
	}
	if c := Compare(&Report{}, &Report{}); c.Flows != nil {
		t.Errorf("runs without flows compare flows %+v", c.Flows)
	}
}
