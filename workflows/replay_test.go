package workflows

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedHistory replays histories of real runs (recorded by
// e2e's TestRecordHistory and TestThousandsOfReplacements) against today's
// workflow code: a change that would make running workflows
// non-deterministic fails here.
//   - run_history.json: a run recorded before shard groups, running its
//     load activities itself;
//   - run_history_shards.json and shard_group_history.json: a run with shard
//     groups, and its group;
//   - run_history_continued.json.gz: a workflow run that started from a
//     carry (2,000 events, gzipped).
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{"run_history.json", "run_history_shards.json", "shard_group_history.json", "run_history_continued.json.gz"} {
		t.Run(file, func(t *testing.T) {
			h, err := readHistory(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(Run, workflow.RegisterOptions{Name: "Run"})
			r.RegisterWorkflowWithOptions(ShardGroup, workflow.RegisterOptions{Name: WorkflowShardGroup})
			if err := r.ReplayWorkflowHistory(nil, h); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}

// readHistory reads a history recorded as JSON, gzipped when its name ends
// in .gz.
func readHistory(path string) (*historypb.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
