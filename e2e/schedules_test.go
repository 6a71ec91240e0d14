package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/api/client"
)

// TestSchedules: a real Temporal Schedule (the embedded dev server) fires
// every 2 s; each firing starts an ordinary run tagged with the schedule,
// which finishes with its report, compared with the schedule's previous
// run; the runs list shows its failed thresholds; pausing stops the
// firings; deleting removes the schedule from Temporal.
func TestSchedules(t *testing.T) {
	ctx := context.Background()
	tg := startTarget(t, "--latency", "fixed:20ms")
	c := startCluster(t, 1)
	// p95 < 5ms fails against a 20 ms target: every run fails its thresholds.
	ref, err := c.api.CreateScenario(ctx, scenarioJSON(t, "name: nightly\nvirtual_users: 1\nduration_seconds: 1\n"+
		"thresholds: ['p95 < 5ms']\nsteps: [{name: home, url_template: /, checks: [{status: 200}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.api.CreateSchedule(ctx, client.ScheduleRequest{ScenarioID: ref.ScenarioID, Every: "2s", TargetBaseURL: tg.url,
		Workers: 1, Tags: map[string]string{"suite": "nightly"}, Baseline: "previous"})
	if err != nil {
		t.Fatal(err)
	}
	if sc.TemporalScheduleID != "barrage-schedule-"+sc.ScheduleID || sc.Every != "2s" || sc.Paused || sc.Workers != 1 {
		t.Fatalf("created %+v", sc)
	}
	tc, err := sdkclient.Dial(sdkclient.Options{HostPort: c.temporal})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	h := tc.ScheduleClient().GetHandle(ctx, sc.TemporalScheduleID)
	if d, err := h.Describe(ctx); err != nil || len(d.Info.NextActionTimes) == 0 {
		t.Fatalf("the Temporal Schedule: %+v %v", d, err)
	}

	runs := func() []client.Run {
		rs, _, err := c.api.ListRuns(ctx, client.RunList{Tag: "schedule=" + sc.ScheduleID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	// Two finished and reported runs: the newer started after an older one
	// had finished, so it compares with it.
	var done []client.Run
	waitFor(t, 90*time.Second, "two finished scheduled runs, the newer with the older as baseline", func() bool {
		done = done[:0]
		for _, r := range runs() {
			if (r.Status == "completed" || r.Status == "failed") && r.Summary != nil { // reported
				done = append(done, r)
			}
		}
		return len(done) >= 2 && done[0].BaselineRunID != ""
	})
	newest, older := done[0], done[len(done)-1]
	if newest.ScheduleID != sc.ScheduleID || newest.Tags["suite"] != "nightly" || newest.TemporalWorkflowID != newest.RunID || newest.Status != "completed" {
		t.Fatalf("scheduled run %+v", newest)
	}
	if !newest.ThresholdsFailed || newest.Summary == nil || newest.Summary.Requests == 0 {
		t.Fatalf("a run failing p95 < 5ms against a 20 ms target: %+v summary %+v", newest, newest.Summary)
	}
	base, err := c.api.GetRun(ctx, newest.BaselineRunID)
	if err != nil || base.ScheduleID != sc.ScheduleID || !base.CreatedAt.Before(newest.CreatedAt) {
		t.Fatalf("baseline of %s: %+v %v", newest.RunID, base, err)
	}
	if rep, err := c.api.Report(ctx, older.RunID, "json"); err != nil || len(rep) == 0 {
		t.Fatalf("report of %s: %v", older.RunID, err)
	}
	got, err := c.api.GetSchedule(ctx, sc.ScheduleID)
	if err != nil || got.LastRun == nil || got.NextRunAt == nil || got.Paused {
		t.Fatalf("schedule after its firings: %+v %v", got, err)
	}

	if _, err := c.api.PauseSchedule(ctx, sc.ScheduleID); err != nil {
		t.Fatal(err)
	}
	if d, err := h.Describe(ctx); err != nil || !d.Schedule.State.Paused {
		t.Fatalf("Temporal Schedule after pause: %v", err)
	}
	time.Sleep(time.Second) // a firing already under way may still start its run
	before := len(runs())
	time.Sleep(5 * time.Second)
	if after := len(runs()); after != before {
		t.Fatalf("paused schedule started %d runs in 5 s", after-before)
	}
	list, err := c.api.ListSchedules(ctx)
	if err != nil || len(list) != 1 || !list[0].Paused || list[0].NextRunAt != nil || list[0].LastRun == nil {
		t.Fatalf("list while paused: %+v %v", list, err)
	}
	if _, err := c.api.ResumeSchedule(ctx, sc.ScheduleID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a firing after resume", func() bool { return len(runs()) > before })

	if err := c.api.DeleteSchedule(ctx, sc.ScheduleID); err != nil {
		t.Fatal(err)
	}
	var nf *serviceerror.NotFound
	if _, err := h.Describe(ctx); !errors.As(err, &nf) {
		t.Fatalf("Temporal Schedule after delete: err = %v, want not found", err)
	}
	if _, err := c.api.GetSchedule(ctx, sc.ScheduleID); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("GET a deleted schedule: %v", err)
	}
	if len(runs()) == 0 {
		t.Fatal("deleting the schedule removed its runs")
	}
	waitFor(t, 60*time.Second, "the schedule's runs finished", func() bool {
		for _, r := range runs() {
			if r.Status == "queued" || r.Status == "running" {
				return false
			}
		}
		return true
	})
}

// TestScheduleBadInput: each refusal answers with its status and changes
// nothing (no schedule listed, none in Temporal).
func TestScheduleBadInput(t *testing.T) {
	ctx := context.Background()
	c := startCluster(t, 0)
	ref, err := c.api.CreateScenario(ctx, scenarioJSON(t, "name: bad\nvirtual_users: 1\nduration_seconds: 1\nsteps: [{name: home, url_template: /}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ok := client.ScheduleRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: "http://127.0.0.1:9"}
	for _, tc := range []struct {
		name   string
		edit   func(r *client.ScheduleRequest)
		status int
	}{
		{"unknown scenario", func(r *client.ScheduleRequest) { r.ScenarioID, r.Every = "nope", "1h" }, http.StatusNotFound},
		{"no cron nor every", func(r *client.ScheduleRequest) {}, http.StatusBadRequest},
		{"both", func(r *client.ScheduleRequest) { r.Cron, r.Every = "@daily", "1h" }, http.StatusBadRequest},
		{"bad cron", func(r *client.ScheduleRequest) { r.Cron = "61 * * * *" }, http.StatusBadRequest},
		{"cron words", func(r *client.ScheduleRequest) { r.Cron = "every night" }, http.StatusBadRequest},
		{"bad every", func(r *client.ScheduleRequest) { r.Every = "daily" }, http.StatusBadRequest},
		{"every too short", func(r *client.ScheduleRequest) { r.Every = "500ms" }, http.StatusBadRequest},
		{"no target", func(r *client.ScheduleRequest) { r.Every, r.TargetBaseURL = "1h", "" }, http.StatusUnprocessableEntity},
		{"too many workers", func(r *client.ScheduleRequest) { r.Every, r.Workers = "1h", 5000 }, http.StatusUnprocessableEntity},
		{"reserved tag", func(r *client.ScheduleRequest) { r.Every, r.Tags = "1h", map[string]string{"schedule": "x"} }, http.StatusUnprocessableEntity},
		{"bad baseline", func(r *client.ScheduleRequest) { r.Every, r.Baseline = "1h", "last-night" }, http.StatusUnprocessableEntity},
	} {
		req := ok
		tc.edit(&req)
		if _, err := c.api.CreateSchedule(ctx, req); client.StatusOf(err) != tc.status {
			t.Errorf("%s: err = %v, want status %d", tc.name, err, tc.status)
		}
	}
	if list, err := c.api.ListSchedules(ctx); err != nil || len(list) != 0 {
		t.Fatalf("schedules after refusals: %+v %v", list, err)
	}
	for _, path := range []string{"/schedules/nope/pause", "/schedules/nope/resume"} {
		if a := do(t, http.MethodPost, c.url+path, ""); a.status != http.StatusNotFound {
			t.Errorf("POST %s: %d %s", path, a.status, a.body)
		}
	}
	if a := do(t, http.MethodDelete, c.url+"/schedules/nope", ""); a.status != http.StatusNotFound {
		t.Errorf("DELETE an unknown schedule: %d %s", a.status, a.body)
	}
	tc, err := sdkclient.Dial(sdkclient.Options{HostPort: c.temporal})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	it, err := tc.ScheduleClient().List(ctx, sdkclient.ScheduleListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if it.HasNext() {
		s, err := it.Next()
		t.Fatalf("a refused schedule is in Temporal: %+v %v", s, err)
	}
}
