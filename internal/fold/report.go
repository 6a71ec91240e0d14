package fold

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

// reportPage is how many stored intervals a report reads at a time: its
// memory stays that of a page, whatever the run's length.
const reportPage = 256

// BuildReport builds a run's report — final, or so far — from its stored
// folded intervals. An interval whose stored snapshots outnumber what its
// row folded (a snapshot stored after the fold, or a fold lost with a
// server) is folded again and stored first; an interval whose raw
// snapshots were compacted away is read as stored. progress, when not
// nil, is called after each page of intervals with how many are done, so
// that a caller can show it is alive (the report activity heartbeats).
func BuildReport(ctx context.Context, st Store, runID string, progress func(done int)) (*reports.Report, error) {
	r, err := st.GetRun(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("report of run %s: %w", runID, err)
	}
	in, gapEvents, err := reportInput(ctx, st, r)
	if err != nil {
		return nil, err
	}
	// A running run's intervals are the live fold's to store: its report so
	// far reads them as they are. A finished run's are made complete first.
	if store.Finished(r.Status) {
		if _, err := Refresh(ctx, st, r, progress); err != nil {
			return nil, err
		}
	}
	done := 0
	b := reports.NewBuilder(in)
	workers := map[string]*reports.Worker{}
	shardEnds := map[int]time.Time{} // how far each shard's data reaches
	var lastEnd time.Time
	width := Width(r)
	for after := int64(-1); ; {
		rows, err := st.ListIntervals(ctx, r.ID, after, reportPage)
		if err != nil {
			return nil, fmt.Errorf("intervals of run %s: %w", r.ID, err)
		}
		for i := range rows {
			row := &rows[i]
			sum, err := ReadSummary(row)
			if err != nil {
				return nil, err
			}
			if err := b.AddFolded(Folded(row, sum, width)); err != nil {
				return nil, fmt.Errorf("report of run %s: %w", r.ID, err)
			}
			addWorkers(workers, sum)
			reach(shardEnds, row, sum)
			if sum.DataEnd.After(lastEnd) {
				lastEnd = sum.DataEnd
			}
			after = row.Index
		}
		done += len(rows)
		if progress != nil {
			progress(done)
		}
		if len(rows) < reportPage {
			break
		}
	}
	b.SetWorkers(workerList(workers))
	gaps := measured(in.Gaps, shardEnds, in.StartedAt)
	b.SetGaps(open(gaps))
	// A gap's event says what the gap says now.
	for i, e := range gapEvents {
		in.Events[e].Detail = GapDetail(in.Gaps[i], gaps[i])
	}
	b.SetEvents(in.Events)
	b.SetBaselineRunID(r.BaselineRunID)
	if !lastEnd.IsZero() && (in.EndedAt.IsZero() || lastEnd.Before(in.EndedAt)) {
		// Rates are over the time load ran, not including the report's making.
		b.SetEnded(lastEnd)
	} else if in.EndedAt.IsZero() {
		// A run so far ends now, or at its start while it is queued.
		b.SetEnded(later(time.Now(), in.StartedAt))
	}
	return b.Report(), nil
}

