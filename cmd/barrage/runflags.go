package main

import (
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/spf13/pflag"
)

// loadFlags are barrage run's overrides of the scenario, as k6's: a
// constant load of --vus (closed model) or --rate (open model) for
// --duration, shared --iterations, and env values.
type loadFlags struct {
	vus        int
	rate       float64
	duration   time.Duration
	iterations int
	env        tagFlags
}

func (l *loadFlags) add(f *pflag.FlagSet) {
	l.env = tagFlags{}
	f.IntVar(&l.vus, "vus", 0, "run this many virtual users, constant (replaces the scenario's load)")
	f.Float64Var(&l.rate, "rate", 0, "start this many iterations per second, constant (open model; replaces the scenario's load)")
	f.DurationVar(&l.duration, "duration", 0, "run for this long (with --vus or --rate, or over a scenario's virtual_users/rate_per_second)")
	f.IntVar(&l.iterations, "iterations", 0, "end after this many iterations, shared by all VUs (closed model; --duration, or the scenario's, caps it: 10m when neither gives one)")
	f.VarP(l.env, "env", "e", "set {{ env.KEY }}, KEY=VALUE (repeatable); stored with the run and shown in its report")
}

// apply sets the flags given over s. A scenario's load block has no one
// duration to replace: --duration alone is refused there.
func (l *loadFlags) apply(s *scenario.Scenario) error {
	switch {
	case l.vus < 0:
		return fmt.Errorf("--vus must be >= 1, got %d", l.vus)
	case l.rate < 0:
		return fmt.Errorf("--rate must be > 0, got %g", l.rate)
	case l.vus > 0 && l.rate > 0:
		return fmt.Errorf("give --vus (closed model) or --rate (open model), not both")
	case l.duration < 0:
		return fmt.Errorf("--duration must be > 0, got %s", l.duration)
	case l.iterations < 0:
		return fmt.Errorf("--iterations must be >= 1, got %d", l.iterations)
	case l.iterations > 0 && l.rate > 0:
		return fmt.Errorf("--iterations applies to the closed model (--vus), not to --rate")
	}
	if l.vus > 0 || l.rate > 0 {
		dur := l.duration
		// --vus with --iterations and no --duration: the iterations' cap,
		// as k6's shared-iterations.
		if dur == 0 && l.iterations == 0 {
			plan, err := scenario.Compile(s)
			if err != nil {
				return err
			}
			dur = plan.Profile.Duration()
		}
		s.Load, s.RampUpSeconds = nil, 0
		s.VirtualUsers, s.RatePerSecond, s.DurationSeconds = l.vus, l.rate, dur.Seconds()
	} else if l.duration > 0 {
		if s.Load != nil {
			return fmt.Errorf("--duration alone cannot shorten a scenario's load block: give --vus or --rate with it")
		}
		s.DurationSeconds = l.duration.Seconds()
	}
	if l.iterations > 0 {
		s.Iterations, s.IterationsPerVU = l.iterations, 0
	}
	for k, v := range l.env {
		if !scenario.ValidEnvKey(k) {
			return fmt.Errorf("-e %s: not a valid env name (letters, digits and _, not starting with a digit)", k)
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = v
	}
	return nil
}
