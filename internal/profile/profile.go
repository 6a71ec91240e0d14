package profile

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Model says what a profile's target counts.
type Model uint8

const (
	// Closed targets a number of virtual users; each loops over the scenario,
	// so throughput falls when the system under test slows down.
	Closed Model = iota
	// Open targets an arrival rate in iterations per second, independent of
	// how fast the system under test answers.
	Open
)

// String returns "closed" or "open".
func (m Model) String() string {
	switch m {
	case Closed:
		return "closed"
	case Open:
		return "open"
	default:
		return fmt.Sprintf("Model(%d)", uint8(m))
	}
}

// ParseModel is the inverse of [Model.String]; case and surrounding space are
// ignored because the value usually comes from YAML or a flag.
func ParseModel(s string) (Model, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "closed":
		return Closed, nil
	case "open":
		return Open, nil
	default:
		return 0, fmt.Errorf("parse model %q: want closed or open", s)
	}
}

// MarshalText lets a Model appear as "closed"/"open" in JSON and YAML.
func (m Model) MarshalText() ([]byte, error) {
	if m > Open {
		return nil, fmt.Errorf("marshal model: unknown %v", m)
	}
	return []byte(m.String()), nil
}

// UnmarshalText accepts what [ParseModel] accepts.
func (m *Model) UnmarshalText(b []byte) error {
	v, err := ParseModel(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Stage moves the target linearly from the previous stage's target (or the
// profile's Start) to Target over Duration. A zero Duration is a jump.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Profile is the one model behind every named load shape: a start value and
// a list of linear stages. The target is virtual users for [Closed] and
// iterations per second for [Open].
//
// Methods other than Validate assume a profile that passes Validate.
type Profile struct {
	Model  Model
	Start  float64
	Stages []Stage
}

const (
	// MaxDuration bounds a profile so that every sum of durations fits in an
	// int64 and every nanosecond count is exact in a float64.
	MaxDuration = 7 * 24 * time.Hour
	// MaxVUs bounds a closed-model target; it is also the largest house size
	// a [Splitter] apportions.
	MaxVUs = 10_000_000
)

// FieldError reports which field of a profile or which argument is bad.
// Retrieve it with errors.As to show the field next to the input.
type FieldError struct {
	Field string // e.g. "stages[2].duration"
	Msg   string // e.g. "must be >= 0"
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the profile's model, that it has at least one stage, that
// durations are >= 0 with a total in (0, MaxDuration], and that the start and
// targets are finite and >= 0 (and <= MaxVUs for the closed model).
func (p Profile) Validate() error {
	if p.Model > Open {
		return fieldErr("model", "unknown %v", p.Model)
	}
	if err := checkTarget(p.Model, "start", p.Start); err != nil {
		return err
	}
	if len(p.Stages) == 0 {
		return fieldErr("stages", "need at least one stage")
	}
	var total time.Duration
	for i, s := range p.Stages {
		field := fmt.Sprintf("stages[%d]", i)
		if s.Duration < 0 {
			return fieldErr(field+".duration", "must be >= 0")
		}
		// Checking each stage before adding keeps the sum from overflowing.
		if s.Duration > MaxDuration-total {
			return fieldErr(field+".duration", "total duration exceeds %v", MaxDuration)
		}
		total += s.Duration
		if err := checkTarget(p.Model, field+".target", s.Target); err != nil {
			return err
		}
	}
	if total == 0 {
		return fieldErr("stages", "total duration must be > 0")
	}
	return nil
}

func checkTarget(m Model, field string, v float64) error {
	if msg := targetProblem(m, v); msg != "" {
		return fieldErr(field, "%s", msg)
	}
	return nil
}

// targetProblem says what is wrong with a target value, or "" if nothing.
func targetProblem(m Model, v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "must be finite"
	case v < 0:
		return "must be >= 0"
	case m == Closed && v > MaxVUs:
		return fmt.Sprintf("must be <= %d virtual users", MaxVUs)
	}
	return ""
}

// Duration is the sum of the stage durations.
func (p Profile) Duration() time.Duration {
	var d time.Duration
	for _, s := range p.Stages {
		d += s.Duration
	}
	return d
}

// Target is the target at t. It is Start for t < 0 and the last stage's
// target for t >= Duration. At a stage boundary it takes the value at the
// start of the later stage, so a zero-duration stage takes effect at its
// instant.
func (p Profile) Target(t time.Duration) float64 {
	if t < 0 {
		return p.Start
	}
	prev := p.Start
	var start time.Duration
	for _, s := range p.Stages {
		end := start + s.Duration
		if t < end {
			return lerp(prev, s.Target, t-start, s.Duration)
		}
		prev, start = s.Target, end
	}
	return prev
}

// lerp is the value at elapsed into a linear move from a to b over d.
// The float64 conversions stop the compiler from fusing a multiply-add,
// which some architectures would round differently: workflow replay on
// another machine must see the same numbers.
func lerp(a, b float64, elapsed, d time.Duration) float64 {
	frac := float64(elapsed) / float64(d)
	return a + float64((b-a)*frac)
}

// Peak is the largest target the profile reaches (including Start). Since
// every stage is linear, the peak is at a stage boundary.
func (p Profile) Peak() float64 {
	peak := p.Start
	for _, s := range p.Stages {
		peak = math.Max(peak, s.Target)
	}
	return peak
}

// TargetInt is the global integer number of virtual users at t:
// math.Round(Target(t)), with halves rounding up (2.5 → 3). Rounding rather
// than truncating keeps the VU count within half a VU of the target, so on
// a ramp VU k starts when the target reaches k-0.5 and the average load
// matches the profile's; truncation would run a whole VU short throughout.
// The result is clamped to [0, MaxVUs] so that it is always a total a
// [Splitter] apportions exactly.
func (p Profile) TargetInt(t time.Duration) int {
	r := math.Round(p.Target(t))
	switch {
	case !(r > 0): // also catches NaN
		return 0
	case r > MaxVUs:
		return MaxVUs
	}
	return int(r)
}

// Scale multiplies every target by factor, e.g. a shard's fraction of an
// arrival rate. A negative or non-finite factor yields a profile that fails
// Validate.
func (p Profile) Scale(factor float64) Profile {
	out := Profile{Model: p.Model, Start: p.Start * factor, Stages: make([]Stage, len(p.Stages))}
	for i, s := range p.Stages {
		out.Stages[i] = Stage{Duration: s.Duration, Target: s.Target * factor}
	}
	return out
}

// Retarget changes the load mid-run (the "ramp" signal): the result equals p
// before at, then moves linearly from p.Target(at) to target over `over`, then
// holds target until p's original end. The run's length never changes, so a
// ramp that would end after it is cut short at p.Duration() (at the value the
// ramp has reached by then). A negative at is treated as 0 and a negative
// over as 0 (a jump); at >= p.Duration() returns p unchanged. p.Stages is not
// modified.
func (p Profile) Retarget(at time.Duration, target float64, over time.Duration) Profile {
	total := p.Duration()
	if at >= total {
		return p
	}
	at = max(at, 0)
	over = max(over, 0)
	out := Profile{Model: p.Model, Start: p.Start, Stages: p.prefix(at)}
	from := p.Target(at)
	left := total - at
	switch {
	case over <= left:
		out.Stages = append(out.Stages, Stage{Duration: over, Target: target})
		if rest := left - over; rest > 0 {
			out.Stages = append(out.Stages, Stage{Duration: rest, Target: target})
		}
	default:
		out.Stages = append(out.Stages, Stage{Duration: left, Target: lerp(from, target, left, over)})
	}
	return out
}

// prefix returns fresh stages that reproduce p on [0, at], including any
// zero-duration jumps at exactly at, so that the value at at is p.Target(at).
func (p Profile) prefix(at time.Duration) []Stage {
	out := make([]Stage, 0, len(p.Stages)+2)
	prev := p.Start
	var start time.Duration
	for _, s := range p.Stages {
		end := start + s.Duration
		if end > at {
			if at > start {
				out = append(out, Stage{Duration: at - start, Target: lerp(prev, s.Target, at-start, s.Duration)})
			}
			break
		}
		out = append(out, s)
		prev, start = s.Target, end
	}
	return out
}

// Shift returns what is left of p from offset on, so that a retried shard
// resumes where its predecessor stopped: for t >= 0 the result's Target(t)
// equals p.Target(t+offset), and its Start is p.Target(offset). offset <= 0
// returns a copy of p; offset >= p.Duration() returns a profile with no
// stages (Duration 0), which tells the caller there is nothing left to run.
func (p Profile) Shift(offset time.Duration) Profile {
	if offset <= 0 {
		return Profile{Model: p.Model, Start: p.Start, Stages: append([]Stage(nil), p.Stages...)}
	}
	out := Profile{Model: p.Model, Start: p.Target(offset), Stages: []Stage{}}
	var start time.Duration
	for _, s := range p.Stages {
		end := start + s.Duration
		switch {
		case end <= offset:
			// Entirely before offset, including jumps at exactly offset,
			// which Start already reflects.
		case start < offset:
			out.Stages = append(out.Stages, Stage{Duration: end - offset, Target: s.Target})
		default:
			out.Stages = append(out.Stages, s)
		}
		start = end
	}
	return out
}
