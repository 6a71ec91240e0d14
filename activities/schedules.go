package activities

import (
	"context"
	"errors"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/workflows"
)

// FireSchedule starts the run of one firing of a schedule and returns its
// ID. A refusal (the schedule was deleted, its scenario no longer
// validates, its target is no longer allowed) fails the firing at once;
// only an unreachable store or Temporal is retried.
func (a *Server) FireSchedule(ctx context.Context, in workflows.FireInput) (string, error) {
	if a.Schedules == nil {
		return "", invalid("this server runs no schedules")
	}
	r, err := a.Schedules.Fire(ctx, in.ScheduleID, in.Firing, in.At)
	var se *service.Error
	if errors.As(err, &se) && se.Kind != service.Unavailable {
		return "", invalid("schedule %s: %v", in.ScheduleID, se)
	}
	if err != nil {
		return "", err
	}
	if a.Logger != nil {
		a.Logger.Info("scheduled run started", "schedule", in.ScheduleID, "run", r.ID)
	}
	return r.ID, nil
}
