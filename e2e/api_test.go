package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/reports"
)

func scenarioJSON(t *testing.T, doc string) []byte {
	t.Helper()
	s, err := scenario.ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// liveEvent is a received SSE event with its arrival time.
type liveEvent struct {
	client.Event
	at time.Time
}

// collect follows a run's stream in the background.
type collector struct {
	mu     sync.Mutex
	events []liveEvent
	done   chan struct{}
}

func follow(t *testing.T, c *client.Client, runID, lastID string) (*collector, context.CancelFunc) {
	t.Helper()
	col := &collector{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		defer close(col.done)
		_ = c.Metrics(ctx, runID, lastID, func(ev client.Event) bool {
			col.mu.Lock()
			col.events = append(col.events, liveEvent{Event: ev, at: time.Now()})
			col.mu.Unlock()
			return ev.Name != "end"
		})
	}()
	return col, cancel
}

// ended waits up to limit for the stream to end (what names it in the
// failure) and returns every event it carried.
func (col *collector) ended(t *testing.T, limit time.Duration, what string) []liveEvent {
	t.Helper()
	select {
	case <-col.done:
	case <-time.After(limit):
		t.Fatalf("%s did not end within %s", what, limit)
	}
	return col.snapshot()
}

func (col *collector) snapshot() []liveEvent {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]liveEvent(nil), col.events...)
}

// point is a live data event: the report's series point for an interval,
// and where it is in the stream.
type point struct {
	Interval int64 `json:"interval"`
	reports.Point
	VUsByWorker map[string]int `json:"vus_by_worker"` // always sent, {} when empty
	EndAt       int64          `json:"end_at_ms"`
	Revised     bool           `json:"revised"`
}

// figures are a live point's figures that the report's series point has.
func (p point) figures() reports.Point {
	f := p.Point
	if len(p.VUsByWorker) > 0 {
		f.VUsByWorker = p.VUsByWorker // the report leaves an empty map out
	}
	return f
}

func dataPoints(t *testing.T, evs []liveEvent) ([]point, []time.Duration) {
	t.Helper()
	var ps []point
	var lags []time.Duration
	for _, ev := range evs {
		if ev.Name != "message" {
			continue
		}
		var p point
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			t.Fatalf("bad data event %q: %v", ev.Data, err)
		}
		if p.VUsByWorker == nil {
			t.Fatalf("a data event without vus_by_worker (the stream always sends it): %s", ev.Data)
		}
		ps = append(ps, p)
		if !p.Revised {
			lags = append(lags, ev.at.Sub(time.UnixMilli(p.EndAt)))
		}
	}
	return ps, lags
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestAPIRunLifecycle is the service for people and CI, over HTTP against a
// real server process with its embedded Temporal and two real workers, on
// SQLite and on Postgres: store → run → stream → ramp → abort → report.
func TestAPIRunLifecycle(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := ""
			if db == "postgres" {
				dsn = postgresDSN(t)
			}
			tg := startTarget(t, "--latency", "fixed:3ms")
			var c *cluster
			if dsn == "" {
				c = startCluster(t, 2)
			} else {
				c = startClusterOn(t, 2, dsn)
			}
			lifecycle(t, c, tg)
		})
	}
}

