package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
)

// TestRetentionCompactsOldRuns: a server with --retain-snapshots 1h (and a
// short compaction period) deletes the raw snapshots of a run that ended
// 3 hours ago, on a real SQLite store and, with BARRAGE_TEST_PG, a real
// Postgres, once its intervals are folded; its report and series stay as
// they were. A run that just ended keeps them.
func TestRetentionCompactsOldRuns(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testRetention(t, "sqlite:"+filepath.Join(t.TempDir(), "t.db")) })
	t.Run("postgres", func(t *testing.T) { testRetention(t, postgresTestDSN(t)) })
}

func testRetention(t *testing.T, dsn string) {
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	f := &handlerFixture{st: st, orch: &fakeOrchestrator{}}
	f.s = New(Config{Store: st, Orchestrator: f.orch, NoAuth: true, MaxBody: 64 << 10, SecretKey: testSecretKey,
		RetainSnapshots: time.Hour, CompactEvery: 50 * time.Millisecond})
	t.Cleanup(func() {
		f.s.Close()
		_ = st.Close()
	})
	rec := f.do(t, "POST", "/scenarios", handlerScenario, nil)
	var ref struct {
		ScenarioID string `json:"scenario_id"`
	}
	mustJSON(t, rec, &ref)
	f.scenario = ref.ScenarioID
	now := time.Now()
	old := f.endedRun(t, now.Add(-3*time.Hour))
	fresh := f.endedRun(t, now.Add(-10*time.Second))
	before, err := fold.BuildReport(t.Context(), st, old.ID, nil)
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := st.ListSnapshots(t.Context(), old.ID, -1)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the old run still has %d raw snapshots", len(left))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few more passes: the fresh run is not due
	if left, err := st.ListSnapshots(t.Context(), fresh.ID, -1); err != nil || len(left) != 3 {
		t.Fatalf("the run that just ended has %d raw snapshots (%v), want its 3", len(left), err)
	}
	ivs, err := st.ListIntervals(t.Context(), old.ID, -1, 0)
	if err != nil || len(ivs) != 3 {
		t.Fatalf("the compacted run has %d folded intervals (%v), want 3", len(ivs), err)
	}
	after, err := fold.BuildReport(t.Context(), st, old.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Totals.Requests != 3 || after.Totals.Requests != before.Totals.Requests || len(after.Series) != len(before.Series) ||
		after.LatencyMS != before.LatencyMS {
		t.Fatalf("report after compaction: %d requests, %d points, %+v; before: %d, %d, %+v",
			after.Totals.Requests, len(after.Series), after.LatencyMS, before.Totals.Requests, len(before.Series), before.LatencyMS)
	}
	rec = f.do(t, "GET", "/runs/"+old.ID+"/report", "", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"run_id":"`+old.ID+`"`) {
		t.Fatalf("stored report after compaction: %d %.200s", rec.Code, rec.Body)
	}
	rec = f.do(t, "GET", "/metrics", "", nil)
	if !strings.Contains(rec.Body.String(), "\nbarrage_snapshots_compacted_total 3\n") {
		t.Errorf("/metrics does not count the 3 compacted snapshots")
	}
}

// postgresTestDSN creates a database on the Postgres of BARRAGE_TEST_PG
// for one test and drops it afterwards; without the variable the test
// skips.
func postgresTestDSN(t *testing.T) string {
	base := os.Getenv("BARRAGE_TEST_PG")
	if base == "" {
		t.Skip("BARRAGE_TEST_PG is not set: Postgres skipped")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("BARRAGE_TEST_PG: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "barrage_api_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, sql)
		return err
	}
	if err := admin("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { _ = admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

// endedRun starts a run whose load began at epoch, ingests one snapshot for
// each of its first 3 seconds, finishes it 5 s after epoch and stores its
// report, as the report activity does.
func (f *handlerFixture) endedRun(t *testing.T, epoch time.Time) *store.Run {
	t.Helper()
	ctx := t.Context()
	r := f.startRun(t)
	if err := f.st.StartRun(ctx, r.ID, epoch, 1000, epoch); err != nil {
		t.Fatal(err)
	}
	f.running = r
	for k := range int64(3) {
		rec := f.do(t, "POST", "/ingest/runs/"+r.ID+"/snapshots", snapshotBody(f, k), bearer(r.Token))
		if rec.Code != http.StatusOK {
			t.Fatalf("ingest snapshot %d: %d %s", k, rec.Code, rec.Body)
		}
	}
	if err := f.st.FinishRun(ctx, r.ID, store.StatusCompleted, "", epoch.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	rep, err := fold.BuildReport(ctx, f.st, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutReport(ctx, r.ID, body); err != nil {
		t.Fatal(err)
	}
	return r
}
