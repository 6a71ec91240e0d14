package store

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// runConformance runs the contract's tests against one implementation.
// open returns a fresh, migrated, empty store for each test and closes it
// at the test's cleanup.
func runConformance(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Ping", testPing},
		{"ScenarioCreateGet", testScenarioCreateGet},
		{"ScenarioUpdate", testScenarioUpdate},
		{"ScenarioUpdateConcurrent", testScenarioUpdateConcurrent},
		{"ScenarioList", testScenarioList},
		{"ScenarioDelete", testScenarioDelete},
		{"RunCreateGet", testRunCreateGet},
		{"RunDefaults", testRunDefaults},
		{"RunCreateErrors", testRunCreateErrors},
		{"RunLifecycle", testRunLifecycle},
		{"ListRuns", testListRuns},
		{"ListRunsLimit", testListRunsLimit},
		{"LatestRunWithTag", testLatestRunWithTag},
		{"Events", testEvents},
		{"EventsConcurrent", testEventsConcurrent},
		{"EventsBatch", testEventsBatch},
		{"SnapshotIdempotent", testSnapshotIdempotent},
		{"SnapshotList", testSnapshotList},
		{"SnapshotConcurrent", testSnapshotConcurrent},
		{"Intervals", testIntervals},
		{"Compaction", testCompaction},
		{"DeleteRun", testDeleteRun},
		{"Controls", testControls},
		{"Reports", testReports},
		{"Workers", testWorkers},
		{"FeederRecords", testFeederRecords},
		{"FeederRecordsConcurrent", testFeederRecordsConcurrent},
		{"IterationsLedger", testIterationsLedger},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"Secrets", testSecrets},
		{"Schedules", testSchedules},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 has nanoseconds and a zone on purpose: the store must give it back in