func lifecycle(t *testing.T, c *cluster, tg *target) {
	ctx := context.Background()
	ref, err := c.api.CreateScenario(ctx, scenarioJSON(t, "name: lifecycle\nvirtual_users: 4\nduration_seconds: 60\n"+loginFlow))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.api.UpdateScenario(ctx, ref.ScenarioID, scenarioJSON(t, "name: lifecycle\nvirtual_users: 4\nduration_seconds: 90\n"+loginFlow))
	if err != nil || v2.Version != 2 {
		t.Fatalf("new version: %+v %v", v2, err)
	}
	tg.reset(t)
	run, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 2, Tags: map[string]string{"release": "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "queued" || run.TemporalWorkflowID != run.RunID || run.Tags["release"] != "v1" || !run.Elastic || run.MaxWorkers != 0 {
		t.Fatalf("new run %+v (want queued, elastic by default, no cap)", run)
	}
	// Until its load starts (its epoch), a started run is still queued,
	// with no start time.
	if r, err := c.api.GetRun(ctx, run.RunID); err != nil || (r.Status == "queued") != (r.StartedAt == nil) {
		t.Fatalf("run before its load: %+v %v", r, err)
	}
	col, _ := follow(t, c.api, run.RunID, "")
	waitFor(t, 30*time.Second, "three intervals", func() bool { ps, _ := dataPoints(t, col.snapshot()); return len(ps) >= 3 })
	ps, _ := dataPoints(t, col.snapshot())
	if ps[len(ps)-1].VUs != 4 || ps[len(ps)-1].Workers != 2 || len(ps[len(ps)-1].VUsByWorker) != 2 {
		t.Fatalf("live point %+v", ps[len(ps)-1])
	}
	rampAt := time.Now()
	if err := c.api.Ramp(ctx, run.RunID, 8, 0, "e2e"); err != nil {
		t.Fatal(err)
	}
	var reached time.Time
	waitFor(t, 10*time.Second, "8 VUs on the stream", func() bool {
		ps, _ := dataPoints(t, col.snapshot())
		for _, p := range ps {
			if p.VUs == 8 && reached.IsZero() {
				reached = time.UnixMilli(p.EndAt)
			}
		}
		return !reached.IsZero()
	})
	t.Logf("ramp: 8 VUs seen in the interval ending %v after the ramp request", reached.Sub(rampAt).Round(time.Millisecond))
	if reached.Sub(rampAt) > 2*time.Second {
		t.Errorf("the ramp took %v", reached.Sub(rampAt))
	}
	abortAt := time.Now()
	if err := c.api.Abort(ctx, run.RunID, "e2e", ""); err != nil {
		t.Fatal(err)
	}
	silent := waitSilent(t, tg, abortAt)
	t.Logf("abort: load silent %v after the request", silent.Sub(abortAt).Round(time.Millisecond))
	if silent.Sub(abortAt) > 2*time.Second {
		t.Errorf("load went on for %v after the abort", silent.Sub(abortAt))
	}
	evs := col.ended(t, 30*time.Second, "the stream after the abort")
	checkStream(t, evs, "aborted")
	_, lags := dataPoints(t, evs)
	t.Logf("SSE lag (interval end → event received): p50 %v p99 %v max %v over %d events",
		quantile(lags, 0.5).Round(time.Millisecond), quantile(lags, 0.99).Round(time.Millisecond), quantile(lags, 1).Round(time.Millisecond), len(lags))
	if quantile(lags, 0.99) > 1500*time.Millisecond {
		t.Errorf("SSE lag p99 %v is over 1.5 s", quantile(lags, 0.99))
	}
	checkFinishedRun(t, c, tg, run.RunID, ref.ScenarioID)
}

// checkStream: ids 1..n in order on data events, a status event for each
// change, an end event last.
func checkStream(t *testing.T, evs []liveEvent, final string) {
	t.Helper()
	next := int64(1)
	statuses := []string{}
	for _, ev := range evs {
		switch ev.Name {
		case "message":
			if revised(ev.Data) {
				continue
			}
			if n, _ := position(ev.ID); n != next {
				t.Fatalf("data event id %q, want %d (a gap or a duplicate)", ev.ID, next)
			}
			next++
		case "status":
			var s struct{ Status string }
			_ = json.Unmarshal(ev.Data, &s)
			statuses = append(statuses, s.Status)
		}
	}
	if last := evs[len(evs)-1]; last.Name != "end" || len(statuses) == 0 || statuses[len(statuses)-1] != final {
		t.Fatalf("stream ended with %q after statuses %v, want an end event after %s", last.Name, statuses, final)
	}
}

