// Package reports builds a run's report from its folded interval series and
// renders it. The report's JSON field names are a contract documented in
// docs/report-schema.md: scripts and CI read them.
package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
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
	Workers            []Worker          `json:"workers"`
	Series             []Point           `json:"series"`
	Thresholds         []ThresholdResult `json:"thresholds"`
	Events             []Event           `json:"events"`
	Histogram          []Bucket          `json:"histogram"`
	// MeasurementGaps is load the report does not count: what lost shards
	// sent after their last snapshot ([] when none). Totals stay what was
	// measured.
	MeasurementGaps []Gap `json:"measurement_gaps"`
	// Percentiles is the run's latency by percentile, as HdrHistogram's
	// percentile distribution lists it: closer together towards the tail.
	Percentiles []Percentile `json:"percentiles"`
	// ScenarioYAML is the scenario as run, secrets redacted.
	ScenarioYAML string `json:"scenario_yaml,omitempty"`
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

// Interval is one folded interval: every shard's snapshot of it merged.
// Its rate is computed over Width (the snapshot interval) when set, else
// over End-Start.
type Interval struct {
	Start, End time.Time
	Width      time.Duration
	Data       *hist.Snapshot
	// Workers is how many workers reported the interval.
	Workers int
}

// Input is everything a report is built from.
type Input struct {
	RunID, ScenarioID, Status string
	StartedAt, EndedAt        time.Time
	TargetBaseURL             string
	WorkerCount               int
	TemporalWorkflowID        string
	Plan                      *scenario.Plan
	Intervals                 []Interval // in time order
	Workers                   []Worker
	Events                    []Event
	Gaps                      []Gap
	// Baseline supplies metric values for baseline thresholds (nil: none).
	Baseline *Report
	// ScenarioYAML is the scenario as run, secrets redacted.
	ScenarioYAML string
}

// Build makes the report from in.Intervals; an interval that cannot be
// added (see Add) is left out.
func Build(in Input) *Report {
	b := NewBuilder(in)
	for _, iv := range in.Intervals {
		_ = b.Add(iv)
	}
	return b.Report()
}

// Folded is one folded interval as the store keeps it: its encoding, and
// the figures of it that its series point shows, computed when it was
// folded so that a report never decodes an interval for them.
type Folded struct {
	Start time.Time
	End   time.Time // when the interval's data ends
	// Width is the snapshot interval the rate is computed over; End-Start
	// when zero.
	Width            time.Duration
	Data             []byte // encoded, folded hist.Snapshot
	Requests, Errors uint64
	P50, P95, P99    int64 // µs, over every step
	VUs, Workers     int

	P90, Max                 int64 // µs
	TargetVUs                float64
	Dropped                  uint64
	BytesSent, BytesReceived uint64
	StatusCodes              map[string]uint64
	ErrorsByClass            map[string]uint64
	VUsByWorker              map[string]int
	Steps                    []StepFolded
}

// StepFolded is one step's part of a folded interval (latencies in µs),
// as the fold stores it in an interval's summary.
type StepFolded struct {
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	P50      int64  `json:"p50_us"`
	P95      int64  `json:"p95_us"`
	P99      int64  `json:"p99_us"`
}

// Builder makes a report from intervals added one at a time, so that a long
// run's report needs the memory of its totals, not of all its intervals:
// each interval's encoding is added into one count array per step.
type Builder struct {
	in       Input
	acc      hist.Accumulator
	series   []Point
	baseline string
}

// NewBuilder starts a report; in.Intervals is ignored.
func NewBuilder(in Input) *Builder {
	b := &Builder{in: in, series: []Point{}}
	b.acc.NoGauges = true // VUs are per interval (in the series), never summed over a run
	return b
}

