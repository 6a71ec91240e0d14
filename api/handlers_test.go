package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/tsdb"
	"github.com/barrage/barrage/internal/wire"
)

// fakeOrchestrator stands in for Temporal behind the run service: it
// records what the service asked, and fails when told to.
type fakeOrchestrator struct {
	mu    sync.Mutex
	calls []string
	err   error // every call fails with it
}

func (f *fakeOrchestrator) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.err
}

func (f *fakeOrchestrator) Start(_ context.Context, r *store.Run) error {
	return f.record("start %s", r.WorkflowID)
}

func (f *fakeOrchestrator) Abort(_ context.Context, r *store.Run, by, reason string, failed bool) error {
	return f.record("abort %s by=%s reason=%s failed=%v", r.WorkflowID, by, reason, failed)
}

func (f *fakeOrchestrator) Ramp(_ context.Context, r *store.Run, target float64, over time.Duration, by string) error {
	return f.record("ramp %s target=%g over=%v by=%s", r.WorkflowID, target, over, by)
}

func (f *fakeOrchestrator) ShardsStarted(_ context.Context, workflowID string, states []wire.ShardState) error {
	return f.record("shards %s n=%d", workflowID, len(states))
}

func (f *fakeOrchestrator) ShardSilent(_ context.Context, r *store.Run, shard int, worker, why string) error {
	return f.record("silent %s shard=%d", r.WorkflowID, shard)
}

func (f *fakeOrchestrator) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

// handlerFixture is a server on a real SQLite store and a fake
// orchestrator, with a stored scenario, a queued run, a running one (with
// a sequential feeder) and a finished one.
type handlerFixture struct {
	s                         *Server
	st                        store.Store
	orch                      *fakeOrchestrator
	scenario                  string
	queued, running, finished *store.Run
	admin                     string // an admin's token when authentication is on
}

const handlerScenario = `{"name": "handlers", "virtual_users": 2, "duration_seconds": 5, "max_vus": 50,
  "feeders": [{"name": "users", "mode": "sequential", "data": [{"u": "a"}, {"u": "b"}, {"u": "c"}]}],
  "steps": [{"name": "home", "url_template": "/"}]}`

func newHandlerFixture(t *testing.T) *handlerFixture {
	t.Helper()
	return newFixture(t, true)
}

