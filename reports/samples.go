package reports

import (
	"sort"
)

// Sample is a failed response a worker kept (report.json
// steps[].samples): its error class, status (0: no response), the
// transport error when there was no response, the response headers and
// the first 1 KiB of its body, secrets redacted. Partial: the failure came
// before its step captured responses, so headers and body are missing.
type Sample struct {
	Class     string            `json:"class"`
	Status    int               `json:"status"`
	Error     string            `json:"error,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body"`
	Truncated bool              `json:"truncated"`
	Partial   bool              `json:"partial,omitempty"`
	Shard     int               `json:"shard"`
}

// SlowTrace is one of a step's slowest requests that carried a W3C
// traceparent (report.json steps[].slowest_traces).
type SlowTrace struct {
	TraceID   string  `json:"trace_id"`
	SpanID    string  `json:"span_id"`
	LatencyMS float64 `json:"latency_ms"`
	Status    int     `json:"status"`
	Class     string  `json:"class,omitempty"`
	Shard     int     `json:"shard"`
}

// The kinds of the events that carry samples and slow traces.
const (
	KindResponseSample = "response_sample"
	KindSlowTraces     = "slow_traces"
)

// SampleEvent is a response_sample event's data: a sample of step Step (its
// index in the plan).
type SampleEvent struct {
	Step int `json:"step"`
	Sample
}

// TracesEvent is a slow_traces event's data: a shard's slowest traced
// requests per step.
type TracesEvent struct {
	Steps []StepTraces `json:"steps"`
}

// StepTraces are a step's slowest traced requests, by step index.
type StepTraces struct {
	Step   int         `json:"step"`
	Traces []SlowTrace `json:"traces"`
}

// Caps of what a report shows per step.
const (
	SamplesPerClass    = 3
	SlowestTracesShown = 5
)

// attachObservations puts samples (at most SamplesPerClass per step and
// class, in arrival order) and the SlowestTracesShown slowest traces of all
// shards into their steps.
func attachObservations(steps []Step, in Input) {
	perClass := map[[2]any]int{}
	for _, s := range in.Samples {
		if s.Step < 0 || s.Step >= len(steps) {
			continue
		}
		key := [2]any{s.Step, s.Class}
		if perClass[key] >= SamplesPerClass {
			continue
		}
		perClass[key]++
		steps[s.Step].Samples = append(steps[s.Step].Samples, s.Sample)
	}
	for i := range steps {
		sort.SliceStable(steps[i].Samples, func(a, b int) bool { return steps[i].Samples[a].Class < steps[i].Samples[b].Class })
	}
	seen := map[string]bool{}
	for _, ev := range in.Traces {
		for _, st := range ev.Steps {
			if st.Step < 0 || st.Step >= len(steps) {
				continue
			}
			for _, tr := range st.Traces {
				if seen[tr.TraceID+tr.SpanID] {
					continue
				}
				seen[tr.TraceID+tr.SpanID] = true
				steps[st.Step].SlowestTraces = append(steps[st.Step].SlowestTraces, tr)
			}
		}
	}
	for i := range steps {
		t := steps[i].SlowestTraces
		sort.SliceStable(t, func(a, b int) bool { return t[a].LatencyMS > t[b].LatencyMS })
		if len(t) > SlowestTracesShown {
			steps[i].SlowestTraces = t[:SlowestTracesShown]
		}
	}
}
