package reports

import (
	"fmt"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

// Passed reports whether every threshold passed; a baseline threshold of
// a run without a baseline run does not count (MissingBaseline).
func (r *Report) Passed() bool {
	for _, t := range r.Thresholds {
		if !t.Passed && !t.NoBaseline {
			return false
		}
	}
	return true
}

// MissingBaseline reports whether a baseline threshold went unevaluated
// for want of a baseline run.
func (r *Report) MissingBaseline() bool {
	for _, t := range r.Thresholds {
		if t.NoBaseline {
			return true
		}
	}
	return false
}

// noBaseline is the error of a baseline threshold without a baseline run.
const noBaseline = "no baseline run to compare with: not evaluated"

func evaluate(in Input, r *Report, steps []hist.StepStats, secs float64) []ThresholdResult {
	out := []ThresholdResult{}
	if in.Plan == nil {
		return out
	}
	for _, th := range in.Plan.Thresholds {
		res := ThresholdResult{Expression: th.Expression, Step: th.Step, Flow: th.Flow}
		actual, err := metricValue(th, r, in.Plan, steps, secs)
		if err == nil && th.Baseline && in.Baseline == nil {
			res.Actual, res.NoBaseline, res.Error = round(actual, 6), true, noBaseline
			out = append(out, res)
			continue
		}
		if err == nil {
			var base *float64
			if th.Baseline && in.Baseline != nil {
				var b float64
				if b, err = metricValue(th, in.Baseline, in.Plan, nil, 0); err == nil {
					base = &b
				}
			}
			if err == nil {
				res.Actual = round(actual, 6)
				res.Limit, err = th.Limit(base)
				res.Limit = round(res.Limit, 6)
				if err == nil {
					res.Passed, err = th.Evaluate(actual, base)
				}
			}
		}
		if err != nil {
			res.Error = err.Error()
		}
		out = append(out, res)
	}
	return out
}

// metricValue reads a threshold's metric from a report. steps, when given,
// holds the merged per-step data, used for exact percentiles of any rank;
// without it (a stored baseline report) only the report's own fields serve.
func metricValue(th scenario.Threshold, r *Report, p *scenario.Plan, steps []hist.StepStats, secs float64) (float64, error) {
	lat, requests, errors := r.LatencyMS, r.Totals.Requests, r.Totals.Errors
	passed, failed := r.Totals.ChecksPassed, r.Totals.ChecksFailed
	var stats *hist.StepStats
	if th.Step != "" {
		i := stepIndex(r, th.Step)
		if i < 0 {
			return 0, fmt.Errorf("no step %q in the report", th.Step)
		}
		st := r.Steps[i]
		lat, requests, errors, passed, failed = st.LatencyMS, st.Requests, st.Errors, st.ChecksPassed, st.ChecksFailed
		if steps != nil && i < len(steps) {
			stats = &steps[i]
		}
	} else if th.Flow != "" {
		f := flowLine(r, th.Flow)
		if f == nil {
			return 0, fmt.Errorf("no flow %q in the report", th.Flow)
		}
		lat, requests, errors, passed, failed = f.LatencyMS, f.Requests, f.Errors, f.ChecksPassed, f.ChecksFailed
		if pf := p.Flow(th.Flow); steps != nil && pf != nil {
			t := flowStats(pf, steps)
			stats = &t
		}
	} else if steps != nil {
		t := emptyStats()
		for i := range steps {
			t.Merge(&steps[i])
		}
		stats = &t
	}
	switch th.Metric {
	case scenario.MetricMin:
		return lat.Min, nil
	case scenario.MetricMax:
		return lat.Max, nil
	case scenario.MetricMean:
		return lat.Mean, nil
	case scenario.MetricErrorRate:
		return ratio(errors, requests), nil
	case scenario.MetricCheckRate:
		if passed+failed == 0 {
			return 1, nil
		}
		return ratio(passed, passed+failed), nil
	case scenario.MetricRPS:
		if secs <= 0 {
			secs = r.EndedAt.Sub(r.StartedAt).Seconds()
		}
		if secs <= 0 {
			return 0, nil
		}
		return float64(requests) / secs, nil
	case scenario.MetricRequests:
		return float64(requests), nil
	case scenario.MetricErrors:
		return float64(errors), nil
	case scenario.MetricDroppedIterations:
		return float64(r.Totals.DroppedIterations), nil
	case scenario.MetricChecksFailed:
		return float64(failed), nil
	case scenario.MetricIterations:
		return float64(r.Totals.Iterations), nil
	}
	return percentile(th.Percentile, lat, stats)
}

func percentile(q float64, lat Latency, stats *hist.StepStats) (float64, error) {
	if stats != nil && stats.Latency != nil {
		if stats.Latency.TotalCount() == 0 {
			return 0, nil
		}
		return ms(hist.Percentile(stats.Latency, q)), nil
	}
	switch q {
	case 50:
		return lat.P50, nil
	case 90:
		return lat.P90, nil
	case 95:
		return lat.P95, nil
	case 99:
		return lat.P99, nil
	case 99.9:
		return lat.P999, nil
	case 100:
		return lat.Max, nil
	}
	return 0, fmt.Errorf("p%g is not in the stored report", q)
}

// Scope says what the threshold was limited to: "step X", "flow Y",
// "flow Y, step X", or "" for the whole run.
func (t ThresholdResult) Scope() string {
	return scenario.Threshold{Step: t.Step, Flow: t.Flow}.Scope()
}

// Tag is how a threshold's scope is shown after its expression ("" for the
// whole run): a step threshold by the step's name alone, as before flows,
// so that JUnit test names keep their history.
func (t ThresholdResult) Tag() string {
	if t.Flow == "" {
		return t.Step
	}
	return t.Scope()
}

func flowLine(r *Report, name string) *Flow {
	for i := range r.Flows {
		if r.Flows[i].Name == name {
			return &r.Flows[i]
		}
	}
	return nil
}

func stepIndex(r *Report, name string) int {
	for i, s := range r.Steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// BaselineThresholds evaluates the baseline thresholds of plan (the head
// run's scenario) on head's report against base's: what `barrage run
// --baseline` decides, for any pair of runs. Both sides are read from the
// reports' own figures, so a percentile the report does not store (p97)
// is an error, and fails. Thresholds without baseline are left out: they
// were decided when the head run ended.
func BaselineThresholds(plan *scenario.Plan, head, base *Report) []ThresholdResult {
	out := []ThresholdResult{}
	if plan == nil {
		return out
	}
	all := evaluate(Input{Plan: plan, Baseline: base}, head, nil, 0)
	for i, th := range plan.Thresholds {
		if th.Baseline {
			out = append(out, all[i])
		}
	}
	return out
}

// SetBaselineThresholds records results in c, and whether they all passed.
func (c *Comparison) SetBaselineThresholds(results []ThresholdResult) {
	c.BaselineThresholds, c.Passed = results, true
	for _, t := range results {
		if !t.Passed {
			c.Passed = false
		}
	}
}
