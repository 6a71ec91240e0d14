package store

import (
	"fmt"
	"testing"
	"time"
)

func testRunCreateGet(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	_, err := s.UpdateScenario(ctx, "sc", "sc", []byte(`{"v":2}`))
	mustNil(t, err, "update scenario")
	in := Run{
		ID: "run-1", ScenarioID: "sc", ScenarioVersion: 1,
		Scenario: binary(), Overrides: []byte(`{"vus": 10}`), Status: StatusRunning,
		TargetBaseURL: "https://staging.example.com", WorkerCount: 4, Elastic: true, MaxWorkers: 9,
		Tags:       map[string]string{"release": "v1.4", "env": "staging", "empty": ""},
		WorkflowID: "wf-1", Token: "secret-token",
		Epoch: t0.Add(time.Second), IntervalMS: 1000, Reason: "why not",
		CreatedAt: t0, StartedAt: t0.Add(2 * time.Second), EndedAt: t0.Add(time.Hour),
	}
	r := in
	mustNil(t, s.CreateRun(ctx, &r), "create")
	want := in
	want.Epoch, want.CreatedAt = stored(in.Epoch), stored(in.CreatedAt)
	want.StartedAt, want.EndedAt = stored(in.StartedAt), stored(in.EndedAt)
	wantEqual(t, r, want, "run as filled in")
	got, err := s.GetRun(ctx, "run-1")
	mustNil(t, err, "get")
	wantEqual(t, *got, want, "run read back")
	for _, tt := range []time.Time{got.Epoch, got.CreatedAt, got.StartedAt, got.EndedAt} {
		if tt.Location() != time.UTC {
			t.Fatalf("time %v is not in UTC", tt)
		}
	}
}

func testRunDefaults(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	_, err := s.UpdateScenario(ctx, "sc", "sc", []byte(`{"v":2}`))
	mustNil(t, err, "update scenario")
	before := time.Now().Add(-time.Second)
	for _, tc := range []struct {
		id   string
		tags map[string]string
	}{{"nil-tags", nil}, {"empty-tags", map[string]string{}}} {
		r := &Run{ID: tc.id, ScenarioID: "sc", Tags: tc.tags} // version 0: the latest
		mustNil(t, s.CreateRun(ctx, r), "create "+tc.id)
		if r.Status != StatusQueued || r.ScenarioVersion != 2 || r.CreatedAt.Before(before) {
			t.Fatalf("defaults filled in: status %q version %d created %v", r.Status, r.ScenarioVersion, r.CreatedAt)
		}
		got, err := s.GetRun(ctx, tc.id)
		mustNil(t, err, "get "+tc.id)
		if got.Tags == nil || len(got.Tags) != 0 {
			t.Fatalf("%s: tags read back as %#v, want an empty non-nil map", tc.id, got.Tags)
		}
		if !got.Epoch.IsZero() || !got.StartedAt.IsZero() || !got.EndedAt.IsZero() {
			t.Fatalf("%s: zero times read back as %v %v %v", tc.id, got.Epoch, got.StartedAt, got.EndedAt)
		}
		if len(got.Scenario) != 0 || len(got.Overrides) != 0 {
			t.Fatalf("%s: empty documents read back as %q %q", tc.id, got.Scenario, got.Overrides)
		}
		got.Tags = r.Tags
		wantEqual(t, *got, *r, tc.id+" read back")
	}
}

func testRunCreateErrors(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	orig := mustRun(t, s, "dup", "sc", func(r *Run) { r.Tags = map[string]string{"a": "1"} })
	for _, tc := range []struct {
		name string
		run  Run
		want error // nil: any error
	}{
		{"unknown scenario", Run{ID: "r1", ScenarioID: "nope", ScenarioVersion: 1}, ErrNotFound},
		{"unknown scenario, latest", Run{ID: "r2", ScenarioID: "nope"}, ErrNotFound},
		{"unknown version", Run{ID: "r3", ScenarioID: "sc", ScenarioVersion: 7}, ErrNotFound},
		{"duplicate id", Run{ID: "dup", ScenarioID: "sc", ScenarioVersion: 1, Tags: map[string]string{"b": "2"}}, ErrConflict},
		{"empty id", Run{ScenarioID: "sc", ScenarioVersion: 1}, nil},
		{"empty scenario", Run{ID: "r4"}, nil},
		{"bad status", Run{ID: "r5", ScenarioID: "sc", ScenarioVersion: 1, Status: "paused"}, nil},
	} {
		r := tc.run
		err := s.CreateRun(ctx, &r)
		if tc.want != nil {
			wantErr(t, err, tc.want, tc.name)
		} else if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
	}
	got, err := s.GetRun(ctx, "dup")
	mustNil(t, err, "get dup")
	wantEqual(t, *got, *orig, "run after refused duplicate")
	for _, id := range []string{"r1", "r2", "r3", "r5", "nope"} {
		_, err := s.GetRun(ctx, id)
		wantErr(t, err, ErrNotFound, "get "+id)
	}
}