// reportInput gathers what a report says besides its intervals.
// reportInput also returns where in.Events has each of in.Gaps' events.
func reportInput(ctx context.Context, st Store, r *store.Run) (reports.Input, []int, error) {
	var gapEvents []int
	plan, err := CompileRun(r)
	if err != nil {
		return reports.Input{}, nil, err
	}
	status, _ := r.Shown(time.Now())
	in := reports.Input{
		RunID: r.ID, ScenarioID: r.ScenarioID, Status: string(status), TargetBaseURL: r.TargetBaseURL,
		WorkerCount: r.WorkerCount, TemporalWorkflowID: r.WorkflowID, Plan: plan,
		StartedAt: r.Epoch, EndedAt: r.EndedAt,
	}
	if in.StartedAt.IsZero() {
		in.StartedAt = r.CreatedAt
	}
	in.ScenarioYAML, _ = scenario.RedactedYAML(r.Scenario) // it compiled: it parses
	events, err := st.ListEvents(ctx, r.ID)
	if err != nil {
		return reports.Input{}, nil, fmt.Errorf("events of run %s: %w", r.ID, err)
	}
	for _, e := range events {
		if observation(&in, e) {
			continue // shown in its step, not in the timeline
		}
		in.Events = append(in.Events, reports.Event{T: round3(e.At.Sub(in.StartedAt).Seconds()), Kind: e.Kind, Detail: e.Detail})
		var g reports.Gap
		if e.Kind == "measurement_gap" && json.Unmarshal(e.Data, &g) == nil {
			// (One without its figures says what it says, in events only.)
			in.Gaps = append(in.Gaps, g)
			gapEvents = append(gapEvents, len(in.Events)-1)
		}
	}
	if r.BaselineRunID != "" {
		// A baseline without a stored report leaves baseline thresholds
		// unevaluated (each says why) rather than failing the report.
		if body, err := st.GetReport(ctx, r.BaselineRunID); err == nil {
			in.Baseline, _ = reports.Parse(body)
		}
	}
	return in, gapEvents, nil
}

// observation adds a response_sample or slow_traces event's data to in
// and reports whether e was one (one whose data does not parse is left
// out).
func observation(in *reports.Input, e store.Event) bool {
	switch e.Kind {
	case reports.KindResponseSample:
		var s reports.SampleEvent
		if json.Unmarshal(e.Data, &s) == nil {
			in.Samples = append(in.Samples, s)
		}
		return true
	case reports.KindSlowTraces:
		var t reports.TracesEvent
		if json.Unmarshal(e.Data, &t) == nil {
			in.Traces = append(in.Traces, t)
		}
		return true
	}
	return false
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Refresh folds, and stores, every interval of a run whose stored
// snapshots outnumber what its stored row folded, that has no row, or whose
// row has no summary (folded by an older version), and returns how many it
// stored. progress (may be nil) learns how many intervals it folded so far.
func Refresh(ctx context.Context, st Store, r *store.Run, progress func(done int)) (int, error) {
	counts, err := st.CountSnapshots(ctx, r.ID)
	if err != nil {
		return 0, fmt.Errorf("snapshots of run %s: %w", r.ID, err)
	}
	if progress != nil {
		progress(0)
	}
	folded := map[int64]int{}
	for after := int64(-1); ; {
		rows, err := st.ListIntervals(ctx, r.ID, after, reportPage)
		if err != nil {
			return 0, fmt.Errorf("intervals of run %s: %w", r.ID, err)
		}
		for _, row := range rows {
			folded[row.Index] = row.Snapshots
			if len(row.Summary) == 0 {
				folded[row.Index] = 0 // no per-worker figures: fold it again
			}
			after = row.Index
		}
		if len(rows) < reportPage {
			break
		}
	}
	var stale []int64
	for k, n := range counts {
		if n > folded[k] {
			stale = append(stale, k)
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i] < stale[j] })
	var f Folder
	stored := 0
	for i, k := range stale {
		if progress != nil {
			progress(i)
		}
		snaps, err := st.ListSnapshots(ctx, r.ID, k)
		if err != nil {
			return 0, fmt.Errorf("snapshots of run %s interval %d: %w", r.ID, k, err)
		}
		row, _, err := f.Interval(r, k, snaps)
		if err != nil {
			return 0, err
		}
		if row == nil {
			continue
		}
		if err := st.PutInterval(ctx, row); err != nil {
			return 0, fmt.Errorf("store run %s interval %d: %w", r.ID, k, err)
		}
		stored++
	}
	return stored, nil
}

