package scenario

import (
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	yes, no := true, false
	resp := func() *Response {
		return &Response{Status: 201, Body: []byte(`{"user": "alice", "n": 3, "tags": ["a"], "ok": true}`), Latency: 40 * time.Millisecond}
	}
	for _, tc := range []struct {
		name  string
		check Check
		pass  bool
	}{
		{name: "status exact", check: Check{Status: StatusList{201}}, pass: true},
		{name: "status class", check: Check{Status: StatusList{2}}, pass: true},
		{name: "status miss", check: Check{Status: StatusList{200, 3}}, pass: false},
		{name: "contains", check: Check{BodyContains: `"alice"`}, pass: true},
		{name: "contains miss", check: Check{BodyContains: "bob"}, pass: false},
		{name: "regex", check: Check{BodyRegex: `"n": \d+`}, pass: true},
		{name: "json equals string", check: Check{JSON: "$.user", Equals: "alice"}, pass: true},
		{name: "json equals number", check: Check{JSON: "$.n", Equals: float64(3)}, pass: true},
		{name: "json equals wrong", check: Check{JSON: "$.n", Equals: float64(4)}, pass: false},
		{name: "json equals array", check: Check{JSON: "$.tags", Equals: []any{"a"}}, pass: true},
		{name: "json exists", check: Check{JSON: "$.ok"}, pass: true},
		{name: "json absent", check: Check{JSON: "$.missing", Exists: &no}, pass: true},
		{name: "json exists miss", check: Check{JSON: "$.missing", Exists: &yes}, pass: false},
		{name: "latency", check: Check{LatencyUnder: Duration(50 * time.Millisecond)}, pass: true},
		{name: "latency miss", check: Check{LatencyUnder: Duration(40 * time.Millisecond)}, pass: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := compileCheck(tc.check)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Eval(resp()); got != tc.pass {
				t.Errorf("%s: Eval = %v, want %v", c.Name, got, tc.pass)
			}
		})
	}
}

func TestJSONCheckOnNonJSONBodyFails(t *testing.T) {
	c, _ := compileCheck(Check{JSON: "$.a"})
	if c.Eval(&Response{Body: []byte("<html>")}) {
		t.Fatal("a JSON check passed on HTML")
	}
}

func TestExtractors(t *testing.T) {
	def := "fallback"
	resp := &Response{
		Body: []byte(`{"token": "t0k", "id": 12, "obj": {"a": [1, 2]}} sid=abc123;`),
		Header: func(name string) string {
			if name == "Location" {
				return "/next"
			}
			return ""
		},
	}
	for _, tc := range []struct {
		name  string
		ex    Extract
		value string
		found bool
	}{
		{name: "json string", ex: Extract{JSON: "$.token"}, value: "t0k", found: true},
		{name: "json number", ex: Extract{JSON: "$.id"}, value: "12", found: true},
		{name: "json object", ex: Extract{JSON: "$.obj"}, value: `{"a":[1,2]}`, found: true},
		{name: "json miss with default", ex: Extract{JSON: "$.nope", Default: &def}, value: "fallback", found: false},
		{name: "json miss", ex: Extract{JSON: "$.nope"}, value: "", found: false},
		{name: "regex group", ex: Extract{Regex: `sid=(\w+)`}, value: "abc123", found: true},
		{name: "regex whole", ex: Extract{Regex: `sid=\w+`}, value: "sid=abc123", found: true},
		{name: "header", ex: Extract{Header: "Location"}, value: "/next", found: true},
		{name: "header miss", ex: Extract{Header: "X-Nope"}, value: "", found: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := compileExtract(tc.ex, 0)
			if err != nil {
				t.Fatal(err)
			}
			// The body is JSON for the json cases only; regex/header cases use the raw body.
			r := *resp
			if tc.ex.JSON != "" {
				r.Body = []byte(`{"token": "t0k", "id": 12, "obj": {"a": [1, 2]}}`)
			}
			v, ok := x.Extract(&r)
			if v != tc.value || ok != tc.found {
				t.Errorf("Extract = %q, %v; want %q, %v", v, ok, tc.value, tc.found)
			}
		})
	}
}

func TestThinkSampler(t *testing.T) {
	r := newTestRand()
	for _, tc := range []struct {
		name   string
		s      ThinkSampler
		lo, hi time.Duration
		meanLo time.Duration
		meanHi time.Duration
	}{
		{name: "none", s: ThinkSampler{}, lo: 0, hi: 0},
		{name: "constant", s: ThinkSampler{Dist: "constant", A: 5 * time.Millisecond}, lo: 5 * time.Millisecond, hi: 5 * time.Millisecond},
		{name: "uniform", s: ThinkSampler{Dist: "uniform", A: 10 * time.Millisecond, B: 20 * time.Millisecond},
			lo: 10 * time.Millisecond, hi: 20 * time.Millisecond, meanLo: 14 * time.Millisecond, meanHi: 16 * time.Millisecond},
		{name: "normal", s: ThinkSampler{Dist: "normal", A: 100 * time.Millisecond, B: 10 * time.Millisecond},
			lo: 0, hi: time.Second, meanLo: 98 * time.Millisecond, meanHi: 102 * time.Millisecond},
		{name: "exponential", s: ThinkSampler{Dist: "exponential", A: 50 * time.Millisecond},
			lo: 0, hi: time.Hour, meanLo: 46 * time.Millisecond, meanHi: 54 * time.Millisecond},
	} {
		var sum time.Duration
		const n = 20000
		for range n {
			d := tc.s.Sample(r)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("%s: sample %v outside [%v, %v]", tc.name, d, tc.lo, tc.hi)
			}
			sum += d
		}
		if mean := sum / n; tc.meanHi > 0 && (mean < tc.meanLo || mean > tc.meanHi) {
			t.Errorf("%s: mean %v outside [%v, %v]", tc.name, mean, tc.meanLo, tc.meanHi)
		}
	}
}
