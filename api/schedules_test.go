package api

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

func (f *fakeOrchestrator) CreateSchedule(_ context.Context, sc *store.Schedule) error {
	return f.record("schedule %s cron=%q every=%v", sc.ID, sc.Cron, sc.Every)
}

func (f *fakeOrchestrator) DescribeSchedule(_ context.Context, id string) (service.ScheduleState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return service.ScheduleState{Next: time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)}, f.err
}

func (f *fakeOrchestrator) PauseSchedule(_ context.Context, id string, paused bool, note string) error {
	return f.record("pause %s %v", id, paused)
}

func (f *fakeOrchestrator) DeleteSchedule(_ context.Context, id string) error {
	return f.record("unschedule %s", id)
}

func scheduleCases(f *handlerFixture) []handlerCase {
	sc, err := f.s.schedsvc.Create(context.Background(), wire.ScheduleRequest{ScenarioID: f.scenario, Cron: "0 3 * * *",
		TargetBaseURL: "http://127.0.0.1:9", Baseline: "previous"}, "test")
	if err != nil {
		panic(err)
	}
	create := func(body string) string {
		return fmt.Sprintf(`{"scenario_id": %q, "target_base_url": "http://127.0.0.1:9", %s}`, f.scenario, body)
	}
	down := func(t *testing.T, f *handlerFixture) { f.orch.err = errors.New("connection refused") }
	id := sc.ID
	return []handlerCase{
		{route: "POST /schedules", method: "POST", path: "/schedules", body: create(`"every": "24h", "workers": 2, "tags": {"env": "nightly"}, "baseline": "env=nightly"`), status: 201,
			check: func(t *testing.T, f *handlerFixture, rec *httptest.ResponseRecorder) {
				var got wire.Schedule
				mustJSON(t, rec, &got)
				if got.Every != "24h0m0s" || got.Workers != 2 || got.NextRunAt == nil || got.TemporalScheduleID != "barrage-schedule-"+got.ScheduleID ||
					f.orch.last() != "schedule "+got.ScheduleID+` cron="" every=24h0m0s` {
					t.Fatalf("schedule %+v, orchestrator's last call %q", got, f.orch.last())
				}
			}},
		{route: "POST /schedules", name: "unknown scenario", method: "POST", path: "/schedules", body: `{"scenario_id": "sc_nope", "every": "1h"}`, status: 404, code: "not_found", field: "scenario_id"},
		{route: "POST /schedules", name: "neither cron nor every", method: "POST", path: "/schedules", body: create(`"workers": 1`), status: 400, code: "missing_field", field: "cron"},
		{route: "POST /schedules", name: "bad cron", method: "POST", path: "/schedules", body: create(`"cron": "0 25 * * *"`), status: 400, code: "invalid_field", field: "cron"},
		{route: "POST /schedules", name: "every too short", method: "POST", path: "/schedules", body: create(`"every": "100ms"`), status: 400, code: "invalid_field", field: "every"},
		{route: "POST /schedules", name: "too many workers", method: "POST", path: "/schedules", body: create(`"every": "1h", "workers": 1001`), status: 422, code: "invalid_field", field: "workers"},
		{route: "POST /schedules", name: "the schedule tag", method: "POST", path: "/schedules", body: create(`"every": "1h", "tags": {"schedule": "x"}`), status: 422, code: "invalid_field", field: "tags"},
		{route: "POST /schedules", name: "Temporal is down: nothing kept", method: "POST", path: "/schedules", body: create(`"every": "1h"`), status: 503, code: "temporal_unavailable",
			before: down, check: func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
				f.orch.err = nil
				if list, err := f.st.ListSchedules(t.Context()); err != nil || len(list) != 2 {
					t.Fatalf("schedules after a failed create: %d %v", len(list), err)
				}
			}},
		{route: "GET /schedules", method: "GET", path: "/schedules", status: 200, check: bodyHas(`"schedule_id":"` + id + `"`)},
		{route: "GET /schedules/:id", method: "GET", path: "/schedules/" + id, status: 200, check: bodyHas(`"next_run_at":"2030-01-02T03:00:00Z"`)},
		{route: "GET /schedules/:id", name: "unknown", method: "GET", path: "/schedules/sch_nope", status: 404, code: "not_found", field: "id"},
		{route: "GET /schedules/:id", name: "bad id", method: "GET", path: "/schedules/a%20b", status: 400, code: "bad_id", field: "id"},
		{route: "POST /schedules/:id/pause", name: "Temporal is down", method: "POST", path: "/schedules/" + id + "/pause", status: 503, code: "temporal_unavailable", before: down,
			check: func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
				f.orch.err = nil
				if got, err := f.st.GetSchedule(t.Context(), id); err != nil || got.Paused {
					t.Fatalf("paused although Temporal was not told: %+v %v", got, err)
				}
			}},
		{route: "POST /schedules/:id/pause", method: "POST", path: "/schedules/" + id + "/pause", status: 200, check: lastCall("pause " + id + " true")},
		{route: "POST /schedules/:id/pause", name: "unknown", method: "POST", path: "/schedules/sch_nope/pause", status: 404, code: "not_found", field: "id"},
		{route: "POST /schedules/:id/resume", method: "POST", path: "/schedules/" + id + "/resume", status: 200, check: lastCall("pause " + id + " false")},
		{route: "GET /ui/schedules", method: "GET", path: "/ui/schedules", status: 200, check: bodyHas("<html")},
		{route: "DELETE /schedules/:id", method: "DELETE", path: "/schedules/" + id, status: 204, check: lastCall("unschedule " + id)},
		{route: "DELETE /schedules/:id", name: "unknown", method: "DELETE", path: "/schedules/" + id, status: 404, code: "not_found", field: "id"},
	}
}

