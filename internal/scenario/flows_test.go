package scenario

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const flowsYAML = `name: shop
virtual_users: 4
duration_seconds: 1
variables: {q: shoes}
flows:
  - name: browse
    weight: 3
    think_time: {distribution: constant, value: 50ms}
    steps:
      - {name: home, url_template: /}
      - {name: search, url_template: "/search?q={{ q }}", think_time_ms: 5}
  - name: checkout
    steps:
      - name: login
        method: POST
        url_template: /login
        extract: [{var: token, json: $.token}]
      - {name: pay, method: POST, url_template: /pay, headers: {X-Token: "{{ token }}"}}
thresholds:
  - {expression: "p95 < 200ms", flow: checkout}
  - {expression: "error_rate < 1%", flow: browse, step: search}
  - "p99 < 1s"
`

// TestFlowsCompile: flows lay out their steps in order, each step knows
// its flow, a flow's think time is its steps' default, and thresholds
// keep their flow.
func TestFlowsCompile(t *testing.T) {
	s, err := ParseYAML([]byte(flowsYAML))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Flows) != 2 || len(p.Steps) != 4 {
		t.Fatalf("flows %d, steps %d", len(p.Flows), len(p.Steps))
	}
	browse, checkout := p.Flows[0], p.Flows[1]
	if browse.Name != "browse" || browse.Weight != 3 || browse.First != 0 || browse.End != 2 {
		t.Errorf("browse = %+v", browse)
	}
	if checkout.Name != "checkout" || checkout.Weight != 1 || checkout.First != 2 || checkout.End != 4 {
		t.Errorf("checkout = %+v (weight defaults to 1)", checkout)
	}
	for i, want := range []string{"browse", "browse", "checkout", "checkout"} {
		if p.Steps[i].Flow != want {
			t.Errorf("steps[%d] (%s) flow = %q, want %q", i, p.Steps[i].Name, p.Steps[i].Flow, want)
		}
	}
	if got := p.Steps[0].Think.Mean(); got != 50*time.Millisecond {
		t.Errorf("home's think time = %v, want the flow's 50ms", got)
	}
	if got := p.Steps[1].Think.Mean(); got != 5*time.Millisecond {
		t.Errorf("search's think time = %v, want its own 5ms", got)
	}
	if got := p.Steps[2].Think.Mean(); got != 0 {
		t.Errorf("login's think time = %v, want none", got)
	}
	if len(p.Thresholds) != 3 || p.Thresholds[0].Flow != "checkout" || p.Thresholds[1].Scope() != "flow browse, step search" || p.Thresholds[2].Scope() != "" {
		t.Errorf("thresholds = %+v", p.Thresholds)
	}
	b, err := json.Marshal(p.Thresholds[0])
	if err != nil || string(b) != `{"expression":"p95 \u003c 200ms","flow":"checkout"}` {
		t.Errorf("threshold JSON = %s, %v", b, err)
	}
	// The same scenario as JSON (what POST /scenarios takes) compiles the same.
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), `"steps":null`) {
		t.Errorf("a scenario with flows marshals steps: null: %s", js)
	}
	s2, err := ParseJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Compile(s2)
	if err != nil || len(p2.Flows) != 2 || p2.Steps[3].Flow != "checkout" {
		t.Fatalf("round trip through JSON: %v", err)
	}
}

