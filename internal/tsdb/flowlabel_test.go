package tsdb

import (
	"slices"
	"testing"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// TestStepLabelsCarryTheFlow: in a scenario with flows, every per-step
// series has its step's flow as a label; without flows there is none.
func TestStepLabelsCarryTheFlow(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want [][]string
	}{
		{doc: `name: f
virtual_users: 2
duration_seconds: 1
flows:
  - {name: browse, weight: 3, steps: [{name: home, url_template: /, tags: {team: web}}]}
  - {name: checkout, steps: [{name: pay, url_template: /pay}]}
`, want: [][]string{
			{"run_id", "r", "scenario", "f", "step", "home", "flow", "browse", "team", "web"},
			{"run_id", "r", "scenario", "f", "step", "pay", "flow", "checkout"},
		}},
		{doc: "name: f\nvirtual_users: 1\nduration_seconds: 1\nsteps: [{name: home, url_template: /}]\n",
			want: [][]string{{"run_id", "r", "scenario", "f", "step", "home"}}},
	} {
		s, err := scenario.ParseYAML([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		p, err := scenario.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		l := labelsOf(&store.Run{ID: "r"}, p)
		if !slices.EqualFunc(l.steps, tc.want, slices.Equal[[]string]) {
			t.Errorf("step labels %q, want %q", l.steps, tc.want)
		}
	}
}