// TestScheduleFire: a firing starts an ordinary run tagged with the
// schedule, with the ID its firing derives; a retried firing finds it;
// the next firing compares with the previous run once it finished, and
// the runs list shows that it failed its thresholds.
func TestScheduleFire(t *testing.T) {
	f := newHandlerFixture(t)
	ctx := t.Context()
	sc, err := f.s.schedsvc.Create(ctx, wire.ScheduleRequest{ScenarioID: f.scenario, Every: "1h", TargetBaseURL: "http://127.0.0.1:9",
		Workers: 2, Tags: map[string]string{"env": "nightly"}, Baseline: service.BaselinePrevious}, "test")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	first, err := f.s.schedsvc.Fire(ctx, sc.ID, "barrage-schedule-x-firing-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != service.FiringRunID(sc.ID, "barrage-schedule-x-firing-1", at) || first.WorkflowID != first.ID || first.WorkerCount != 2 ||
		first.Tags["schedule"] != sc.ID || first.Tags["env"] != "nightly" || first.BaselineRunID != "" || f.orch.last() != "start "+first.ID {
		t.Fatalf("first firing's run %+v, orchestrator's last call %q", first, f.orch.last())
	}
	again, err := f.s.schedsvc.Fire(ctx, sc.ID, "barrage-schedule-x-firing-1", at)
	if err != nil || again.ID != first.ID {
		t.Fatalf("a retried firing started %+v (%v), want run %s again", again, err, first.ID)
	}
	if err := f.st.FinishRun(ctx, first.ID, store.StatusCompleted, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutReport(ctx, first.ID, []byte(`{"totals": {"requests": 10}, "thresholds": [{"expression": "p95 < 1ms", "passed": false}]}`)); err != nil {
		t.Fatal(err)
	}
	second, err := f.s.schedsvc.Fire(ctx, sc.ID, "barrage-schedule-x-firing-2", at.Add(time.Hour))
	if err != nil || second.ID == first.ID || second.BaselineRunID != first.ID {
		t.Fatalf("second firing's run %+v (%v), want a new run compared with %s", second, err, first.ID)
	}
	rec := f.do(t, "GET", "/runs?tag=schedule="+sc.ID, "", nil)
	var page struct{ Runs []wire.Run }
	mustJSON(t, rec, &page)
	if len(page.Runs) != 2 || page.Runs[1].RunID != first.ID || !page.Runs[1].ThresholdsFailed || page.Runs[1].ScheduleID != sc.ID ||
		page.Runs[0].ThresholdsFailed || page.Runs[0].ScheduleID != sc.ID {
		t.Fatalf("the schedule's runs: %+v", page.Runs)
	}
	checkResponse(t, "GET", "/runs", rec.Code, rec.Header(), rec.Body.Bytes())
	rec = f.do(t, "GET", "/schedules/"+sc.ID, "", nil)
	var got wire.Schedule
	mustJSON(t, rec, &got)
	if got.LastRun == nil || got.LastRun.RunID != second.ID || got.LastRun.ThresholdsFailed {
		t.Fatalf("schedule's last run: %+v", got.LastRun)
	}
	if err := f.s.schedsvc.Delete(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	var se *service.Error
	if _, err := f.s.schedsvc.Fire(ctx, sc.ID, "barrage-schedule-x-firing-3", at.Add(2*time.Hour)); !errors.As(err, &se) || se.Kind != service.NotFound {
		t.Fatalf("a deleted schedule's firing: %v", err)
	}
}
