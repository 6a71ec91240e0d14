package workflows

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// historyPatterns name a recorded history in testdata; see
// testdata/README.md for how to record one.
var historyPatterns = []string{"*_history*.json", "*_history*.json.gz"}

// TestReplayRecordedHistory replays every history recorded in testdata (by
// e2e's TestRecordHistory and TestThousandsOfReplacements) against today's
// workflow code: a change that would make running workflows
// non-deterministic fails here. The files are found by pattern, so a history
// recorded for a new workflow version is replayed as soon as it is added.
// Among them:
//   - run_history.json: a run recorded before shard groups, running its
//     load activities itself;
//   - run_history_shards.json and shard_group_history.json: a run with shard
//     groups, and its group;
//   - run_history_continued.json.gz: a workflow run that started from a
//     carry (2,000 events, gzipped).
func TestReplayRecordedHistory(t *testing.T) {
	files := recordedHistories(t)
	if len(files) < 4 {
		t.Fatalf("%d histories in testdata, want at least the 4 committed ones: %v", len(files), files)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			h, err := readHistory(file)
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

// recordedHistories returns testdata's histories, by name.
func recordedHistories(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, p := range historyPatterns {
		m, err := filepath.Glob(filepath.Join("testdata", p))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	return files
}

// TestTestdataHoldsOnlyHistories: a history saved under a name the patterns
// miss would never be replayed.
func TestTestdataHoldsOnlyHistories(t *testing.T) {
	histories := recordedHistories(t)
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := filepath.Join("testdata", e.Name()); e.Name() != "README.md" && !slices.Contains(histories, name) {
			t.Errorf("%s is not named like a history (%s): it would not be replayed", name, strings.Join(historyPatterns, " or "))
		}
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
