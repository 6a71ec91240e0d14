package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/scenario"
)

// TestLoadFlags: --vus/--rate/--duration replace the scenario's load as
// k6's do, -e sets env over the scenario's defaults, and contradictions
// are refused.
func TestLoadFlags(t *testing.T) {
	parse := func(doc string) *scenario.Scenario {
		s, err := scenario.ParseYAML([]byte("name: f\n" + doc + "\nsteps: [{url_template: '/{{ env.P }}'}]"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ramp := "load: {stages: [{duration: 10s, target: 5}, {duration: 20s, target: 5}]}\nenv: {P: a, Q: b}"
	s := parse(ramp)
	l := loadFlags{vus: 3, env: tagFlags{"P": "x"}}
	if err := l.apply(s); err != nil {
		t.Fatal(err)
	}
	p, err := scenario.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.Profile.Model) != "closed" || p.Profile.TargetInt(time.Second) != 3 || p.Profile.Duration() != 30*time.Second {
		t.Errorf("--vus 3 over a 30s ramp: model %s, target %d, duration %s", p.Profile.Model, p.Profile.TargetInt(time.Second), p.Profile.Duration())
	}
	if got := p.Steps[0].URL.Render(&scenario.Env{Vars: p.InitialVars}); got != "/x" || p.Env["Q"] != "b" {
		t.Errorf("-e P=x: url %q, env %v", got, p.Env)
	}
	s = parse("virtual_users: 2\nduration_seconds: 60")
	l = loadFlags{rate: 50, duration: 5 * time.Second}
	if err := l.apply(s); err != nil {
		t.Fatal(err)
	}
	if s.RatePerSecond != 50 || s.VirtualUsers != 0 || s.DurationSeconds != 5 {
		t.Errorf("--rate 50 --duration 5s: %+v", s)
	}
	for _, tc := range []struct {
		doc  string
		l    loadFlags
		want string
	}{
		{ramp, loadFlags{duration: time.Second}, "load block"},
		{ramp, loadFlags{vus: 1, rate: 1}, "not both"},
		{ramp, loadFlags{vus: -1}, "--vus"},
		{ramp, loadFlags{env: tagFlags{"a-b": "1"}}, "not a valid env name"},
	} {
		if err := tc.l.apply(parse(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.l, err, tc.want)
		}
	}
}

// TestLoadFlagsOverExamples: --vus and --rate turn every example's load,
// open or closed, seed fields or a load block, into a valid scenario.
func TestLoadFlagsOverExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		for _, l := range []loadFlags{{vus: 3}, {rate: 10, duration: time.Second}} {
			s, err := scenario.LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.apply(s); err != nil {
				t.Errorf("%s %+v: %v", f, l, err)
				continue
			}
			if _, err := scenario.Compile(s); err != nil {
				t.Errorf("%s %+v: %v", f, l, err)
			}
		}
	}
}
