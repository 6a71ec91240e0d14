// Package reports builds a run's report from its folded interval series and
// renders it. The report's JSON field names are a contract documented in
// docs/report-schema.md: scripts and CI read them.
package reports

import (
	"encoding/json"
	"fmt"
	"time"
)

// Report is report.json.
type Report struct {
	RunID              string            `json:"run_id"`
	ScenarioID         string            `json:"scenario_id"`
	Scenario           string            `json:"scenario"`
	Status             string            `json:"status"`
	StartedAt          time.Time         `json:"started_at"`
	EndedAt            time.Time         `json:"ended_at"`
	TargetBaseURL      string            `json:"target_base_url"`
	WorkerCount        int               `json:"worker_count"`
	TemporalWorkflowID string            `json:"temporal_workflow_id"`
	BaselineRunID      string            `json:"baseline_run_id,omitempty"`
	Totals             Totals            `json:"totals"`
	LatencyMS          Latency           `json:"latency_ms"`
	StatusCodes        map[string]uint64 `json:"status_codes"`
	ErrorsByClass      map[string]uint64 `json:"errors_by_class"`
	Steps              []Step            `json:"steps"`
	// Flows are the scenario's user flows, each over all of its steps;
	// absent for a scenario without flows.
	Flows      []Flow            `json:"flows,omitempty"`
	Workers    []Worker          `json:"workers"`
	Series     []Point           `json:"series"`
	Thresholds []ThresholdResult `json:"thresholds"`
	Events     []Event           `json:"events"`
	Histogram  []Bucket          `json:"histogram"`
	// MeasurementGaps is load the report does not count: what lost shards
	// sent after their last snapshot ([] when none). Totals stay what was
	// measured.
	MeasurementGaps []Gap `json:"measurement_gaps"`
	// Percentiles is the run's latency by percentile, as HdrHistogram's
	// percentile distribution lists it: closer together towards the tail.
	Percentiles []Percentile `json:"percentiles"`
	// ScenarioYAML is the scenario as run, secrets redacted.
	ScenarioYAML string `json:"scenario_yaml,omitempty"`
	// Env is the run's {{ env.KEY }} values (barrage run -e, "env" on
	// POST /runs, over the scenario's defaults).
	Env map[string]string `json:"env,omitempty"`
	// TemporalUIURL links to the run's workflow in Temporal's UI, when the
	// server that serves the report knows where that is.
	TemporalUIURL string `json:"temporal_ui_url,omitempty"`
}

// Percentile is one point of the percentile distribution.
type Percentile struct {
	Percentile float64 `json:"percentile"`
	MS         float64 `json:"ms"`
}

// Parse reads a report.json document; nil and the error when it is not one.
func Parse(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report.json: %w", err)
	}
	return &r, nil
}

// Gap is a measurement gap: a lost shard's load that no snapshot counts,
// from its last snapshot's end to when it was last heard of. Times are
// seconds since started_at; the estimate is at the shard's last known rate.
type Gap struct {
	Worker            string  `json:"worker"`
	Shard             int     `json:"shard"`
	FromT             float64 `json:"from_t"`
	ToT               float64 `json:"to_t"`
	EstimatedRequests uint64  `json:"estimated_requests"`
	Reason            string  `json:"reason"`
}

// Totals are the whole run's counters.
type Totals struct {
	Requests          uint64  `json:"requests"`
	Errors            uint64  `json:"errors"`
	ErrorRate         float64 `json:"error_rate"`
	RPS               float64 `json:"rps"`
	BytesSent         uint64  `json:"bytes_sent"`
	BytesReceived     uint64  `json:"bytes_received"`
	DroppedIterations uint64  `json:"dropped_iterations"`
	ChecksPassed      uint64  `json:"checks_passed"`
	ChecksFailed      uint64  `json:"checks_failed"`
	// Iterations counts the iterations that ran all their steps; one cut
	// off by an abort or by the end of the run is not counted.
	Iterations          uint64  `json:"iterations"`
	IterationsPerSecond float64 `json:"iterations_per_second"`
}

