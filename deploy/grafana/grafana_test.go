package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/vmtest"
)

// TestLint passes the shipped dashboard and fails broken copies of it.
func TestLint(t *testing.T) {
	if err := Lint(Dashboard()); err != nil {
		t.Fatalf("shipped dashboard: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(d map[string]any)
		want   string
	}{
		{
			name:   "wrong uid",
			mutate: func(d map[string]any) { d["uid"] = "other" },
			want:   `uid is "other"`,
		},
		{
			name: "missing datasource",
			mutate: func(d map[string]any) {
				p := panelTitled(t, d, "Error %", "timeseries")
				delete(p, "datasource")
				for _, tg := range p["targets"].([]any) {
					delete(tg.(map[string]any), "datasource")
				}
			},
			want: `panel "Error %" target 0 (A): datasource is not set`,
		},
		{
			name: "another datasource on a target in a collapsed row",
			mutate: func(d map[string]any) {
				tg := panelTitled(t, d, "Workers reporting", "timeseries")["targets"].([]any)[0].(map[string]any)
				tg["datasource"] = map[string]any{"type": "prometheus", "uid": "other"}
			},
			want: `panel "Workers reporting" target 0 (A): datasource is uid "other"`,
		},
		{
			name: "datasource by name",
			mutate: func(d map[string]any) {
				p := panelTitled(t, d, "Mean latency", "timeseries")
				p["datasource"] = "VictoriaMetrics"
				delete(p["targets"].([]any)[0].(map[string]any), "datasource")
			},
			want: `datasource is the name "VictoriaMetrics"`,
		},
		{
			name: "undefined variable",
			mutate: func(d map[string]any) {
				tg := panelTitled(t, d, "Mean latency", "timeseries")["targets"].([]any)[0].(map[string]any)
				tg["expr"] = strings.Replace(tg["expr"].(string), `$step`, `${stepz}`, 1)
			},
			want: `$stepz is not a variable`,
		},
		{
			name: "empty expr",
			mutate: func(d map[string]any) {
				panelTitled(t, d, "Mean latency", "timeseries")["targets"].([]any)[0].(map[string]any)["expr"] = " "
			},
			want: `expr is empty`,
		},
		{
			name:   "duplicate panel id",
			mutate: func(d map[string]any) { panelTitled(t, d, "Share of VUs per worker", "timeseries")["id"] = 2.0 },
			want:   `id 2 is also panel "Requests"'s`,
		},
		{
			name:   "run_id not multi-value",
			mutate: func(d map[string]any) { variable(t, d, "run_id")["multi"] = false },
			want:   `run_id is not multi-value`,
		},
		{
			name: "step missing",
			mutate: func(d map[string]any) {
				tmpl := d["templating"].(map[string]any)
				tmpl["list"] = tmpl["list"].([]any)[:1]
			},
			want: `variable step is missing`,
		},
		{
			name:   "variable on another datasource",
			mutate: func(d map[string]any) { variable(t, d, "step")["datasource"] = map[string]any{"uid": "x"} },
			want:   `variable step: datasource is uid "x"`,
		},
		{
			name:   "variable query not label_values",
			mutate: func(d map[string]any) { variable(t, d, "run_id")["query"] = "query_result(up)" },
			want:   `variable run_id: query "query_result(up)" is not label_values(...)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(Dashboard(), &d); err != nil {
				t.Fatal(err)
			}
			tt.mutate(d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			err = Lint(b)
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("Lint = %v, want a *LintError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Lint = %v\nwant it to say %q", err, tt.want)
			}
		})
	}
}

func panelTitled(t *testing.T, d map[string]any, title, typ string) map[string]any {
	t.Helper()
	var walk func([]any) map[string]any
	walk = func(ps []any) map[string]any {
		for _, p := range ps {
			p := p.(map[string]any)
			if p["title"] == title && p["type"] == typ {
				return p
			}
			if nested, ok := p["panels"].([]any); ok {
				if found := walk(nested); found != nil {
					return found
				}
			}
		}
		return nil
	}
	p := walk(d["panels"].([]any))
	if p == nil {
		t.Fatalf("no %s panel %q", typ, title)
	}
	return p
}

func variable(t *testing.T, d map[string]any, name string) map[string]any {
	t.Helper()
	for _, v := range d["templating"].(map[string]any)["list"].([]any) {
		if v := v.(map[string]any); v["name"] == name {
			return v
		}
	}
	t.Fatalf("no variable %s", name)
	return nil
}

// TestQueries finds every target, the nested ones and instant ones too.
func TestQueries(t *testing.T) {
	qs := Queries(Dashboard())
	var vars, instant, nested int
	for _, q := range qs {
		switch {
		case q.Variable != "":
			vars++
		case q.Instant:
			instant++
		}
		if q.Panel == "Workers reporting" {
			nested++
		}
		if q.Variable == "" && (q.Expr == "" || q.RefID == "" || q.Panel == "") {
			t.Errorf("incomplete query %+v", q)
		}
	}
	if vars != 2 || instant == 0 || nested != 1 || len(qs) < 20 {
		t.Errorf("%d queries: %d variables (want 2), %d instant, %d in the collapsed row's panel", len(qs), vars, instant, nested)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string][]string{
		"run_id": {"r1"},
		"two":    {"r1", "r2"},
		"odd":    {`v1.2 (b|c)`, `a"b\c`},
	}
	tests := []struct {
		name         string
		expr         string
		interval     time.Duration
		rateInterval time.Duration
		rng          time.Duration
		want         string
	}{
		{
			name: "one value", expr: `x{run_id=~"$run_id"}`,
			want: `x{run_id=~"r1"}`,
		},
		{
			name: "several values", expr: `x{run_id=~"$two", y=~"${two}", z=~"[[two]]"}`,
			want: `x{run_id=~"(r1|r2)", y=~"(r1|r2)", z=~"(r1|r2)"}`,
		},
		{
			name: "regex characters, quote and backslash escaped", expr: `x{a=~"$odd"}`,
			want: `x{a=~"(v1\\.2 \\(b\\|c\\)|a\\\"b\\\\c)"}`,
		},
		{
			name: "formats", expr: `${two:pipe} ${two:csv} ${two:raw} ${odd:regex}`,
			want: `r1|r2 r1,r2 r1,r2 (v1\.2 \(b\|c\)|a"b\\c)`,
		},
		{
			name: "rate interval and range", expr: `increase(x[$__rate_interval]) / $__range_s + max_over_time(x[$__range])`,
			interval: 2 * time.Second, rateInterval: 4 * time.Second, rng: 120*time.Second + 400*time.Millisecond,
			want: `increase(x[4s]) / 120 + max_over_time(x[120s])`,
		},
		{
			name: "interval in Grafana's notation, rate interval in Go's", expr: `x[$__interval] y[${__rate_interval}] $__interval_ms $__rate_interval_ms $__range_ms`,
			interval: 90 * time.Second, rateInterval: 91 * time.Second, rng: time.Hour,
			want: `x[1m] y[1m31s] 90000 91000 3600000`,
		},
		{
			name: "sub-second interval", expr: `x[$__interval]`, interval: 500 * time.Millisecond,
			want: `x[500ms]`,
		},
		{
			name: "unknown variables and replacement groups stay", expr: `label_replace(x, "a", "$1", "b", "(.*)") + $nope`,
			want: `label_replace(x, "a", "$1", "b", "(.*)") + $nope`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.expr, vars, tt.interval, tt.rateInterval, tt.rng); got != tt.want {
				t.Errorf("Expand(%s)\n got %s\nwant %s", tt.expr, got, tt.want)
			}
		})
	}
}

