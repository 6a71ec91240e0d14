package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the scheduled-run workflow and its activity.
const (
	WorkflowScheduledRun = "ScheduledRun"
	ActivityFireSchedule = "FireSchedule"
)

// ScheduleCatchup is how late a firing may still start its run (after
// Temporal was down, say); older missed firings are skipped.
const ScheduleCatchup = time.Minute

// ScheduledRunInput is the argument a Temporal Schedule's action passes.
type ScheduledRunInput struct {
	ScheduleID string
}

// FireInput is what FireSchedule needs to start one firing's run: the
// firing (its workflow's ID) and when it fired derive the run's ID, so
// that a retried activity finds the run it started instead of starting a
// second one.
type FireInput struct {
	ScheduleID string
	Firing     string
	At         time.Time
}

// ScheduledRun is the workflow each firing of a schedule starts: it starts
// an ordinary run (its row, its Run workflow) through the FireSchedule
// activity and returns the run's ID. It does not wait for the run.
func ScheduledRun(ctx workflow.Context, in ScheduledRunInput) (string, error) {
	info := workflow.GetInfo(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           ControlQueue,
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 6,
		},
	})
	fire := FireInput{ScheduleID: in.ScheduleID, Firing: info.WorkflowExecution.ID, At: info.WorkflowStartTime}
	var runID string
	err := workflow.ExecuteActivity(actx, ActivityFireSchedule, fire).Get(ctx, &runID)
	return runID, err
}
