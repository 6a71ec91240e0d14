package scenario

import (
	"regexp"
	"strings"
	"testing"
)

// TestStepOptionErrors: each bad per-step option is refused at its path.
func TestStepOptionErrors(t *testing.T) {
	const head = "name: o\nvirtual_users: 1\nduration_seconds: 1\nvariables: {v: x}\nsteps:\n"
	for _, tc := range []struct{ step, want string }{
		{"  - {url_template: /, retries: 11}", "steps[0].retries"},
		{"  - {url_template: /, retry_backoff: 1s}", "steps[0].retry_backoff"},
		{"  - {url_template: /, timeout: -1s}", "steps[0].timeout"},
		{"  - {url_template: /, skip_if: nope}", "steps[0].skip_if"},
		{"  - {url_template: /, only_if: tok}\n  - {url_template: /b, extract: [{var: tok, json: $.t}]}", "steps[0].only_if"},
		{"  - {url_template: /, tags: {'a b': c}}", "steps[0].tags.a b"},
		{"  - {url_template: /, tags: {step: c}}", `steps[0].tags.step: is reserved: the step's metrics carry their own "step" label`},
		{"  - {url_template: /, tags: {run_id: c}}", `steps[0].tags.run_id: is reserved`},
		{"  - {url_template: /, tags: {le: c}}", `steps[0].tags.le: is reserved`},
		{"  - {url_template: /, tags: {flow: c}}", `steps[0].tags.flow: is reserved`},
		{"  - {url_template: /, tags: {status-class: c}}", `steps[0].tags.status-class: is reserved: the step's metrics carry their own "status_class" label`},
		{"  - {url_template: /, tags: {__name__: c}}", `steps[0].tags.__name__: is reserved`},
		{"  - {url_template: /, tags: {team-a: x, team.a: y}}", `steps[0].tags.team.a: is the metrics label "team_a", as the tag "team-a" is`},
	} {
		s, err := ParseYAML([]byte(head + tc.step))
		if err == nil {
			_, err = Compile(s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.step, err, tc.want)
		}
	}
	s, err := ParseYAML([]byte(head + "  - {url_template: /, retries: 2, skip_if: v, timeout: 2s, tags: {team-a: x, Step: y, _le: z}}"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Steps[0]
	if st.RetryBackoff != DefaultRetryBackoff || p.StepTimeout(st).Seconds() != 2 || !st.Skipped(p.InitialVars) || st.OnlySlot != -1 || len(st.Tags) != 3 {
		t.Errorf("compiled %+v", st)
	}
}

// TestTagLabel: a tag's label name is a valid Prometheus label name.
func TestTagLabel(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	for key, want := range map[string]string{"team": "team", "team-a": "team_a", "app.version": "app_version", "_x-1.2": "_x_1_2"} {
		if got := TagLabel(key); got != want || !valid.MatchString(got) {
			t.Errorf("TagLabel(%q) = %q, want %q", key, got, want)
		}
	}
	for _, l := range ReservedLabels() {
		if !valid.MatchString(l) || TagLabel(l) != l {
			t.Errorf("reserved %q is not a label name", l)
		}
	}
}
