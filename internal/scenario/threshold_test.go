package scenario

import (
	"errors"
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	for _, tc := range []struct {
		expr       string
		metric     Metric
		kind       MetricKind
		op         Op
		value      float64
		percentile float64
	}{
		{expr: "p95 < 300ms", metric: "p95", kind: KindLatency, op: "<", value: 300, percentile: 95},
		{expr: "p99.9<1s", metric: "p99.9", kind: KindLatency, op: "<", value: 1000, percentile: 99.9},
		{expr: "p999 <= 1.5s", metric: "p99.9", kind: KindLatency, op: "<=", value: 1500, percentile: 99.9},
		{expr: "max < 250us", metric: "max", kind: KindLatency, op: "<", value: 0.25},
		{expr: "avg < 1m", metric: "mean", kind: KindLatency, op: "<", value: 60000},
		{expr: "med < 20ms", metric: "p50", kind: KindLatency, op: "<", value: 20, percentile: 50},
		{expr: "error_rate < 1%", metric: "error_rate", kind: KindRatio, op: "<", value: 0.01},
		{expr: "error_rate <= 0.05", metric: "error_rate", kind: KindRatio, op: "<=", value: 0.05},
		{expr: "check_rate >= 99.5%", metric: "check_rate", kind: KindRatio, op: ">=", value: 0.995},
		{expr: "rps > 1000", metric: "rps", kind: KindRate, op: ">", value: 1000},
		{expr: "dropped_iterations < 1", metric: "dropped_iterations", kind: KindCount, op: "<", value: 1},
		{expr: "iterations >= 1000", metric: "iterations", kind: KindCount, op: ">=", value: 1000},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if th.Metric != tc.metric || th.Kind != tc.kind || th.Op != tc.op || !close(th.Value, tc.value) || th.Percentile != tc.percentile {
			t.Errorf("%q parsed as %+v", tc.expr, th)
		}
	}
}

func close(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestParseThresholdErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "empty"},
		{"p95 300ms", "expected <metric> <op> <value>"},
		{"p95 < ", "expected <metric> <op> <value>"},
		{"p95 << 3ms", "expected <metric> <op> <value>"},
		{"latency < 3ms", `unknown metric "latency"`},
		{"p101 < 3ms", `unknown metric "p101"`},
		{"p95 < 300", "needs a duration"},
		{"error_rate < 150%", "needs a percentage"},
		{"rps > fast", "needs a non-negative number"},
		{"p95 < baseline * -2", "baseline factor must be a positive number"},
		{"p95 < baseline / 2", "expected baseline, baseline * F or baseline ± V"},
	} {
		if _, err := ParseThreshold(tc.expr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.expr, err, tc.want)
		}
	}
}

func TestThresholdEvaluate(t *testing.T) {
	base := 200.0
	for _, tc := range []struct {
		expr     string
		actual   float64
		baseline *float64
		pass     bool
	}{
		{expr: "p95 < 300ms", actual: 299.9, pass: true},
		{expr: "p95 < 300ms", actual: 300, pass: false},
		{expr: "p95 <= 300ms", actual: 300, pass: true},
		{expr: "rps > 1000", actual: 1000.5, pass: true},
		{expr: "rps >= 1000", actual: 999, pass: false},
		{expr: "p95 < baseline * 1.1", actual: 219, baseline: &base, pass: true},
		{expr: "p95 < baseline * 1.1", actual: 221, baseline: &base, pass: false},
		{expr: "p95 < baseline + 10ms", actual: 209, baseline: &base, pass: true},
		{expr: "p95 < baseline - 10ms", actual: 195, baseline: &base, pass: false},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := th.Evaluate(tc.actual, tc.baseline)
		if err != nil || got != tc.pass {
			t.Errorf("%q with %v (baseline %v) = %v, %v; want %v", tc.expr, tc.actual, tc.baseline, got, err, tc.pass)
		}
	}
	th, _ := ParseThreshold("p95 < baseline")
	if _, err := th.Evaluate(1, nil); !errors.Is(err, ErrNoBaseline) {
		t.Errorf("no baseline: %v", err)
	}
}
