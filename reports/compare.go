package reports

// Comparison is the per-metric difference between two runs' reports.
type Comparison struct {
	Base    RunRef        `json:"base"`
	Head    RunRef        `json:"head"`
	Metrics []MetricDelta `json:"metrics"`
	Steps   []StepDelta   `json:"steps"`
	// Flows compares each user flow present in both runs (by name), over
	// all its steps; absent when the runs have no flows in common.
	Flows []FlowDelta `json:"flows,omitempty"`
	// BaselineThresholds are the head run's thresholds that reference
	// baseline ('p95 < baseline * 1.1'), evaluated against the base run
	// (see BaselineThresholds); [] when the head's scenario has none.
	BaselineThresholds []ThresholdResult `json:"baseline_thresholds"`
	// Passed is false when one of BaselineThresholds failed.
	Passed bool `json:"passed"`
}

// RunRef names a compared run.
type RunRef struct {
	RunID    string `json:"run_id"`
	Scenario string `json:"scenario"`
	Status   string `json:"status"`
}

// MetricDelta is one metric of both runs. DeltaPct is relative to Base (0
// when Base is 0); Better says whether Head improved on Base, Worse whether
// it regressed (neither when they are equal).
type MetricDelta struct {
	Metric   string  `json:"metric"`
	Unit     string  `json:"unit"`
	Base     float64 `json:"base"`
	Head     float64 `json:"head"`
	Delta    float64 `json:"delta"`
	DeltaPct float64 `json:"delta_pct"`
	Better   bool    `json:"better"`
	Worse    bool    `json:"worse"`
}

// StepDelta is the comparison of one step present in both runs: steps
// are matched by flow and name (Flow is empty in single-flow scenarios).
type StepDelta struct {
	Flow    string        `json:"flow,omitempty"`
	Name    string        `json:"name"`
	Metrics []MetricDelta `json:"metrics"`
}

// FlowDelta is the comparison of one user flow present in both runs.
type FlowDelta struct {
	Name    string        `json:"name"`
	Metrics []MetricDelta `json:"metrics"`
}

type metricSpec struct {
	name, unit  string
	lowerBetter bool
	value       func(Latency, uint64, uint64) float64
}

var latencySpecs = []metricSpec{
	{"p50", "ms", true, func(l Latency, _, _ uint64) float64 { return l.P50 }},
	{"p90", "ms", true, func(l Latency, _, _ uint64) float64 { return l.P90 }},
	{"p95", "ms", true, func(l Latency, _, _ uint64) float64 { return l.P95 }},
	{"p99", "ms", true, func(l Latency, _, _ uint64) float64 { return l.P99 }},
	{"p999", "ms", true, func(l Latency, _, _ uint64) float64 { return l.P999 }},
	{"max", "ms", true, func(l Latency, _, _ uint64) float64 { return l.Max }},
	{"mean", "ms", true, func(l Latency, _, _ uint64) float64 { return l.Mean }},
	{"error_rate", "ratio", true, func(_ Latency, req, errs uint64) float64 { return ratio(errs, req) }},
	{"requests", "count", false, func(_ Latency, req, _ uint64) float64 { return float64(req) }},
}

// Compare returns head's metrics against base's.
func Compare(base, head *Report) *Comparison {
	c := &Comparison{
		Base: RunRef{RunID: base.RunID, Scenario: base.Scenario, Status: base.Status},
		Head: RunRef{RunID: head.RunID, Scenario: head.Scenario, Status: head.Status},
		// Without the head's scenario no baseline threshold is known.
		BaselineThresholds: []ThresholdResult{}, Passed: true,
	}
	c.Metrics = append(c.Metrics,
		delta("rps", "1/s", false, base.Totals.RPS, head.Totals.RPS),
		delta("dropped_iterations", "count", true, float64(base.Totals.DroppedIterations), float64(head.Totals.DroppedIterations)),
		delta("iterations", "count", false, float64(base.Totals.Iterations), float64(head.Totals.Iterations)),
	)
	for _, sp := range latencySpecs {
		c.Metrics = append(c.Metrics, delta(sp.name, sp.unit, sp.lowerBetter,
			sp.value(base.LatencyMS, base.Totals.Requests, base.Totals.Errors),
			sp.value(head.LatencyMS, head.Totals.Requests, head.Totals.Errors)))
	}
	c.Steps = []StepDelta{}
	for _, hs := range head.Steps {
		i := flowStepIndex(base, hs.Flow, hs.Name)
		if i < 0 {
			continue
		}
		bs := base.Steps[i]
		sd := StepDelta{Flow: hs.Flow, Name: hs.Name}
		for _, sp := range latencySpecs {
			sd.Metrics = append(sd.Metrics, delta(sp.name, sp.unit, sp.lowerBetter,
				sp.value(bs.LatencyMS, bs.Requests, bs.Errors), sp.value(hs.LatencyMS, hs.Requests, hs.Errors)))
		}
		c.Steps = append(c.Steps, sd)
	}
	c.Flows = compareFlows(base, head)
	return c
}

// compareFlows compares the flows both runs have, with the step metrics
// and each flow's share of the requests.
func compareFlows(base, head *Report) []FlowDelta {
	var out []FlowDelta
	for _, hf := range head.Flows {
		bf := flowLine(base, hf.Name)
		if bf == nil {
			continue
		}
		fd := FlowDelta{Name: hf.Name}
		for _, sp := range latencySpecs {
			fd.Metrics = append(fd.Metrics, delta(sp.name, sp.unit, sp.lowerBetter,
				sp.value(bf.LatencyMS, bf.Requests, bf.Errors), sp.value(hf.LatencyMS, hf.Requests, hf.Errors)))
		}
		share := delta("request_share", "ratio", false, bf.RequestShare, hf.RequestShare)
		share.Better, share.Worse = false, false // a mix that moved is neither
		fd.Metrics = append(fd.Metrics, share)
		out = append(out, fd)
	}
	return out
}

func delta(name, unit string, lowerBetter bool, base, head float64) MetricDelta {
	d := MetricDelta{Metric: name, Unit: unit, Base: base, Head: head, Delta: round(head-base, 6)}
	if base != 0 {
		d.DeltaPct = round(100*(head-base)/base, 3)
	}
	improved := head < base
	if !lowerBetter {
		improved = head > base
	}
	if head != base {
		d.Better, d.Worse = improved, !improved
	}
	return d
}

// flowStepIndex finds the step of r with this flow and name; -1 if none.
// Reports written before steps had a flow have "" there, as single-flow
// runs do, so such runs match each other by name alone.
func flowStepIndex(r *Report, flow, name string) int {
	for i, s := range r.Steps {
		if s.Flow == flow && s.Name == name {
			return i
		}
	}
	return -1
}