func testRunLifecycle(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	mustRun(t, s, "r", "sc", nil)

	epoch, started := t0.Add(3*time.Second), t0.Add(time.Second)
	mustNil(t, s.StartRun(ctx, "r", epoch, 1000, started), "start")
	got, err := s.GetRun(ctx, "r")
	mustNil(t, err, "get started")
	if got.Status != StatusRunning || !got.Epoch.Equal(stored(epoch)) || got.IntervalMS != 1000 ||
		!got.StartedAt.Equal(stored(started)) || !got.EndedAt.IsZero() {
		t.Fatalf("started run = %+v", got)
	}
	wantErr(t, s.StartRun(ctx, "r", epoch, 1000, started), ErrConflict, "start a running run")

	if err := s.FinishRun(ctx, "r", StatusRunning, "", t0); err == nil {
		t.Fatal("finish with a non-final status: no error")
	}
	ended := t0.Add(time.Minute)
	mustNil(t, s.FinishRun(ctx, "r", StatusAborted, "aborted by alice", ended), "finish")
	got, err = s.GetRun(ctx, "r")
	mustNil(t, err, "get finished")
	if got.Status != StatusAborted || got.Reason != "aborted by alice" || !got.EndedAt.Equal(stored(ended)) ||
		!got.StartedAt.Equal(stored(started)) {
		t.Fatalf("finished run = %+v", got)
	}
	for _, status := range []Status{StatusCompleted, StatusFailed, StatusAborted} {
		wantErr(t, s.FinishRun(ctx, "r", status, "again", ended), ErrConflict, "finish a finished run "+string(status))
	}
	wantErr(t, s.StartRun(ctx, "r", epoch, 1000, started), ErrConflict, "start a finished run")
	again, err := s.GetRun(ctx, "r")
	mustNil(t, err, "get after refused moves")
	wantEqual(t, again, got, "run after refused moves")

	// A queued run can finish without starting (failed to plan, aborted early).
	mustRun(t, s, "q", "sc", nil)
	mustNil(t, s.FinishRun(ctx, "q", StatusFailed, "no workers", time.Time{}), "finish queued")
	got, err = s.GetRun(ctx, "q")
	mustNil(t, err, "get q")
	if got.Status != StatusFailed || got.EndedAt.IsZero() || !got.StartedAt.IsZero() {
		t.Fatalf("queued run finished = %+v", got)
	}

	wantErr(t, s.StartRun(ctx, "nope", epoch, 1000, started), ErrNotFound, "start unknown")
	wantErr(t, s.FinishRun(ctx, "nope", StatusCompleted, "", ended), ErrNotFound, "finish unknown")
}

func runIDs(rs []Run) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testListRuns(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "s1")
	mustScenario(t, s, "s2")
	// r1..r6 oldest to newest; r3 and r4 share a CreatedAt, so the ID breaks
	// the tie (r4 first, newest first).
	for i, spec := range []struct {
		scenario, release string
		at                time.Duration
	}{
		{"s1", "v1", 0}, {"s2", "v1", time.Second}, {"s1", "v2", 2 * time.Second},
		{"s1", "v2", 2 * time.Second}, {"s2", "", 3 * time.Second}, {"s1", "v1", 4 * time.Second},
	} {
		mustRun(t, s, fmt.Sprintf("r%d", i+1), spec.scenario, func(r *Run) {
			r.CreatedAt = t0.Add(spec.at)
			if spec.release != "" {
				r.Tags = map[string]string{"release": spec.release, "team": "core"}
			}
		})
	}
	mustNil(t, s.FinishRun(ctx, "r2", StatusCompleted, "", t0), "finish r2")
	mustNil(t, s.StartRun(ctx, "r5", t0, 1000, t0), "start r5")

	for _, tc := range []struct {
		name string
		f    RunFilter
		want []string
	}{
		{"all", RunFilter{}, []string{"r6", "r5", "r4", "r3", "r2", "r1"}},
		{"scenario", RunFilter{ScenarioID: "s2"}, []string{"r5", "r2"}},
		{"status", RunFilter{Status: StatusQueued}, []string{"r6", "r4", "r3", "r1"}},
		{"tag", RunFilter{TagKey: "release", TagValue: "v1"}, []string{"r6", "r2", "r1"}},
		{"tag and scenario", RunFilter{ScenarioID: "s1", TagKey: "release", TagValue: "v1"}, []string{"r6", "r1"}},
		{"tag no match", RunFilter{TagKey: "release", TagValue: "v9"}, []string{}},
		{"unknown scenario", RunFilter{ScenarioID: "nope"}, []string{}},
		{"limit", RunFilter{Limit: 2}, []string{"r6", "r5"}},
		{"before", RunFilter{Before: "r4", Limit: 2}, []string{"r3", "r2"}},
		{"before tie", RunFilter{Before: "r3"}, []string{"r2", "r1"}},
		{"before oldest", RunFilter{Before: "r1"}, []string{}},
		{"before with filter", RunFilter{Before: "r6", Status: StatusQueued}, []string{"r4", "r3", "r1"}},
	} {
		got, err := s.ListRuns(ctx, tc.f)
		mustNil(t, err, tc.name)
		wantEqual(t, runIDs(got), tc.want, tc.name)
	}
	_, err := s.ListRuns(ctx, RunFilter{Before: "nope"})
	wantErr(t, err, ErrNotFound, "unknown cursor")

	// ListRuns returns whole runs, tags included.
	got, err := s.ListRuns(ctx, RunFilter{Limit: 1})
	mustNil(t, err, "list one")
	one, err := s.GetRun(ctx, "r6")
	mustNil(t, err, "get r6")
	wantEqual(t, got[0], *one, "listed run")
}

