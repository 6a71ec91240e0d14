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
		{ramp, loadFlags{iterations: -2}, "--iterations must be >= 1"},
		{ramp, loadFlags{rate: 5, iterations: 10}, "--iterations applies to the closed model"},
	} {
		if err := tc.l.apply(parse(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.l, err, tc.want)
		}
	}
}

// TestLoadFlagsOverExamples: --vus and --rate turn every example's load,
// open or closed, seed fields or a load block, into a valid scenario — but
// --rate on one with iterations, which the open model cannot run, is
// refused with the reason.
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
			iterations := s.Iterations > 0 || s.IterationsPerVU > 0
			if err := l.apply(s); err != nil {
				t.Errorf("%s %+v: %v", f, l, err)
				continue
			}
			_, err = scenario.Compile(s)
			switch {
			case iterations && l.rate > 0:
				if err == nil || !strings.Contains(err.Error(), "applies to the closed model") {
					t.Errorf("%s %+v: err = %v, want the iterations refused in the open model", f, l, err)
				}
			case err != nil:
				t.Errorf("%s %+v: %v", f, l, err)
			}
		}
	}
}

// TestIterationsFlag: --iterations sets shared iterations, as k6's: with
// --vus and no --duration they are capped at the default 10m; alone they
// keep the scenario's load (its duration the cap) and replace its
// iterations_per_vu.
func TestIterationsFlag(t *testing.T) {
	for _, tc := range []struct {
		name     string
		doc      string
		l        loadFlags
		vus      int
		duration time.Duration
	}{
		{name: "with --vus", doc: "virtual_users: 2\nduration_seconds: 60", l: loadFlags{vus: 10, iterations: 100}, vus: 10, duration: scenario.DefaultIterationsCap},
		{name: "with --vus and --duration", doc: "virtual_users: 2\nduration_seconds: 60", l: loadFlags{vus: 4, duration: 30 * time.Second, iterations: 100}, vus: 4, duration: 30 * time.Second},
		{name: "alone", doc: "virtual_users: 2\nduration_seconds: 60\niterations_per_vu: 3", l: loadFlags{iterations: 100}, vus: 2, duration: time.Minute},
		{name: "over a load block", doc: "load: {ramp_up: {target: 6, ramp: 5s, duration: 2m}}", l: loadFlags{iterations: 100}, vus: 6, duration: 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scenario.ParseYAML([]byte("name: f\n" + tc.doc + "\nsteps: [{url_template: /}]"))
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.l.apply(s); err != nil {
				t.Fatal(err)
			}
			p, err := scenario.Compile(s)
			if err != nil {
				t.Fatal(err)
			}
			if p.Iterations != 100 || p.IterationsPerVU != 0 || int(p.Profile.Peak()) != tc.vus || p.Profile.Duration() != tc.duration {
				t.Fatalf("iterations %d (per VU %d), %g VUs for %s; want 100 shared, %d VUs for %s",
					p.Iterations, p.IterationsPerVU, p.Profile.Peak(), p.Profile.Duration(), tc.vus, tc.duration)
			}
		})
	}
}
