// Package fold turns a run's stored snapshots into folded intervals and a
// run's folded intervals into its report. Each interval is folded once,
// from the wire format (hist.Accumulator), and stored with a Summary: what
// live views and reports read of it. Readers never re-fold raw snapshots;
// only an interval whose snapshots changed after its fold (a late one) is
// folded again.
//
// It depends on the core, reports, the store's row types and a few small
// interfaces (SnapshotReader, IntervalWriter, Aborter, Clock, Store), so
// that its tests can pass a fake clock and a fake aborter.
//
// Usage:
//
//  1. CompileRun reads a stored run's scenario into its plan.
//  2. A Scheduler learns of each stored snapshot (Arrived) and folds the
//     run's intervals in order, each once every shard has sent it or a
//     grace after the first did; it enforces the scenario's abort_on error
//     rate through its Aborter.
//  3. Folding is Folder.Interval: the interval's snapshots into the row to
//     store (store.Interval, with Data and Summary).
//  4. Readers take ReadSummary of a stored row (SSE, exporters).
//  5. BuildReport makes a run's report from its stored rows, re-folding any
//     row whose snapshot count no longer matches the store; Compact drops
//     the raw snapshots of runs long over.
//  6. WriteHlog writes a run's folded intervals as HdrHistogram's interval
//     log (latency.hlog).
package fold

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/barrage/barrage/reports"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// Summary is what live views and reports read of a folded interval. Its
// JSON is stored beside the interval's encoded data.
type Summary struct {
	Requests  uint64 `json:"requests"`
	Errors    uint64 `json:"errors"`
	Dropped   uint64 `json:"dropped_iterations"`
	VUs       uint32 `json:"vus"`
	TargetVUs uint32 `json:"target_vus"`
	// Latency percentiles over every step, in µs as recorded.
	P50 int64 `json:"p50_us"`
	P90 int64 `json:"p90_us"`
	P95 int64 `json:"p95_us"`
	P99 int64 `json:"p99_us"`
	Max int64 `json:"max_us"`
	// DataEnd is when the interval's latest snapshot ends: the interval's
	// end, or earlier for the last one of a run.
	DataEnd time.Time `json:"data_end"`
	// Workers holds what each worker did in the interval, by worker ID.
	Workers map[string]WorkerFigures `json:"workers"`
	Steps   []StepFigures            `json:"steps"`
	// Bytes of the interval's messages, and its responses by status code
	// and errors by class (non-zero counts only; absent from rows folded
	// before they were added).
	BytesSent     uint64            `json:"bytes_sent,omitempty"`
	BytesReceived uint64            `json:"bytes_received,omitempty"`
	StatusCodes   map[string]uint64 `json:"status_codes,omitempty"`
	ErrorsByClass map[string]uint64 `json:"errors_by_class,omitempty"`
	// Iterations that ended in the interval (absent when none, and from
	// rows folded before it was added).
	Iterations uint64 `json:"iterations,omitempty"`
}

// WorkerFigures is one worker's part of an interval.
type WorkerFigures struct {
	Requests uint64 `json:"requests"`
	VUs      uint32 `json:"vus"`
	Shards   []int  `json:"shards"`
}

// StepFigures is one step's part of an interval (latencies in µs): the
// report's own type, so that a report reads it as stored.
type StepFigures = reports.StepFolded

// Folder folds intervals, reusing its count arrays from one to the next.
// It is not safe for concurrent use.
type Folder struct {
	acc hist.Accumulator
}

