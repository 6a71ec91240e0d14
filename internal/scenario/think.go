package scenario

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// ThinkSampler draws think times.
type ThinkSampler struct {
	Dist string // "" (none), constant, uniform, normal, exponential
	A, B time.Duration
}

// Sample draws one think time; never negative.
func (t ThinkSampler) Sample(r *rand.Rand) time.Duration {
	var d float64
	switch t.Dist {
	case "constant":
		return t.A
	case "uniform":
		d = float64(t.A) + r.Float64()*float64(t.B-t.A)
	case "normal":
		d = float64(t.A) + r.NormFloat64()*float64(t.B)
	case "exponential":
		d = r.ExpFloat64() * float64(t.A)
	default:
		return 0
	}
	return time.Duration(max(0, math.Round(d)))
}

// Mean returns the distribution's mean (of the unclamped normal).
func (t ThinkSampler) Mean() time.Duration {
	switch t.Dist {
	case "constant", "normal", "exponential":
		return t.A
	case "uniform":
		return (t.A + t.B) / 2
	}
	return 0
}

func (v *validator) compileThink(path string, st Step) ThinkSampler {
	if st.ThinkTimeMS != nil && st.ThinkTime != nil {
		v.add(path+".think_time", "give think_time_ms or think_time, not both")
		return ThinkSampler{}
	}
	if st.ThinkTimeMS != nil {
		ms := *st.ThinkTimeMS
		if ms < 0 || ms > 3_600_000 {
			v.add(path+".think_time_ms", "must be between 0 and 3600000")
			return ThinkSampler{}
		}
		return ThinkSampler{Dist: "constant", A: time.Duration(ms * float64(time.Millisecond))}
	}
	if st.ThinkTime == nil {
		return ThinkSampler{}
	}
	t := st.ThinkTime
	p := path + ".think_time"
	ts := ThinkSampler{Dist: t.Distribution}
	nonNeg := func(name string, d Duration) {
		if d < 0 {
			v.add(p+"."+name, "must be >= 0")
		}
	}
	positive := func(name string, d Duration) {
		if d <= 0 {
			v.add(p+"."+name, "must be > 0")
		}
	}
	switch t.Distribution {
	case "constant":
		nonNeg("value", t.Value)
		ts.A = t.Value.D()
	case "uniform":
		nonNeg("min", t.Min)
		if t.Max < t.Min {
			v.add(p+".max", "must be >= min")
		}
		ts.A, ts.B = t.Min.D(), t.Max.D()
	case "normal":
		positive("mean", t.Mean)
		nonNeg("stddev", t.StdDev)
		ts.A, ts.B = t.Mean.D(), t.StdDev.D()
	case "exponential":
		positive("mean", t.Mean)
		ts.A = t.Mean.D()
	default:
		v.add(p+".distribution", "must be constant, uniform, normal or exponential, got %q", t.Distribution)
	}
	v.checkThinkFields(p, t)
	return ts
}

// checkThinkFields rejects parameters that the chosen distribution ignores,
// since they are almost certainly a mistake.
func (v *validator) checkThinkFields(p string, t *ThinkTime) {
	allowed := map[string][]string{
		"constant": {"value"}, "uniform": {"min", "max"}, "normal": {"mean", "stddev"}, "exponential": {"mean"},
	}[t.Distribution]
	if allowed == nil {
		return
	}
	given := map[string]bool{"value": t.Value != 0, "min": t.Min != 0, "max": t.Max != 0, "mean": t.Mean != 0, "stddev": t.StdDev != 0}
	for _, name := range []string{"value", "min", "max", "mean", "stddev"} {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if given[name] && !ok {
			v.add(p+"."+name, "is not a parameter of the %s distribution (it takes %s)", t.Distribution, strings.Join(allowed, ", "))
		}
	}
}
