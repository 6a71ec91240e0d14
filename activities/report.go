package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

// Folded is one interval with every stored snapshot of it merged.
type Folded struct {
	Data             *hist.Snapshot
	VUsByWorker      map[string]uint32
	RequestsByWorker map[string]uint64
	ShardsByWorker   map[string][]int
}

// FoldInterval decodes and merges the stored snapshots of one interval. It
// returns nil when the interval has none.
func FoldInterval(snaps []store.Snapshot) (*Folded, error) {
	if len(snaps) == 0 {
		return nil, nil
	}
	f := &Folded{VUsByWorker: map[string]uint32{}, RequestsByWorker: map[string]uint64{}, ShardsByWorker: map[string][]int{}}
	decoded := make([]*hist.Snapshot, 0, len(snaps))
	// A shard may have two snapshots in one interval (its last one, a
	// retry's first one): its VUs are those of the latest, not the sum.
	latest := map[int]*hist.Snapshot{}
	latestWorker := map[int]string{}
	for _, s := range snaps {
		d, err := hist.Decode(s.Data)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s/%d/%d/%d: %w", s.RunID, s.Shard, s.Attempt, s.Seq, err)
		}
		decoded = append(decoded, d)
		if l := latest[s.Shard]; l == nil || d.End.After(l.End) {
			latest[s.Shard], latestWorker[s.Shard] = d, s.Worker
		}
		t := d.Total()
		f.RequestsByWorker[s.Worker] += t.Requests
		if sh := f.ShardsByWorker[s.Worker]; !containsInt(sh, s.Shard) {
			f.ShardsByWorker[s.Worker] = append(sh, s.Shard)
		}
	}
	data, err := hist.Fold(decoded)
	if err != nil {
		return nil, err
	}
	data.ActiveVUs, data.TargetVUs = 0, 0
	for shard, d := range latest {
		data.ActiveVUs += d.ActiveVUs
		data.TargetVUs += d.TargetVUs
		f.VUsByWorker[latestWorker[shard]] += d.ActiveVUs
	}
	f.Data = data
	return f, nil
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// BuildRunReport builds a run's report — final, or so far — from its stored
// snapshots, one interval at a time.
func BuildRunReport(ctx context.Context, st store.Store, runID string) (*reports.Report, error) {
	r, err := st.GetRun(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("report of run %s: %w", runID, err)
	}
	plan, err := CompileRun(r)
	if err != nil {
		return nil, err
	}
	in := reports.Input{
		RunID: r.ID, ScenarioID: r.ScenarioID, Status: r.Status, TargetBaseURL: r.TargetBaseURL,
		WorkerCount: r.WorkerCount, TemporalWorkflowID: r.WorkflowID, Plan: plan,
		StartedAt: r.Epoch, EndedAt: r.EndedAt,
	}
	if in.StartedAt.IsZero() {
		in.StartedAt = r.CreatedAt
	}
	events, err := st.ListEvents(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	for _, e := range events {
		in.Events = append(in.Events, reports.Event{T: round3(e.At.Sub(in.StartedAt).Seconds()), Kind: e.Kind, Detail: e.Detail})
	}
	if r.BaselineRunID != "" {
		// A baseline without a stored report leaves baseline thresholds
		// unevaluated (each says why) rather than failing the report.
		if body, err := st.GetReport(ctx, r.BaselineRunID); err == nil {
			var base reports.Report
			if json.Unmarshal(body, &base) == nil {
				in.Baseline = &base
			}
		}
	}
	b, workers, lastEnd, err := foldAll(ctx, st, r, in)
	if err != nil {
		return nil, err
	}
	b.SetWorkers(workers)
	b.SetBaselineRunID(r.BaselineRunID)
	if !lastEnd.IsZero() && (in.EndedAt.IsZero() || lastEnd.Before(in.EndedAt)) {
		// Rates are over the time load ran, not including the report's making.
		b.SetEnded(lastEnd)
	} else if in.EndedAt.IsZero() {
		b.SetEnded(time.Now())
	}
	return b.Report(), nil
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// foldAll re-folds every interval from the stored snapshots: the report
// never depends on what a live fold saw.
func foldAll(ctx context.Context, st store.Store, r *store.Run, in reports.Input) (*reports.Builder, []reports.Worker, time.Time, error) {
	b := reports.NewBuilder(in)
	folded, err := st.ListIntervals(ctx, r.ID, -1)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("intervals of run %s: %w", r.ID, err)
	}
	last := int64(-1)
	if n := len(folded); n > 0 {
		last = folded[n-1].Index
	}
	interval := time.Duration(max(r.IntervalMS, 1)) * time.Millisecond
	if !r.EndedAt.IsZero() && !r.Epoch.IsZero() {
		last = max(last, int64(r.EndedAt.Sub(r.Epoch)/interval)+1)
	}
	type workerStat struct {
		shards   map[int]bool
		requests uint64
	}
	stats := map[string]*workerStat{}
	var lastEnd time.Time
	for k := int64(0); k <= last; k++ {
		snaps, err := st.ListSnapshots(ctx, r.ID, k)
		if err != nil {
			return nil, nil, time.Time{}, fmt.Errorf("snapshots of run %s interval %d: %w", r.ID, k, err)
		}
		f, err := FoldInterval(snaps)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		if f == nil {
			continue
		}
		for w, n := range f.RequestsByWorker {
			ws := stats[w]
			if ws == nil {
				ws = &workerStat{shards: map[int]bool{}}
				stats[w] = ws
			}
			ws.requests += n
			for _, sh := range f.ShardsByWorker[w] {
				ws.shards[sh] = true
			}
		}
		start := r.Epoch.Add(time.Duration(k) * interval)
		b.Add(reports.Interval{Start: start, End: f.Data.End, Width: interval, Data: f.Data, Workers: len(f.RequestsByWorker)})
		if f.Data.End.After(lastEnd) {
			lastEnd = f.Data.End
		}
	}
	out := make([]reports.Worker, 0, len(stats))
	for id, ws := range stats {
		w := reports.Worker{ID: id, Requests: ws.requests}
		for s := range ws.shards {
			w.Shards = append(w.Shards, s)
		}
		sort.Ints(w.Shards)
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return b, out, lastEnd, nil
}
