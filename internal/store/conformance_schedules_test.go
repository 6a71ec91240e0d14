package store

import (
	"reflect"
	"testing"
	"time"
)

func testSchedules(t *testing.T, s Store) {
	ctx := t.Context()
	mustScenario(t, s, "nightly")
	a := &Schedule{ID: "sch_a", ScenarioID: "nightly", Cron: "0 3 * * *", TargetBaseURL: "http://127.0.0.1:9",
		WorkerCount: 2, Tags: map[string]string{"env": "staging"}, Baseline: "schedule=sch_a", CreatedAt: t0, CreatedBy: "alice"}
	mustNil(t, s.CreateSchedule(ctx, a), "create cron")
	b := &Schedule{ID: "sch_b", ScenarioID: "nightly", Every: 90*time.Second + 1500*time.Microsecond, WorkerCount: 1, CreatedAt: t0.Add(time.Minute)}
	mustNil(t, s.CreateSchedule(ctx, b), "create every")
	if b.Every != 90*time.Second+time.Millisecond || b.Tags == nil {
		t.Fatalf("create did not round the struct as stored: %+v", b)
	}
	wantErr(t, s.CreateSchedule(ctx, &Schedule{ID: "sch_a", ScenarioID: "nightly", Every: time.Hour, WorkerCount: 1}), ErrConflict, "same ID")
	wantErr(t, s.CreateSchedule(ctx, &Schedule{ID: "sch_c", ScenarioID: "nope", Every: time.Hour, WorkerCount: 1}), ErrNotFound, "unknown scenario")
	for _, bad := range []Schedule{
		{ID: "sch_d", ScenarioID: "nightly", WorkerCount: 1},
		{ID: "sch_d", ScenarioID: "nightly", Cron: "@daily", Every: time.Hour, WorkerCount: 1},
		{ID: "sch_d", ScenarioID: "nightly", Every: time.Hour},
	} {
		if err := s.CreateSchedule(ctx, &bad); err == nil {
			t.Fatalf("stored an invalid schedule %+v", bad)
		}
	}
	got, err := s.GetSchedule(ctx, "sch_a")
	mustNil(t, err, "get")
	want := *a
	want.CreatedAt = stored(t0)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("get = %+v, want %+v", *got, want)
	}
	_, err = s.GetSchedule(ctx, "nope")
	wantErr(t, err, ErrNotFound, "get unknown")

	mustNil(t, s.SetSchedulePaused(ctx, "sch_b", true), "pause")
	wantErr(t, s.SetSchedulePaused(ctx, "nope", true), ErrNotFound, "pause unknown")
	list, err := s.ListSchedules(ctx)
	mustNil(t, err, "list")
	if len(list) != 2 || list[0].ID != "sch_b" || !list[0].Paused || list[0].Every != b.Every || len(list[0].Tags) != 0 ||
		list[1].ID != "sch_a" || list[1].Paused || list[1].Tags["env"] != "staging" {
		t.Fatalf("list = %+v", list)
	}
	mustNil(t, s.SetSchedulePaused(ctx, "sch_b", false), "resume")
	if got, _ := s.GetSchedule(ctx, "sch_b"); got == nil || got.Paused {
		t.Fatalf("resumed schedule = %+v", got)
	}

	wantErr(t, s.DeleteScenario(ctx, "nightly"), ErrConflict, "delete a scheduled scenario")
	mustNil(t, s.DeleteSchedule(ctx, "sch_a"), "delete")
	wantErr(t, s.DeleteSchedule(ctx, "sch_a"), ErrNotFound, "delete twice")
	mustNil(t, s.DeleteSchedule(ctx, "sch_b"), "delete b")
	list, err = s.ListSchedules(ctx)
	mustNil(t, err, "list after delete")
	if len(list) != 0 {
		t.Fatalf("list after delete = %+v", list)
	}
	mustNil(t, s.DeleteScenario(ctx, "nightly"), "delete the scenario once unscheduled")
}
