package fold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

// hlogScenario's first step's name holds a space, which a tag may not.
const hlogScenario = `name: hlog
virtual_users: 2
duration_seconds: 4
steps:
  - {name: list items, url_template: /a}
  - {name: b, url_template: /b}
  - {name: c, url_template: /c}
`

// newHlogRun stores hlogScenario's run, started at epoch, in a real
// (SQLite) store.
func newHlogRun(t *testing.T) (store.Store, *store.Run) {
	t.Helper()
	return storedRun(t, hlogScenario, "run-hlog", 2)
}

// loadIntervals sends real requests to a loopback server from two shards
// and stores their snapshots of four intervals, each shard's interval k
// holding counts[k] requests spread over the steps; the last request of
// interval 0 is slow (the server sleeps 30 ms), so that its p99.9 of 970
// is the max. It returns how many requests it sent.
func loadIntervals(t *testing.T, st store.Store, r *store.Run, counts [4]int) int {
	t.Helper()
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if slow.Load() {
			time.Sleep(30 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	paths := []string{"/a", "/b", "/c"}
	sent := 0
	for k := range int64(len(counts)) {
		for shard := range 2 {
			rec := hist.NewRecorder(len(paths))
			for i := range counts[k] / 2 {
				slow.Store(k == 0 && shard == 1 && i == counts[k]/2-1)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+paths[i%3], nil)
				if err != nil {
					t.Fatal(err)
				}
				began := time.Now()
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				rec.Record(i%3, hist.Result{Latency: time.Since(began), Status: resp.StatusCode})
				sent++
			}
			putSnapshot(t, st, r, rec, k, shard)
		}
	}
	return sent
}

func putSnapshot(t *testing.T, st store.Store, r *store.Run, rec *hist.Recorder, k int64, shard int) {
	t.Helper()
	start, end := Bounds(r, k)
	if k == 3 {
		end = end.Add(-400 * time.Millisecond) // the run's last, partial interval
	}
	s := rec.Flush(start, end)
	s.RunID, s.Worker, s.Shard, s.Attempt, s.Seq = r.ID, "w", uint32(shard), 1, uint64(k+1)
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutSnapshot(t.Context(), &store.Snapshot{RunID: r.ID, Shard: shard, Attempt: 1, Seq: int64(s.Seq),
		Interval: k, Worker: s.Worker, Data: b}); err != nil {
		t.Fatal(err)
	}
}

// jsFigures is what web/test/hlog-read.mjs prints of a histogram (µs).
type jsFigures struct {
	StartMS, EndMS                    float64
	Count                             uint64
	P0, P50, P90, P95, P99, P999, Max int64
}

type jsLog struct {
	Intervals map[string][]jsFigures `json:"intervals"`
	Totals    map[string]jsFigures   `json:"totals"`
}

func (f *jsFigures) UnmarshalJSON(b []byte) error {
	var m struct {
		StartMS float64 `json:"start_ms"`
		EndMS   float64 `json:"end_ms"`
		Count   uint64  `json:"count"`
		P0      int64   `json:"p0"`
		P50     int64   `json:"p50"`
		P90     int64   `json:"p90"`
		P95     int64   `json:"p95"`
		P99     int64   `json:"p99"`
		P999    int64   `json:"p999"`
		Max     int64   `json:"max"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*f = jsFigures(m)
	return nil
}

// readWithJS decodes an hlog with hdr-histogram-js, or skips the test
// when node or the package (make web-test installs it) is missing.
func readWithJS(t *testing.T, path string) jsLog {
	t.Helper()
	web, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the hlog cannot be read with hdr-histogram-js")
	}
	if _, err := os.Stat(filepath.Join(web, "node_modules", "hdr-histogram-js", "package.json")); err != nil {
		t.Skip("web/node_modules/hdr-histogram-js is missing (make web-test installs it): the hlog cannot be read with it")
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("test", "hlog-read.mjs"), path) // #nosec G204 -- the test's own script and file
	cmd.Dir = web
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hlog-read.mjs: %v: %s", err, stderr.String())
	}
	var log jsLog
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatalf("hlog-read.mjs printed %s: %v", out, err)
	}
	return log
}

// usOf turns a report's milliseconds back into the µs they were made from.
func usOf(ms float64) int64 { return int64(math.Round(ms * 1000)) }

// TestHlogReadByHdrHistogramJS writes a run's latency.hlog from real
// recorded requests and reads it with hdr-histogram-js: per interval and in
// total, untagged and per step, its counts and percentiles are exactly the
// report's (report.json's, as a client parses it).
func TestHlogReadByHdrHistogramJS(t *testing.T) {
	st, r := newHlogRun(t)
	ctx := t.Context()
	sent := loadIntervals(t, st, r, [4]int{970, 600, 400, 200})
	if err := st.FinishRun(ctx, r.ID, store.StatusCompleted, "", epoch.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	if r, _ = st.GetRun(ctx, r.ID); r == nil {
		t.Fatal("run is gone")
	}
	built, err := BuildReport(ctx, st, r.ID, nil) // folds every interval, as a finished run's report does
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(built)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := reports.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "latency.hlog")
	var buf bytes.Buffer
	if err := WriteHlog(ctx, st, r, &buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#[BaseTime: ", "#" + hist.LogUnitComment, "\nTag=list_items,", "\n0.000,1.000,"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the log lacks %q:\n%.600s", want, buf.String())
		}
	}
	log := readWithJS(t, path)

	if rep.Totals.Requests != uint64(sent) || log.Totals[""].Count != uint64(sent) {
		t.Fatalf("%d requests sent; the report counts %d, the log %d", sent, rep.Totals.Requests, log.Totals[""].Count)
	}
	sameLatency(t, "total", log.Totals[""], rep.Totals.Requests, rep.LatencyMS)
	for i, tag := range []string{"list_items", "b", "c"} {
		sameLatency(t, "step "+tag, log.Totals[tag], rep.Steps[i].Requests, rep.Steps[i].LatencyMS)
	}
	sameIntervals(t, log, rep)
	// Interval 0 is the 970-request case: its p99.9 is its slowest request.
	if iv := log.Intervals[""][0]; iv.Count != 970 || iv.P999 != iv.Max || iv.Max < 30_000 {
		t.Errorf("interval 0: %d requests, p99.9 %d µs, max %d µs; want 970 and p99.9 = max >= 30 ms", iv.Count, iv.P999, iv.Max)
	}
}

// sameLatency compares hdr-histogram-js's figures with a report's.
func sameLatency(t *testing.T, what string, js jsFigures, requests uint64, l reports.Latency) {
	t.Helper()
	got := []int64{int64(js.Count), js.P0, js.P50, js.P90, js.P95, js.P99, js.P999, js.Max}
	want := []int64{int64(requests), usOf(l.Min), usOf(l.P50), usOf(l.P90), usOf(l.P95), usOf(l.P99), usOf(l.P999), usOf(l.Max)}
	if !slices.Equal(got, want) {
		t.Errorf("%s: hdr-histogram-js reads count, min, p50, p90, p95, p99, p99.9, max = %v; the report says %v", what, got, want)
	}
}

// sameIntervals compares each interval of the log with the report's series.
func sameIntervals(t *testing.T, log jsLog, rep *reports.Report) {
	t.Helper()
	if n := len(log.Intervals[""]); n != len(rep.Series) || n != 4 {
		t.Fatalf("the log has %d intervals, the report's series %d points", n, len(rep.Series))
	}
	base := float64(epoch.UnixMilli())
	for k, p := range rep.Series {
		iv := log.Intervals[""][k]
		length := 1000.0
		if k == 3 {
			length = 600
		}
		if iv.StartMS != base+float64(k)*1000 || iv.EndMS != iv.StartMS+length {
			t.Errorf("interval %d: %v..%v ms since the epoch, want %v for %v ms", k, iv.StartMS, iv.EndMS, base+float64(k)*1000, length)
		}
		got := []int64{int64(iv.Count), iv.P50, iv.P90, iv.P95, iv.P99, iv.Max}
		want := []int64{int64(p.Requests), usOf(p.P50), usOf(p.P90), usOf(p.P95), usOf(p.P99), usOf(p.Max)}
		if !slices.Equal(got, want) {
			t.Errorf("interval %d: hdr-histogram-js reads count, p50, p90, p95, p99, max = %v; the series says %v", k, got, want)
		}
		for i, tag := range []string{"list_items", "b", "c"} {
			sv, sp := log.Intervals[tag][k], p.Steps[i]
			got := []int64{int64(sv.Count), sv.P50, sv.P95, sv.P99}
			want := []int64{int64(sp.Requests), usOf(sp.P50), usOf(sp.P95), usOf(sp.P99)}
			if !slices.Equal(got, want) {
				t.Errorf("interval %d step %s: hdr-histogram-js reads count, p50, p95, p99 = %v; the series says %v", k, tag, got, want)
			}
		}
	}
}

// TestWriteHlogNoData: a run with no folded interval writes nothing.
func TestWriteHlogNoData(t *testing.T) {
	st, r := newHlogRun(t)
	var buf bytes.Buffer
	err := WriteHlog(t.Context(), st, r, &buf)
	if !errors.Is(err, ErrNoData) || buf.Len() != 0 {
		t.Fatalf("WriteHlog of a run without intervals: %v, wrote %d bytes", err, buf.Len())
	}
}
