package tsdb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/vmtest"
)

const fixtureSteps = 2

// fixture is a run in a real (SQLite) store whose intervals the test folds
// and stores as the server's fold does, and what it folded in total.
type fixture struct {
	t          *testing.T
	st         store.Store
	run        *store.Run
	seq        map[int]uint64
	requests   map[string]uint64 // by step/status_class
	iterations map[int64]uint64  // by interval
	folded     map[int64]bool
}

func newFixture(t *testing.T, epoch time.Time) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sc, err := scenario.ParseYAML([]byte(`name: "export \"test\""
virtual_users: 4
duration_seconds: 60
steps:
  - {name: login, url_template: /login, tags: {team: identity, api-version: "2"}}
  - {name: "cart\\items", url_template: /cart}
`))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := sc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateScenario(ctx, &store.Scenario{ID: "sc", Name: "export", Document: doc}); err != nil {
		t.Fatal(err)
	}
	r := &store.Run{ID: "run-x", ScenarioID: "sc", Scenario: doc, TargetBaseURL: "http://127.0.0.1:1", WorkerCount: 2,
		WorkflowID: "run-x", Token: "t", IntervalMS: 1000, Tags: map[string]string{"release": "v1.4", "status": "x"}}
	if err := st.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := st.StartRun(ctx, r.ID, epoch, 1000, epoch); err != nil {
		t.Fatal(err)
	}
	if r, err = st.GetRun(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, run: r, seq: map[int]uint64{}, requests: map[string]uint64{}, iterations: map[int64]uint64{}, folded: map[int64]bool{}}
}

// put stores shard's snapshot of interval k with n requests, an iteration
// done after every fourth.
func (f *fixture) put(shard int, k int64, n int) {
	f.t.Helper()
	rng := rand.New(rand.NewPCG(uint64(shard), uint64(k)+f.seq[shard]))
	rec := hist.NewRecorder(fixtureSteps)
	for i := range n {
		res := hist.Result{Latency: time.Duration(20*math.Exp(0.8*rng.NormFloat64())*1000) * time.Microsecond, Status: 200}
		switch i % 17 {
		case 0:
			res.Status, res.Class = 503, hist.ClassHTTP5xx
		case 1:
			res.Status, res.Class = 0, hist.ClassTimeout
		}
		step := rng.IntN(fixtureSteps)
		rec.Record(step, res)
		f.requests[fmt.Sprintf("%d/%s", step, statusClasses[statusClass(res.Status)])]++
		if i%4 == 3 {
			rec.AddIteration()
			f.iterations[k]++
		}
	}
	start, end := fold.Bounds(f.run, k)
	s := rec.Flush(start, end)
	f.seq[shard]++
	s.RunID, s.Worker, s.Shard, s.Attempt, s.Seq, s.ActiveVUs, s.TargetVUs = f.run.ID, fmt.Sprintf("w%d", shard), uint32(shard), 1, f.seq[shard], 2, 2
	b, err := s.MarshalBinary()
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.PutSnapshot(f.t.Context(), &store.Snapshot{RunID: f.run.ID, Shard: shard, Attempt: 1, Seq: int64(s.Seq),
		Interval: k, Worker: s.Worker, Data: b}); err != nil {
		f.t.Fatal(err)
	}
}

// fold folds and stores interval k, as the server's scheduler does, and
// tells x.
func (f *fixture) fold(x *Exporter, k int64) { f.foldAt(x, k, time.Now()) }

// foldAt is fold with the fold's time stamped at.
func (f *fixture) foldAt(x *Exporter, k int64, at time.Time) {
	f.t.Helper()
	snaps, err := f.st.ListSnapshots(f.t.Context(), f.run.ID, k)
	if err != nil {
		f.t.Fatal(err)
	}
	var fo fold.Folder
	row, _, err := fo.Interval(f.run, k, snaps)
	if err != nil {
		f.t.Fatal(err)
	}
	row.FoldedAt = at
	if err := f.st.PutInterval(f.t.Context(), row); err != nil {
		f.t.Fatal(err)
	}
	f.folded[k] = true
	if x != nil {
		x.Folded(f.run.ID, k)
	}
}

func (f *fixture) total() uint64 {
	var n uint64
	for _, v := range f.requests {
		n += v
	}
	return n
}

