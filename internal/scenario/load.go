package scenario

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/barrage/barrage/internal/profile"
)

// compileLoad builds the load profile from the seed's fields or the load block.
func (v *validator) compileLoad(s *Scenario, p *Plan) {
	seedGiven := s.VirtualUsers != 0 || s.RatePerSecond != 0 || s.DurationSeconds != 0 || s.RampUpSeconds != 0
	var prof profile.Profile
	var ok bool
	switch {
	case s.Load != nil && seedGiven:
		v.add("load", "give either load or virtual_users / rate_per_second with duration_seconds, not both")
		return
	case s.Load != nil:
		prof, ok = v.loadBlock(s.Load)
	default:
		prof, ok = v.seedLoad(iterationDefaults(s))
	}
	if !ok {
		return
	}
	p.Profile = prof
	v.compileMaxVUs(s, p)
	v.compileIterations(s, p)
}

func (v *validator) seedLoad(s *Scenario) (profile.Profile, bool) {
	switch {
	case s.VirtualUsers == 0 && s.RatePerSecond == 0:
		v.add("virtual_users", "give virtual_users (closed model), rate_per_second (open model) or a load block")
		return profile.Profile{}, false
	case s.VirtualUsers != 0 && s.RatePerSecond != 0:
		v.add("rate_per_second", "give virtual_users or rate_per_second, not both")
		return profile.Profile{}, false
	case s.VirtualUsers < 0:
		v.add("virtual_users", "must be > 0")
		return profile.Profile{}, false
	case s.RatePerSecond < 0:
		v.add("rate_per_second", "must be > 0")
		return profile.Profile{}, false
	}
	if s.DurationSeconds <= 0 || s.DurationSeconds > maxSeconds {
		v.add("duration_seconds", "must be > 0 and at most %d (7 days)", maxSeconds)
		return profile.Profile{}, false
	}
	if s.RampUpSeconds < 0 || s.RampUpSeconds > s.DurationSeconds {
		v.add("ramp_up_seconds", "must be between 0 and duration_seconds")
		return profile.Profile{}, false
	}
	model, target := profile.Closed, float64(s.VirtualUsers)
	if s.RatePerSecond > 0 {
		model, target = profile.Open, s.RatePerSecond
	}
	prof, err := profile.RampUp(model, target, seconds(s.RampUpSeconds), seconds(s.DurationSeconds))
	if err != nil {
		v.add("duration_seconds", "%v", err)
		return profile.Profile{}, false
	}
	return prof, true
}

const maxSeconds = 7 * 24 * 3600

func seconds(f float64) time.Duration {
	return time.Duration(math.Round(f * float64(time.Second)))
}

func (v *validator) loadBlock(l *Load) (profile.Profile, bool) {
	type choice struct {
		name string
		set  bool
	}
	choices := []choice{
		{"stages", len(l.Stages) > 0}, {"constant", l.Constant != nil}, {"ramp_up", l.RampUp != nil},
		{"step", l.Step != nil}, {"spike", l.Spike != nil},
		{"constant_arrival_rate", l.ConstantArrivalRate != nil}, {"ramping_arrival_rate", l.RampingArrivalRate != nil},
	}
	var picked []string
	for _, c := range choices {
		if c.set {
			picked = append(picked, c.name)
		}
	}
	if len(picked) != 1 {
		v.add("load", "give exactly one of stages, constant, ramp_up, step, spike, constant_arrival_rate, ramping_arrival_rate (got %d: %s)",
			len(picked), strings.Join(picked, ", "))
		return profile.Profile{}, false
	}
	name := picked[0]
	model, err := loadModel(l.Model, name)
	if err != nil {
		v.add("load.model", "%v", err)
		return profile.Profile{}, false
	}
	if l.Start != 0 && name != "stages" {
		v.add("load.start", "applies to stages only")
		return profile.Profile{}, false
	}
	prof, err := buildProfile(l, name, model)
	if err != nil {
		var se *stageError
		if errors.As(err, &se) {
			v.add("load."+se.path, "%s", se.msg)
		} else {
			v.add("load."+name, "%v", err)
		}
		return profile.Profile{}, false
	}
	return prof, true
}

