package store

import (
	"context"
	"testing"
)

// fillRun stores something of a run in every table that keeps rows of a
// run, then finishes it unless running.
func fillRun(t *testing.T, s Store, id string, running bool, edit func(r *Run)) {
	t.Helper()
	ctx := t.Context()
	mustRun(t, s, id, "sc", func(r *Run) {
		r.Tags = map[string]string{"release": id}
		if edit != nil {
			edit(r)
		}
	})
	mustNil(t, s.StartRun(ctx, id, t0, 1000, t0), "start "+id)
	_, err := s.AppendEvent(ctx, Event{RunID: id, Kind: "shard_started", Detail: "shard 0"})
	mustNil(t, err, "event of "+id)
	_, err = s.PutSnapshot(ctx, &Snapshot{RunID: id, Seq: 1, Data: []byte("raw")})
	mustNil(t, err, "snapshot of "+id)
	mustNil(t, s.PutInterval(ctx, &Interval{RunID: id, Snapshots: 1, Data: []byte("folded")}), "interval of "+id)
	mustNil(t, s.PutControl(ctx, id, 1, []byte(`{}`)), "control of "+id)
	_, _, err = s.ClaimRecords(ctx, RecordClaim{RunID: id, Feeder: "users", Shards: 1, Total: 10, N: 2})
	mustNil(t, err, "records of "+id)
	mustNil(t, s.PutReport(ctx, id, []byte(`{"run_id":"`+id+`"}`)), "report of "+id)
	if !running {
		mustNil(t, s.FinishRun(ctx, id, StatusCompleted, "", t0.Add(1e9)), "finish "+id)
	}
}

// testDeleteRun: deleting a finished run removes every row of it, in every
// table with a run_id, and nothing of other runs; a run that has not
// finished, or an unknown one, is refused and nothing changes. A run that
// named the deleted run as its baseline keeps the reference.
func testDeleteRun(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "sc")
	fillRun(t, s, "done", false, nil)
	fillRun(t, s, "head", false, func(r *Run) { r.BaselineRunID = "done" })
	fillRun(t, s, "live", true, nil)

	wantErr(t, s.DeleteRun(ctx, "live"), ErrConflict, "delete a running run")
	wantErr(t, s.DeleteRun(ctx, "nope"), ErrNotFound, "delete an unknown run")
	for _, id := range []string{"done", "head", "live"} {
		wantRows(t, s, id, true)
	}

	mustNil(t, s.DeleteRun(ctx, "done"), "delete done")
	_, err := s.GetRun(ctx, "done")
	wantErr(t, err, ErrNotFound, "get a deleted run")
	_, err = s.GetReport(ctx, "done")
	wantErr(t, err, ErrNotFound, "report of a deleted run")
	_, err = s.ListEvents(ctx, "done")
	wantErr(t, err, ErrNotFound, "events of a deleted run")
	wantRows(t, s, "done", false)
	wantErr(t, s.DeleteRun(ctx, "done"), ErrNotFound, "delete a deleted run")
	tagged, err := s.ListRuns(ctx, RunFilter{TagKey: "release", TagValue: "done"})
	mustNil(t, err, "list by the deleted run's tag")
	wantEqual(t, len(tagged), 0, "runs tagged as the deleted one")

	head, err := s.GetRun(ctx, "head")
	mustNil(t, err, "get head")
	wantEqual(t, head.BaselineRunID, "done", "baseline of a run whose baseline was deleted")
	wantRows(t, s, "head", true)
	wantRows(t, s, "live", true)
}

// wantRows checks each table with a run_id column (found in the schema,
// so that a table added later is covered) for rows of run id: some in each
// when want, none anywhere otherwise. workers is left out: its run_id is
// what a fleet node was last busy with.
func wantRows(t *testing.T, s Store, id string, want bool) {
	t.Helper()
	ctx := t.Context()
	ss := sqlOf(t, s)
	tables, err := runIDTables(ctx, ss)
	mustNil(t, err, "tables with a run_id")
	if len(tables) < len(runTables) {
		t.Fatalf("found %d tables with a run_id (%v), fewer than DeleteRun deletes from", len(tables), tables)
	}
	for _, table := range tables {
		var n int
		err := ss.r.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE run_id = $1", id).Scan(&n) // #nosec G202 -- a table name read from the schema
		mustNil(t, err, "count "+table)
		if want && n == 0 || !want && n > 0 {
			t.Errorf("run %s: %d rows in %s", id, n, table)
		}
	}
	var n int
	mustNil(t, ss.r.QueryRowContext(ctx, "SELECT count(*) FROM runs WHERE id = $1", id).Scan(&n), "count runs")
	if (n == 1) != want {
		t.Errorf("run %s: %d rows in runs", id, n)
	}
}

func sqlOf(t *testing.T, s Store) *sqlStore {
	switch st := s.(type) {
	case *postgresStore:
		return &st.sqlStore
	case *sqliteStore:
		return &st.sqlStore
	}
	t.Fatalf("store %T is not one of the SQL stores", s)
	return nil
}

func runIDTables(ctx context.Context, s *sqlStore) ([]string, error) {
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'run_id' AND m.name <> 'workers' ORDER BY m.name`
	if s.d.name == "postgres" {
		q = `SELECT table_name FROM information_schema.columns
			WHERE column_name = 'run_id' AND table_schema = current_schema() AND table_name <> 'workers' ORDER BY table_name`
	}
	rows, err := s.r.QueryContext(ctx, q)
	return collect(rows, err, func(sc scanner) (string, error) {
		var name string
		return name, sc.Scan(&name)
	})
}
