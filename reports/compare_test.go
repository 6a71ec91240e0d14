package reports

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/barrage/barrage/internal/scenario"
)

func comparePlan(t *testing.T, thresholds string) *scenario.Plan {
	t.Helper()
	return mustPlan(t, "name: c\nvirtual_users: 1\nduration_seconds: 1\nsteps: [{name: a, url_template: /a}]\nthresholds: "+thresholds+"\n")
}

// TestCompareMatchesStepsByFlowAndName: a step is compared with the base's
// step of the same flow and name; steps without a flow match by name.
func TestCompareMatchesStepsByFlowAndName(t *testing.T) {
	base := &Report{RunID: "run_a", Steps: []Step{
		{Name: "home", LatencyMS: Latency{P95: 10}},
		{Flow: "checkout", Name: "pay", LatencyMS: Latency{P95: 40}},
		{Flow: "browse", Name: "pay", LatencyMS: Latency{P95: 90}},
	}}
	head := &Report{RunID: "run_b", Steps: []Step{
		{Flow: "browse", Name: "pay", LatencyMS: Latency{P95: 45}},
		{Name: "home", LatencyMS: Latency{P95: 12}},
		{Flow: "checkout", Name: "new", LatencyMS: Latency{P95: 1}},
	}}
	c := Compare(base, head)
	if len(c.Steps) != 2 {
		t.Fatalf("compared steps %+v, want browse/pay and home", c.Steps)
	}
	tests := []struct {
		flow, name       string
		basep95, headp95 float64
		better           bool
	}{
		{flow: "browse", name: "pay", basep95: 90, headp95: 45, better: true},
		{flow: "", name: "home", basep95: 10, headp95: 12, better: false},
	}
	for i, tt := range tests {
		sd := c.Steps[i]
		p95 := sd.Metrics[2]
		if sd.Flow != tt.flow || sd.Name != tt.name || p95.Metric != "p95" || p95.Base != tt.basep95 || p95.Head != tt.headp95 || p95.Better != tt.better || p95.Worse == tt.better {
			t.Errorf("step %d: %+v, p95 %+v; want %s/%s %g → %g", i, sd, p95, tt.flow, tt.name, tt.basep95, tt.headp95)
		}
	}
	if !c.Passed || c.BaselineThresholds == nil || len(c.BaselineThresholds) != 0 {
		t.Errorf("without a scenario: passed %v, thresholds %v", c.Passed, c.BaselineThresholds)
	}
}

// TestBaselineThresholdsOfACompare: only the thresholds that reference baseline are
// evaluated, against the base run's figures.
func TestBaselineThresholdsOfACompare(t *testing.T) {
	base := &Report{LatencyMS: Latency{P95: 100}, Totals: Totals{Requests: 1000, Errors: 10}}
	head := &Report{LatencyMS: Latency{P95: 120}, Totals: Totals{Requests: 1000, Errors: 10},
		Steps: []Step{{Name: "a", Requests: 1000, LatencyMS: Latency{P95: 120}}}}
	tests := []struct {
		name       string
		thresholds string
		want       []bool // passed, per baseline threshold
		limit      float64
	}{
		{name: "within 1.5x", thresholds: "['p95 < baseline * 1.5', 'p95 < 1ms']", want: []bool{true}, limit: 150},
		{name: "over 1.1x", thresholds: "['p95 < baseline * 1.1']", want: []bool{false}, limit: 110},
		{name: "error rate", thresholds: "['error_rate <= baseline', 'p95 < baseline + 30ms']", want: []bool{true, true}, limit: 0.01},
		{name: "none", thresholds: "['p95 < 1s']", want: []bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BaselineThresholds(comparePlan(t, tt.thresholds), head, base)
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %d results", got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Passed != w || got[i].Error != "" {
					t.Errorf("%s: %+v, want passed %v", got[i].Expression, got[i], w)
				}
			}
			if len(got) > 0 && got[0].Limit != tt.limit {
				t.Errorf("%s: limit %g, want %g", got[0].Expression, got[0].Limit, tt.limit)
			}
			c := Compare(base, head)
			c.SetBaselineThresholds(got)
			if c.Passed != !slices.Contains(tt.want, false) {
				t.Errorf("passed %v for %v", c.Passed, tt.want)
			}
		})
	}
}

// TestCompareRenderings: the terminal table and the Markdown carry each
// metric, step and baseline threshold with its verdict, and the headline.
func TestCompareRenderings(t *testing.T) {
	base := &Report{RunID: "run_a", Scenario: "shop", Status: "completed", LatencyMS: Latency{P95: 100},
		Totals: Totals{Requests: 1000, Errors: 10, RPS: 50},
		Steps:  []Step{{Flow: "checkout", Name: "pay|now", Requests: 500, LatencyMS: Latency{P95: 80}}}}
	head := &Report{RunID: "run_b", Scenario: "shop", Status: "completed", LatencyMS: Latency{P95: 120},
		Totals: Totals{Requests: 1000, Errors: 5, RPS: 50},
		Steps:  []Step{{Flow: "checkout", Name: "pay|now", Requests: 500, LatencyMS: Latency{P95: 60}}}}
	c := Compare(base, head)
	c.SetBaselineThresholds(BaselineThresholds(comparePlan(t, "['p95 < baseline * 1.1']"), head, base))
	if c.Passed {
		t.Fatalf("p95 120 passed 'p95 < baseline * 1.1' against 100: %+v", c.BaselineThresholds)
	}
	var text, md bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"p95", "100.00 ms", "120.00 ms", "+20.00 ms (+20.0%)", "worse", "error_rate", "1.00%", "0.50%", "-0.50 pp (-50.0%)", "better",
		"checkout/pay|now", "-20.00 ms (-25.0%)", "p95 < baseline * 1.1", "110", "FAILED: 1 of 1 baseline thresholds failed",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{
		"❌ **FAILED: 1 of 1 baseline thresholds failed; 1 metric better, 1 worse** — head `run_b` vs base `run_a`",
		"| Metric | Base | Head | Change | Verdict |\n|---|---:|---:|---:|---|\n",
		"| p95 | 100.00 ms | 120.00 ms | +20.00 ms (+20.0%) | worse |",
		"| checkout/pay\\|now | p95 | 80.00 ms | 60.00 ms | -20.00 ms (-25.0%) | better |",
		"| `p95 < baseline * 1.1` | whole run | 120 | 110 | failed |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// TestCompareIterations: the whole run's iterations are compared next to
// dropped_iterations, more being better.
func TestCompareIterations(t *testing.T) {
	base := &Report{Totals: Totals{Iterations: 800, DroppedIterations: 4}}
	head := &Report{Totals: Totals{Iterations: 1000, DroppedIterations: 4}}
	c := Compare(base, head)
	i := slices.IndexFunc(c.Metrics, func(d MetricDelta) bool { return d.Metric == "iterations" })
	if i < 1 || c.Metrics[i-1].Metric != "dropped_iterations" {
		t.Fatalf("metrics %+v: want iterations right after dropped_iterations", c.Metrics)
	}
	want := MetricDelta{Metric: "iterations", Unit: "count", Base: 800, Head: 1000, Delta: 200, DeltaPct: 25, Better: true}
	if c.Metrics[i] != want {
		t.Errorf("iterations %+v, want %+v", c.Metrics[i], want)
	}
	if back := Compare(head, base).Metrics[i]; !back.Worse || back.Better {
		t.Errorf("fewer iterations: %+v, want worse", back)
	}
}