// newFixture is newHandlerFixture with authentication on (noAuth false):
// then f.admin is an admin's token, which f.do sends unless told otherwise.
func newFixture(t *testing.T, noAuth bool) *handlerFixture {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	f := &handlerFixture{st: st, orch: &fakeOrchestrator{}}
	// An exporter that never runs: /metrics shows its counters.
	x, err := tsdb.New(tsdb.Config{URL: "http://127.0.0.1:1", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	f.s = New(Config{Store: st, Orchestrator: f.orch, Scheduler: f.orch, NoAuth: noAuth, MaxBody: 64 << 10, MaxImportBody: 256 << 10, SecretKey: testSecretKey, Exporter: x, GrafanaURL: "http://grafana.test:3000/"})
	t.Cleanup(func() {
		f.s.Close()
		_ = st.Close()
	})
	if !noAuth {
		if f.admin, _, err = f.s.access.CreateToken(t.Context(), "root", store.RoleAdmin, "test"); err != nil {
			t.Fatal(err)
		}
	}
	rec := f.do(t, "POST", "/scenarios", handlerScenario, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("store the scenario: %d %s", rec.Code, rec.Body)
	}
	var ref wire.ScenarioRef
	mustJSON(t, rec, &ref)
	f.scenario = ref.ScenarioID
	f.queued = f.startRun(t)
	f.running = f.startRun(t)
	if err := st.StartRun(t.Context(), f.running.ID, time.Now().Add(-time.Second), 1000, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.finished = f.startRun(t)
	if err := st.FinishRun(t.Context(), f.finished.ID, store.StatusAborted, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *handlerFixture) startRun(t *testing.T) *store.Run {
	t.Helper()
	rec := f.do(t, "POST", "/runs", fmt.Sprintf(`{"scenario_id": %q, "target_base_url": "http://127.0.0.1:9"}`, f.scenario), nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("start a run: %d %s", rec.Code, rec.Body)
	}
	var run wire.Run
	mustJSON(t, rec, &run)
	r, err := f.st.GetRun(t.Context(), run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *handlerFixture) do(t *testing.T, method, path, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	return f.doCtx(t.Context(), method, path, body, header)
}

// doCtx is do with the request's context: a stream ends with it.
func (f *handlerFixture) doCtx(ctx context.Context, method, path, body string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if f.admin != "" {
		req.Header.Set("Authorization", "Bearer "+f.admin)
	}
	for k, v := range header {
		req.Header.Set(k, v[0])
		if len(v) == 1 && v[0] == "" {
			req.Header.Del(k)
		}
	}
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	return rec
}

func mustJSON(t *testing.T, rec *httptest.ResponseRecorder, out any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
}

// handlerCase is one request and what must come back: the status, and for
// errors the body's code and field.
type handlerCase struct {
	route  string // the router's "METHOD /path/:param" this case covers
	name   string
	method string
	path   string
	body   string
	header http.Header
	status int
	code   string // error code ("" for a success)
	field  string
	before func(t *testing.T, f *handlerFixture)
	check  func(t *testing.T, f *handlerFixture, rec *httptest.ResponseRecorder)
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// TestHandlers runs every route of the API, its successes and its refusals,
// in process against a real store; the orchestrator is a fake. Every answer
// of a documented route must match api/openapi.json.
func TestHandlers(t *testing.T) {
	f := newHandlerFixture(t)
	covered := map[string]bool{}
	for _, tc := range handlerCases(f) {
		covered[tc.route] = true
		t.Run(tc.route+" "+tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t, f)
			}
			rec := f.do(t, tc.method, tc.path, tc.body, tc.header)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.code != "" {
				var e struct{ Error wire.APIError }
				mustJSON(t, rec, &e)
				if e.Error.Code != tc.code || e.Error.Field != tc.field || e.Error.Message == "" {
					t.Fatalf("error %+v, want code %q field %q and a message", e.Error, tc.code, tc.field)
				}
			}
			if tc.route != "" && tc.route != "GET /" && !strings.HasPrefix(tc.route, "GET /ui") {
				checkResponse(t, tc.method, tc.path, rec.Code, rec.Header(), rec.Body.Bytes())
			}
			if tc.check != nil {
				tc.check(t, f, rec)
			}
		})
	}
	for _, r := range f.s.router.Routes() {
		if !covered[r.Method+" "+r.Path] {
			t.Errorf("route %s %s has no handler test", r.Method, r.Path)
		}
	}
}

func handlerCases(f *handlerFixture) []handlerCase {
	var cases []handlerCase
	for _, group := range [][]handlerCase{serviceCases(f), scenarioCases(f), runCases(f), steerCases(f), ingestCases(f), accessCases(f), secretCases(f), scheduleCases(f), importCases(f), deleteRunCases(f)} {
		cases = append(cases, group...)
	}
	return cases
}

func serviceCases(f *handlerFixture) []handlerCase {
	return []handlerCase{
		{route: "GET /healthz", method: "GET", path: "/healthz", status: 200},
		{route: "GET /readyz", method: "GET", path: "/readyz", status: 200, check: bodyHas(`"database":"ok"`)},
		{route: "GET /metrics", method: "GET", path: "/metrics", status: 200, check: bodyHas("barrage_")},
		{route: "GET /metrics", name: "export", method: "GET", path: "/metrics", status: 200, check: bodyHas("\nbarrage_tsdb_push_errors_total 0\n")},
		{route: "GET /openapi.json", method: "GET", path: "/openapi.json", status: 200, check: bodyHas(`"openapi"`)},
		{route: "GET /", method: "GET", path: "/", status: http.StatusFound, check: func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
			if loc := rec.Header().Get("Location"); loc != "/ui/" {
				t.Fatalf("redirects to %q", loc)
			}
		}},
		{route: "GET /ui", method: "GET", path: "/ui", status: http.StatusMovedPermanently},
		{route: "GET /ui/", method: "GET", path: "/ui/", status: 200, check: bodyHas("<html")},
		{route: "GET /ui/runs/:id", method: "GET", path: "/ui/runs/" + f.queued.ID, status: 200, check: bodyHas("<html")},
		{route: "GET /ui/scenarios", method: "GET", path: "/ui/scenarios", status: 200, check: bodyHas("<html")},
		{route: "GET /ui/scenarios/:id", method: "GET", path: "/ui/scenarios/" + f.scenario, status: 200, check: bodyHas("<html")},
		{route: "GET /ui/compare", method: "GET", path: "/ui/compare?base=a&head=b", status: 200, check: bodyHas("<html")},
		{route: "GET /ui/assets/app.js", method: "GET", path: "/ui/assets/app.js", status: 200},
		{route: "GET /ui/assets/app.css", method: "GET", path: "/ui/assets/app.css", status: 200},
		{route: "", name: "unknown asset", method: "GET", path: "/ui/assets/nope.js", status: 404, code: "not_found"},
		{route: "", name: "no such endpoint", method: "GET", path: "/nope", status: 404, code: "not_found"},
		{route: "POST /workers/heartbeat", method: "POST", path: "/workers/heartbeat", body: `{"id": "w-1", "max_vus": 10, "host": "h"}`, status: 200},
		{route: "POST /workers/heartbeat", name: "bad id", method: "POST", path: "/workers/heartbeat", body: `{"id": "w 1"}`, status: 400, code: "invalid_field", field: "id"},
		{route: "GET /workers", method: "GET", path: "/workers", status: 200, check: bodyHas(`"w-1"`)},
	}
}

func scenarioCases(f *handlerFixture) []handlerCase {
	id := f.scenario
	return []handlerCase{
		{route: "POST /scenarios", method: "POST", path: "/scenarios", body: handlerScenario, status: 201, check: bodyHas(`"version":1`)},
		{route: "POST /scenarios", name: "malformed", method: "POST", path: "/scenarios", body: `{"name":`, status: 400, code: "invalid_scenario"},
		{route: "POST /scenarios", name: "invalid", method: "POST", path: "/scenarios", body: `{"name": "x", "virtual_users": -1, "steps": []}`, status: 422, code: "invalid_scenario", field: "virtual_users"},
		{route: "POST /scenarios", name: "over the body limit", method: "POST", path: "/scenarios", body: `{"name": "` + strings.Repeat("x", 70<<10) + `"}`, status: 413, code: "too_large"},
		{route: "GET /scenarios", method: "GET", path: "/scenarios", status: 200, check: bodyHas(id)},
		{route: "GET /scenarios", name: "bad limit", method: "GET", path: "/scenarios?limit=0", status: 400, code: "bad_query", field: "limit"},
		{route: "GET /scenarios/:id", method: "GET", path: "/scenarios/" + id, status: 200, check: bodyHas(`"yaml"`)},
		{route: "GET /scenarios/:id", name: "unknown", method: "GET", path: "/scenarios/sc_nope", status: 404, code: "not_found"},
		{route: "GET /scenarios/:id", name: "bad id", method: "GET", path: "/scenarios/a.b", status: 400, code: "bad_id", field: "id"},
		{route: "GET /scenarios/:id", name: "bad version", method: "GET", path: "/scenarios/" + id + "?version=0", status: 400, code: "bad_query", field: "version"},
		{route: "PUT /scenarios/:id", method: "PUT", path: "/scenarios/" + id, body: handlerScenario, status: 200, check: bodyHas(`"version":2`)},
		{route: "PUT /scenarios/:id", name: "unknown", method: "PUT", path: "/scenarios/sc_nope", body: handlerScenario, status: 404, code: "not_found"},
		{route: "DELETE /scenarios/:id", name: "unknown", method: "DELETE", path: "/scenarios/sc_nope", status: 404, code: "not_found"},
	}
}

func runCases(f *handlerFixture) []handlerCase {
	start := func(body string) string { return fmt.Sprintf(`{"scenario_id": %q, %s}`, f.scenario, body) }
	q, done := f.queued.ID, f.finished.ID
	countRuns, noNewRun := storesNoRun("reserved")
	return []handlerCase{
		{route: "POST /runs", method: "POST", path: "/runs", body: start(`"target_base_url": "http://127.0.0.1:9", "worker_count": 3, "tags": {"env": "ci"}`), status: 201,
			check: func(t *testing.T, f *handlerFixture, rec *httptest.ResponseRecorder) {
				var run wire.Run
				mustJSON(t, rec, &run)
				if run.Status != "queued" || run.WorkerCount != 3 || f.orch.last() != "start "+run.RunID {
					t.Fatalf("run %+v, orchestrator's last call %q", run, f.orch.last())
				}
			}},
		{route: "POST /runs", name: "no scenario", method: "POST", path: "/runs", body: `{}`, status: 400, code: "missing_field", field: "scenario_id"},
		{route: "POST /runs", name: "unknown scenario", method: "POST", path: "/runs", body: `{"scenario_id": "sc_nope"}`, status: 404, code: "not_found", field: "scenario_id"},
		{route: "POST /runs", name: "unknown field", method: "POST", path: "/runs", body: start(`"workers": 2`), status: 400, code: "malformed_json", field: "workers"},
		{route: "POST /runs", name: "too many workers", method: "POST", path: "/runs", body: start(`"target_base_url": "http://127.0.0.1:9", "worker_count": 1001`), status: 422, code: "invalid_field", field: "worker_count"},
		{route: "POST /runs", name: "no target for paths", method: "POST", path: "/runs", body: start(`"worker_count": 1`), status: 422, code: "missing_field", field: "target_base_url"},
		{route: "POST /runs", name: "bad override", method: "POST", path: "/runs", body: start(`"target_base_url": "http://127.0.0.1:9", "overrides": {"virtual_users": -3}`), status: 422, code: "invalid_overrides", field: "overrides.virtual_users"},
		{route: "POST /runs", name: "a forged schedule tag", method: "POST", path: "/runs", body: start(`"target_base_url": "http://127.0.0.1:9", "tags": {"env": "ci", "schedule": "sch_x"}`),
			status: 422, code: "invalid_field", field: "tags.schedule", before: countRuns, check: noNewRun},
		{route: "POST /runs", name: "two baselines", method: "POST", path: "/runs", body: start(`"target_base_url": "http://127.0.0.1:9", "baseline": "a=b", "baseline_run_id": "` + q + `"`), status: 422, code: "invalid_field", field: "baseline"},
		{route: "POST /runs", name: "the orchestrator is down", method: "POST", path: "/runs", body: start(`"target_base_url": "http://127.0.0.1:9"`), status: 503, code: "temporal_unavailable",
			before: func(t *testing.T, f *handlerFixture) { f.orch.err = errors.New("connection refused") },
			check: func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
				f.orch.err = nil
				runs, err := f.st.ListRuns(t.Context(), store.RunFilter{Limit: 1})
				if err != nil || len(runs) != 1 || runs[0].Status != store.StatusFailed {
					t.Fatalf("the run that could not start: %+v, %v", runs, err)
				}
			}},
		{route: "GET /runs", method: "GET", path: "/runs?tag=env=ci", status: 200, check: bodyHas(`"env":"ci"`)},
		{route: "GET /runs", name: "bad status", method: "GET", path: "/runs?status=done", status: 400, code: "bad_query", field: "status"},
		{route: "GET /runs", name: "bad tag", method: "GET", path: "/runs?tag=env", status: 400, code: "bad_query", field: "tag"},
		{route: "GET /runs/:id", method: "GET", path: "/runs/" + q, status: 200, check: bodyHas(`"status":"queued"`)},
		{route: "GET /runs/:id", name: "grafana", method: "GET", path: "/runs/" + q, status: 200,
			check: bodyHas(`"grafana_url":"http://grafana.test:3000/d/barrage-run/barrage-run?`)},
		{route: "GET /runs/:id", name: "unknown", method: "GET", path: "/runs/run_nope", status: 404, code: "not_found"},
		{route: "GET /runs/:id", name: "bad id", method: "GET", path: "/runs/a%20b", status: 400, code: "bad_id", field: "id"},
		{route: "GET /runs/compare", method: "GET", path: "/runs/compare?base=" + q + "&head=" + done, status: 200, check: bodyHas(`"metrics"`)},
		{route: "GET /runs/compare", name: "no head", method: "GET", path: "/runs/compare?base=" + q, status: 400, code: "missing_field", field: "head"},
		{route: "GET /runs/compare", name: "unknown base", method: "GET", path: "/runs/compare?base=run_nope&head=" + q, status: 404, code: "not_found", field: "base"},
		{route: "GET /runs/:id/report", method: "GET", path: "/runs/" + done + "/report", status: 200, check: bodyHas(`"run_id"`)},
		{route: "GET /runs/:id/report", name: "junit", method: "GET", path: "/runs/" + done + "/report?format=junit", status: 200, check: bodyHas("<testsuite")},
		{route: "GET /runs/:id/report", name: "bad format", method: "GET", path: "/runs/" + done + "/report?format=csv", status: 400, code: "bad_query", field: "format"},
		{route: "GET /runs/:id/hlog", method: "GET", path: "/runs/" + f.running.ID + "/hlog", status: 200, before: foldInterval(5),
			check: bodyHas("#[BaseTime: ")},
		{route: "GET /runs/:id/hlog", name: "a step's line", method: "GET", path: "/runs/" + f.running.ID + "/hlog", status: 200, check: bodyHas("\nTag=home,5.000,1.000,3.")},
		{route: "GET /runs/:id/hlog", name: "no data yet", method: "GET", path: "/runs/" + q + "/hlog", status: 409, code: "no_data"},
		{route: "GET /runs/:id/hlog", name: "unknown", method: "GET", path: "/runs/run_nope/hlog", status: 404, code: "not_found"},
		{route: "GET /runs/:id/events", method: "GET", path: "/runs/" + f.running.ID + "/events", status: 200, check: bodyHas(`"events"`)},
		{route: "GET /runs/:id/metrics", name: "a finished run's", method: "GET", path: "/runs/" + done + "/metrics", status: 200,
			check: bodyHas("event: status\ndata: {\"reason\":\"test\",\"status\":\"aborted\"}\n\nid: 0-end\nevent: end")},
		{route: "GET /runs/:id/metrics", name: "after the end", method: "GET", path: "/runs/" + done + "/metrics", header: http.Header{"Last-Event-ID": {"3-end"}}, status: 204},
		{route: "GET /runs/:id/metrics", name: "bad Last-Event-ID", method: "GET", path: "/runs/" + done + "/metrics", header: http.Header{"Last-Event-ID": {"x"}}, status: 400, code: "bad_event_id", field: "Last-Event-ID"},
		{route: "GET /runs/:id/metrics", name: "an interval never folded", method: "GET", path: "/runs/" + done + "/metrics", header: http.Header{"Last-Event-ID": {"7"}}, status: 400, code: "bad_event_id", field: "Last-Event-ID"},
	}
}

func steerCases(f *handlerFixture) []handlerCase {
	run, done := f.running.ID, f.finished.ID
	down := func(t *testing.T, f *handlerFixture) { f.orch.err = errors.New("connection refused") }
	up := func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) { f.orch.err = nil }
	return []handlerCase{
		{route: "POST /runs/:id/ramp", method: "POST", path: "/runs/" + run + "/ramp", body: `{"target": 20, "over_seconds": 5, "by": "ann"}`, status: 202,
			check: lastCall("ramp " + run + " target=20 over=5s by=ann")},
		{route: "POST /runs/:id/ramp", name: "no target", method: "POST", path: "/runs/" + run + "/ramp", body: `{"over_seconds": 5}`, status: 422, code: "invalid_field", field: "target"},
		{route: "POST /runs/:id/ramp", name: "over max_vus", method: "POST", path: "/runs/" + run + "/ramp", body: `{"target": 51}`, status: 422, code: "invalid_field", field: "target"},
		{route: "POST /runs/:id/ramp", name: "too slow", method: "POST", path: "/runs/" + run + "/ramp", body: `{"target": 5, "over_seconds": 3601}`, status: 422, code: "invalid_field", field: "over_seconds"},
		{route: "POST /runs/:id/ramp", name: "finished", method: "POST", path: "/runs/" + done + "/ramp", body: `{"target": 5}`, status: 409, code: "finished"},
		{route: "POST /runs/:id/ramp", name: "the orchestrator is down", method: "POST", path: "/runs/" + run + "/ramp", body: `{"target": 5}`, status: 503, code: "temporal_unavailable", before: down, check: up},
		{route: "POST /runs/:id/abort", name: "finished", method: "POST", path: "/runs/" + done + "/abort", status: 409, code: "finished"},
		{route: "POST /runs/:id/abort", name: "the orchestrator is down", method: "POST", path: "/runs/" + run + "/abort", status: 503, code: "temporal_unavailable", before: down, check: up},
		{route: "POST /runs/:id/abort", name: "malformed", method: "POST", path: "/runs/" + run + "/abort", body: `{"by": 3}`, status: 400, code: "malformed_json", field: "by"},
		{route: "POST /runs/:id/abort", method: "POST", path: "/runs/" + run + "/abort", body: `{"by": "ann", "reason": "enough"}`, status: 202,
			check: lastCall("abort " + run + " by=ann reason=enough failed=false")},
		{route: "POST /runs/:id/abort", name: "no workflow: ended here", method: "POST", path: "/runs/" + f.queued.ID + "/abort", status: 202,
			before: func(t *testing.T, f *handlerFixture) { f.orch.err = service.ErrNoWorkflow },
			check: func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
				f.orch.err = nil
				r, err := f.st.GetRun(t.Context(), f.queued.ID)
				if err != nil || r.Status != store.StatusAborted || r.Reason != "aborted by api (no workflow)" {
					t.Fatalf("run without a workflow: %+v, %v", r, err)
				}
			}},
		{route: "DELETE /scenarios/:id", method: "DELETE", path: "/scenarios/" + f.scenario, status: 409, code: "conflict"},
	}
}