func testListRunsLimit(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	const n = maxLimit + 1
	for i := range n {
		mustRun(t, s, fmt.Sprintf("r%04d", i), "sc", func(r *Run) { r.CreatedAt = t0 })
	}
	for _, tc := range []struct{ limit, want int }{
		{0, defaultLimit}, {-3, defaultLimit}, {7, 7}, {maxLimit, maxLimit}, {5000, maxLimit},
	} {
		got, err := s.ListRuns(ctx, RunFilter{Limit: tc.limit})
		mustNil(t, err, "list")
		if len(got) != tc.want {
			t.Fatalf("limit %d: %d runs, want %d", tc.limit, len(got), tc.want)
		}
	}
	// Paging with the cursor visits every run once, newest first, even
	// though they all share one CreatedAt.
	var seen []string
	for f := (RunFilter{Limit: 300}); ; {
		page, err := s.ListRuns(ctx, f)
		mustNil(t, err, "page")
		if len(page) == 0 {
			break
		}
		seen = append(seen, runIDs(page)...)
		f.Before = page[len(page)-1].ID
	}
	if len(seen) != n || seen[0] != fmt.Sprintf("r%04d", n-1) || seen[n-1] != "r0000" {
		t.Fatalf("paging saw %d runs, first %s", len(seen), seen[0])
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] >= seen[i-1] {
			t.Fatalf("paging out of order at %d: %s after %s", i, seen[i], seen[i-1])
		}
	}
}

func testLatestRunWithTag(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	_, err := s.LatestRunWithTag(ctx, "release", "v1")
	wantErr(t, err, ErrNotFound, "no runs")

	tagged := func(id string, at time.Duration, release string) {
		mustRun(t, s, id, "sc", func(r *Run) {
			r.CreatedAt = t0.Add(at)
			r.Tags = map[string]string{"release": release}
		})
	}
	tagged("old", 0, "v1")
	_, err = s.LatestRunWithTag(ctx, "release", "v1")
	wantErr(t, err, ErrNotFound, "only a queued run")

	mustNil(t, s.FinishRun(ctx, "old", StatusCompleted, "", t0), "finish old")
	tagged("newer-running", time.Minute, "v1")
	mustNil(t, s.StartRun(ctx, "newer-running", t0, 1000, t0), "start newer")
	tagged("other-release", 2*time.Minute, "v2")
	mustNil(t, s.FinishRun(ctx, "other-release", StatusCompleted, "", t0), "finish other")

	got, err := s.LatestRunWithTag(ctx, "release", "v1")
	mustNil(t, err, "latest v1")
	want, err := s.GetRun(ctx, "old")
	mustNil(t, err, "get old")
	wantEqual(t, got, want, "latest finished v1 run")

	tagged("newest", 3*time.Minute, "v1")
	mustNil(t, s.FinishRun(ctx, "newest", StatusFailed, "thresholds", t0), "finish newest")
	got, err = s.LatestRunWithTag(ctx, "release", "v1")
	mustNil(t, err, "latest v1 again")
	if got.ID != "newest" {
		t.Fatalf("latest v1 = %s, want newest", got.ID)
	}
	_, err = s.LatestRunWithTag(ctx, "env", "v1")
	wantErr(t, err, ErrNotFound, "tag key without runs")
}
