package fold

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

var epoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

const steps = 3

// fixture is a run in a real (SQLite) store, with helpers to put snapshots.
type fixture struct {
	t   *testing.T
	st  store.Store
	run *store.Run
	seq map[int]uint64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, r := storedRun(t, `name: fold
virtual_users: 6
duration_seconds: 10
steps:
  - {name: a, url_template: /a}
  - {name: b, url_template: /b}
  - {name: c, url_template: /c}
thresholds: ["p95 < 300ms"]
`, "run-1", 3)
	return &fixture{t: t, st: st, run: r, seq: map[int]uint64{}}
}

// storedRun stores a run of the scenario doc with this id and worker
// count, started at epoch, in a real (SQLite) store.
func storedRun(t *testing.T, doc, id string, workers int) (store.Store, *store.Run) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sc, err := scenario.ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	js, err := sc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateScenario(ctx, &store.Scenario{ID: "sc", Name: sc.Name, Document: js}); err != nil {
		t.Fatal(err)
	}
	r := &store.Run{ID: id, ScenarioID: "sc", Scenario: js, TargetBaseURL: "http://127.0.0.1:1", WorkerCount: workers,
		WorkflowID: id, Token: "t", IntervalMS: 1000}
	if err := st.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := st.StartRun(ctx, r.ID, epoch, 1000, epoch); err != nil {
		t.Fatal(err)
	}
	if r, err = st.GetRun(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	return st, r
}

