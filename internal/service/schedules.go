package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

// ScheduleTag is the tag every run a schedule starts carries: schedule=<id>.
const ScheduleTag = "schedule"

// BaselinePrevious is the baseline of a schedule whose runs compare with
// its own newest finished run.
const BaselinePrevious = "previous"

// MinEvery is the shortest interval between firings (Temporal's minimum).
const MinEvery = time.Second

// ErrNoSchedule is the orchestrator's answer about a schedule it does not have.
var ErrNoSchedule = errors.New("the schedule does not exist in the orchestrator")

// ScheduleState is what the orchestrator knows of a schedule.
type ScheduleState struct {
	Paused bool
	Next   time.Time // zero: none planned (paused, or none left)
}

// ScheduleOrchestrator keeps the schedules whose firings start runs.
type ScheduleOrchestrator interface {
	// CreateSchedule makes sc fire (ScheduleRunID's run at each firing).
	CreateSchedule(ctx context.Context, sc *store.Schedule) error
	// DescribeSchedule, PauseSchedule and DeleteSchedule return
	// ErrNoSchedule for a schedule the orchestrator does not have.
	DescribeSchedule(ctx context.Context, id string) (ScheduleState, error)
	PauseSchedule(ctx context.Context, id string, paused bool, note string) error
	DeleteSchedule(ctx context.Context, id string) error
}

// Schedules creates and steers scheduled runs, and starts their runs.
type Schedules struct {
	store store.Store
	orch  ScheduleOrchestrator
	runs  *Runs
}

// NewSchedules returns the schedule service: runs starts each firing's run.
func NewSchedules(st store.Store, orch ScheduleOrchestrator, runs *Runs) *Schedules {
	return &Schedules{store: st, orch: orch, runs: runs}
}

// Create validates req, stores the schedule and creates it in the
// orchestrator; on any refusal or failure nothing is left behind.
func (s *Schedules) Create(ctx context.Context, req wire.ScheduleRequest, by string) (*store.Schedule, error) {
	sc, err := s.newSchedule(ctx, req)
	if err != nil {
		return nil, err
	}
	sc.CreatedBy = by
	if err := s.store.CreateSchedule(ctx, sc); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, refuse(NotFound, "not_found", "scenario_id", "scenario %s not found", req.ScenarioID)
		}
		return nil, err
	}
	if err := s.orch.CreateSchedule(ctx, sc); err != nil {
		_ = s.store.DeleteSchedule(context.WithoutCancel(ctx), sc.ID)
		var se *Error
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, refuse(Unavailable, "temporal_unavailable", "", "create the schedule in Temporal: %v", err)
	}
	return sc, nil
}

// newSchedule checks a request as POST /runs would check its run, and
// when it fires.
func (s *Schedules) newSchedule(ctx context.Context, req wire.ScheduleRequest) (*store.Schedule, error) {
	sc := &store.Schedule{ID: NewID("sch_"), ScenarioID: req.ScenarioID, Cron: strings.TrimSpace(req.Cron),
		TargetBaseURL: strings.TrimSuffix(req.TargetBaseURL, "/"), WorkerCount: max(req.Workers, 1), Baseline: req.Baseline, Tags: req.Tags}
	if req.Workers < 0 || req.Workers > MaxWorkers {
		return nil, refuse(Invalid, "invalid_field", "workers", "workers must be 1..%d, got %d", MaxWorkers, req.Workers)
	}
	if _, ok := req.Tags[ScheduleTag]; ok {
		return nil, refuse(Invalid, "invalid_field", "tags", "the tag %q is the schedule's own: each firing's run gets %s=<schedule id>", ScheduleTag, ScheduleTag)
	}
	if req.Baseline != "" && req.Baseline != BaselinePrevious {
		if k, _, found := strings.Cut(req.Baseline, "="); !found || k == "" {
			return nil, refuse(Invalid, "invalid_field", "baseline", "baseline must be a tag key=value or %q, got %q", BaselinePrevious, req.Baseline)
		}
	}
	// The run each firing starts, checked now (its baseline is found at
	// each firing: the first has none yet).
	if _, err := s.runs.newRun(ctx, wire.RunRequest{ScenarioID: req.ScenarioID, TargetBaseURL: req.TargetBaseURL,
		WorkerCount: req.Workers, Tags: req.Tags}, ""); err != nil {
		return nil, err
	}
	when, err := parseWhen(sc.Cron, req.Every)
	if err != nil {
		return nil, err
	}
	sc.Every = when
	return sc, nil
}

