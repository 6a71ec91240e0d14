package scenario

import (
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
	} {
		s, err := ParseYAML([]byte(head + tc.step))
		if err == nil {
			_, err = Compile(s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.step, err, tc.want)
		}
	}
	s, err := ParseYAML([]byte(head + "  - {url_template: /, retries: 2, skip_if: v, timeout: 2s}"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Steps[0]
	if st.RetryBackoff != DefaultRetryBackoff || p.StepTimeout(st).Seconds() != 2 || !st.Skipped(p.InitialVars) || st.OnlySlot != -1 {
		t.Errorf("compiled %+v", st)
	}
}
