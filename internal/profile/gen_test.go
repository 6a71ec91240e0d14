package profile

import (
	"math"
	"time"

	"pgregory.net/rapid"
)

// Generators shared by the property tests.

// genWeight covers the cases that break naive splitting: exact zeros, very
// skewed (down to e^-40) and ordinary weights.
var genWeight = rapid.OneOf(
	rapid.Just(0.0),
	rapid.Map(rapid.Float64Range(-40, 0), math.Exp),
	rapid.Float64Range(0, 1),
	rapid.Just(1.0),
)

// genFractions draws 1..64 normalised fractions, at least one non-zero.
func genFractions(maxShards int) *rapid.Generator[[]float64] {
	return rapid.Custom(func(t *rapid.T) []float64 {
		w := rapid.SliceOfN(genWeight, 1, maxShards).Draw(t, "weights")
		if allZero(w) {
			w[rapid.IntRange(0, len(w)-1).Draw(t, "nonzero")] = 1
		}
		f, err := Normalize(w)
		if err != nil {
			t.Fatalf("normalize %v: %v", w, err)
		}
		return f
	})
}

func allZero(w []float64) bool {
	for _, x := range w {
		if x != 0 {
			return false
		}
	}
	return true
}

// genStageDuration includes jumps (0), sub-millisecond and long stages.
var genStageDuration = rapid.OneOf(
	rapid.Just(time.Duration(0)),
	rapid.Map(rapid.Int64Range(1, int64(time.Millisecond)), func(n int64) time.Duration { return time.Duration(n) }),
	rapid.Map(rapid.Int64Range(1, 600), func(n int64) time.Duration { return time.Duration(n) * 100 * time.Millisecond }),
)

// genTarget includes zero so that zero-rate stretches appear.
var genTarget = rapid.OneOf(rapid.Just(0.0), rapid.Float64Range(0, 2000), rapid.Float64Range(0, 5))

// genProfile draws a valid profile of 1..6 stages.
func genProfile(m Model) *rapid.Generator[Profile] {
	return rapid.Custom(func(t *rapid.T) Profile {
		p := Profile{Model: m, Start: genTarget.Draw(t, "start")}
		n := rapid.IntRange(1, 6).Draw(t, "stages")
		for i := 0; i < n; i++ {
			p.Stages = append(p.Stages, Stage{Duration: genStageDuration.Draw(t, "duration"), Target: genTarget.Draw(t, "target")})
		}
		if p.Duration() == 0 {
			p.Stages[len(p.Stages)-1].Duration = time.Second
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("generated invalid profile %+v: %v", p, err)
		}
		return p
	})
}

// genTime draws t in [-1s, Duration+1s], with the boundaries likely.
func genTime(t *rapid.T, p Profile, label string) time.Duration {
	d := p.Duration()
	return rapid.OneOf(
		rapid.Map(rapid.Int64Range(int64(-time.Second), int64(d+time.Second)), func(n int64) time.Duration { return time.Duration(n) }),
		rapid.SampledFrom(boundaries(p)),
	).Draw(t, label)
}

// boundaries lists every stage boundary and its neighbours.
func boundaries(p Profile) []time.Duration {
	out := []time.Duration{-1, 0, 1}
	var at time.Duration
	for _, s := range p.Stages {
		at += s.Duration
		out = append(out, at-1, at, at+1)
	}
	return out
}

// close reports whether a and b agree to rel relative to the larger of
// their magnitudes and scale (which stands for the profile's values).
func closeTo(a, b, rel, scale float64) bool {
	return math.Abs(a-b) <= rel*max(math.Abs(a), math.Abs(b), scale)
}