// TestExpandEscapesIntoMatchingRegex reads an expanded value back as a
// PromQL string literal and as a regex: it matches each value and only them.
func TestExpandEscapesIntoMatchingRegex(t *testing.T) {
	values := []string{`v1.2`, `a"b`, `c\d`, `(x|y)*`, `$^{}[]'+?`, `plain`}
	expanded := Expand(`"$v"`, map[string][]string{"v": values}, 0, 0, 0)
	lit, err := strconv.Unquote(expanded)
	if err != nil {
		t.Fatalf("%s is not a string literal: %v", expanded, err)
	}
	re, err := regexp.Compile("^(?:" + lit + ")$")
	if err != nil {
		t.Fatalf("%s is not a regex: %v", lit, err)
	}
	for _, v := range values {
		if !re.MatchString(v) {
			t.Errorf("%s does not match %q", lit, v)
		}
	}
	for _, v := range []string{"v1x2", "x", `cd`, "plai"} {
		if re.MatchString(v) {
			t.Errorf("%s matches %q", lit, v)
		}
	}
}

func TestRateInterval(t *testing.T) {
	for _, tt := range []struct{ interval, scrape, want time.Duration }{
		{time.Second, time.Second, 4 * time.Second},
		{10 * time.Second, time.Second, 11 * time.Second},
		{15 * time.Second, 15 * time.Second, time.Minute},
	} {
		if got := RateInterval(tt.interval, tt.scrape); got != tt.want {
			t.Errorf("RateInterval(%s, %s) = %s, want %s", tt.interval, tt.scrape, got, tt.want)
		}
	}
}

