package temporalport

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/workflows"
)

var _ service.ScheduleOrchestrator = Port{}

// ScheduleID is the Temporal Schedule of Barrage schedule id, as the
// Temporal UI lists it.
func ScheduleID(id string) string { return "barrage-schedule-" + id }

// CreateSchedule creates a Temporal Schedule whose action starts the
// ScheduledRun workflow on the control queue. A firing while the previous
// one is still starting its run is skipped; missed firings (Temporal was
// down) are not caught up beyond a minute: a nightly run late by hours is
// not last night's.
func (p Port) CreateSchedule(ctx context.Context, sc *store.Schedule) error {
	spec := sdkclient.ScheduleSpec{}
	if sc.Cron != "" {
		spec.CronExpressions = []string{sc.Cron}
	} else {
		spec.Intervals = []sdkclient.ScheduleIntervalSpec{{Every: sc.Every}}
	}
	_, err := p.c.ScheduleClient().Create(ctx, sdkclient.ScheduleOptions{
		ID:   ScheduleID(sc.ID),
		Spec: spec,
		Action: &sdkclient.ScheduleWorkflowAction{
			ID:        ScheduleID(sc.ID) + "-firing",
			Workflow:  workflows.WorkflowScheduledRun,
			Args:      []any{workflows.ScheduledRunInput{ScheduleID: sc.ID}},
			TaskQueue: workflows.ControlQueue,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: workflows.ScheduleCatchup,
		Paused:        sc.Paused,
		Memo:          map[string]any{"scenario_id": sc.ScenarioID, "target_base_url": sc.TargetBaseURL, "created_by": sc.CreatedBy},
	})
	var bad *serviceerror.InvalidArgument
	if errors.As(err, &bad) {
		return &service.Error{Kind: service.BadRequest, Code: "invalid_field", Field: "cron", Message: "Temporal refused the schedule: " + bad.Message}
	}
	return err
}

// DescribeSchedule reads the Temporal Schedule's state and next firing.
func (p Port) DescribeSchedule(ctx context.Context, id string) (service.ScheduleState, error) {
	d, err := p.c.ScheduleClient().GetHandle(ctx, ScheduleID(id)).Describe(ctx)
	if err != nil {
		return service.ScheduleState{}, noSchedule(err)
	}
	var st service.ScheduleState
	if d.Schedule.State != nil {
		st.Paused = d.Schedule.State.Paused
	}
	if len(d.Info.NextActionTimes) > 0 && !st.Paused {
		st.Next = d.Info.NextActionTimes[0]
	}
	return st, nil
}

// PauseSchedule pauses or unpauses the Temporal Schedule, with a note
// that its page shows.
func (p Port) PauseSchedule(ctx context.Context, id string, paused bool, note string) error {
	h := p.c.ScheduleClient().GetHandle(ctx, ScheduleID(id))
	if paused {
		return noSchedule(h.Pause(ctx, sdkclient.SchedulePauseOptions{Note: note}))
	}
	return noSchedule(h.Unpause(ctx, sdkclient.ScheduleUnpauseOptions{Note: note}))
}

// DeleteSchedule deletes the Temporal Schedule (the runs it started stay).
func (p Port) DeleteSchedule(ctx context.Context, id string) error {
	return noSchedule(p.c.ScheduleClient().GetHandle(ctx, ScheduleID(id)).Delete(ctx))
}

// noSchedule turns Temporal's "no such schedule" into service.ErrNoSchedule.
func noSchedule(err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return errors.Join(service.ErrNoSchedule, err)
	}
	return err
}