// sumAt returns sum(query) at t, or -1 when there is no sample.
func sumAt(t *testing.T, vm *vmtest.VM, query string, at time.Time) float64 {
	t.Helper()
	sum, err := vm.Sum(t.Context(), query, at)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// waitValue waits until sum(query) at t is want.
func waitValue(t *testing.T, vm *vmtest.VM, query string, at time.Time, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got float64
	for time.Now().Before(deadline) {
		if got = sumAt(t, vm, query, at); got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("sum(%s) at %s: %v, want %v", query, at.Format(time.RFC3339), got, want)
}

func startExporter(t *testing.T, f *fixture, vm *vmtest.VM, cfg Config) *Exporter {
	t.Helper()
	cfg.URL, cfg.Store = vm.URL, f.st
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); x.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return x
}

// TestExportMatchesTheStore folds a two-shard run interval by interval;
// VictoriaMetrics' counters at the last interval's end must equal what was
// recorded, per step and status class, exactly. Then a late snapshot
// re-folds an interval already pushed, and the series converge to it.
func TestExportMatchesTheStore(t *testing.T) {
	vm := vmtest.Start(t)
	epoch := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	f := newFixture(t, epoch)
	x := startExporter(t, f, vm, Config{})
	for k := range int64(80) {
		f.put(0, k, 300)
		f.put(1, k, 200)
		f.fold(x, k)
	}
	_, end := fold.Bounds(f.run, 79)
	sel := `barrage_requests_total{run_id="run-x"}`
	waitValue(t, vm, sel, end, float64(f.total()))
	for key, n := range f.requests {
		step, class, _ := strings.Cut(key, "/")
		name := []string{"login", `cart\\items`}[step[0]-'0']
		waitValue(t, vm, fmt.Sprintf(`barrage_requests_total{run_id="run-x",step="%s",status_class="%s"}`, name, class), end, float64(n))
	}
	waitValue(t, vm, `barrage_request_duration_seconds_count{run_id="run-x"}`, end, float64(f.total()))
	waitValue(t, vm, `barrage_vus{run_id="run-x"}`, end, 4)
	waitValue(t, vm, `barrage_run_info{run_id="run-x",scenario="export \"test\"",status="running",release="v1.4",tag_status="x"}`, end, 1)

	// A late snapshot for interval 75: every counter from 75 on grows.
	before := f.total()
	pushed := x.Stats().Samples
	f.put(1, 75, 50)
	f.fold(x, 75)
	waitValue(t, vm, sel, end, float64(before+50))
	_, end74 := fold.Bounds(f.run, 74)
	_, end75 := fold.Bounds(f.run, 75)
	if got := sumAt(t, vm, sel, end75) - sumAt(t, vm, sel, end74); got != 550 {
		t.Errorf("interval 75 adds %v requests, want 550 (500 + the late 50)", got)
	}
	// The run's series were deleted and it went again from its start.
	if s := x.Stats(); s.Deletes != 1 || s.Samples-pushed < pushed {
		t.Errorf("after the late fold: %d deletes, %d samples pushed again (%d before)", s.Deletes, s.Samples-pushed, pushed)
	}

	// A re-fold whose write became visible long after its time stamp (a
	// slow commit, another server's clock): still found.
	f.put(0, 40, 7)
	f.foldAt(x, 40, time.Now().Add(-30*time.Second))
	waitValue(t, vm, sel, end, float64(before+57))
	if s := x.Stats(); s.PushErrors != 0 || s.Lag != 0 || s.Pushes == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestExportSurvivesVictoriaMetricsDown stops VictoriaMetrics mid-run: the
// folds go on without waiting, the lag and push errors show it, the run
// gets an export_behind event, and once it is back every interval is there.
func TestExportSurvivesVictoriaMetricsDown(t *testing.T) {
	vm := vmtest.Start(t)
	epoch := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	f := newFixture(t, epoch)
	x := startExporter(t, f, vm, Config{BehindAfter: time.Second, Retry: 50 * time.Millisecond, PushTimeout: time.Second})
	for k := range int64(5) {
		f.put(0, k, 100)
		f.fold(x, k)
	}
	_, end := fold.Bounds(f.run, 4)
	waitValue(t, vm, `barrage_requests_total{run_id="run-x"}`, end, float64(f.total()))
	vm.Stop()
	start := time.Now()
	for k := int64(5); k < 30; k++ {
		f.put(0, k, 100)
		f.fold(x, k)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("25 folds took %s with VictoriaMetrics down", took)
	}
	deadline := time.Now().Add(20 * time.Second)
	for x.Stats().PushErrors == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := x.Stats(); s.PushErrors == 0 || s.Lag < time.Minute {
		t.Fatalf("with VictoriaMetrics down: %+v", s)
	}
	// The run ends, and its report is stored, before VictoriaMetrics is back.
	if err := f.st.FinishRun(t.Context(), f.run.ID, store.StatusCompleted, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	x.Finished(f.run.ID)
	vm.Restart(t)
	_, end = fold.Bounds(f.run, 29)
	waitValue(t, vm, `barrage_requests_total{run_id="run-x"}`, end, float64(f.total()))
	waitValue(t, vm, `barrage_run_info{run_id="run-x",status="completed"}`, end, 1)
	waitValue(t, vm, `count_over_time(barrage_dropped_iterations_total{run_id="run-x"}[10m])`, end, 30) // a sample per interval
	events, err := f.st.ListEvents(t.Context(), f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	deadline = time.Now().Add(10 * time.Second)
	for kinds[EventCaughtUp] == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		events, _ = f.st.ListEvents(t.Context(), f.run.ID)
		clear(kinds)
		for _, e := range events {
			kinds[e.Kind]++
		}
	}
	if kinds[EventBehind] != 1 || kinds[EventCaughtUp] != 1 {
		t.Errorf("events %v, want one %s and one %s", kinds, EventBehind, EventCaughtUp)
	}
}

// TestExportWaitsForIntervalsToSettle: a live run's intervals wait Settle
// before they are pushed, and go at once when its report is stored.
func TestExportWaitsForIntervalsToSettle(t *testing.T) {
	vm := vmtest.Start(t)
	f := newFixture(t, time.Now().Truncate(time.Second))
	x := startExporter(t, f, vm, Config{Settle: time.Hour})
	for k := range int64(3) {
		f.put(0, k, 100)
		f.fold(x, k)
	}
	time.Sleep(time.Second)
	if s := x.Stats(); s.Samples != 0 || s.Runs != 1 {
		t.Fatalf("pushed before the intervals settled: %+v", s)
	}
	if err := f.st.FinishRun(t.Context(), f.run.ID, store.StatusCompleted, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	x.Finished(f.run.ID)
	_, end := fold.Bounds(f.run, 2)
	waitValue(t, vm, `barrage_requests_total{run_id="run-x"}`, end, 300)
	waitValue(t, vm, `barrage_run_info{run_id="run-x",status="completed"}`, end, 1)
}

// TestExportCorrectsWithoutDelete: where VictoriaMetrics refuses deletes
// (here -deleteAuthKey), a re-folded interval is pushed again over the
// first samples from the checkpoint before it, not from the run's start.
func TestExportCorrectsWithoutDelete(t *testing.T) {
	vm := vmtest.Start(t, "-deleteAuthKey=not-ours")
	f := newFixture(t, time.Now().Add(-5*time.Minute).Truncate(time.Second))
	x := startExporter(t, f, vm, Config{})
	for k := range int64(80) {
		f.put(0, k, 100)
		f.fold(x, k)
	}
	_, end := fold.Bounds(f.run, 79)
	waitValue(t, vm, `barrage_requests_total{run_id="run-x"}`, end, 8000)
	pushed := x.Stats().Samples
	f.put(0, 75, 10)
	f.fold(x, 75)
	deadline := time.Now().Add(20 * time.Second)
	for x.Stats().Samples == pushed && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Intervals 75 to 79: 5 of 80, not all (the first ones are out of the
	// checkpoint ring by now).
	if s := x.Stats(); s.Deletes != 0 || s.Samples == pushed || float64(s.Samples-pushed) > 0.15*float64(pushed) {
		t.Errorf("after the late fold: %d deletes, %d samples pushed again (%d before)", s.Deletes, s.Samples-pushed, pushed)
	}
}

// TestExportLongRuns: runs longer than a page of the store, folded all at
// once (a replayed spool, a report's refresh), are pushed whole — by
// barrage export, and by a server that learns of the run only from its
// report (Finished).
func TestExportLongRuns(t *testing.T) {
	vm := vmtest.Start(t)
	f := newFixture(t, time.Now().Add(-30*time.Minute).Truncate(time.Second))
	const n = 700
	for k := range int64(n) {
		f.put(0, k, 10)
		f.fold(nil, k)
	}
	_, end := fold.Bounds(f.run, n-1)
	sel := `barrage_requests_total{run_id="run-x"}`

	x, err := New(Config{URL: vm.URL, Store: f.st})
	if err != nil {
		t.Fatal(err)
	}
	s, err := x.ExportRun(t.Context(), f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitValue(t, vm, sel, end, float64(f.total()))
	waitValue(t, vm, `count_over_time(barrage_target{run_id="run-x"}[1h])`, end, n)
	t.Logf("export: %+v", s)

	// Again, through a running exporter that saw no fold of it.
	f.put(0, n-1, 5) // a late snapshot, for good measure
	f.fold(nil, n-1)
	if err := f.st.FinishRun(t.Context(), f.run.ID, store.StatusCompleted, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	x2 := startExporter(t, f, vm, Config{})
	x2.Finished(f.run.ID)
	waitValue(t, vm, sel, end, float64(f.total()))
	waitValue(t, vm, `barrage_run_info{run_id="run-x",status="completed"}`, end, 1)
}

// TestExportLabelsStepsWithTheirTags: a step's tags label every series of
// that step (requests, errors, the duration histogram), with - and . as _,
// and no other step's; the counts are the same with and without selecting
// by tag.
func TestExportLabelsStepsWithTheirTags(t *testing.T) {
	vm := vmtest.Start(t)
	f := newFixture(t, time.Now().Add(-5*time.Minute).Truncate(time.Second))
	x := startExporter(t, f, vm, Config{})
	for k := range int64(3) {
		f.put(0, k, 400)
		f.fold(x, k)
	}
	_, end := fold.Bounds(f.run, 2)
	login := float64(f.requests["0/2xx"] + f.requests["0/5xx"] + f.requests["0/none"])
	waitValue(t, vm, `barrage_requests_total{run_id="run-x"}`, end, float64(f.total()))
	waitValue(t, vm, `barrage_requests_total{run_id="run-x",team="identity",api_version="2"}`, end, login)
	waitValue(t, vm, `barrage_requests_total{run_id="run-x",step="login"}`, end, login)
	waitValue(t, vm, `barrage_request_duration_seconds_count{run_id="run-x",team="identity"}`, end, login)
	waitValue(t, vm, `barrage_request_duration_seconds_bucket{run_id="run-x",team="identity"}`, end, login)
	waitValue(t, vm, `barrage_errors_total{run_id="run-x",team="identity"}`, end, float64(f.requests["0/5xx"]+f.requests["0/none"]))

	for _, series := range []string{"barrage_requests_total", "barrage_errors_total", "barrage_request_duration_seconds_bucket",
		"barrage_request_duration_seconds_sum", "barrage_request_duration_seconds_count"} {
		got, err := vm.Query(t.Context(), series+`{run_id="run-x"}`, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatalf("%s: no series", series)
		}
		for _, s := range got {
			tagged := s.Metric["team"] == "identity" && s.Metric["api_version"] == "2"
			untagged := s.Metric["team"] == "" && s.Metric["api_version"] == ""
			if s.Metric["step"] == "login" && !tagged || s.Metric["step"] != "login" && !untagged {
				t.Errorf("%s: series %v: the login step's series carry team and api_version, the others none", series, s.Metric)
			}
		}
	}
}

// TestExportCountsIterations: barrage_iterations_total, labelled with the
// run alone, is the iterations done up to each interval's end, a late
// snapshot's included once its interval is folded again.
func TestExportCountsIterations(t *testing.T) {
	vm := vmtest.Start(t)
	f := newFixture(t, time.Now().Add(-5*time.Minute).Truncate(time.Second))
	x := startExporter(t, f, vm, Config{})
	for k := range int64(6) {
		f.put(0, k, 40+10*int(k))
		f.put(1, k, 21)
		f.fold(x, k)
	}
	upTo := func(last int64) float64 {
		var n uint64
		for k := range last + 1 {
			n += f.iterations[k]
		}
		return float64(n)
	}
	sel := `barrage_iterations_total{run_id="run-x"}`
	_, end := fold.Bounds(f.run, 5)
	waitValue(t, vm, sel, end, upTo(5))
	_, end2 := fold.Bounds(f.run, 2)
	if got := sumAt(t, vm, sel, end2); got != upTo(2) {
		t.Errorf("after interval 2: %v iterations, want %v", got, upTo(2))
	}
	got, err := vm.Query(t.Context(), sel, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Metric) != 2 || got[0].Metric["__name__"] != "barrage_iterations_total" {
		t.Errorf("series %+v, want one, labelled run_id alone", got)
	}

	before := upTo(5)
	f.put(1, 3, 8) // late: two more iterations in interval 3
	f.fold(x, 3)
	waitValue(t, vm, sel, end, before+2)
}