// TestQueriesReturnData pushes finished runs in the exporter's series
// contract into a real VictoriaMetrics and runs every query of the dashboard
// against them.
func TestQueriesReturnData(t *testing.T) {
	vm := vmtest.Start(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	runs := []*synthRun{
		newSynthRun("run_a", "checkout", now.Add(-4*time.Minute), 90, true, 1),
		newSynthRun("run_b", "checkout", now.Add(-2*time.Minute), 90, true, 2),
		newSynthRun("run_clean", "browse", now.Add(-4*time.Minute), 30, false, 3),
	}
	samples := 0
	for _, r := range runs {
		samples += push(t, vm.URL, r.lines())
	}
	waitForSamples(t, vm, samples, now)

	start, end := now.Add(-5*time.Minute), now
	if err := CheckAgainst(ctx, vm, []string{"run_a", "run_b"}, start, end); err != nil {
		t.Fatal(err)
	}

	// The Requests stat and the Steps table count every request sent.
	got, err := vm.Query(ctx, Expand(`sum by (run_id) (last_over_time(barrage_requests_total{run_id=~"$run_id", step=~"$step"}[$__range]))`,
		map[string][]string{"run_id": {"run_a", "run_b"}, "step": {"login", "browse"}}, time.Second, 4*time.Second, end.Sub(start)), end)
	if err != nil || len(got) != 2 {
		t.Fatalf("requests per run: %v, %v", got, err)
	}
	for _, s := range got {
		r := runs[0]
		if s.Metric["run_id"] == "run_b" {
			r = runs[1]
		}
		if s.Value != float64(r.requests) {
			t.Errorf("%s: %v requests counted, %d sent", s.Metric["run_id"], s.Value, r.requests)
		}
	}

	// A run without errors, checks or dropped iterations leaves only the
	// panels of those series empty.
	err = CheckAgainst(ctx, vm, []string{"run_clean"}, start, end)
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("clean run: %v, want a *CheckError for its empty optional panels", err)
	}
	if left := ce.WithoutOptional(); left != nil {
		t.Errorf("clean run: %v", left)
	}
	for _, f := range ce.Failures {
		t.Logf("clean run, empty as expected: %s", f.Query)
	}

	// A run that is not there fails on the run_id variable.
	err = CheckAgainst(ctx, vm, []string{"run_a", "run_missing"}, start, end)
	if !errors.As(err, &ce) || len(ce.Failures) != 1 || ce.Failures[0].Variable != "run_id" || !strings.Contains(err.Error(), "lacks run_missing") {
		t.Errorf("missing run: %v", err)
	}
}
