package reports

import (
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

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
	// Samples and Traces are what the workers sent as response_sample and
	// slow_traces events.
	Samples []SampleEvent
	Traces  []TracesEvent
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
	Iterations               uint64
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
		Iterations: iv.Data.Iterations, BytesSent: t.BytesSent, BytesReceived: t.BytesReceived, StatusCodes: StatusCodes(t.Status), ErrorsByClass: ErrorClasses(t.Classes)}
	if t.Latency.TotalCount() > 0 {
		l := t.Latency
		f.P50, f.P90, f.P95, f.P99, f.Max = hist.Percentile(l, 50), hist.Percentile(l, 90), hist.Percentile(l, 95), hist.Percentile(l, 99), l.Max()
	}
	for i := range iv.Data.Steps {
		st := &iv.Data.Steps[i]
		sf := StepFolded{Requests: st.Requests, Errors: st.Errors}
		if st.Latency != nil && st.Latency.TotalCount() > 0 {
			sf.P50, sf.P95, sf.P99 = hist.Percentile(st.Latency, 50), hist.Percentile(st.Latency, 95), hist.Percentile(st.Latency, 99)
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
		r.Scenario, r.Env = in.Plan.Name, in.Plan.Env
	}
	secs := in.EndedAt.Sub(in.StartedAt).Seconds()
	head := b.acc.Header()
	r.Totals = totals(&total, &head, secs)
	r.LatencyMS = summarize(&total)
	r.StatusCodes = StatusCodes(total.Status)
	r.ErrorsByClass = ErrorClasses(total.Classes)
	r.Steps = stepLines(in.Plan, steps)
	r.Flows = flowLines(in.Plan, steps, total.Requests, secs)
	attachObservations(r.Steps, in)
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
		Dropped: f.Dropped, Iterations: f.Iterations, BytesSent: f.BytesSent, BytesReceived: f.BytesReceived,
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