// deleteRunCases come last: the finished run they delete is gone after.
func deleteRunCases(f *handlerFixture) []handlerCase {
	done := f.finished.ID
	still := func(id string) func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
		return func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
			if _, err := f.st.GetRun(t.Context(), id); err != nil {
				t.Fatalf("a refused delete removed run %s: %v", id, err)
			}
		}
	}
	return []handlerCase{
		{route: "DELETE /runs/:id", name: "running", method: "DELETE", path: "/runs/" + f.running.ID, status: 409, code: "conflict", check: still(f.running.ID)},
		{route: "DELETE /runs/:id", name: "unknown", method: "DELETE", path: "/runs/run_nope", status: 404, code: "not_found"},
		{route: "DELETE /runs/:id", name: "bad id", method: "DELETE", path: "/runs/a%20b", status: 400, code: "bad_id", field: "id"},
		{route: "DELETE /runs/:id", method: "DELETE", path: "/runs/" + done, status: 204,
			check: func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
				if _, err := f.st.GetRun(t.Context(), done); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("deleted run: %v", err)
				}
				audit, err := f.st.ListAudit(t.Context(), 0, 1000)
				if err != nil || len(audit) == 0 || audit[len(audit)-1].Action != "run.delete" || audit[len(audit)-1].Subject != done {
					t.Fatalf("audit log ends %+v, %v; want run.delete of %s", audit[max(0, len(audit)-1):], err, done)
				}
			}},
		{route: "DELETE /runs/:id", name: "deleted", method: "DELETE", path: "/runs/" + done, status: 404, code: "not_found"},
		{route: "GET /runs/compare", name: "with a deleted run", method: "GET", path: "/runs/compare?base=" + done + "&head=" + f.running.ID, status: 404, code: "not_found", field: "base"},
	}
}

