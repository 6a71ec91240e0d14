package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/barrage/barrage/migrations"
)

// pgEnv names the variable holding a Postgres server URL for the tests, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. Each test
// creates a database of its own on that server and drops it afterwards.
const pgEnv = "BARRAGE_TEST_PG"

// sqliteTestDSN is a fresh SQLite file under the test's temp dir.
func sqliteTestDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "barrage.db")
}

// pgTestDSN creates an empty database on the BARRAGE_TEST_PG server, drops
// it at cleanup and returns its URL; without the variable the test skips.
func pgTestDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(pgEnv)
	if base == "" {
		t.Skip(pgEnv + " is not set: Postgres store tests skipped")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", pgEnv, err)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	name := "barrage_t_" + hex.EncodeToString(suffix[:])
	admin := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connect to %s: %v", pgEnv, err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin("CREATE DATABASE " + name)
	t.Cleanup(func() { admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

// mustOpen opens dsn and closes the store at cleanup.
func mustOpen(t testing.TB, dsn string) Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	runConformance(t, func(t *testing.T) Store { return mustOpen(t, sqliteTestDSN(t)) })
}

// TestSQLiteMemory runs the suite on :memory:, whose single connection
// must not deadlock a method that queries twice.
func TestSQLiteMemory(t *testing.T) {
	runConformance(t, func(t *testing.T) Store { return mustOpen(t, "sqlite::memory:") })
}

func TestPostgres(t *testing.T) {
	if os.Getenv(pgEnv) == "" {
		t.Skip(pgEnv + " is not set: Postgres store tests skipped")
	}
	runConformance(t, func(t *testing.T) Store { return mustOpen(t, pgTestDSN(t)) })
}

func TestSQLiteReopen(t *testing.T)   { testReopen(t, sqliteTestDSN(t)) }
func TestPostgresReopen(t *testing.T) { testReopen(t, pgTestDSN(t)) }

// testReopen writes a run and everything hanging off it, closes the store,
// opens the database again and reads it all back.
func testReopen(t *testing.T, dsn string) {
	ctx := t.Context()
	s, err := Open(ctx, dsn)
	mustNil(t, err, "open")
	mustScenario(t, s, "sc")
	run := mustRun(t, s, "r", "sc", func(r *Run) { r.Tags = map[string]string{"release": "v1"} })
	mustNil(t, s.StartRun(ctx, "r", t0, 1000, t0), "start")
	_, err = s.AppendEvent(ctx, Event{RunID: "r", At: t0, Kind: "worker_joined", Detail: "w1"})
	mustNil(t, err, "append")
	_, err = s.PutSnapshot(ctx, &Snapshot{RunID: "r", Seq: 1, Worker: "w1", Data: binary(), ReceivedAt: t0})
	mustNil(t, err, "put snapshot")
	mustNil(t, s.PutInterval(ctx, &Interval{RunID: "r", Start: t0, Snapshots: 1, Data: binary(), FoldedAt: t0}), "put interval")
	mustNil(t, s.FinishRun(ctx, "r", StatusCompleted, "", t0), "finish")
	mustNil(t, s.PutReport(ctx, "r", []byte(`{"ok":true}`)), "put report")
	mustNil(t, s.PutControl(ctx, "r", 2, []byte(`{"Version":2}`)), "put control")

	read := func(s Store) []any {
		r, err := s.GetRun(ctx, "r")
		mustNil(t, err, "get run")
		events, err := s.ListEvents(ctx, "r")
		mustNil(t, err, "list events")
		snaps, err := s.ListSnapshots(ctx, "r", -1)
		mustNil(t, err, "list snapshots")
		ivs, err := s.ListIntervals(ctx, "r", -1, 0)
		mustNil(t, err, "list intervals")
		report, err := s.GetReport(ctx, "r")
		mustNil(t, err, "get report")
		control, err := s.GetControl(ctx, "r")
		mustNil(t, err, "get control")
		if len(events) != 1 || len(snaps) != 1 || len(ivs) != 1 || r.Tags["release"] != "v1" {
			t.Fatalf("read back %+v, %d events, %d snapshots, %d intervals", r, len(events), len(snaps), len(ivs))
		}
		return []any{r, events, snaps, ivs, report, control}
	}
	before := read(s)
	mustNil(t, s.Close(), "close")

	applied, err := Migrate(ctx, dsn)
	mustNil(t, err, "migrate again")
	if len(applied) != 0 {
		t.Fatalf("migrating a current database applied %v", applied)
	}
	s = mustOpen(t, dsn)
	after := read(s)
	wantEqual(t, after, before, "after reopening")
	if after[0].(*Run).ID != run.ID {
		t.Fatal("reopened store lost the run")
	}
}

func TestSQLiteConcurrentOpen(t *testing.T) {
	testConcurrentOpen(t, sqliteTestDSN, func(dsn string) int {
		db, err := sql.Open("sqlite", strings.TrimPrefix(dsn, "sqlite:"))
		mustNil(t, err, "open raw")
		defer db.Close()
		var n int
		mustNil(t, db.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n), "count migrations")
		return n
	})
}

func TestPostgresConcurrentOpen(t *testing.T) {
	testConcurrentOpen(t, pgTestDSN, func(dsn string) int {
		conn, err := pgx.Connect(t.Context(), dsn)
		mustNil(t, err, "connect")
		defer conn.Close(t.Context())
		var n int
		mustNil(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n), "count migrations")
		return n
	})
}

