package scenario

import (
	"strings"
	"testing"
)

// TestEnv: {{ env.KEY }} reads the scenario's env (defaults, replaced per
// run); an unset key, a bad name and a secret-named key are refused with
// the field's path.
func TestEnv(t *testing.T) {
	const head = "name: e\nvirtual_users: 1\nduration_seconds: 1\n"
	s, err := ParseYAML([]byte(head + "env: {HOST_ID: a7, region: eu}\nsteps: [{url_template: '/{{ env.HOST_ID }}/{{ env.region | upper }}'}]"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Vars: p.InitialVars}
	if got := p.Steps[0].URL.Render(&env); got != "/a7/EU" {
		t.Fatalf("url = %q, want /a7/EU", got)
	}
	s, err = ParseYAML([]byte(head + "steps: [{url_template: '/{{ env.NOPE }}'}]"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err = Compile(s); err != nil {
		t.Fatalf("a scenario may be stored before its run sets env: %v", err)
	}
	if err := p.CheckEnv(); err == nil || !strings.Contains(err.Error(), "env.NOPE: is not set") {
		t.Errorf("CheckEnv = %v, want env.NOPE refused", err)
	}
	for _, tc := range []struct{ doc, want string }{
		{"env: {1x: a}\nsteps: [{url_template: /}]", "env.1x"},
		{"env: {API_TOKEN: a}\nsteps: [{url_template: /}]", "barrage secrets set API_TOKEN"},
		{"variables: {env.X: a}\nsteps: [{url_template: /}]", "prefix is for {{ env.KEY }}"},
		{"steps: [{url_template: /, extract: [{var: env.X, json: $.x}]}]", "prefix is for {{ env.KEY }}"},
	} {
		s, err := ParseYAML([]byte(head + tc.doc))
		if err == nil {
			_, err = Compile(s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
}