func ingestCases(f *handlerFixture) []handlerCase {
	run, tok := f.running.ID, bearer(f.running.Token)
	base := "/ingest/runs/" + run
	return []handlerCase{
		{route: "GET /ingest/runs/:id/spec", method: "GET", path: base + "/spec", header: tok, status: 200, check: bodyHas(`"target_base_url":"http://127.0.0.1:9"`)},
		{route: "GET /ingest/runs/:id/spec", name: "wrong token", method: "GET", path: base + "/spec", header: bearer("nope"), status: 401, code: "unauthorized"},
		{route: "GET /ingest/runs/:id/spec", name: "unknown run, same answer", method: "GET", path: "/ingest/runs/run_nope/spec", header: tok, status: 401, code: "unauthorized"},
		{route: "GET /ingest/runs/:id/control", name: "none yet", method: "GET", path: base + "/control", header: tok, status: 200},
		{route: "GET /ingest/runs/:id/control", name: "bad wait", method: "GET", path: base + "/control?wait=-1", header: tok, status: 400, code: "invalid_field", field: "wait"},
		{route: "POST /ingest/runs/:id/snapshots", method: "POST", path: base + "/snapshots", header: tok, body: snapshotBody(f, 0), status: 200, check: bodyHas(`"inserted":true`)},
		{route: "POST /ingest/runs/:id/snapshots", name: "corrupt", method: "POST", path: base + "/snapshots", header: tok, body: "garbage", status: 400, code: "corrupt_snapshot"},
		{route: "POST /ingest/runs/:id/snapshots", name: "another run's", method: "POST", path: "/ingest/runs/" + f.queued.ID + "/snapshots", header: bearer(f.queued.Token), body: snapshotBody(f, 0), status: 400, code: "wrong_run"},
		{route: "POST /ingest/runs/:id/events", method: "POST", path: base + "/events", header: tok, body: `{"kind": "note", "detail": "hello"}`, status: 200, check: bodyHas(`"seq"`)},
		{route: "POST /ingest/runs/:id/events", name: "the server's kind", method: "POST", path: base + "/events", header: tok, body: `{"kind": "measurement_gap", "detail": "x"}`, status: 400, code: "invalid_field", field: "kind"},
		{route: "POST /ingest/runs/:id/events", name: "a response sample", method: "POST", path: base + "/events", header: tok,
			body:   `{"kind": "response_sample", "detail": "x", "data": {"step": 0, "class": "http_5xx", "status": 503, "headers": {"Set-Cookie": "[redacted]"}, "body": "down", "truncated": false, "shard": 0}}`,
			status: 200, check: bodyHas(`"seq"`)},
		{route: "POST /ingest/runs/:id/events", name: "slow traces", method: "POST", path: base + "/events", header: tok,
			body:   `{"kind": "slow_traces", "detail": "x", "data": {"steps": [{"step": 0, "traces": [{"trace_id": "0123456789abcdef0123456789abcdef", "span_id": "0123456789abcdef", "latency_ms": 12.5, "status": 200, "shard": 0}]}]}}`,
			status: 200, check: bodyHas(`"seq"`)},
		{route: "POST /ingest/runs/:id/events", name: "a sample of no error class", method: "POST", path: base + "/events", header: tok,
			body: `{"kind": "response_sample", "detail": "x", "data": {"step": 0, "class": "", "status": 200, "body": ""}}`, status: 400, code: "invalid_field", field: "data"},
		{route: "POST /ingest/runs/:id/events", name: "a bad trace ID", method: "POST", path: base + "/events", header: tok,
			body: `{"kind": "slow_traces", "detail": "x", "data": {"steps": [{"step": 0, "traces": [{"trace_id": "xyz", "span_id": "0123456789abcdef", "latency_ms": 1, "status": 200}]}]}}`, status: 400, code: "invalid_field", field: "data"},
		{route: "POST /ingest/runs/:id/events", name: "data on another kind", method: "POST", path: base + "/events", header: tok,
			body: `{"kind": "note", "detail": "x", "data": {"a": 1}}`, status: 400, code: "invalid_field", field: "data"},
		{route: "POST /ingest/runs/:id/records", method: "POST", path: base + "/records", header: tok, body: `{"feeder": "users", "shard": 0, "worker": "w-1", "n": 2}`, status: 200, check: bodyHas(`"hi":2`)},
		{route: "POST /ingest/runs/:id/records", name: "bad n", method: "POST", path: base + "/records", header: tok, body: `{"feeder": "users", "n": 0}`, status: 400, code: "invalid_field", field: "n"},
		{route: "POST /ingest/runs/:id/records", name: "unknown feeder", method: "POST", path: base + "/records", header: tok, body: `{"feeder": "nope", "n": 1}`, status: 404, code: "not_found", field: "feeder"},
		{route: "POST /ingest/runs/:id/shards", method: "POST", path: base + "/shards", header: tok, body: `{"shard": 0, "attempt": 1, "worker": "w-1", "max_vus": 10}`, status: 200,
			check: lastCall("shards " + run + " n=1")},
		{route: "POST /ingest/runs/:id/shards", name: "no worker", method: "POST", path: base + "/shards", header: tok, body: `{"shard": 0}`, status: 400, code: "invalid_field", field: "shard"},
	}
}

