package scenario

import (
	"time"

	"github.com/barrage/barrage/internal/profile"
)

// Iterations, as k6's shared-iterations and per-vu-iterations executors:
// the load ends when the iterations are done, or when the profile's
// duration is over, whichever comes first.
const (
	// DefaultIterationsCap is the duration of a run that gives iterations
	// and no duration (k6's maxDuration default): a cap, not a target.
	DefaultIterationsCap = 10 * time.Minute
	// MaxIterations bounds iterations and iterations_per_vu.
	MaxIterations = 1_000_000_000
	// IterationsFeeder is the name shared iterations are claimed under in
	// the run's claim ledger, beside the sequential feeders: no feeder can
	// take it (a feeder's name has no $).
	IterationsFeeder = "$iterations"
)

// iterationDefaults is s with what iterations imply when the seed fields
// leave it out: one VU (as k6) and DefaultIterationsCap.
func iterationDefaults(s *Scenario) *Scenario {
	if s.Iterations == 0 && s.IterationsPerVU == 0 {
		return s
	}
	c := *s
	if c.VirtualUsers == 0 && c.RatePerSecond == 0 {
		c.VirtualUsers = 1
	}
	if c.DurationSeconds == 0 {
		c.DurationSeconds = DefaultIterationsCap.Seconds()
	}
	return &c
}

// compileIterations checks iterations and iterations_per_vu against the
// compiled profile.
func (v *validator) compileIterations(s *Scenario, p *Plan) {
	switch {
	case s.Iterations == 0 && s.IterationsPerVU == 0:
		return
	case s.Iterations < 0 || s.Iterations > MaxIterations:
		v.add("iterations", "must be 1..%d, got %d", MaxIterations, s.Iterations)
	case s.IterationsPerVU < 0 || s.IterationsPerVU > MaxIterations:
		v.add("iterations_per_vu", "must be 1..%d, got %d", MaxIterations, s.IterationsPerVU)
	case s.Iterations > 0 && s.IterationsPerVU > 0:
		v.add("iterations_per_vu", "give iterations (shared by all VUs) or iterations_per_vu (each VU's), not both")
	case p.Profile.Model == profile.Open:
		path := "iterations"
		if s.IterationsPerVU > 0 {
			path = "iterations_per_vu"
		}
		v.add(path, "applies to the closed model (virtual users): an open model's iterations are paced by its arrival rate; give virtual_users or a closed load")
	case s.IterationsPerVU > 0 && !constantVUs(p.Profile):
		v.add("iterations_per_vu", "needs a constant number of VUs (virtual_users without ramp_up_seconds, or load.constant): each VU does its iterations once")
	default:
		p.Iterations, p.IterationsPerVU = s.Iterations, s.IterationsPerVU
	}
}

// constantVUs reports whether the profile holds one VU count from its
// start to its end.
func constantVUs(prof profile.Profile) bool {
	if prof.Start <= 0 {
		return false
	}
	for _, st := range prof.Stages {
		if st.Target != prof.Start {
			return false
		}
	}
	return true
}

// LedgerIterations is how many iterations the run's ledger holds under
// IterationsFeeder: the shared iterations, or each VU's times the VUs (a
// per-VU run's VU count is constant); 0 without iterations.
func (p *Plan) LedgerIterations() int {
	if p.IterationsPerVU > 0 {
		vus := p.Profile.TargetInt(0)
		if p.MaxVUs > 0 {
			vus = min(vus, p.MaxVUs)
		}
		return p.IterationsPerVU * vus
	}
	return p.Iterations
}