// testConcurrentOpen opens one fresh database from several goroutines at
// once: every Open succeeds and each migration is recorded once. Then it
// runs Migrate concurrently on another fresh database: exactly one call
// applies the migrations, the others find nothing to do.
func testConcurrentOpen(t *testing.T, fresh func(testing.TB) string, recorded func(dsn string) int) {
	const parallel = 4
	dsn := fresh(t)
	kind, _, err := parseDSN(dsn)
	mustNil(t, err, "parse dsn")
	fsys := migrations.SQLite()
	if kind == dialectPostgres {
		fsys = migrations.Postgres()
	}
	ms, err := loadMigrations(fsys)
	mustNil(t, err, "load migrations")

	var wg sync.WaitGroup
	errs := make([]error, parallel)
	for i := range parallel {
		wg.Go(func() {
			s, err := Open(t.Context(), dsn)
			if err == nil {
				_, err = s.ListRuns(t.Context(), RunFilter{})
				err = errors.Join(err, s.Close())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	mustNil(t, errors.Join(errs...), "concurrent open")
	if n := recorded(dsn); n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}

	dsn = fresh(t)
	applied := make([][]string, parallel)
	for i := range parallel {
		wg.Go(func() {
			applied[i], errs[i] = Migrate(t.Context(), dsn)
		})
	}
	wg.Wait()
	mustNil(t, errors.Join(errs...), "concurrent migrate")
	appliers := 0
	for _, a := range applied {
		switch len(a) {
		case 0:
		case len(ms):
			appliers++
		default:
			t.Fatalf("one Migrate applied %v of %d migrations", a, len(ms))
		}
	}
	if appliers != 1 || recorded(dsn) != len(ms) {
		t.Fatalf("%d of %d concurrent Migrate calls applied the migrations (%v), want 1", appliers, parallel, applied)
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn    string
		kind   dialect
		target string
		errHas string
	}{
		{dsn: "postgres://u@h/db", kind: dialectPostgres, target: "postgres://u@h/db"},
		{dsn: "postgresql://u@h/db?sslmode=disable", kind: dialectPostgres, target: "postgresql://u@h/db?sslmode=disable"},
		{dsn: "sqlite:./barrage.db", kind: dialectSQLite, target: "./barrage.db"},
		{dsn: "sqlite:/var/lib/barrage/b.db", kind: dialectSQLite, target: "/var/lib/barrage/b.db"},
		{dsn: "sqlite::memory:", kind: dialectSQLite, target: ":memory:"},
		{dsn: "sqlite:", errHas: "empty SQLite path"},
		{dsn: "sqlite:b.db?_pragma=x", errHas: "no query parameters"},
		{dsn: "mysql://u:hunter2@h/db", errHas: `"sqlite:PATH"`},
		{dsn: "./barrage.db", errHas: `"postgres://…"`},
		{dsn: "", errHas: "unknown form"},
	} {
		kind, target, err := parseDSN(tc.dsn)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("parseDSN(%q) err = %v, want it to contain %q", tc.dsn, err, tc.errHas)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("parseDSN(%q) leaks the password: %v", tc.dsn, err)
			}
			continue
		}
		if err != nil || kind != tc.kind || target != tc.target {
			t.Errorf("parseDSN(%q) = %v, %q, %v; want %v, %q", tc.dsn, kind, target, err, tc.kind, tc.target)
		}
	}
	if _, err := Open(t.Context(), "redis://localhost"); err == nil {
		t.Error("Open of an unknown DSN: no error")
	}
}

// TestMigrationsInStep keeps the dialects' migrations numbered and named
// alike, so a schema change is never made on one store only.
func TestMigrationsInStep(t *testing.T) {
	pg, err := loadMigrations(migrations.Postgres())
	mustNil(t, err, "postgres migrations")
	lite, err := loadMigrations(migrations.SQLite())
	mustNil(t, err, "sqlite migrations")
	names := func(ms []migration) (out []string) {
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	if len(pg) == 0 || !reflect.DeepEqual(names(pg), names(lite)) {
		t.Fatalf("postgres migrations %v, sqlite %v", names(pg), names(lite))
	}
}

func TestClampLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{-1, 50}, {0, 50}, {1, 1}, {1000, 1000}, {1001, 1000}} {
		if got := clampLimit(tc.in); got != tc.want {
			t.Errorf("clampLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestSQLitePragmas checks that the DSN options reach the connections:
// without WAL and busy_timeout, concurrent ingest fails with SQLITE_BUSY.
func TestSQLitePragmas(t *testing.T) {
	s := mustOpen(t, sqliteTestDSN(t)).(*sqliteStore)
	for _, tc := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "busy_timeout", "10000"},
		{s.w, "foreign_keys", "1"},
		{s.w, "synchronous", "1"}, // NORMAL
		{s.r, "query_only", "1"},
		{s.r, "busy_timeout", "10000"},
	} {
		var got string
		mustNil(t, tc.db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got), tc.pragma)
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
	if _, err := s.r.ExecContext(t.Context(), "DELETE FROM runs"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

// TestSQLiteTwoStoresOneFile has two stores (as two server processes would)
// write to one file at once: busy_timeout and BEGIN IMMEDIATE must make
// them wait for each other, never fail with SQLITE_BUSY.
func TestSQLiteTwoStoresOneFile(t *testing.T) {
	dsn := sqliteTestDSN(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	mustScenario(t, a, "sc")
	mustRun(t, a, "r", "sc", nil)
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		s := []Store{a, b}[g%2]
		wg.Go(func() {
			for i := range each {
				sn := &Snapshot{RunID: "r", Shard: g, Seq: int64(i), Data: []byte("x")}
				if _, err := s.PutSnapshot(t.Context(), sn); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.AppendEvent(t.Context(), Event{RunID: "r", Kind: "k"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	snaps, err := b.ListSnapshots(t.Context(), "r", -1)
	mustNil(t, err, "list snapshots")
	events, err := a.ListEvents(t.Context(), "r")
	mustNil(t, err, "list events")
	if len(snaps) != goroutines*each || len(events) != goroutines*each || events[len(events)-1].Seq != goroutines*each {
		t.Fatalf("%d snapshots, %d events, want %d each", len(snaps), len(events), goroutines*each)
	}
}

func TestPostgresNotify(t *testing.T) {
	st := mustOpen(t, pgTestDSN(t))
	n, ok := st.(Notifier)
	if !ok {
		t.Fatal("the Postgres store is not a Notifier")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 1)
	go n.Listen(ctx, "barrage_test", func(p string) { got <- p })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := n.Notify(ctx, "barrage_test", "run_1"); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != "run_1" {
				t.Fatalf("payload %q", p)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("no notification arrived")
}