// snapshotBody is an encoded snapshot of run's interval k from shard 0.
func snapshotBody(f *handlerFixture, k int64) string {
	r, err := f.st.GetRun(context.Background(), f.running.ID)
	if err != nil {
		panic(err)
	}
	rec := hist.NewRecorder(1)
	rec.Record(0, hist.Result{Latency: 3 * time.Millisecond, Status: 200})
	s := rec.Flush(r.Epoch.Add(time.Duration(k)*time.Second), r.Epoch.Add(time.Duration(k+1)*time.Second))
	s.RunID, s.Worker, s.Shard, s.Attempt, s.Seq = r.ID, "w-1", 0, 1, uint64(k+1)
	b, err := s.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return string(b)
}

// foldInterval stores a folded interval k of the running run, as the
// server's fold would.
func foldInterval(k int64) func(*testing.T, *handlerFixture) {
	return func(t *testing.T, f *handlerFixture) {
		b := snapshotBody(f, k)
		if _, err := f.st.PutSnapshot(t.Context(), &store.Snapshot{RunID: f.running.ID, Shard: 0, Attempt: 1, Seq: k + 1, Interval: k, Worker: "w-1", Data: []byte(b)}); err != nil {
			t.Fatal(err)
		}
		r, err := f.st.GetRun(t.Context(), f.running.ID) // started: with its epoch
		if err != nil {
			t.Fatal(err)
		}
		snaps, err := f.st.ListSnapshots(t.Context(), r.ID, k)
		if err != nil {
			t.Fatal(err)
		}
		var fo fold.Folder
		row, _, err := fo.Interval(r, k, snaps)
		if err == nil {
			err = f.st.PutInterval(t.Context(), row)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// storesNoRun returns a before that counts the runs and a check that
// none was added (and that the refusal says why).
func storesNoRun(why string) (func(*testing.T, *handlerFixture), func(*testing.T, *handlerFixture, *httptest.ResponseRecorder)) {
	before := 0
	count := func(t *testing.T, f *handlerFixture) int {
		runs, err := f.st.ListRuns(t.Context(), store.RunFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	return func(t *testing.T, f *handlerFixture) { before = count(t, f) },
		func(t *testing.T, f *handlerFixture, rec *httptest.ResponseRecorder) {
			if n := count(t, f); n != before {
				t.Fatalf("a refused run left %d runs, %d before", n, before)
			}
			if !strings.Contains(rec.Body.String(), why) {
				t.Fatalf("the refusal does not say %q: %s", why, rec.Body)
			}
		}
}

func bodyHas(s string) func(*testing.T, *handlerFixture, *httptest.ResponseRecorder) {
	return func(t *testing.T, _ *handlerFixture, rec *httptest.ResponseRecorder) {
		if !strings.Contains(rec.Body.String(), s) {
			t.Fatalf("the answer lacks %q: %.300s", s, rec.Body)
		}
	}
}

func lastCall(want string) func(*testing.T, *handlerFixture, *httptest.ResponseRecorder) {
	return func(t *testing.T, f *handlerFixture, _ *httptest.ResponseRecorder) {
		if got := f.orch.last(); got != want {
			t.Fatalf("the orchestrator was asked %q, want %q", got, want)
		}
	}
}