func loadModel(m, kind string) (profile.Model, error) {
	arrival := strings.HasSuffix(kind, "arrival_rate")
	switch {
	case m == "" && arrival, m == "open":
		return profile.Open, nil
	case arrival:
		return 0, fmt.Errorf("%s is the open model; drop model: %s", kind, m)
	case m == "" || m == "closed":
		return profile.Closed, nil
	}
	return 0, fmt.Errorf("must be closed or open, got %q", m)
}

// stageError locates a bad stage inside a load block.
type stageError struct{ path, msg string }

func (e *stageError) Error() string { return e.path + ": " + e.msg }

func buildProfile(l *Load, kind string, m profile.Model) (profile.Profile, error) {
	switch kind {
	case "stages":
		return checkedStages(profile.Profile{Model: m, Start: l.Start}, l.Stages, "stages")
	case "constant":
		return profile.Constant(m, l.Constant.Target, l.Constant.Duration.D())
	case "ramp_up":
		return profile.RampUp(m, l.RampUp.Target, l.RampUp.Ramp.D(), l.RampUp.Duration.D())
	case "step":
		s := l.Step
		return profile.StepLoad(m, s.Start, s.Size, s.Every.D(), s.Steps)
	case "spike":
		s := l.Spike
		return profile.Spike(m, s.Base, s.Peak, s.At.D(), s.Rise.D(), s.Hold.D(), s.Duration.D())
	case "constant_arrival_rate":
		return profile.ConstantArrivalRate(l.ConstantArrivalRate.Target, l.ConstantArrivalRate.Duration.D())
	default:
		r := l.RampingArrivalRate
		return checkedStages(profile.Profile{Model: profile.Open, Start: r.Start}, r.Stages, "ramping_arrival_rate.stages")
	}
}

func checkedStages(p profile.Profile, stages []Stage, path string) (profile.Profile, error) {
	if len(stages) == 0 {
		return p, &stageError{path: path, msg: "at least one stage is required"}
	}
	for i, st := range stages {
		if st.Duration < 0 {
			return p, &stageError{path: fmt.Sprintf("%s[%d].duration", path, i), msg: "must be >= 0"}
		}
		if st.Target < 0 {
			return p, &stageError{path: fmt.Sprintf("%s[%d].target", path, i), msg: "must be >= 0"}
		}
		p.Stages = append(p.Stages, profile.Stage{Duration: st.Duration.D(), Target: st.Target})
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

func (v *validator) compileMaxVUs(s *Scenario, p *Plan) {
	peak := p.Profile.Peak()
	switch {
	case s.MaxVUs < 0:
		v.add("max_vus", "must be > 0")
	case p.Profile.Model == profile.Open && s.MaxVUs == 0:
		// Enough for every arrival of two seconds at the peak rate to be in
		// flight at once, so that a stalled target shows up as latency rather
		// than as dropped iterations.
		p.MaxVUs = max(100, int(math.Ceil(2*peak)))
	case p.Profile.Model == profile.Closed && s.MaxVUs > 0 && float64(s.MaxVUs) < math.Round(peak):
		v.add("max_vus", "is %d, below the profile's peak of %g VUs", s.MaxVUs, peak)
	default:
		p.MaxVUs = s.MaxVUs
	}
	v.compilePreAllocated(s, p, peak)
}

func (v *validator) compilePreAllocated(s *Scenario, p *Plan, peak float64) {
	switch {
	case s.PreAllocatedVUs < 0:
		v.add("pre_allocated_vus", "must be >= 0")
	case s.PreAllocatedVUs > 0 && p.Profile.Model != profile.Open:
		v.add("pre_allocated_vus", "applies to the open model only")
	case s.PreAllocatedVUs > p.MaxVUs && p.MaxVUs > 0:
		v.add("pre_allocated_vus", "is %d, more than max_vus (%d)", s.PreAllocatedVUs, p.MaxVUs)
	case s.PreAllocatedVUs > 0:
		p.PreAllocatedVUs = s.PreAllocatedVUs
	case p.Profile.Model == profile.Open:
		// 200 ms of arrivals at the peak rate: what a hiccup of the target
		// or of the generator itself (a collection, a descheduled core) can
		// pile up. Past them each arrival that waits more than a moment
		// dials, and a target near its limit can drown in those dials
		// (docs/benchmarks.md measures it).
		p.PreAllocatedVUs = min(p.MaxVUs, max(10, int(math.Ceil(0.2*peak))))
	}
}