func checkFinishedRun(t *testing.T, c *cluster, tg *target, runID, scenarioID string) {
	ctx := context.Background()
	waitFor(t, 30*time.Second, "run aborted", func() bool {
		r, err := c.api.GetRun(ctx, runID)
		return err == nil && r.Status == "aborted" && r.EndedAt != nil
	})
	var rep report
	b, err := c.api.Report(ctx, runID, "json")
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report: %v", err)
	}
	served := tg.served(t)
	if rep.Status != "aborted" || rep.Totals.Requests > served || rep.Totals.Requests+8 < served {
		t.Errorf("report: status %s, %d requests for %d served", rep.Status, rep.Totals.Requests, served)
	}
	junit, err := c.api.Report(ctx, runID, "junit")
	if err != nil || !bytes.Contains(junit, []byte("<testsuites")) || !bytes.Contains(junit, []byte(`failures="1"`)) {
		t.Errorf("junit report: %v\n%s", err, junit)
	}
	if err := c.api.Abort(ctx, runID, "e2e", ""); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("abort of a finished run: %v, want 409", err)
	}
	resp := do(t, http.MethodDelete, c.url+"/scenarios/"+scenarioID, "")
	if resp.status != http.StatusConflict {
		t.Errorf("deleting a scenario a run used: %d %s", resp.status, resp.body)
	}
	m := do(t, http.MethodGet, c.url+"/metrics", "")
	for _, name := range []string{"barrage_ingest_snapshots_total", "barrage_fold_duration_seconds", "barrage_api_request_duration_seconds", "barrage_active_runs"} {
		if !strings.Contains(m.body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if r := do(t, http.MethodGet, c.url+"/readyz", ""); r.status != 200 {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
}

type answer struct {
	status int
	body   string
}

func do(t *testing.T, method, url, body string) answer {
	t.Helper()
	return authed(t, method, url, "", body)
}

// TestAPIBadInput: every kind of bad input gets a clear JSON error with the
// right status, and stores nothing.
func TestAPIBadInput(t *testing.T) {
	c := startCluster(t, 0)
	ok := do(t, http.MethodPost, c.url+"/scenarios", string(scenarioJSON(t, "name: good\nvirtual_users: 1\nduration_seconds: 1\nsteps: [{url_template: /}]\n")))
	var ref struct {
		ScenarioID string `json:"scenario_id"`
	}
	_ = json.Unmarshal([]byte(ok.body), &ref)
	counts := func() (int, int) {
		s, _ := c.api.ListScenarios(context.Background())
		r, _, _ := c.api.ListRuns(context.Background(), client.RunList{Limit: 1000})
		return len(s), len(r)
	}
	scenarios, runs := counts()
	big := `{"name": "` + strings.Repeat("x", 9<<20) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"malformed scenario JSON", "POST", "/scenarios", `{"name": "x",`, 400, "invalid_scenario", ""},
		{"invalid scenario", "POST", "/scenarios", `{"name": "x", "virtual_users": 1, "duration_seconds": 1, "steps": [{"url_template": "/", "think_time": {"distribution": "normal", "mean": "0s"}}]}`, 422, "invalid_scenario", "steps[0].think_time.mean"},
		{"unknown scenario field", "POST", "/scenarios", `{"name": "x", "virtual_users": 1, "duration_seconds": 1, "steps": [{"url_template": "/"}], "bogus": 1}`, 422, "invalid_scenario", "bogus"},
		{"unknown scenario", "GET", "/scenarios/sc_nope", "", 404, "not_found", ""},
		{"malformed scenario id", "GET", "/scenarios/a%20b", "", 400, "bad_id", "id"},
		{"unknown run", "GET", "/runs/run_nope", "", 404, "not_found", ""},
		{"malformed run id", "GET", "/runs/x..y", "", 400, "bad_id", "id"},
		{"malformed run request", "POST", "/runs", `{"scenario_id":`, 400, "malformed_json", ""},
		{"unknown run field", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `", "wrkers": 2}`, 400, "malformed_json", "wrkers"},
		{"run of an unknown scenario", "POST", "/runs", `{"scenario_id": "sc_nope", "target_base_url": "http://127.0.0.1:1"}`, 404, "not_found", "scenario_id"},
		{"run without a target", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `"}`, 422, "missing_field", "target_base_url"},
		{"run without a scenario", "POST", "/runs", `{}`, 400, "missing_field", "scenario_id"},
		{"run with a bad target", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `", "target_base_url": "ftp://x"}`, 422, "invalid_field", "target_base_url"},
		{"run with too many workers", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `", "target_base_url": "http://127.0.0.1:1", "worker_count": 5000}`, 422, "invalid_field", "worker_count"},
		{"max_workers below worker_count", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `", "target_base_url": "http://127.0.0.1:1", "worker_count": 3, "max_workers": 2}`, 422, "invalid_field", "max_workers"},
		{"run with bad overrides", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `", "target_base_url": "http://127.0.0.1:1", "overrides": {"virtual_users": -3}}`, 422, "invalid_overrides", "overrides.virtual_users"},
		{"unknown baseline", "POST", "/runs", `{"scenario_id": "` + ref.ScenarioID + `", "target_base_url": "http://127.0.0.1:1", "baseline": "release=none"}`, 404, "not_found", "baseline"},
		{"abort of an unknown run", "POST", "/runs/run_nope/abort", "", 404, "not_found", ""},
		{"ramp without target", "POST", "/runs/run_nope/ramp", `{}`, 404, "not_found", ""},
		{"bad list filter", "GET", "/runs?status=sleeping", "", 400, "bad_query", "status"},
		{"bad limit", "GET", "/runs?limit=0", "", 400, "bad_query", "limit"},
		{"compare without head", "GET", "/runs/compare?base=run_a", "", 400, "missing_field", "head"},
		{"oversized body", "POST", "/scenarios", big, 413, "too_large", ""},
		{"snapshot without a token", "POST", "/ingest/runs/run_nope/snapshots", "x", 401, "unauthorized", ""},
		{"compare an unknown run", "GET", "/runs/compare?base=run_a&head=run_b", "", 404, "not_found", "base"},
		{"no such endpoint", "GET", "/nope", "", 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, tc.method, c.url+tc.path, tc.body)
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			if err := json.Unmarshal([]byte(a.body), &e); err != nil {
				t.Fatalf("%d with a body that is not JSON: %.200s", a.status, a.body)
			}
			if a.status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field || e.Error.Message == "" {
				t.Fatalf("%d %+v, want %d code %q field %q", a.status, e.Error, tc.status, tc.code, tc.field)
			}
		})
	}
	if s, r := counts(); s != scenarios || r != runs {
		t.Fatalf("bad input stored something: %d→%d scenarios, %d→%d runs", scenarios, s, runs, r)
	}
	// The opt-out of joins and the cap are kept as asked.
	no := false
	run, err := c.api.StartRun(context.Background(), client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: "http://127.0.0.1:1", WorkerCount: 2, Elastic: &no, MaxWorkers: 4})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.api.GetRun(context.Background(), run.RunID)
	if err != nil || got.Elastic || got.MaxWorkers != 4 {
		t.Fatalf("run started with elastic false, max_workers 4: %+v %v", got, err)
	}
	_ = c.api.Abort(context.Background(), run.RunID, "test", "no workers here")

	// A slowloris client — its header a line at a time, never finished —
	// is cut off at the server's header timeout (10 s), while the API
	// still answers others.
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "GET /runs HTTP/1.1\r\nHost: x\r\n")
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		closed <- time.Since(start)
	}()
	drip := time.NewTicker(time.Second)
	defer drip.Stop()
	limit := time.After(20 * time.Second)
	for open := true; open; {
		select {
		case took := <-closed:
			t.Logf("slowloris connection closed after %s", took.Round(time.Millisecond))
			if took < 9*time.Second || took > 12*time.Second {
				t.Errorf("slowloris connection closed after %s, header timeout 10 s", took)
			}
			open = false
		case <-drip.C:
			_, _ = io.WriteString(conn, "X-Drip: 1\r\n")
			if err := c.api.Health(context.Background()); err != nil {
				t.Errorf("the API during a slowloris: %v", err)
			}
		case <-limit:
			t.Fatal("a slowloris connection is still open after 20 s (header timeout 10 s)")
		}
	}
}