// put stores shard's snapshot of interval k (ending early by cut), with
// an iteration done after every third request, and returns it decoded, as
// a fold would read it.
func (f *fixture) put(shard int, worker string, k int64, n int, cut time.Duration) *hist.Snapshot {
	f.t.Helper()
	rng := rand.New(rand.NewPCG(uint64(shard), uint64(k)))
	rec := hist.NewRecorder(steps)
	for i := range n {
		res := hist.Result{Latency: time.Duration(20*math.Exp(0.6*rng.NormFloat64())*1000) * time.Microsecond, Status: 200}
		if i%13 == 0 {
			res.Status, res.Class = 503, hist.ClassHTTP5xx
		}
		rec.Record(rng.IntN(steps), res)
		if i%3 == 2 {
			rec.AddIteration()
		}
	}
	start, end := Bounds(f.run, k)
	s := rec.Flush(start, end.Add(-cut))
	f.seq[shard]++
	s.RunID, s.Worker, s.Shard, s.Attempt, s.Seq, s.ActiveVUs, s.TargetVUs = f.run.ID, worker, uint32(shard), 1, f.seq[shard], 2, 2
	b, err := s.MarshalBinary()
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.PutSnapshot(f.t.Context(), &store.Snapshot{RunID: f.run.ID, Shard: shard, Attempt: 1, Seq: int64(s.Seq),
		Interval: k, Worker: worker, Data: b}); err != nil {
		f.t.Fatal(err)
	}
	d, err := hist.Decode(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) fold(k int64) (*store.Interval, *Summary) {
	f.t.Helper()
	snaps, err := f.st.ListSnapshots(f.t.Context(), f.run.ID, k)
	if err != nil {
		f.t.Fatal(err)
	}
	var fo Folder
	row, sum, err := fo.Interval(f.run, k, snaps)
	if err != nil {
		f.t.Fatal(err)
	}
	return row, sum
}

// TestIntervalFoldsOnceExactly: the stored row decodes to exactly what
// hist.Fold makes of the decoded snapshots, and its summary says what that
// fold says — totals, percentiles, per worker, per step.
func TestIntervalFoldsOnceExactly(t *testing.T) {
	f := newFixture(t)
	snaps := []*hist.Snapshot{
		f.put(0, "w-a", 4, 900, 0),
		f.put(1, "w-b", 4, 700, 0),
		f.put(2, "w-a", 4, 500, 0),
		f.put(1, "w-b", 4, 40, 300*time.Millisecond), // shard 1 again: its VUs count once
	}
	row, sum := f.fold(4)
	want, err := hist.Fold(snaps)
	if err != nil {
		t.Fatal(err)
	}
	want.ActiveVUs, want.TargetVUs = 6, 6
	got, err := hist.Decode(row.Data)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, _ := want.MarshalBinary()
	gotBytes, _ := got.MarshalBinary()
	if string(wantBytes) != string(gotBytes) {
		t.Fatalf("stored fold differs from hist.Fold: %+v vs %+v", got, want)
	}
	if row.Snapshots != 4 || row.Workers != 2 || row.Index != 4 || !row.Start.Equal(epoch.Add(4*time.Second)) {
		t.Fatalf("row = %d snapshots, %d workers, index %d, start %v", row.Snapshots, row.Workers, row.Index, row.Start)
	}
	total := want.Total()
	l := total.Latency
	wantSum := Summary{
		Requests: total.Requests, Errors: total.Errors, VUs: 6, TargetVUs: 6, Iterations: want.Iterations,
		P50: hist.Percentile(l, 50), P90: hist.Percentile(l, 90), P95: hist.Percentile(l, 95), P99: hist.Percentile(l, 99), Max: l.Max(),
		DataEnd:     want.End,
		StatusCodes: reports.StatusCodes(total.Status), ErrorsByClass: reports.ErrorClasses(total.Classes),
		BytesSent: total.BytesSent, BytesReceived: total.BytesReceived,
		Workers: map[string]WorkerFigures{
			"w-a": {Requests: 1400, VUs: 4, Shards: []int{0, 2}},
			"w-b": {Requests: 740, VUs: 2, Shards: []int{1}},
		},
	}
	for i := range want.Steps {
		st := &want.Steps[i]
		wantSum.Steps = append(wantSum.Steps, StepFigures{Requests: st.Requests, Errors: st.Errors,
			P50: hist.Percentile(st.Latency, 50), P95: hist.Percentile(st.Latency, 95), P99: hist.Percentile(st.Latency, 99)})
	}
	if !reflect.DeepEqual(*sum, wantSum) {
		t.Fatalf("summary\n got %+v\nwant %+v", *sum, wantSum)
	}
	// What is stored reads back as the same summary; a row without one
	// (folded before summaries existed) derives its totals from its data.
	back, err := ReadSummary(row)
	if err != nil || !reflect.DeepEqual(back, sum) {
		t.Fatalf("ReadSummary = %+v, %v", back, err)
	}
	old := *row
	old.Summary = nil
	derived, err := ReadSummary(&old)
	if err != nil {
		t.Fatal(err)
	}
	if derived.Requests != sum.Requests || derived.P99 != sum.P99 || derived.VUs != sum.VUs || !reflect.DeepEqual(derived.Steps, sum.Steps) {
		t.Fatalf("derived summary %+v, want the stored one's figures %+v", derived, sum)
	}
}

// TestBuildReportFromFoldedIntervals: the report built from stored rows is
// the report of every snapshot re-folded (what reports were built from
// before), including intervals that were never folded or that got a late
// snapshot after their fold; those are stored refolded.
func TestBuildReportFromFoldedIntervals(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	byInterval := map[int64][]*hist.Snapshot{}
	for k := int64(0); k < 6; k++ {
		for shard := range 3 {
			byInterval[k] = append(byInterval[k], f.put(shard, []string{"w-a", "w-b", "w-c"}[shard], k, 200+100*shard, 0))
		}
		if k == 3 {
			continue // never folded (a server died before it)
		}
		row, _ := f.fold(k)
		if err := f.st.PutInterval(ctx, row); err != nil {
			t.Fatal(err)
		}
	}
	byInterval[1] = append(byInterval[1], f.put(2, "w-c", 1, 77, 0)) // late: after interval 1 was folded
	if err := f.st.FinishRun(ctx, f.run.ID, store.StatusCompleted, "", epoch.Add(6*time.Second)); err != nil {
		t.Fatal(err)
	}

	got, err := BuildReport(ctx, f.st, f.run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := oldReport(t, f, byInterval)
	// Reports built from decoded intervals never knew each worker's VUs,
	// nor a target not summed over a shard's parts: the folded rows have
	// them right, and the rest of the point must be the same.
	if len(got.Series) != len(want.Series) {
		t.Fatalf("%d series points, want %d", len(got.Series), len(want.Series))
	}
	for i := range got.Series {
		p := &got.Series[i]
		vus := 0
		for _, n := range p.VUsByWorker {
			vus += n
		}
		if p.TargetVUs != 6 || vus != p.VUs || len(p.VUsByWorker) != 3 {
			t.Errorf("point %d: target %v, VUs by worker %v (VUs %d)", i, p.TargetVUs, p.VUsByWorker, p.VUs)
		}
		want.Series[i].TargetVUs, want.Series[i].VUsByWorker = p.TargetVUs, p.VUsByWorker
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("report from folded intervals\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if got.Totals.Requests != 6*(200+300+400)+77 {
		t.Fatalf("report counts %d requests", got.Totals.Requests)
	}
	// Iterations: every snapshot's, the late one's and those of the
	// interval never folded live included; each point has its interval's.
	var iterations uint64
	for k, snaps := range byInterval {
		var n uint64
		for _, s := range snaps {
			n += s.Iterations
		}
		if p := got.Series[k]; p.Iterations != n {
			t.Errorf("point %d: %d iterations, want %d", k, p.Iterations, n)
		}
		iterations += n
	}
	if iterations != 6*(66+100+133)+25 || got.Totals.Iterations != iterations {
		t.Fatalf("report counts %d iterations, the snapshots %d", got.Totals.Iterations, iterations)
	}
	rows, err := f.st.ListIntervals(ctx, f.run.ID, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || rows[1].Snapshots != 4 || rows[3].Snapshots != 3 {
		t.Fatalf("after the report: %d rows; interval 1 folded %d snapshots, interval 3 %d", len(rows), rows[1].Snapshots, rows[3].Snapshots)
	}
}

// oldReport builds the report as it was built before intervals were stored
// with summaries: every interval decoded and re-folded with hist.Fold.
func oldReport(t *testing.T, f *fixture, byInterval map[int64][]*hist.Snapshot) *reports.Report {
	t.Helper()
	ctx := t.Context()
	r, err := f.st.GetRun(ctx, f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := reportInput(context.Background(), f.st, r)
	if err != nil {
		t.Fatal(err)
	}
	b := reports.NewBuilder(in)
	var workers []reports.Worker
	var last time.Time
	for k := int64(0); k < 6; k++ {
		d, err := hist.Fold(byInterval[k])
		if err != nil {
			t.Fatal(err)
		}
		d.ActiveVUs = 6
		start, _ := Bounds(r, k)
		if err := b.Add(reports.Interval{Start: start, End: d.End, Width: time.Second, Data: d, Workers: 3}); err != nil {
			t.Fatal(err)
		}
		last = d.End
	}
	for i, id := range []string{"w-a", "w-b", "w-c"} {
		w := reports.Worker{ID: id, Shards: []int{i}, Requests: uint64(6 * (200 + 100*i))}
		if i == 2 {
			w.Requests += 77
		}
		workers = append(workers, w)
	}
	b.SetWorkers(workers)
	if last.Before(r.EndedAt) {
		b.SetEnded(last)
	}
	return b.Report()
}

// TestCompactKeepsTheReport: compacting a finished run folds what was not
// folded yet, deletes its raw snapshots, and its report built afterwards,
// from folded intervals alone, is the report built before.
func TestCompactKeepsTheReport(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for k := int64(0); k < 4; k++ {
		for shard := range 2 {
			f.put(shard, []string{"w-a", "w-b"}[shard], k, 300, 0)
		}
		if k != 2 {
			row, _ := f.fold(k)
			if err := f.st.PutInterval(ctx, row); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.put(1, "w-b", 3, 50, 0) // late, after interval 3's fold
	ended := epoch.Add(4 * time.Second)
	if err := f.st.FinishRun(ctx, f.run.ID, store.StatusCompleted, "", ended); err != nil {
		t.Fatal(err)
	}
	if runs, _, err := Compact(ctx, f.st, ended.Add(time.Hour), nil); err != nil || runs != 0 {
		t.Fatalf("a run without a stored report was compacted: %d, %v", runs, err)
	}
	before, err := BuildReport(ctx, f.st, f.run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(before)
	if err := f.st.PutReport(ctx, f.run.ID, body); err != nil {
		t.Fatal(err)
	}
	// A snapshot stored after the report: compaction folds it in first.
	f.put(0, "w-a", 3, 20, 0)
	if runs, _, err := Compact(ctx, f.st, ended, nil); err != nil || runs != 0 {
		t.Fatalf("a run that ended at the cut-off was compacted: %d, %v", runs, err)
	}
	var refolded []string // what the export learns
	runs, n, err := Compact(ctx, f.st, ended.Add(time.Hour), func(id string) { refolded = append(refolded, id) })
	if err != nil || runs != 1 || n != 10 {
		t.Fatalf("Compact = %d runs, %d snapshots, %v; want 1, 10", runs, n, err)
	}
	if len(refolded) != 1 || refolded[0] != f.run.ID {
		t.Errorf("Compact told of re-folds in %v, want [%s]", refolded, f.run.ID)
	}
	left, err := f.st.ListSnapshots(ctx, f.run.ID, -1)
	if err != nil || len(left) != 0 {
		t.Fatalf("after compaction %d snapshots are left (%v)", len(left), err)
	}
	after, err := BuildReport(ctx, f.st, f.run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Totals.Requests != before.Totals.Requests+20 {
		t.Fatalf("compacted report counts %d requests, want %d", after.Totals.Requests, before.Totals.Requests+20)
	}
	if len(after.Series) != 4 || after.Steps[0].Requests+after.Steps[1].Requests+after.Steps[2].Requests != after.Totals.Requests {
		t.Fatalf("compacted report: %d points, steps %+v", len(after.Series), after.Steps)
	}
}

// TestReportSoFarStoresNothing: the report of a running run reads the
// intervals as the live fold stored them and stores none itself (a partial
// interval stored then would be what live streams serve).
func TestReportSoFarStoresNothing(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.put(0, "w-a", 0, 100, 0)
	row, _ := f.fold(0)
	if err := f.st.PutInterval(ctx, row); err != nil {
		t.Fatal(err)
	}
	f.put(0, "w-a", 1, 100, 0) // interval 1: the live fold still waits for other shards
	rep, err := BuildReport(ctx, f.st, f.run.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.st.ListIntervals(ctx, f.run.ID, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rep.Totals.Requests != 100 || rep.Status != string(store.StatusRunning) {
		t.Fatalf("report so far: %d rows stored, %d requests, status %s", len(rows), rep.Totals.Requests, rep.Status)
	}
}

// TestGapsTrimmedToWhatWasNotMeasured: a declared gap stays as declared
// when the shard's data ends where it starts, shrinks (with its estimate)
// when later snapshots of the shard came after all, and goes when they
// cover it — a worker only cut off from the server delivers them late.
func TestGapsTrimmedToWhatWasNotMeasured(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	gap := reports.Gap{Worker: "w2", Shard: 1, FromT: 12, ToT: 12.8, EstimatedRequests: 160, Reason: "lost"}
	for _, tc := range []struct {
		name string
		ends map[int]time.Time
		want []reports.Gap
	}{
		{"data ends at the gap", map[int]time.Time{1: t0.Add(12 * time.Second), 0: t0.Add(20 * time.Second)}, []reports.Gap{gap}},
		{"no data of the shard", map[int]time.Time{0: t0.Add(20 * time.Second)}, []reports.Gap{gap}},
		{"later data covers half", map[int]time.Time{1: t0.Add(12400 * time.Millisecond)}, []reports.Gap{{Worker: "w2", Shard: 1, FromT: 12.4, ToT: 12.8, EstimatedRequests: 80, Reason: "lost"}}},
		{"later data covers it", map[int]time.Time{1: t0.Add(13 * time.Second)}, []reports.Gap{}},
	} {
		got := open(measured([]reports.Gap{gap}, tc.ends, t0))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
