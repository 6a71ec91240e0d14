package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistory replays the history of a real run (recorded by
// e2e's TestRecordHistory) against today's workflow code: a change that
// would make running workflows non-deterministic fails here.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Run, workflow.RegisterOptions{Name: "Run"})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/run_history.json"); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