// TestSSEResume: a stream dropped mid-run and resumed with Last-Event-ID
// gets every event exactly once; a late subscriber gets the same history.
func TestSSEResume(t *testing.T) {
	tg := startTarget(t)
	c := startCluster(t, 1)
	ctx := context.Background()
	ref, err := c.api.CreateScenario(ctx, scenarioJSON(t, "name: resume\nvirtual_users: 2\nduration_seconds: 6\nsteps: [{url_template: /, think_time_ms: 10}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url})
	if err != nil {
		t.Fatal(err)
	}
	var first []client.Event
	sctx, cancel := context.WithCancel(ctx)
	_ = c.api.Metrics(sctx, run.RunID, "", func(ev client.Event) bool {
		first = append(first, ev)
		data := 0
		for _, e := range first {
			if e.Name == "message" {
				data++
			}
		}
		return data < 2 // drop the connection after two intervals
	})
	cancel()
	lastID := first[len(first)-1].ID
	var rest []client.Event
	if err := c.api.Metrics(ctx, run.RunID, lastID, func(ev client.Event) bool {
		rest = append(rest, ev)
		return ev.Name != "end"
	}); err != nil {
		t.Fatal(err)
	}
	resumed := ids(append(first, rest...))
	var late []client.Event
	if err := c.api.Metrics(ctx, run.RunID, "", func(ev client.Event) bool {
		late = append(late, ev)
		return ev.Name != "end"
	}); err != nil {
		t.Fatal(err)
	}
	lateIDs := ids(late)
	t.Logf("resumed after %s: %v; late subscriber: %v", lastID, resumed, lateIDs)
	if fmt.Sprint(resumed) != fmt.Sprint(lateIDs) || len(resumed) < 5 {
		t.Fatalf("the resumed stream's data ids %v differ from the late subscriber's %v", resumed, lateIDs)
	}

	// An ID this stream never sent is refused.
	err = c.api.Metrics(ctx, run.RunID, "999", func(client.Event) bool { return true })
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != "bad_event_id" {
		t.Errorf("Last-Event-ID 999 on a run of %d intervals: %v, want 400 bad_event_id", len(lateIDs), err)
	}
	// A stream tells its clients how soon to reconnect, first thing.
	resp, err := http.Get(c.url + "/runs/" + run.RunID + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "retry: 2000\n" {
		t.Errorf("the stream's first line: %q, %v; want a retry of 2000 ms", line, err)
	}
}

// ids returns the intervals sent, as the data events' positions (the
// number part of their ids), without revisions.
func ids(evs []client.Event) []int64 {
	var out []int64
	for _, ev := range evs {
		if ev.Name == "message" && !revised(ev.Data) {
			n, _ := position(ev.ID)
			out = append(out, n)
		}
	}
	return out
}

// position splits an event id into the count of intervals sent and the
// status sent last (running when the id is a bare number).
func position(id string) (int64, string) {
	num, status, found := strings.Cut(id, "-")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return -1, ""
	}
	if !found {
		status = "running"
	}
	return n, status
}

// revised reports whether a data event re-sends an interval folded again.
func revised(data []byte) bool {
	var p struct {
		Revised bool `json:"revised"`
	}
	return json.Unmarshal(data, &p) == nil && p.Revised
}
