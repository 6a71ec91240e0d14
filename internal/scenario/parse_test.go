package scenario

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/profile"
)

const seedYAML = `name: checkout
description: browse and buy
virtual_users: 100
duration_seconds: 60
ramp_up_seconds: 10
max_vus: 500
steps:
  - name: home
    method: GET
    url_template: /
    headers: {Accept: text/html}
    body_template: ""
    think_time_ms: 500
`

func TestParseSeedExample(t *testing.T) {
	s, err := ParseYAML([]byte(seedYAML))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if s.Name != "checkout" || s.Description != "browse and buy" || s.VirtualUsers != 100 ||
		s.DurationSeconds != 60 || s.RampUpSeconds != 10 || s.MaxVUs != 500 {
		t.Fatalf("top-level fields: %+v", s)
	}
	st := s.Steps[0]
	if st.Name != "home" || st.Method != "GET" || st.URLTemplate != "/" || st.Headers["Accept"] != "text/html" ||
		st.ThinkTimeMS == nil || *st.ThinkTimeMS != 500 {
		t.Fatalf("step: %+v", st)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if p.Profile.Model != profile.Closed || p.Profile.Duration() != 60*time.Second {
		t.Fatalf("profile: %+v", p.Profile)
	}
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{0, 0}, {5 * time.Second, 50}, {10 * time.Second, 100}, {59 * time.Second, 100}} {
		if got := p.Profile.Target(tc.at); got != tc.want {
			t.Errorf("Target(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if p.Steps[0].Think.Dist != "constant" || p.Steps[0].Think.A != 500*time.Millisecond {
		t.Errorf("think time: %+v", p.Steps[0].Think)
	}
}

func TestParseOpenModel(t *testing.T) {
	s, err := ParseYAML([]byte(`name: open
rate_per_second: 2000
duration_seconds: 30
steps: [{url_template: /}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Compile(s)
	if p.Profile.Model != profile.Open || p.Profile.Target(time.Second) != 2000 || p.MaxVUs != 4000 {
		t.Fatalf("open plan: model %v target %v max_vus %d", p.Profile.Model, p.Profile.Target(time.Second), p.MaxVUs)
	}
	if p.Steps[0].Name != "GET /" || p.Steps[0].Method != "GET" {
		t.Errorf("default step name/method: %q %q", p.Steps[0].Name, p.Steps[0].Method)
	}
}

// The error format promised to users: field path, message, YAML line.
func TestValidationErrorsNamePathAndLine(t *testing.T) {
	doc := `name: lines
virtual_users: 10
duration_seconds: 30
steps:
  - name: a
    url_template: /a
  - name: b
    url_template: /b
  - name: c
    url_template: /c
    think_time:
      distribution: normal
      stddev: 10ms
      mean: 0s
`
	_, err := ParseYAML([]byte(doc))
	if err == nil {
		t.Fatal("want an error")
	}
	if got, want := err.Error(), "steps[2].think_time.mean: must be > 0 (line 14)"; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
	es, ok := AsErrors(err)
	if !ok || es[0].Path != "steps[2].think_time.mean" || es[0].Line != 14 {
		t.Fatalf("structured error: %#v", es)
	}
}

func TestParseErrors(t *testing.T) {
	base := "name: x\nvirtual_users: 1\nduration_seconds: 1\n"
	for _, tc := range []struct {
		name string
		doc  string
		want []string // substrings, in order, one per error
	}{
		{name: "unknown top-level field", doc: base + "stepz: []\nsteps: [{url_template: /}]\n",
			want: []string{`stepz: unknown field (did you mean "steps"?) (line 4)`}},
		{name: "unknown step field", doc: base + "steps:\n  - url_template: /\n    thinktime_ms: 3\n",
			want: []string{`steps[0].thinktime_ms: unknown field (did you mean "think_time_ms"?) (line 6)`}},
		{name: "wrong type", doc: "name: x\nvirtual_users: many\nduration_seconds: 1\nsteps: [{url_template: /}]\n",
			want: []string{`virtual_users: must be an integer, got "many" (line 2)`}},
		{name: "no steps", doc: base, want: []string{"steps: at least one step is required"}},
		{name: "no load", doc: "name: x\nsteps: [{url_template: /}]\n",
			want: []string{"virtual_users: give virtual_users (closed model), rate_per_second (open model) or a load block"}},
		{name: "both models", doc: "name: x\nvirtual_users: 1\nrate_per_second: 3\nduration_seconds: 1\nsteps: [{url_template: /}]\n",
			want: []string{"rate_per_second: give virtual_users or rate_per_second, not both (line 3)"}},
		{name: "ramp longer than duration", doc: "name: x\nvirtual_users: 1\nduration_seconds: 1\nramp_up_seconds: 5\nsteps: [{url_template: /}]\n",
			want: []string{"ramp_up_seconds: must be between 0 and duration_seconds (line 4)"}},
		{name: "relative URL", doc: base + "steps: [{url_template: api}]\n",
			want: []string{`steps[0].url_template: "api" must start with /`}},
		{name: "unknown variable", doc: base + "steps: [{url_template: '/u/{{ user }}'}]\n",
			want: []string{`steps[0].url_template: template "/u/{{ user }}": unknown variable "user"`}},
		{name: "variable extracted later", doc: base + "steps:\n  - url_template: '/{{ tok }}'\n  - url_template: /login\n    extract: [{var: tok, json: $.token}]\n",
			want: []string{`variable "tok" is extracted by steps[1], not before this step`}},
		{name: "bad threshold", doc: base + "steps: [{url_template: /}]\nthresholds: ['p95 < 300']\n",
			want: []string{`thresholds[0]: threshold "p95 < 300": p95 needs a duration like 300ms or 1s, got "300" (line 5)`}},
		{name: "threshold on unknown step", doc: base + "steps: [{url_template: /}]\nthresholds: [{expression: 'p95 < 1s', step: nope}]\n",
			want: []string{`thresholds[0].step: no step is named "nope"`}},
		{name: "iterations of a step", doc: base + "steps: [{name: a, url_template: /}]\nthresholds: [{expression: 'iterations >= 10', step: a}]\n",
			want: []string{`thresholds[0]: iterations is not measured per step`}},
		{name: "duration without unit", doc: base + "steps: [{url_template: /, think_time: {distribution: constant, value: 500}}]\n",
			want: []string{"steps[0].think_time.value: must be a duration with a unit, like 500ms or 500s, got 500 (line 4)"}},
		{name: "both think times", doc: base + "steps: [{url_template: /, think_time_ms: 1, think_time: {distribution: constant, value: 1s}}]\n",
			want: []string{"steps[0].think_time: give think_time_ms or think_time, not both"}},
		{name: "parameter of another distribution", doc: base + "steps: [{url_template: /, think_time: {distribution: uniform, min: 1s, max: 2s, mean: 1s}}]\n",
			want: []string{"steps[0].think_time.mean: is not a parameter of the uniform distribution (it takes min, max)"}},
		{name: "duplicate step names", doc: base + "steps: [{name: a, url_template: /}, {name: a, url_template: /b}]\n",
			want: []string{`steps[1].name: steps[0] is named "a" too`}},
		{name: "check with two kinds", doc: base + "steps: [{url_template: /, checks: [{status: 200, body_contains: ok}]}]\n",
			want: []string{"steps[0].checks[0]: give exactly one of status, body_contains, body_regex, json, latency_under (got 2)"}},
		{name: "bad status", doc: base + "steps: [{url_template: /, checks: [{status: 700}]}]\n",
			want: []string{`steps[0].checks[0].status: must be a status code from 100 to 599`}},
		{name: "bad regex", doc: base + "steps: [{url_template: /, extract: [{var: x, regex: '(('}]}]\n",
			want: []string{"steps[0].extract[0]: regex: error parsing regexp"}},
		{name: "bad json path", doc: base + "steps: [{url_template: /, checks: [{json: '$[[', exists: true}]}]\n",
			want: []string{"steps[0].checks[0]: json: bad JSONPath"}},
		{name: "load and seed fields", doc: base + "load: {constant: {target: 3, duration: 1s}}\nsteps: [{url_template: /}]\n",
			want: []string{"load: give either load or virtual_users"}},
		{name: "two load profiles", doc: "name: x\nload: {constant: {target: 3, duration: 1s}, stages: [{duration: 1s, target: 2}]}\nsteps: [{url_template: /}]\n",
			want: []string{"load: give exactly one of stages"}},
		{name: "negative stage", doc: "name: x\nload:\n  stages:\n    - {duration: 1s, target: 2}\n    - {duration: -1s, target: 2}\nsteps: [{url_template: /}]\n",
			want: []string{"load.stages[1].duration: must be >= 0 (line 5)"}},
		{name: "arrival rate with closed model", doc: "name: x\nload: {model: closed, constant_arrival_rate: {target: 3, duration: 1s}}\nsteps: [{url_template: /}]\n",
			want: []string{"load.model: constant_arrival_rate is the open model"}},
		{name: "feeder file without a folder", doc: base + "feeders: [{name: u, file: users.csv}]\nsteps: [{url_template: /}]\n",
			want: []string{"feeders[0].file: files are read only when the scenario is loaded from a file"}},
		{name: "feeder records differ", doc: base + "feeders: [{name: u, data: [{a: 1}, {b: 2}]}]\nsteps: [{url_template: /}]\n",
			want: []string{`feeders[0].data: record 1 has no field "a"`}},
		{name: "abort_on rate", doc: base + "abort_on: {error_rate: 5}\nsteps: [{url_template: /}]\n",
			want: []string{"abort_on.error_rate: must be a fraction in (0, 1]"}},
		{name: "not yaml", doc: "name: [unclosed\n", want: []string{"not valid YAML"}},
		{name: "empty", doc: "", want: []string{"the scenario is empty"}},
		{name: "several errors at once", doc: "name: ''\nvirtual_users: 1\nduration_seconds: 0\nsteps: [{url_template: /}]\n",
			want: []string{"name: is required (line 1)", "duration_seconds: must be > 0 and at most 604800 (7 days) (line 3)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML([]byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.doc)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestJSONMatchesYAML(t *testing.T) {
	fromYAML, err := ParseYAML([]byte(fullYAML))
	if err != nil {
		t.Fatalf("yaml: %v", err)
	}
	js, err := fromYAML.JSON()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ParseJSON(js)
	if err != nil {
		t.Fatalf("json: %v\n%s", err, js)
	}
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Fatalf("YAML and JSON differ:\n%+v\n%+v", fromYAML, fromJSON)
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"malformed", `{"name": "x",`, "malformed JSON"},
		{"not an object", `[1,2]`, "a scenario must be a JSON object"},
		{"unknown field with line", "{\n  \"name\": \"x\",\n  \"virtual_users\": 1,\n  \"duration_seconds\": 1,\n  \"steps\": [{\"url_template\": \"/\", \"bogus\": 1}]\n}",
			"steps[0].bogus: unknown field (line 5)"},
		{"yaml-only syntax", "name: x", "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadFileReadsFeeders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("users.csv", "user,password\nalice,secret\nbob,hunter2\n")
	write("items.json", `[{"item": 1, "sku": "a"}, {"item": 2, "sku": "b"}]`)
	write("s.yaml", `name: feeders
virtual_users: 2
duration_seconds: 5
feeders:
  - {name: users, file: users.csv, per: vu}
  - {name: items, file: items.json, mode: random, partition: true}
steps:
  - url_template: '/login?u={{ user }}&i={{ item }}&s={{ sku }}'
    body_template: '{"password": "{{ password | json }}"}'
`)
	s, err := LoadFile(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if s.Feeders[0].File != "" || len(s.Feeders[0].Data) != 2 || s.Feeders[0].Data[1]["user"] != "bob" {
		t.Fatalf("users feeder not inlined: %+v", s.Feeders[0])
	}
	if s.Feeders[1].Data[0]["item"] != "1" {
		t.Fatalf("JSON numbers become text: %+v", s.Feeders[1].Data)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Feeders[0].Fields; !reflect.DeepEqual(got, []string{"password", "user"}) {
		t.Errorf("fields = %v", got)
	}
	if p.Feeders[0].Per != PerVU || p.Feeders[1].Mode != ModeRandom || !p.Feeders[1].Partition {
		t.Errorf("feeder options lost: %+v %+v", p.Feeders[0], p.Feeders[1])
	}

	write("bad.yaml", "name: x\nvirtual_users: 1\nduration_seconds: 1\nfeeders: [{name: u, file: missing.csv}]\nsteps: [{url_template: /}]\n")
	_, err = LoadFile(filepath.Join(dir, "bad.yaml"))
	if err == nil || !strings.Contains(err.Error(), "feeders[0].file: open ") || !strings.Contains(err.Error(), "(line 4)") {
		t.Fatalf("missing feeder file error = %v", err)
	}
}

func TestLoadProfiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		load  string
		model profile.Model
		dur   time.Duration
		at    map[time.Duration]float64
	}{
		{name: "stages", load: "{stages: [{duration: 10s, target: 10}, {duration: 10s, target: 10}, {duration: 5s, target: 0}]}",
			model: profile.Closed, dur: 25 * time.Second, at: map[time.Duration]float64{5 * time.Second: 5, 15 * time.Second: 10, 25 * time.Second: 0}},
		{name: "open stages", load: "{model: open, start: 100, stages: [{duration: 10s, target: 200}]}",
			model: profile.Open, dur: 10 * time.Second, at: map[time.Duration]float64{0: 100, 5 * time.Second: 150}},
		{name: "constant", load: "{constant: {target: 7, duration: 1m}}",
			model: profile.Closed, dur: time.Minute, at: map[time.Duration]float64{30 * time.Second: 7}},
		{name: "ramp up", load: "{ramp_up: {target: 40, ramp: 20s, duration: 1m}}",
			model: profile.Closed, dur: time.Minute, at: map[time.Duration]float64{10 * time.Second: 20, 40 * time.Second: 40}},
		{name: "step", load: "{step: {start: 10, size: 10, every: 30s, steps: 3}}",
			model: profile.Closed, dur: 2 * time.Minute, at: map[time.Duration]float64{10 * time.Second: 10, 40 * time.Second: 20, 100 * time.Second: 40}},
		{name: "spike", load: "{spike: {base: 10, peak: 100, at: 30s, rise: 0s, hold: 10s, duration: 1m}}",
			model: profile.Closed, dur: time.Minute, at: map[time.Duration]float64{10 * time.Second: 10, 35 * time.Second: 100, 50 * time.Second: 10}},
		{name: "constant arrival rate", load: "{constant_arrival_rate: {target: 500, duration: 10s}}",
			model: profile.Open, dur: 10 * time.Second, at: map[time.Duration]float64{5 * time.Second: 500}},
		{name: "ramping arrival rate", load: "{ramping_arrival_rate: {start: 0, stages: [{duration: 10s, target: 1000}]}}",
			model: profile.Open, dur: 10 * time.Second, at: map[time.Duration]float64{5 * time.Second: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseYAML([]byte("name: x\nload: " + tc.load + "\nsteps: [{url_template: /}]\n"))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := Compile(s)
			if p.Profile.Model != tc.model || p.Profile.Duration() != tc.dur {
				t.Fatalf("model %v duration %v, want %v %v", p.Profile.Model, p.Profile.Duration(), tc.model, tc.dur)
			}
			for at, want := range tc.at {
				if got := p.Profile.Target(at); got != want {
					t.Errorf("Target(%v) = %v, want %v", at, got, want)
				}
			}
		})
	}
}

const fullYAML = `name: full
description: every feature at once
load:
  stages:
    - {duration: 5s, target: 10}
max_vus: 20
variables: {base: /api, greeting: hello}
feeders:
  - name: users
    data: [{user: alice, password: secret}, {user: bob, password: secret}]
    mode: sequential
steps:
  - name: login
    method: post
    url_template: /login
    headers: {Content-Type: application/json}
    body_template: '{"user": "{{ user }}", "password": "{{ password }}"}'
    think_time: {distribution: uniform, min: 10ms, max: 20ms}
    extract:
      - {var: token, json: $.token}
      - {var: sid, regex: 'sid=(\w+)', default: none}
      - {var: loc, header: Location}
    checks:
      - {status: [200, 2xx]}
      - {json: $.token, exists: true}
  - name: me
    url_template: '{{ base }}/me?n={{ $randInt(1, 9) }}'
    headers: {Authorization: 'Bearer {{ token }}'}
    think_time: {distribution: exponential, mean: 50ms}
    checks:
      - {body_contains: alice}
      - {body_regex: 'user.*'}
      - {json: $.user, equals: alice}
      - {latency_under: 2s, name: fast enough}
thresholds:
  - p95 < 300ms
  - error_rate < 1%
  - {expression: 'p99.9 < 1s', step: me}
  - p95 < baseline * 1.1
abort_on: {error_rate: 0.5, window_seconds: 10}
http: {timeout: 5s, max_redirects: 3, headers: {User-Agent: barrage-test}}
graceful_stop: 3s
`

func TestFullScenarioCompiles(t *testing.T) {
	s, err := ParseYAML([]byte(fullYAML))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps[0].Method != "POST" || len(p.Steps[0].Extract) != 3 || !p.Steps[0].NeedHeaders || !p.Steps[0].NeedBody {
		t.Errorf("login step: %+v", p.Steps[0])
	}
	if got := p.Steps[1].Headers; len(got) != 2 || got[0].Name != "User-Agent" || got[1].Name != "Authorization" {
		t.Errorf("headers (common first, then own): %+v", got)
	}
	if p.Timeout != 5*time.Second || p.MaxRedirects != 3 || p.GracefulStop != 3*time.Second || p.MaxVUs != 20 {
		t.Errorf("options: timeout %v redirects %d graceful %v max_vus %d", p.Timeout, p.MaxRedirects, p.GracefulStop, p.MaxVUs)
	}
	if len(p.Thresholds) != 4 || p.Thresholds[2].Step != "me" || !p.Thresholds[3].Baseline {
		t.Errorf("thresholds: %+v", p.Thresholds)
	}
	if p.AbortOn == nil || p.AbortOn.ErrorRate != 0.5 || p.AbortOn.WindowSeconds != 10 {
		t.Errorf("abort_on: %+v", p.AbortOn)
	}
}

func TestPreAllocatedVUs(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want int
		err  string
	}{
		{doc: "rate_per_second: 2000\n", want: 400},
		{doc: "rate_per_second: 20\n", want: 10},
		{doc: "rate_per_second: 20000\n", want: 4000},
		{doc: "rate_per_second: 20000\nmax_vus: 3000\n", want: 3000},
		{doc: "rate_per_second: 100\npre_allocated_vus: 7\n", want: 7},
		{doc: "rate_per_second: 100\nmax_vus: 5\npre_allocated_vus: 7\n", err: "pre_allocated_vus: is 7, more than max_vus (5)"},
		{doc: "virtual_users: 3\npre_allocated_vus: 7\n", err: "pre_allocated_vus: applies to the open model only"},
	} {
		s, err := ParseYAML([]byte("name: x\nduration_seconds: 1\nsteps: [{url_template: /}]\n" + tc.doc))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.doc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p, _ := Compile(s)
		if p.PreAllocatedVUs != tc.want {
			t.Errorf("%q: pre-allocated %d, want %d", tc.doc, p.PreAllocatedVUs, tc.want)
		}
	}
}

// TestSecretPrefixIsReserved: only {{ secret.NAME }} makes a secret; a
// variable, feeder field or extract named secret.… is refused rather than
// standing in for it.
func TestSecretPrefixIsReserved(t *testing.T) {
	for _, doc := range []string{
		"variables: {secret.X: v}\nsteps: [{url_template: '/{{ secret.X }}'}]",
		"feeders: [{name: f, data: [{secret.X: v}]}]\nsteps: [{url_template: '/{{ secret.X }}'}]",
		"steps: [{name: a, url_template: /, extract: [{var: secret.X, json: $.x}]}, {name: b, url_template: '/{{ secret.X }}'}]",
	} {
		s, err := ParseYAML([]byte("name: r\nvirtual_users: 1\nduration_seconds: 1\n" + doc))
		if err == nil {
			_, err = Compile(s)
		}
		if err == nil || !strings.Contains(err.Error(), "secret.") {
			t.Errorf("%s\n: err = %v, want the secret. prefix refused", doc, err)
		}
	}
	s, err := ParseYAML([]byte("name: r\nvirtual_users: 1\nduration_seconds: 1\nsteps: [{url_template: '/{{ secret.X }}?b={{ secret.Y | urlencode }}&c={{ secret.X }}'}]"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Secrets) != 2 || p.Secrets[0].Name != "X" || p.Secrets[1].Name != "Y" || p.Slots[p.Secrets[0].Slot] != "secret.X" {
		t.Fatalf("plan secrets %+v", p.Secrets)
	}
}