// Add folds one decoded interval in; intervals are added in time order.
// An interval that does not encode (or belongs to another run than the
// first) is refused with an error and changes nothing.
func (b *Builder) Add(iv Interval) error {
	data, err := iv.Data.MarshalBinary()
	if err != nil {
		return fmt.Errorf("report: interval ending %s: %w", iv.End.Format(time.RFC3339), err)
	}
	t := iv.Data.Total()
	f := Folded{Start: iv.Start, End: iv.End, Width: iv.Width, Data: data, Requests: t.Requests, Errors: t.Errors,
		VUs: int(iv.Data.ActiveVUs), Workers: iv.Workers, TargetVUs: float64(iv.Data.TargetVUs), Dropped: iv.Data.Dropped,
		BytesSent: t.BytesSent, BytesReceived: t.BytesReceived, StatusCodes: StatusCodes(t.Status), ErrorsByClass: ErrorClasses(t.Classes)}
	if t.Latency.TotalCount() > 0 {
		l := t.Latency
		f.P50, f.P90, f.P95, f.P99, f.Max = l.ValueAtQuantile(50), l.ValueAtQuantile(90), l.ValueAtQuantile(95), l.ValueAtQuantile(99), l.Max()
	}
	for i := range iv.Data.Steps {
		st := &iv.Data.Steps[i]
		sf := StepFolded{Requests: st.Requests, Errors: st.Errors}
		if st.Latency != nil && st.Latency.TotalCount() > 0 {
			sf.P50, sf.P95, sf.P99 = st.Latency.ValueAtQuantile(50), st.Latency.ValueAtQuantile(95), st.Latency.ValueAtQuantile(99)
		}
		f.Steps = append(f.Steps, sf)
	}
	return b.AddFolded(f)
}

// AddFolded adds one stored interval; intervals are added in time order. An
// encoding that is corrupt or of another shape is refused with an error and
// changes nothing.
func (b *Builder) AddFolded(f Folded) error {
	if _, err := b.acc.Add(f.Data); err != nil {
		return fmt.Errorf("report: interval ending %s: %w", f.End.Format(time.RFC3339), err)
	}
	b.series = append(b.series, SeriesPoint(b.in.StartedAt, f))
	return nil
}

// SetWorkers sets what each worker did.
func (b *Builder) SetWorkers(w []Worker) { b.in.Workers = w }

// SetEvents sets the run's events.
func (b *Builder) SetEvents(e []Event) { b.in.Events = e }

// SetGaps sets the run's measurement gaps.
func (b *Builder) SetGaps(g []Gap) { b.in.Gaps = g }

// SetBaselineRunID names the run baseline thresholds were measured against.
func (b *Builder) SetBaselineRunID(id string) { b.baseline = id }

// SetEnded sets when the run's load ended, which rates are computed over.
func (b *Builder) SetEnded(t time.Time) { b.in.EndedAt = t }

// Report returns the report of everything added.
func (b *Builder) Report() *Report {
	in := b.in
	r := &Report{
		RunID: in.RunID, ScenarioID: in.ScenarioID, Status: in.Status,
		StartedAt: in.StartedAt.UTC(), EndedAt: in.EndedAt.UTC(), TargetBaseURL: in.TargetBaseURL,
		WorkerCount: in.WorkerCount, TemporalWorkflowID: in.TemporalWorkflowID,
		Workers: nonNil(in.Workers), Events: nonNil(in.Events), Series: b.series, BaselineRunID: b.baseline,
		MeasurementGaps: nonNil(in.Gaps), ScenarioYAML: in.ScenarioYAML,
	}
	steps, total := b.steps()
	if in.Plan != nil {
		r.Scenario = in.Plan.Name
	}
	secs := in.EndedAt.Sub(in.StartedAt).Seconds()
	r.Totals = totals(&total, b.acc.Header().Dropped, secs)
	r.LatencyMS = summarize(&total)
	r.StatusCodes = StatusCodes(total.Status)
	r.ErrorsByClass = ErrorClasses(total.Classes)
	r.Steps = stepLines(in.Plan, steps)
	r.Histogram = buckets(&total)
	r.Percentiles = percentiles(&total)
	r.Thresholds = evaluate(in, r, steps, secs)
	return r
}

