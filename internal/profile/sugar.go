package profile

import (
	"fmt"
	"math"
	"time"
)

// MaxSteps bounds StepLoad's steps, which allocate two stages each.
const MaxSteps = 100_000

// The named profiles below are sugar over stages; each either returns a
// profile that passes Validate or an error naming the bad argument.

// Constant holds target for d.
func Constant(m Model, target float64, d time.Duration) (Profile, error) {
	return constant("constant", m, "target", target, d)
}

func constant(name string, m Model, field string, target float64, d time.Duration) (Profile, error) {
	if err := checkTarget(m, field, target); err != nil {
		return Profile{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := checkSpan("duration", d, true); err != nil {
		return Profile{}, fmt.Errorf("%s: %w", name, err)
	}
	return build(name, Profile{Model: m, Start: target, Stages: []Stage{{Duration: d, Target: target}}})
}

// RampUp moves from 0 to target over ramp, then holds target until total:
// the classic ramp_up_seconds. ramp == 0 is [Constant].
func RampUp(m Model, target float64, ramp, total time.Duration) (Profile, error) {
	if err := checkTarget(m, "target", target); err != nil {
		return Profile{}, fmt.Errorf("ramp up: %w", err)
	}
	if err := checkSpan("total", total, true); err != nil {
		return Profile{}, fmt.Errorf("ramp up: %w", err)
	}
	if err := checkSpan("ramp", ramp, false); err != nil {
		return Profile{}, fmt.Errorf("ramp up: %w", err)
	}
	if ramp > total {
		return Profile{}, fmt.Errorf("ramp up: %w", fieldErr("ramp", "must be <= total (%v)", total))
	}
	if ramp == 0 {
		return Constant(m, target, total)
	}
	stages := []Stage{{Duration: ramp, Target: target}}
	if hold := total - ramp; hold > 0 {
		stages = append(stages, Stage{Duration: hold, Target: target})
	}
	return build("ramp up", Profile{Model: m, Start: 0, Stages: stages})
}

// StepLoad holds start for every, then jumps by size and holds that for
// every, steps times: total duration every*(steps+1). A negative size steps
// down, as long as no level goes below zero.
func StepLoad(m Model, start, size float64, every time.Duration, steps int) (Profile, error) {
	if err := checkSpan("every", every, true); err != nil {
		return Profile{}, fmt.Errorf("step load: %w", err)
	}
	if steps < 0 || steps > MaxSteps {
		return Profile{}, fmt.Errorf("step load: %w", fieldErr("steps", "must be in [0, %d]", MaxSteps))
	}
	if time.Duration(steps) >= MaxDuration/every {
		return Profile{}, fmt.Errorf("step load: %w", fieldErr("steps", "total duration exceeds %v", MaxDuration))
	}
	if err := checkTarget(m, "start", start); err != nil {
		return Profile{}, fmt.Errorf("step load: %w", err)
	}
	if math.IsNaN(size) || math.IsInf(size, 0) {
		return Profile{}, fmt.Errorf("step load: %w", fieldErr("size", "must be finite"))
	}
	// Levels are linear in the step, so checking the last checks them all.
	if msg := targetProblem(m, start+float64(float64(steps)*size)); msg != "" {
		return Profile{}, fmt.Errorf("step load: %w", fieldErr("size", "level after %d steps %s", steps, msg))
	}
	stages := make([]Stage, 0, 2*steps+1)
	stages = append(stages, Stage{Duration: every, Target: start})
	for k := 1; k <= steps; k++ {
		// Multiplying rather than accumulating keeps level k exact for
		// integral sizes however many steps there are.
		level := start + float64(float64(k)*size)
		stages = append(stages, Stage{Duration: 0, Target: level}, Stage{Duration: every, Target: level})
	}
	return build("step load", Profile{Model: m, Start: start, Stages: stages})
}

// Spike holds base until at, rises to peak over rise, holds peak for hold,
// falls back to base over rise, and holds base until total. rise == 0 makes
// both edges jumps.
func Spike(m Model, base, peak float64, at, rise, hold, total time.Duration) (Profile, error) {
	if err := checkTarget(m, "base", base); err != nil {
		return Profile{}, fmt.Errorf("spike: %w", err)
	}
	if err := checkTarget(m, "peak", peak); err != nil {
		return Profile{}, fmt.Errorf("spike: %w", err)
	}
	for _, a := range []struct {
		name string
		d    time.Duration
	}{{"at", at}, {"rise", rise}, {"hold", hold}} {
		if err := checkSpan(a.name, a.d, false); err != nil {
			return Profile{}, fmt.Errorf("spike: %w", err)
		}
	}
	if err := checkSpan("total", total, true); err != nil {
		return Profile{}, fmt.Errorf("spike: %w", err)
	}
	// Each term is <= MaxDuration, so the sum cannot overflow.
	if at+2*rise+hold > total {
		return Profile{}, fmt.Errorf("spike: %w", fieldErr("total", "must be >= at+2*rise+hold (%v)", at+2*rise+hold))
	}
	stages := compact(base, []Stage{
		{Duration: at, Target: base},
		{Duration: rise, Target: peak},
		{Duration: hold, Target: peak},
		{Duration: rise, Target: base},
		{Duration: total - at - 2*rise - hold, Target: base},
	})
	return build("spike", Profile{Model: m, Start: base, Stages: stages})
}

// ConstantArrivalRate is an open-model [Constant]: rate iterations/s for d.
func ConstantArrivalRate(rate float64, d time.Duration) (Profile, error) {
	return constant("constant arrival rate", Open, "rate", rate, d)
}

// RampingArrivalRate is an open-model profile from explicit stages, starting
// at start iterations/s. The stages are copied.
func RampingArrivalRate(start float64, stages []Stage) (Profile, error) {
	p := Profile{Model: Open, Start: start, Stages: append([]Stage(nil), stages...)}
	return build("ramping arrival rate", p)
}

// build validates a sugar's result so that its errors name the sugar.
func build(name string, p Profile) (Profile, error) {
	if err := p.Validate(); err != nil {
		return Profile{}, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// checkSpan checks an argument duration; positive also rejects zero.
func checkSpan(field string, d time.Duration, positive bool) error {
	switch {
	case positive && d <= 0:
		return fieldErr(field, "must be > 0")
	case d < 0:
		return fieldErr(field, "must be >= 0")
	case d > MaxDuration:
		return fieldErr(field, "must be <= %v", MaxDuration)
	}
	return nil
}

// compact drops zero-duration stages that do not change the value, so that
// sugar with zero-length phases stays readable when printed.
func compact(start float64, stages []Stage) []Stage {
	out := stages[:0]
	prev := start
	for _, s := range stages {
		if s.Duration == 0 && s.Target == prev {
			continue
		}
		out = append(out, s)
		prev = s.Target
	}
	return out
}