// folded turns a stored row and its summary into what a report adds.
// Folded is a stored interval as reports read it.
func Folded(row *store.Interval, sum *Summary, width time.Duration) reports.Folded {
	end := sum.DataEnd
	if end.IsZero() {
		end = row.End
	}
	f := reports.Folded{
		Start: row.Start, End: end, Width: width, Data: row.Data, Requests: sum.Requests, Errors: sum.Errors,
		P50: sum.P50, P95: sum.P95, P99: sum.P99, VUs: int(sum.VUs), Workers: row.Workers,
		P90: sum.P90, Max: sum.Max, TargetVUs: float64(sum.TargetVUs), Dropped: sum.Dropped, Iterations: sum.Iterations,
		BytesSent: sum.BytesSent, BytesReceived: sum.BytesReceived, StatusCodes: sum.StatusCodes, ErrorsByClass: sum.ErrorsByClass,
		VUsByWorker: make(map[string]int, len(sum.Workers)), Steps: sum.Steps,
	}
	for id, w := range sum.Workers {
		f.VUsByWorker[id] = int(w.VUs)
	}
	return f
}

func addWorkers(into map[string]*reports.Worker, sum *Summary) {
	for id, w := range sum.Workers {
		rw := into[id]
		if rw == nil {
			rw = &reports.Worker{ID: id}
			into[id] = rw
		}
		rw.Requests += w.Requests
		for _, sh := range w.Shards {
			if !slices.Contains(rw.Shards, sh) {
				rw.Shards = append(rw.Shards, sh)
			}
		}
	}
}

func workerList(m map[string]*reports.Worker) []reports.Worker {
	out := make([]reports.Worker, 0, len(m))
	for _, w := range m {
		sort.Ints(w.Shards)
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reach notes how far each shard of an interval has data: to the end of the
// interval, or of its data when that is sooner.
func reach(ends map[int]time.Time, row *store.Interval, sum *Summary) {
	end := row.End
	if !sum.DataEnd.IsZero() && sum.DataEnd.Before(end) {
		end = sum.DataEnd
	}
	for _, w := range sum.Workers {
		for _, sh := range w.Shards {
			if end.After(ends[sh]) {
				ends[sh] = end
			}
		}
	}
}

// measured trims the declared gaps to what the stored data does not cover:
// a shard declared lost that was only cut off from the server delivers its
// snapshots later, and a gap they cover was not one. The estimate shrinks
// with the span. out[i] is gaps[i] as it stands; ToT == FromT: covered.
func measured(gaps []reports.Gap, shardEnds map[int]time.Time, started time.Time) []reports.Gap {
	out := make([]reports.Gap, len(gaps))
	for i, g := range gaps {
		from := g.FromT
		if end, ok := shardEnds[g.Shard]; ok {
			from = max(from, round3(end.Sub(started).Seconds()))
		}
		switch {
		case from >= g.ToT:
			g.FromT, g.EstimatedRequests = g.ToT, 0
		case from > g.FromT:
			g.EstimatedRequests = uint64(math.Round(float64(g.EstimatedRequests) * (g.ToT - from) / (g.ToT - g.FromT)))
			g.FromT = from
		}
		out[i] = g
	}
	return out
}

// open keeps the gaps that are still gaps.
func open(gaps []reports.Gap) []reports.Gap {
	out := []reports.Gap{}
	for _, g := range gaps {
		if g.ToT > g.FromT {
			out = append(out, g)
		}
	}
	return out
}

// GapDetail is a gap event's sentence for the report, once the data is in.
func GapDetail(declared, now reports.Gap) string {
	switch {
	case now.ToT <= now.FromT:
		return fmt.Sprintf("%s (shard %d) was declared lost at %.1f s, but its snapshots came later: everything it sent was measured", declared.Worker, declared.Shard, declared.ToT)
	case now.FromT > declared.FromT:
		return fmt.Sprintf("≈%d requests by %s (shard %d) in its last %.1f s were not measured (%s; later snapshots covered the rest of what was declared)",
			now.EstimatedRequests, now.Worker, now.Shard, now.ToT-now.FromT, now.Reason)
	}
	return fmt.Sprintf("≈%d requests by %s (shard %d) in its last %.1f s were not measured (%s)",
		now.EstimatedRequests, now.Worker, now.Shard, now.ToT-now.FromT, now.Reason)
}