// parseWhen checks that exactly one of cron and every is given, and valid.
func parseWhen(cronExpr, every string) (time.Duration, error) {
	switch {
	case cronExpr == "" && every == "":
		return 0, refuse(BadRequest, "missing_field", "cron", "give cron (e.g. \"0 3 * * *\") or every (e.g. \"24h\")")
	case cronExpr != "" && every != "":
		return 0, refuse(BadRequest, "invalid_field", "every", "give cron or every, not both")
	case every != "":
		d, err := time.ParseDuration(every)
		if err != nil {
			return 0, refuse(BadRequest, "invalid_field", "every", "every must be a duration such as 30m or 24h, got %q", every)
		}
		if d < MinEvery {
			return 0, refuse(BadRequest, "invalid_field", "every", "every must be at least %s (Temporal's minimum), got %s", MinEvery, d)
		}
		return d, nil
	}
	if strings.HasPrefix(cronExpr, "@every") {
		return 0, refuse(BadRequest, "invalid_field", "cron", "give an interval as every (e.g. \"every\": \"24h\"), not as cron %q", cronExpr)
	}
	if _, err := cron.ParseStandard(cronExpr); err != nil {
		return 0, refuse(BadRequest, "invalid_field", "cron",
			"cron %q is not a cron expression (minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly): %v", cronExpr, err)
	}
	return 0, nil
}

// Get returns a schedule and what the orchestrator knows of it (a zero
// state, and its error, when the orchestrator cannot say).
func (s *Schedules) Get(ctx context.Context, id string) (*store.Schedule, error) {
	if !ValidID(id) {
		return nil, refuse(BadRequest, "bad_id", "id", "%q is not a valid ID", id)
	}
	sc, err := s.store.GetSchedule(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(NotFound, "not_found", "id", "schedule %s not found", id)
	}
	return sc, err
}

// State asks the orchestrator about a schedule.
func (s *Schedules) State(ctx context.Context, id string) (ScheduleState, error) {
	return s.orch.DescribeSchedule(ctx, id)
}

// Pause pauses (or, with paused false, resumes) a schedule's firings.
func (s *Schedules) Pause(ctx context.Context, id string, paused bool, by string) (*store.Schedule, error) {
	sc, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	verb := map[bool]string{true: "paused", false: "resumed"}[paused]
	if err := s.orch.PauseSchedule(ctx, id, paused, verb+" by "+by); err != nil && !errors.Is(err, ErrNoSchedule) {
		return nil, refuse(Unavailable, "temporal_unavailable", "", "%s the schedule in Temporal: %v", strings.TrimSuffix(verb, "d"), err)
	}
	if err := s.store.SetSchedulePaused(ctx, id, paused); err != nil {
		return nil, err
	}
	sc.Paused = paused
	return sc, nil
}

// Delete removes a schedule from the orchestrator, then from the store;
// the runs it started stay.
func (s *Schedules) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.orch.DeleteSchedule(ctx, id); err != nil && !errors.Is(err, ErrNoSchedule) {
		return refuse(Unavailable, "temporal_unavailable", "", "delete the schedule in Temporal: %v", err)
	}
	return s.store.DeleteSchedule(ctx, id)
}

// LastRun returns the newest run a schedule started (nil: none yet).
func (s *Schedules) LastRun(ctx context.Context, id string) (*store.Run, error) {
	runs, err := s.store.ListRuns(ctx, store.RunFilter{TagKey: ScheduleTag, TagValue: id, Limit: 1})
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return &runs[0], nil
}

// Fire starts the run of one firing of schedule id. firing names the
// firing (its workflow's ID) and at is when it fired: the run's ID is
// derived from both, so a retried firing finds the run it started.
func (s *Schedules) Fire(ctx context.Context, id, firing string, at time.Time) (*store.Run, error) {
	sc, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	runID := FiringRunID(id, firing, at)
	if r, err := s.store.GetRun(ctx, runID); err == nil {
		if r.Status == store.StatusQueued {
			// Stored by an attempt that may not have started its workflow.
			if err := s.runs.orch.Start(ctx, r); err != nil {
				return nil, refuse(Unavailable, "temporal_unavailable", "", "start the run's workflow: %v", err)
			}
		}
		return r, nil
	}
	tags := maps.Clone(sc.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[ScheduleTag] = sc.ID
	req := wire.RunRequest{ScenarioID: sc.ScenarioID, TargetBaseURL: sc.TargetBaseURL, WorkerCount: sc.WorkerCount, Tags: tags}
	req.BaselineRunID, err = s.baseline(ctx, sc)
	if err != nil {
		return nil, err
	}
	return s.runs.start(ctx, req, runID)
}

// baseline finds the run a firing's run compares with ("" for none yet).
func (s *Schedules) baseline(ctx context.Context, sc *store.Schedule) (string, error) {
	k, v := ScheduleTag, sc.ID
	switch {
	case sc.Baseline == "":
		return "", nil
	case sc.Baseline != BaselinePrevious:
		k, v, _ = strings.Cut(sc.Baseline, "=")
	}
	r, err := s.store.LatestRunWithTag(ctx, k, v)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("baseline of schedule %s: %w", sc.ID, err)
	}
	return r.ID, nil
}

// FiringRunID is the ID of the run a firing starts: NewID's shape (so runs
// still sort by creation), its random part a hash of the schedule and the
// firing.
func FiringRunID(id, firing string, at time.Time) string {
	h := sha256.Sum256([]byte(id + "\x00" + firing))
	return "run_" + at.UTC().Format("20060102T150405") + "_" + hex.EncodeToString(h[:5])
}