// Latency is a latency distribution's summary, in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Step is one step's (endpoint's) line of the report.
type Step struct {
	// Flow names the user flow the step belongs to ("" in a scenario
	// without flows).
	Flow string `json:"flow,omitempty"`
	// Group and Tags are the step's group and tags, as the scenario gives them.
	Group        string            `json:"group,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Name         string            `json:"name"`
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Requests     uint64            `json:"requests"`
	Errors       uint64            `json:"errors"`
	ErrorRate    float64           `json:"error_rate"`
	LatencyMS    Latency           `json:"latency_ms"`
	StatusCodes  map[string]uint64 `json:"status_codes"`
	ChecksPassed uint64            `json:"checks_passed"`
	ChecksFailed uint64            `json:"checks_failed"`
	// Samples are a few failed responses per error class; SlowestTraces
	// the step's slowest traced requests (samples.go). Absent when none.
	Samples       []Sample    `json:"samples,omitempty"`
	SlowestTraces []SlowTrace `json:"slowest_traces,omitempty"`
}

// Flow is what one user flow did: its steps' requests together.
type Flow struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	// Share is the flow's weight as a fraction of all flows' weights: the
	// part of the VUs (or arrivals) it was given.
	Share float64 `json:"share"`
	// Steps names the flow's steps, in order.
	Steps        []string `json:"steps"`
	Requests     uint64   `json:"requests"`
	Errors       uint64   `json:"errors"`
	ErrorRate    float64  `json:"error_rate"`
	RPS          float64  `json:"rps"`
	LatencyMS    Latency  `json:"latency_ms"`
	ChecksPassed uint64   `json:"checks_passed"`
	ChecksFailed uint64   `json:"checks_failed"`
	// RequestShare is the flow's part of all requests.
	RequestShare float64 `json:"request_share"`
}

// Worker is what one fleet node did.
type Worker struct {
	ID       string `json:"id"`
	Shards   []int  `json:"shards"`
	Requests uint64 `json:"requests"`
}

// Point is one interval of the time series; T is seconds since the start.
// Counts are the interval's; latencies are in ms.
type Point struct {
	T         float64 `json:"t"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"error_rate"`
	P50       float64 `json:"p50"`
	P95       float64 `json:"p95"`
	P99       float64 `json:"p99"`
	VUs       int     `json:"vus"`
	Workers   int     `json:"workers"`

	Requests      uint64            `json:"requests"`
	Errors        uint64            `json:"errors"`
	P90           float64           `json:"p90"`
	Max           float64           `json:"max"`
	TargetVUs     float64           `json:"target_vus"`
	Dropped       uint64            `json:"dropped_iterations"`
	Iterations    uint64            `json:"iterations"` // ended in the interval
	BytesSent     uint64            `json:"bytes_sent"`
	BytesReceived uint64            `json:"bytes_received"`
	StatusCodes   map[string]uint64 `json:"status_codes,omitempty"`
	ErrorsByClass map[string]uint64 `json:"errors_by_class,omitempty"`
	VUsByWorker   map[string]int    `json:"vus_by_worker,omitempty"`
	Steps         []StepPoint       `json:"steps,omitempty"`
}

// StepPoint is one step's part of a series point (in the order of the
// report's steps; latencies in ms).
type StepPoint struct {
	Requests uint64  `json:"requests"`
	Errors   uint64  `json:"errors"`
	P50      float64 `json:"p50"`
	P95      float64 `json:"p95"`
	P99      float64 `json:"p99"`
}

// ThresholdResult is a threshold's verdict; Actual is in the metric's unit
// (milliseconds for latencies, a fraction for rates).
type ThresholdResult struct {
	Expression string  `json:"expression"`
	Step       string  `json:"step"`
	Flow       string  `json:"flow,omitempty"`
	Passed     bool    `json:"passed"`
	Actual     float64 `json:"actual"`
	Limit      float64 `json:"limit"`
	Error      string  `json:"error,omitempty"`
	// NoBaseline: a baseline threshold of a run without a baseline run; it
	// is not evaluated and does not fail the run (unless the run requires
	// a baseline: barrage run --require-baseline).
	NoBaseline bool `json:"no_baseline,omitempty"`
}

// Event is something that happened during the run; T is seconds since the start.
type Event struct {
	T      float64 `json:"t"`
	Kind   string  `json:"kind"`
	Detail string  `json:"detail"`
}

// Bucket counts the requests whose latency is in (the previous bucket's
// LeMS, LeMS].
type Bucket struct {
	LeMS  float64 `json:"le_ms"`
	Count uint64  `json:"count"`
}