// Interval folds the stored snapshots of interval k of run r into the row
// to store, and returns its summary too. It returns nil, nil when snaps is
// empty. A snapshot that does not decode or does not belong with the others
// fails the fold: ingest validated each, so that means a damaged store.
func (f *Folder) Interval(r *store.Run, k int64, snaps []store.Snapshot) (*store.Interval, *Summary, error) {
	if len(snaps) == 0 {
		return nil, nil, nil
	}
	f.acc.Reset()
	sum := &Summary{Workers: map[string]WorkerFigures{}}
	// A shard may have two snapshots in one interval (its last one, a
	// retry's first one): its VUs are those of the latest, not the sum.
	type latest struct {
		end    time.Time
		vus    uint32
		target uint32
		worker string
	}
	last := map[int]latest{}
	for _, s := range snaps {
		h, err := f.acc.Add(s.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("fold run %s interval %d: snapshot %d/%d/%d: %w", r.ID, k, s.Shard, s.Attempt, s.Seq, err)
		}
		if l, ok := last[s.Shard]; !ok || h.End.After(l.end) {
			last[s.Shard] = latest{end: h.End, vus: h.ActiveVUs, target: h.TargetVUs, worker: s.Worker}
		}
		w := sum.Workers[s.Worker]
		for i := range h.Steps {
			w.Requests += h.Steps[i].Requests
		}
		if !slices.Contains(w.Shards, s.Shard) {
			w.Shards = append(w.Shards, s.Shard)
		}
		sum.Workers[s.Worker] = w
	}
	head := f.acc.Header()
	head.ActiveVUs, head.TargetVUs = 0, 0
	for _, l := range last {
		head.ActiveVUs += l.vus
		head.TargetVUs += l.target
		w := sum.Workers[l.worker]
		w.VUs += l.vus
		sum.Workers[l.worker] = w
	}
	for id, w := range sum.Workers {
		slices.Sort(w.Shards)
		sum.Workers[id] = w
	}
	data, err := f.acc.AppendBinary(nil, &head)
	if err != nil {
		return nil, nil, fmt.Errorf("fold run %s interval %d: %w", r.ID, k, err)
	}
	f.figures(sum, &head)
	summary, err := json.Marshal(sum)
	if err != nil {
		return nil, nil, fmt.Errorf("fold run %s interval %d: summary: %w", r.ID, k, err)
	}
	start, end := Bounds(r, k)
	row := &store.Interval{
		RunID: r.ID, Index: k, Start: start, End: end, Workers: len(sum.Workers), Snapshots: len(snaps),
		Data: data, Summary: summary, FoldedAt: time.Now(),
	}
	return row, sum, nil
}

// figures fills the summary's totals and percentiles from the fold.
func (f *Folder) figures(sum *Summary, head *hist.Snapshot) {
	sum.Dropped, sum.VUs, sum.TargetVUs, sum.DataEnd = head.Dropped, head.ActiveVUs, head.TargetVUs, head.End
	sum.Iterations = head.Iterations
	total := f.acc.Total()
	sum.Requests, sum.Errors = total.Requests, total.Errors
	sum.BytesSent, sum.BytesReceived = total.BytesSent, total.BytesReceived
	sum.StatusCodes, sum.ErrorsByClass = reports.StatusCodes(total.Status), reports.ErrorClasses(total.Classes)
	if total.Requests > 0 {
		l := total.Latency
		sum.P50, sum.P90, sum.P95, sum.P99, sum.Max = hist.Percentile(l, 50), hist.Percentile(l, 90), hist.Percentile(l, 95), hist.Percentile(l, 99), l.Max()
	}
	snap := f.acc.Snapshot()
	sum.Steps = make([]StepFigures, len(snap.Steps))
	for i := range snap.Steps {
		st := &snap.Steps[i]
		sf := StepFigures{Requests: st.Requests, Errors: st.Errors}
		if st.Requests > 0 {
			sf.P50, sf.P95, sf.P99 = hist.Percentile(st.Latency, 50), hist.Percentile(st.Latency, 95), hist.Percentile(st.Latency, 99)
		}
		sum.Steps[i] = sf
	}
}

// DefaultIntervalMS is a run's snapshot interval.
const DefaultIntervalMS = 1000

// Bounds returns interval k's wall-clock bounds.
func Bounds(r *store.Run, k int64) (start, end time.Time) {
	iv := Width(r)
	return r.Epoch.Add(time.Duration(k) * iv), r.Epoch.Add(time.Duration(k+1) * iv)
}

// Width returns a run's snapshot interval.
func Width(r *store.Run) time.Duration {
	return time.Duration(max(r.IntervalMS, 1)) * time.Millisecond
}

// ReadSummary returns a stored interval's summary. Intervals folded before
// summaries were stored have none: it is then derived from their data.
func ReadSummary(iv *store.Interval) (*Summary, error) {
	if len(iv.Summary) > 0 {
		var s Summary
		if err := json.Unmarshal(iv.Summary, &s); err != nil {
			return nil, fmt.Errorf("summary of run %s interval %d: %w", iv.RunID, iv.Index, err)
		}
		return &s, nil
	}
	var f Folder
	h, err := f.acc.Add(iv.Data)
	if err != nil {
		return nil, fmt.Errorf("interval %d of run %s: %w", iv.Index, iv.RunID, err)
	}
	sum := &Summary{Workers: map[string]WorkerFigures{}}
	f.figures(sum, h)
	return sum, nil
}

// CompileRun reads a stored run's scenario into a plan.
func CompileRun(r *store.Run) (*scenario.Plan, error) {
	s, err := scenario.ParseJSON(r.Scenario)
	if err != nil {
		return nil, fmt.Errorf("scenario of run %s: %w", r.ID, err)
	}
	return scenario.Compile(s)
}
