package target

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Latency distribution names, as written in a latency spec ("fixed:5ms").
const (
	DistFixed     = "fixed"
	DistUniform   = "uniform"
	DistLognormal = "lognormal"
)

// MaxLatency caps every configured, requested or sampled delay: a lognormal tail
// or a typo in a query string must not park a request (and its connection) for hours.
const MaxLatency = time.Minute

// maxSigma bounds the lognormal spread; beyond it almost every sample is either
// ~0 or clamped to MaxLatency, which is a misconfiguration rather than a distribution.
const maxSigma = 10

// Latency is a distribution of artificial response delays. The zero value means
// no delay. Only the fields of the chosen Dist are read.
type Latency struct {
	Dist   string        // "" (none), "fixed", "uniform" or "lognormal"
	Fixed  time.Duration // fixed: the delay
	Min    time.Duration // uniform: lower bound (inclusive)
	Max    time.Duration // uniform: upper bound
	Median time.Duration // lognormal: median delay, e^μ
	Sigma  float64       // lognormal: σ of the underlying normal distribution
}

// ParseLatency parses a latency spec:
//
//	none (or "")        no delay
//	fixed:5ms           always 5ms (a bare duration such as "5ms" means the same)
//	uniform:1ms-10ms    uniformly distributed in [1ms, 10ms]
//	lognormal:5ms,0.5   lognormal with median 5ms and σ 0.5
//
// Every delay must be at most MaxLatency.
func ParseLatency(s string) (Latency, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return Latency{}, nil
	}
	dist, rest, found := strings.Cut(s, ":")
	if !found {
		dist, rest = DistFixed, s
	}
	l, err := parseLatencyParams(dist, rest)
	if err != nil {
		return Latency{}, fmt.Errorf("parse latency %q: %w", s, err)
	}
	if err := l.Validate(); err != nil {
		return Latency{}, fmt.Errorf("parse latency %q: %w", s, err)
	}
	return l, nil
}

func parseLatencyParams(dist, rest string) (Latency, error) {
	switch dist {
	case DistFixed:
		d, err := time.ParseDuration(rest)
		if err != nil {
			return Latency{}, err
		}
		return Latency{Dist: DistFixed, Fixed: d}, nil
	case DistUniform:
		lo, hi, found := strings.Cut(rest, "-")
		if !found {
			return Latency{}, fmt.Errorf("uniform wants MIN-MAX, e.g. uniform:1ms-10ms")
		}
		minD, err := time.ParseDuration(lo)
		if err != nil {
			return Latency{}, fmt.Errorf("uniform min: %w", err)
		}
		maxD, err := time.ParseDuration(hi)
		if err != nil {
			return Latency{}, fmt.Errorf("uniform max: %w", err)
		}
		return Latency{Dist: DistUniform, Min: minD, Max: maxD}, nil
	case DistLognormal:
		med, sig, found := strings.Cut(rest, ",")
		if !found {
			return Latency{}, fmt.Errorf("lognormal wants MEDIAN,SIGMA, e.g. lognormal:5ms,0.5")
		}
		median, err := time.ParseDuration(med)
		if err != nil {
			return Latency{}, fmt.Errorf("lognormal median: %w", err)
		}
		sigma, err := strconv.ParseFloat(sig, 64)
		if err != nil {
			return Latency{}, fmt.Errorf("lognormal sigma: %w", err)
		}
		return Latency{Dist: DistLognormal, Median: median, Sigma: sigma}, nil
	default:
		return Latency{}, fmt.Errorf("unknown distribution %q (want fixed, uniform or lognormal)", dist)
	}
}

// Validate reports whether l describes delays between 0 and MaxLatency.
func (l Latency) Validate() error {
	switch l.Dist {
	case "":
		return nil
	case DistFixed:
		if l.Fixed < 0 || l.Fixed > MaxLatency {
			return fmt.Errorf("fixed latency %v is outside 0..%v", l.Fixed, MaxLatency)
		}
	case DistUniform:
		if l.Min < 0 || l.Max > MaxLatency || l.Min > l.Max {
			return fmt.Errorf("uniform latency %v-%v: want 0 <= min <= max <= %v", l.Min, l.Max, MaxLatency)
		}
	case DistLognormal:
		if l.Median <= 0 || l.Median > MaxLatency {
			return fmt.Errorf("lognormal median %v is outside (0, %v]", l.Median, MaxLatency)
		}
		// The negated comparison also rejects NaN.
		if !(l.Sigma >= 0 && l.Sigma <= maxSigma) {
			return fmt.Errorf("lognormal sigma %v is outside 0..%d", l.Sigma, maxSigma)
		}
	default:
		return fmt.Errorf("unknown distribution %q (want fixed, uniform or lognormal)", l.Dist)
	}
	return nil
}

// String returns the spec ParseLatency reads back into l.
func (l Latency) String() string {
	switch l.Dist {
	case "":
		return "none"
	case DistFixed:
		return DistFixed + ":" + l.Fixed.String()
	case DistUniform:
		return DistUniform + ":" + l.Min.String() + "-" + l.Max.String()
	case DistLognormal:
		return DistLognormal + ":" + l.Median.String() + "," + strconv.FormatFloat(l.Sigma, 'g', -1, 64)
	default:
		return l.Dist + ":?"
	}
}

// at turns two independent uniform draws from [0, 1) into a delay. Keeping the
// randomness outside makes the distributions testable with chosen numbers.
func (l Latency) at(u1, u2 float64) time.Duration {
	var d time.Duration
	switch l.Dist {
	case DistFixed:
		d = l.Fixed
	case DistUniform:
		d = l.Min + time.Duration(u1*float64(l.Max-l.Min))
	case DistLognormal:
		// Box–Muller: 1-u1 lies in (0, 1], so the logarithm is finite.
		z := math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
		f := float64(l.Median) * math.Exp(l.Sigma*z)
		if f >= float64(MaxLatency) {
			return MaxLatency
		}
		d = time.Duration(f)
	}
	return min(max(d, 0), MaxLatency)
}

// draws says how many uniform numbers at consumes, so callers only pay for
// randomness the distribution uses.
func (l Latency) draws() int {
	switch l.Dist {
	case DistUniform:
		return 1
	case DistLognormal:
		return 2
	default:
		return 0
	}
}
