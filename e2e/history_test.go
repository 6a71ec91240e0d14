package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	sdkclient "go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestRecordHistory records a real run workflow's history for the replay
// test in package workflows. It runs only when asked:
//
//	BARRAGE_RECORD_HISTORY=1 go test ./e2e -run TestRecordHistory
func TestRecordHistory(t *testing.T) {
	if os.Getenv("BARRAGE_RECORD_HISTORY") == "" {
		t.Skip("set BARRAGE_RECORD_HISTORY=1 to record workflows/testdata/run_history.json")
	}
	tg := startTarget(t, "--latency", "fixed:2ms")
	c := startCluster(t, 2)
	file := writeScenario(t, "name: recorded\nvirtual_users: 4\nduration_seconds: 3\n"+loginFlow)
	out := t.TempDir()
	run := start(t, "barrage run", "run", file, "--server", c.url, "--target", tg.url, "--workers", "2", "--out", out)
	if code := run.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("barrage run exited %d:\n%s", code, run.output())
	}
	rep := readReport(t, filepath.Join(out, "report.json"))
	tc, err := sdkclient.Dial(sdkclient.Options{HostPort: c.temporal})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	var h historypb.History
	it := tc.GetWorkflowHistory(context.Background(), rep.RunID, "", false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "run_history.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of run %s in %s", len(h.Events), rep.RunID, path)
}