// steps returns every step's sums (at least the plan's steps, empty when
// nothing was added) and all of them merged.
func (b *Builder) steps() ([]hist.StepStats, hist.StepStats) {
	var steps []hist.StepStats
	total := emptyStats()
	if s := b.acc.Snapshot(); s != nil {
		steps, total = s.Steps, b.acc.Total()
	}
	if b.in.Plan != nil {
		for len(steps) < len(b.in.Plan.Steps) {
			steps = append(steps, emptyStats())
		}
	}
	return steps, total
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

func emptyStats() hist.StepStats {
	return hist.StepStats{Latency: hist.NewHistogram(), Status: map[int]uint64{}, Classes: map[hist.ErrorClass]uint64{}}
}

func totals(t *hist.StepStats, dropped uint64, secs float64) Totals {
	out := Totals{
		Requests: t.Requests, Errors: t.Errors, BytesSent: t.BytesSent, BytesReceived: t.BytesReceived,
		DroppedIterations: dropped, ChecksPassed: t.ChecksPassed, ChecksFailed: t.ChecksFailed,
	}
	out.ErrorRate = ratio(t.Errors, t.Requests)
	if secs > 0 {
		out.RPS = round(float64(t.Requests)/secs, 3)
	}
	return out
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

func summarize(s *hist.StepStats) Latency {
	h := s.Latency
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Min: ms(h.Min()), Mean: round(h.Mean()/1000, 3), Max: ms(h.Max()),
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P95: ms(h.ValueAtQuantile(95)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)),
	}
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
		}
		out[i] = line
	}
	return out
}

// SeriesPoint is the report's series point of a stored interval, for a run
// started at started. Live views show the same figures for the interval.
func SeriesPoint(started time.Time, f Folded) Point {
	// Over the interval's width, or over the span its data covers when that
	// is shorter: the run's last, partial interval (its tail).
	secs := f.End.Sub(f.Start).Seconds()
	if f.Width > 0 && (secs <= 0 || f.Width.Seconds() < secs) {
		secs = f.Width.Seconds()
	}
	p := Point{
		T: round(f.End.Sub(started).Seconds(), 3), ErrorRate: ratio(f.Errors, f.Requests),
		VUs: f.VUs, Workers: f.Workers, Requests: f.Requests, Errors: f.Errors, TargetVUs: f.TargetVUs,
		Dropped: f.Dropped, BytesSent: f.BytesSent, BytesReceived: f.BytesReceived,
		StatusCodes: nonEmpty(f.StatusCodes), ErrorsByClass: nonEmpty(f.ErrorsByClass), VUsByWorker: nonEmpty(f.VUsByWorker),
	}
	if secs > 0 {
		p.RPS = round(float64(f.Requests)/secs, 3)
	}
	if f.Requests > 0 {
		p.P50, p.P90, p.P95, p.P99, p.Max = ms(f.P50), ms(f.P90), ms(f.P95), ms(f.P99), ms(f.Max)
	}
	if len(f.Steps) > 0 {
		p.Steps = make([]StepPoint, len(f.Steps))
		for i, st := range f.Steps {
			p.Steps[i] = StepPoint{Requests: st.Requests, Errors: st.Errors}
			if st.Requests > 0 {
				p.Steps[i].P50, p.Steps[i].P95, p.Steps[i].P99 = ms(st.P50), ms(st.P95), ms(st.P99)
			}
		}
	}
	return p
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
		if bar.Count == 0 {
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
			out = append(out, Percentile{Percentile: round(p, 9), MS: ms(h.ValueAtQuantile(p))})
		}
	}
	return append(out, Percentile{Percentile: 100, MS: ms(h.Max())})
}
