package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	sdkclient "go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/barrage/barrage/workflows"
)

// TestRecordHistory records a real run workflow's history, and one of its
// shard workflows', for the replay test in package workflows
// (run_history.json holds a run recorded before shard workflows). It runs
// only when asked:
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
	recordHistory(t, tc, rep.RunID, "", "run_history_shards.json")
	recordHistory(t, tc, workflows.ShardGroupID(rep.RunID, 0), "", "shard_group_history.json")
}

// recordHistory writes a workflow run's history to workflows/testdata/file,
// gzipped when file ends in .gz. A committed history is never overwritten:
// when file exists, the new one is named after it with the time of
// recording (run_history_shards_20261203T191500.json), which the replay
// test's patterns still match.
func recordHistory(t *testing.T, tc sdkclient.Client, id, runID, file string) {
	t.Helper()
	var h historypb.History
	it := tc.GetWorkflowHistory(context.Background(), id, runID, false, 0)
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
	path := filepath.Join("..", "workflows", "testdata", file)
	if _, err := os.Stat(path); err == nil {
		base, ext, _ := strings.Cut(file, ".")
		path = filepath.Join(filepath.Dir(path), base+"_"+time.Now().UTC().Format("20060102T150405")+"."+ext)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(file, ".gz") {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil { // a new file: see above
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s in %s", len(h.Events), id, path)
}
