package e2e

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/reports"
)

// TestBodiesSamplesAndTracesReachTheReport runs the embedded barrage run
// (its Temporal dev server, server and worker) against a target in this
// process: the bodies arrive as the scenario says, a failing step's
// samples and every traced step's slowest trace IDs are in report.json.
func TestBodiesSamplesAndTracesReachTheReport(t *testing.T) {
	var mu sync.Mutex
	spans := map[string]bool{} // traceparents the target received, as trace_id-span_id
	var bad []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := strings.Split(r.Header.Get("traceparent"), "-"); len(p) == 4 {
			mu.Lock()
			spans[p[1]+"-"+p[2]] = true
			mu.Unlock()
		}
		problem := ""
		switch r.URL.Path {
		case "/fail":
			w.Header().Set("Set-Cookie", "session=abc")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("the database is down"))
			return
		case "/upload":
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				problem = "multipart: " + err.Error()
			} else if f, _, err := r.FormFile("doc"); err != nil {
				problem = "file: " + err.Error()
			} else if b, _ := io.ReadAll(f); string(b) != "file contents\n" {
				problem = "file contents " + string(b)
			}
		case "/form":
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				problem = "gzip: " + err.Error()
				break
			}
			if b, _ := io.ReadAll(zr); string(b) != "q=a+b" {
				problem = "form " + string(b)
			}
		}
		if problem != "" {
			mu.Lock()
			bad = append(bad, problem)
			mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(target.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "doc.txt"), []byte("file contents\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "s.yaml")
	doc := `name: observed
virtual_users: 2
duration_seconds: 2
trace: true
steps:
  - {name: upload, method: POST, url_template: /upload, think_time_ms: 20,
     multipart: {fields: {title: t}, files: [{field: doc, file: doc.txt}]}}
  - {name: form, method: POST, url_template: /form, form: {q: a b}, gzip: true, think_time_ms: 20}
  - {name: fail, url_template: /fail, think_time_ms: 20}
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	run := start(t, "barrage run", "run", file, "--target", target.URL, "--out", out, "--quiet")
	run.wait(t, 3*time.Minute) // exits non-zero: the fail step fails
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("no report.json (%v):\n%s", err, run.output())
	}
	var rep reports.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("the target could not read bodies: %v", bad[:min(3, len(bad))])
	}
	if len(rep.Steps) != 3 || rep.Steps[0].Errors != 0 || rep.Steps[1].Errors != 0 || rep.Steps[2].Errors != rep.Steps[2].Requests {
		t.Fatalf("steps: %+v", rep.Steps)
	}
	samples := rep.Steps[2].Samples
	if len(samples) == 0 || len(samples) > reports.SamplesPerClass || len(rep.Steps[0].Samples) != 0 {
		t.Fatalf("samples: fail %d, upload %d", len(samples), len(rep.Steps[0].Samples))
	}
	full := 0
	for _, s := range samples {
		if s.Class != "http_5xx" || s.Status != 503 {
			t.Errorf("sample %+v", s)
		}
		if !s.Partial {
			full++
			if s.Body != "the database is down" || s.Headers["Set-Cookie"] != "[redacted]" {
				t.Errorf("sample body %q, headers %v", s.Body, s.Headers)
			}
		}
	}
	if full == 0 {
		t.Errorf("no sample has the response's body: %+v", samples)
	}
	for i, st := range rep.Steps {
		if len(st.SlowestTraces) == 0 || len(st.SlowestTraces) > reports.SlowestTracesShown {
			t.Errorf("step %s: %d slowest traces", st.Name, len(st.SlowestTraces))
		}
		for _, tr := range st.SlowestTraces {
			if !spans[tr.TraceID+"-"+tr.SpanID] {
				t.Errorf("step %d: trace %s span %s never reached the target", i, tr.TraceID, tr.SpanID)
			}
		}
	}
	for _, e := range rep.Events {
		if e.Kind == reports.KindResponseSample || e.Kind == reports.KindSlowTraces {
			t.Errorf("the timeline lists a %s event", e.Kind)
		}
	}
	t.Logf("%d samples of step fail (%d with body), slowest traces %d/%d/%d", len(samples), full,
		len(rep.Steps[0].SlowestTraces), len(rep.Steps[1].SlowestTraces), len(rep.Steps[2].SlowestTraces))
}
