package workflows

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// TestScheduledRun: a firing hands its own workflow ID and start time to
// FireSchedule, the same on every attempt, and returns the run's ID; a
// refusal fails the firing without retries.
func TestScheduledRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int   // retryable failures before success
		refuse   error // a non-retryable answer
		attempts int
	}{
		{name: "first try", attempts: 1},
		{name: "store down twice", failures: 2, attempts: 3},
		{name: "refused", refuse: temporal.NewNonRetryableApplicationError("schedule gone", "invalid_run", nil), attempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "barrage-schedule-s1-firing-2026-12-04T03:00:00Z"})
			var seen []FireInput
			env.RegisterActivityWithOptions(func(_ context.Context, in FireInput) (string, error) {
				seen = append(seen, in)
				switch {
				case tc.refuse != nil:
					return "", tc.refuse
				case len(seen) <= tc.failures:
					return "", errors.New("store unavailable")
				}
				return "run_1", nil
			}, activity.RegisterOptions{Name: ActivityFireSchedule})
			env.ExecuteWorkflow(ScheduledRun, ScheduledRunInput{ScheduleID: "s1"})
			if !env.IsWorkflowCompleted() {
				t.Fatal("the workflow did not complete")
			}
			if len(seen) != tc.attempts {
				t.Fatalf("FireSchedule ran %d times, want %d", len(seen), tc.attempts)
			}
			for _, in := range seen {
				if in != seen[0] || in.ScheduleID != "s1" || in.Firing != "barrage-schedule-s1-firing-2026-12-04T03:00:00Z" || in.At.IsZero() {
					t.Fatalf("attempts were given %+v", seen)
				}
			}
			var runID string
			err := env.GetWorkflowResult(&runID)
			if tc.refuse != nil {
				if err == nil {
					t.Fatal("a refused firing succeeded")
				}
				return
			}
			if err != nil || runID != "run_1" {
				t.Fatalf("result %q, %v", runID, err)
			}
		})
	}
}
