package reports

import (
	"math"
	"sort"
	"strconv"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

// totals are the run's counters, from its steps' sums (t) and its
// snapshots' headers summed (head).
func totals(t *hist.StepStats, head *hist.Snapshot, secs float64) Totals {
	out := Totals{
		Requests: t.Requests, Errors: t.Errors, BytesSent: t.BytesSent, BytesReceived: t.BytesReceived,
		DroppedIterations: head.Dropped, ChecksPassed: t.ChecksPassed, ChecksFailed: t.ChecksFailed,
		Iterations: head.Iterations,
	}
	out.ErrorRate = ratio(t.Errors, t.Requests)
	if secs > 0 {
		out.RPS = round(float64(t.Requests)/secs, 3)
		out.IterationsPerSecond = round(float64(head.Iterations)/secs, 3)
	}
	return out
}

func summarize(s *hist.StepStats) Latency {
	h := s.Latency
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Min: ms(h.Min()), Mean: round(h.Mean()/1000, 3), Max: ms(h.Max()),
		P50: ms(hist.Percentile(h, 50)), P90: ms(hist.Percentile(h, 90)), P95: ms(hist.Percentile(h, 95)),
		P99: ms(hist.Percentile(h, 99)), P999: ms(hist.Percentile(h, 99.9)),
	}
}

func stepLines(p *scenario.Plan, steps []hist.StepStats) []Step {
	out := make([]Step, len(steps))
	for i := range steps {
		st := &steps[i]
		line := Step{
			Requests: st.Requests, Errors: st.Errors, ErrorRate: ratio(st.Errors, st.Requests),
			LatencyMS: summarize(st), StatusCodes: StatusCodes(st.Status),
			ChecksPassed: st.ChecksPassed, ChecksFailed: st.ChecksFailed,
		}
		if p != nil && i < len(p.Steps) {
			line.Name, line.Method, line.URL = p.Steps[i].Name, p.Steps[i].Method, p.Steps[i].URL.Source()
			line.Group, line.Tags, line.Flow = p.Steps[i].Group, p.Steps[i].Tags, p.Steps[i].Flow
		}
		out[i] = line
	}
	return out
}

// flowLines sums each flow's steps; nil for a scenario without flows.
func flowLines(p *scenario.Plan, steps []hist.StepStats, requests uint64, secs float64) []Flow {
	if p == nil || len(p.Flows) < 2 && (len(p.Flows) == 0 || p.Flows[0].Name == "") {
		return nil
	}
	var weights float64
	for _, f := range p.Flows {
		weights += f.Weight
	}
	out := make([]Flow, 0, len(p.Flows))
	for _, f := range p.Flows {
		st := flowStats(f, steps)
		line := Flow{Name: f.Name, Weight: f.Weight, Share: round(f.Weight/weights, 6), Steps: []string{},
			Requests: st.Requests, Errors: st.Errors, ErrorRate: ratio(st.Errors, st.Requests), LatencyMS: summarize(&st),
			ChecksPassed: st.ChecksPassed, ChecksFailed: st.ChecksFailed, RequestShare: ratio(st.Requests, requests)}
		for i := f.First; i < f.End && i < len(p.Steps); i++ {
			line.Steps = append(line.Steps, p.Steps[i].Name)
		}
		if secs > 0 {
			line.RPS = round(float64(st.Requests)/secs, 3)
		}
		out = append(out, line)
	}
	return out
}

// flowStats merges a flow's steps.
func flowStats(f *scenario.PlanFlow, steps []hist.StepStats) hist.StepStats {
	t := emptyStats()
	for i := f.First; i < f.End && i < len(steps); i++ {
		t.Merge(&steps[i])
	}
	return t
}

func StatusCodes(m map[int]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for code, n := range m {
		if n > 0 {
			out[strconv.Itoa(code)] = n
		}
	}
	return out
}

func ErrorClasses(m map[hist.ErrorClass]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for c, n := range m {
		if n > 0 && c != hist.ClassNone {
			out[c.String()] = n
		}
	}
	return out
}

// bucketBounds are the histogram's upper bounds in ms: 1-2-5 steps from
// 0.1 ms to 100 s.
var bucketBounds = func() []float64 {
	var out []float64
	for decade := 0.1; decade < 1e5; decade *= 10 {
		for _, m := range []float64{1, 2, 5} {
			out = append(out, round(decade*m, 3))
		}
	}
	return append(out, 1e5)
}()

func buckets(s *hist.StepStats) []Bucket {
	out := []Bucket{}
	if s.Latency == nil || s.Latency.TotalCount() == 0 {
		return out
	}
	counts := make([]uint64, len(bucketBounds))
	for _, bar := range s.Latency.Distribution() {
		if bar.Count <= 0 {
			continue
		}
		v := float64(bar.From) / 1000
		i := sort.SearchFloat64s(bucketBounds, v)
		if i == len(bucketBounds) {
			i--
		}
		counts[i] += uint64(bar.Count)
	}
	first, last := -1, -1
	for i, c := range counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i := first; i <= last; i++ {
		out = append(out, Bucket{LeMS: bucketBounds[i], Count: counts[i]})
	}
	return out
}

// percentiles lists the latency at the points HdrHistogram's percentile
// distribution prints, for a plot on a "nines" axis: each half of the
// distance left to 100 % in five ticks (0, 10 … 40, 50, 55 … 70, 75,
// 77.5 …), until fewer than one recorded value is left beyond; then 100 %
// (the largest value).
func percentiles(s *hist.StepStats) []Percentile {
	out := []Percentile{}
	h := s.Latency
	if h == nil || h.TotalCount() == 0 {
		return out
	}
	const ticksPerHalf = 5
	total := float64(h.TotalCount())
	for level := 0; level < 40; level++ {
		from := 100 * (1 - math.Pow(2, -float64(level)))
		if (100-from)/100*total < 1 {
			break
		}
		step := 100 * math.Pow(2, -float64(level+1)) / ticksPerHalf
		for i := 0; i < ticksPerHalf; i++ {
			p := from + float64(i)*step
			out = append(out, Percentile{Percentile: round(p, 9), MS: ms(hist.Percentile(h, p))})
		}
	}
	return append(out, Percentile{Percentile: 100, MS: ms(h.Max())})
}

func emptyStats() hist.StepStats {
	return hist.StepStats{Latency: hist.NewHistogram(), Status: map[int]uint64{}, Classes: map[hist.ErrorClass]uint64{}}
}

func nonEmpty[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return round(float64(a)/float64(b), 6)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// ms converts microseconds, as recorded, to milliseconds.
func ms(us int64) float64 { return round(float64(us)/1000, 3) }