// UTC, truncated to the microsecond.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// stored is t as a store reads it back.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// binary is a payload that is not text: NUL, invalid UTF-8, every byte.
func binary() []byte {
	b := []byte("\x00\xff\xfe{not json\x00")
	for i := range 256 {
		b = append(b, byte(i))
	}
	return b
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func mustNil(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantEqual[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func mustScenario(t *testing.T, s Store, id string) *Scenario {
	t.Helper()
	sc := &Scenario{ID: id, Name: "scenario " + id, Document: []byte(`{"name":"` + id + `"}`)}
	mustNil(t, s.CreateScenario(t.Context(), sc), "create scenario "+id)
	return sc
}

// mustRun creates a queued run of scenario (version 1) after applying edit.
func mustRun(t *testing.T, s Store, id, scenario string, edit func(r *Run)) *Run {
	t.Helper()
	r := &Run{ID: id, ScenarioID: scenario, ScenarioVersion: 1, Scenario: []byte(`{}`), TargetBaseURL: "http://target"}
	if edit != nil {
		edit(r)
	}
	mustNil(t, s.CreateRun(t.Context(), r), "create run "+id)
	return r
}

func testPing(t *testing.T, s Store) {
	mustNil(t, s.Ping(t.Context()), "ping")
}

func testScenarioCreateGet(t *testing.T, s Store) {
	ctx := t.Context()
	// Whitespace and key order must survive: the store keeps bytes, not JSON.
	doc := []byte("{\"z\": 1,\n  \"a\": [2, 3]}\n")
	sc := &Scenario{ID: "checkout", Name: "Checkout", Document: doc, CreatedAt: t0}
	mustNil(t, s.CreateScenario(ctx, sc), "create")
	want := Scenario{ID: "checkout", Version: 1, Name: "Checkout", Document: doc, CreatedAt: stored(t0)}
	wantEqual(t, *sc, want, "created scenario as filled in")
	for _, v := range []int{0, 1} {
		got, err := s.GetScenario(ctx, "checkout", v)
		mustNil(t, err, fmt.Sprintf("get version %d", v))
		wantEqual(t, *got, want, fmt.Sprintf("get version %d", v))
	}

	wantErr(t, s.CreateScenario(ctx, &Scenario{ID: "checkout", Name: "again"}), ErrConflict, "create duplicate")
	got, err := s.GetScenario(ctx, "checkout", 0)
	mustNil(t, err, "get after duplicate")
	wantEqual(t, *got, want, "scenario after refused duplicate")

	_, err = s.GetScenario(ctx, "nope", 0)
	wantErr(t, err, ErrNotFound, "get unknown scenario")
	_, err = s.GetScenario(ctx, "checkout", 2)
	wantErr(t, err, ErrNotFound, "get unknown version")
	if err := s.CreateScenario(ctx, &Scenario{}); err == nil {
		t.Fatal("create scenario with empty id: no error")
	}

	// A zero CreatedAt is filled in with the current time.
	before := time.Now().Add(-time.Second)
	bin := &Scenario{ID: "binary", Document: binary()}
	mustNil(t, s.CreateScenario(ctx, bin), "create binary")
	got, err = s.GetScenario(ctx, "binary", 0)
	mustNil(t, err, "get binary")
	wantEqual(t, *got, *bin, "binary scenario")
	if got.CreatedAt.Before(before) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("default CreatedAt = %v, want now in UTC", got.CreatedAt)
	}
}

func testScenarioUpdate(t *testing.T, s Store) {
	ctx := t.Context()
	v1 := mustScenario(t, s, "api")
	v2, err := s.UpdateScenario(ctx, "api", "API v2", []byte(`{"v":2}`))
	mustNil(t, err, "update to v2")
	v3, err := s.UpdateScenario(ctx, "api", "API v3", []byte(`{"v":3}`))
	mustNil(t, err, "update to v3")
	if v2.Version != 2 || v3.Version != 3 {
		t.Fatalf("versions = %d, %d, want 2, 3", v2.Version, v3.Version)
	}
	for _, tc := range []struct {
		version int
		want    *Scenario
	}{{0, v3}, {1, v1}, {2, v2}, {3, v3}} {
		got, err := s.GetScenario(ctx, "api", tc.version)
		mustNil(t, err, fmt.Sprintf("get version %d", tc.version))
		wantEqual(t, got, tc.want, fmt.Sprintf("version %d", tc.version))
	}
	_, err = s.UpdateScenario(ctx, "nope", "x", []byte(`{}`))
	wantErr(t, err, ErrNotFound, "update unknown scenario")
}

func testScenarioUpdateConcurrent(t *testing.T, s Store) {
	mustScenario(t, s, "hot")
	const goroutines, each = 8, 5
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions = map[int]bool{}
	)
	for range goroutines {
		wg.Go(func() {
			for range each {
				sc, err := s.UpdateScenario(t.Context(), "hot", "hot", []byte(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				versions[sc.Version] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for v := 2; v <= 1+goroutines*each; v++ {
		if !versions[v] {
			t.Fatalf("version %d never handed out; got %v", v, versions)
		}
	}
	latest, err := s.GetScenario(t.Context(), "hot", 0)
	mustNil(t, err, "get latest")
	if latest.Version != 1+goroutines*each {
		t.Fatalf("latest version = %d, want %d", latest.Version, 1+goroutines*each)
	}
}

func testScenarioList(t *testing.T, s Store) {
	ctx := t.Context()
	got, err := s.ListScenarios(ctx, 0, 0)
	mustNil(t, err, "list empty")
	if len(got) != 0 {
		t.Fatalf("empty store lists %d scenarios", len(got))
	}
	for i, id := range []string{"a", "b", "c"} {
		sc := &Scenario{ID: id, Name: id, Document: []byte(id), CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
		mustNil(t, s.CreateScenario(ctx, sc), "create "+id)
	}
	// Updating a makes its latest version the newest.
	_, err = s.UpdateScenario(ctx, "a", "a2", []byte("a2"))
	mustNil(t, err, "update a")

	ids := func(ss []Scenario) (out []string) {
		for _, sc := range ss {
			out = append(out, fmt.Sprintf("%s@%d", sc.ID, sc.Version))
		}
		return out
	}
	for _, tc := range []struct {
		limit, offset int
		want          []string
	}{
		{0, 0, []string{"a@2", "c@1", "b@1"}},
		{2, 0, []string{"a@2", "c@1"}},
		{2, 2, []string{"b@1"}},
		{10, 3, nil},
		{-1, -5, []string{"a@2", "c@1", "b@1"}},
	} {
		got, err := s.ListScenarios(ctx, tc.limit, tc.offset)
		mustNil(t, err, "list")
		wantEqual(t, ids(got), tc.want, fmt.Sprintf("list limit %d offset %d", tc.limit, tc.offset))
	}
}

func testScenarioDelete(t *testing.T, s Store) {
	ctx := t.Context()
	wantErr(t, s.DeleteScenario(ctx, "nope"), ErrNotFound, "delete unknown")

	mustScenario(t, s, "gone")
	_, err := s.UpdateScenario(ctx, "gone", "gone", []byte(`{}`))
	mustNil(t, err, "update")
	mustNil(t, s.DeleteScenario(ctx, "gone"), "delete")
	for _, v := range []int{0, 1, 2} {
		_, err := s.GetScenario(ctx, "gone", v)
		wantErr(t, err, ErrNotFound, fmt.Sprintf("get version %d after delete", v))
	}
	// The ID is free again, and starts over at version 1.
	again := mustScenario(t, s, "gone")
	if again.Version != 1 {
		t.Fatalf("recreated scenario has version %d", again.Version)
	}

	mustScenario(t, s, "used")
	_, err = s.UpdateScenario(ctx, "used", "used", []byte(`{"v":2}`))
	mustNil(t, err, "update used")
	mustRun(t, s, "r1", "used", nil) // pins version 1, not the latest
	wantErr(t, s.DeleteScenario(ctx, "used"), ErrConflict, "delete scenario with a run")
	for _, v := range []int{1, 2} {
		_, err := s.GetScenario(ctx, "used", v)
		mustNil(t, err, fmt.Sprintf("version %d after refused delete", v))
	}
}