// TestScenarioWithoutFlows: top-level steps make one flow, named "".
func TestScenarioWithoutFlows(t *testing.T) {
	s, err := ParseYAML([]byte("name: a\nvirtual_users: 1\nduration_seconds: 1\nsteps:\n  - {url_template: /a}\n  - {url_template: /b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Flows) != 1 || p.Flows[0].Name != "" || p.Flows[0].First != 0 || p.Flows[0].End != 2 || p.Steps[1].Flow != "" {
		t.Errorf("flows = %+v", p.Flows[0])
	}
}

// TestFlowErrors: each mistake with flows is refused at its path.
func TestFlowErrors(t *testing.T) {
	const head = "name: f\nvirtual_users: 2\nduration_seconds: 1\n"
	for _, tc := range []struct{ doc, want string }{
		{"steps: [{url_template: /}]\nflows: [{name: a, steps: [{url_template: /b}]}]", "flows: give steps"},
		{"flows: []", "steps: at least one step"},
		{"flows: [{name: a, steps: []}]", "flows[0].steps: at least one step"},
		{"flows: [{steps: [{url_template: /}]}]", "flows[0].name: is required"},
		{"flows: [{name: 'a b', steps: [{url_template: /}]}]", "flows[0].name"},
		{"flows: [{name: a, steps: [{name: x, url_template: /}]}, {name: a, steps: [{name: y, url_template: /}]}]", "flows[1].name: flows[0] is named \"a\" too"},
		{"flows: [{name: a, weight: 0, steps: [{url_template: /}]}]", "flows[0].weight: must be > 0"},
		{"flows: [{name: a, weight: -2, steps: [{url_template: /}]}]", "flows[0].weight"},
		{"flows: [{name: a, weight: 2e6, steps: [{url_template: /}]}]", "flows[0].weight"},
		{"flows: [{name: a, think_time_ms: -1, steps: [{url_template: /}]}]", "flows[0].think_time_ms"},
		{"flows: [{name: a, steps: [{name: x, url_template: /}]}, {name: b, steps: [{name: x, url_template: /y}]}]", "flows[1].steps[0].name: flows[0].steps[0] is named \"x\" too"},
		{"flows: [{name: a, steps: [{url_template: /, extract: [{var: tok, json: $.t}]}]}, {name: b, steps: [{url_template: '/{{ tok }}'}]}]",
			"variable \"tok\" is extracted only by another flow's steps"},
		{"flows: [{name: a, steps: [{url_template: '/{{ tok }}'}, {url_template: /b, extract: [{var: tok, json: $.t}]}]}]",
			"variable \"tok\" is extracted by flows[0].steps[1], not before this step"},
		{"flows: [{name: a, steps: [{url_template: /, bogus: 1}]}]", "flows[0].steps[0].bogus"},
		{"flows: [{name: a, steps: [{name: x, url_template: /}]}]\nthresholds: [{expression: 'p95 < 1s', flow: b}]", "thresholds[0].flow: no flow is named \"b\""},
		{"flows: [{name: a, steps: [{name: x, url_template: /}]}, {name: b, steps: [{name: y, url_template: /}]}]\nthresholds: [{expression: 'p95 < 1s', flow: b, step: x}]",
			"thresholds[0].step: step \"x\" is in flow \"a\", not \"b\""},
		{"flows: [{name: a, steps: [{url_template: /}]}]\nthresholds: [{expression: 'dropped_iterations < 1', flow: a}]", "is not measured per flow"},
		{"flows: [{name: a, steps: [{url_template: /}]}]\nthresholds: [{expression: 'iterations >= 10', flow: a}]", "thresholds[0]: iterations is not measured per flow"},
		{"steps: [{url_template: /}]\nthresholds: [{expression: 'p95 < 1s', flow: a}]", "thresholds[0].flow: no flow is named \"a\""},
	} {
		s, err := ParseYAML([]byte(head + tc.doc))
		if err == nil {
			_, err = Compile(s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n err = %v\nwant %q", tc.doc, err, tc.want)
		}
	}
}

// TestFlowVariablesAreTheirOwn: two flows may extract the same name, each
// for its own steps.
func TestFlowVariablesAreTheirOwn(t *testing.T) {
	doc := `name: v
virtual_users: 2
duration_seconds: 1
flows:
  - name: a
    steps:
      - {name: a1, url_template: /a, extract: [{var: tok, json: $.t}]}
      - {name: a2, url_template: "/a/{{ tok }}"}
  - name: b
    steps:
      - {name: b1, url_template: /b, extract: [{var: tok, header: X-T}]}
      - {name: b2, url_template: "/b/{{ tok }}", skip_if: tok}
`
	s, err := ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(s); err != nil {
		t.Fatal(err)
	}
}

// TestFlowsRedacted: a flow's steps are redacted like top-level ones.
func TestFlowsRedacted(t *testing.T) {
	doc := []byte(`name: r
virtual_users: 1
duration_seconds: 1
flows:
  - name: a
    steps:
      - {name: x, url_template: /, headers: {Authorization: Bearer hunter2}, form: {password: hunter3}}
`)
	out, err := RedactedYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "hunter3") || !strings.Contains(out, Redacted) {
		t.Errorf("redacted:\n%s", out)
	}
}
