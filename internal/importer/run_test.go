package importer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/engine"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/target"
)

// seen counts the requests a server answered, by "METHOD path" and status.
type seen struct {
	mu  sync.Mutex
	hit map[string]map[int]int
}

func (s *seen) wrap(h http.Handler) http.Handler {
	s.hit = map[string]map[int]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		key := r.Method + " " + r.URL.Path
		if s.hit[key] == nil {
			s.hit[key] = map[int]int{}
		}
		s.hit[key][sw.status]++
	})
}

func (s *seen) get(key string) map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hit[key]
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// runFor runs an imported scenario with the engine, 1 VU for two seconds,
// and returns its totals.
func runFor(t *testing.T, s *scenario.Scenario, baseURL string) hist.StepStats {
	t.Helper()
	s.VirtualUsers, s.DurationSeconds, s.RampUpSeconds = 1, 2, 0
	plan, err := scenario.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	total := hist.StepStats{Latency: hist.NewHistogram()}
	e, err := engine.New(engine.Config{Plan: plan, BaseURL: baseURL, Sink: func(snap *hist.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		for i := range snap.Steps {
			total.Merge(&snap.Steps[i])
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return total
}

// TestRunImportedHAR runs the scenario imported from the demo recording
// against a fresh built-in target: every step's request arrives, and the
// token correlated from /login is one the target issued (/me answers 200,
// not 401), so every check passes.
func TestRunImportedHAR(t *testing.T) {
	res := importFile(t, "testdata/har/barrage-demo.har", HAROptions{})
	srv, err := target.New(target.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var hits seen
	ts := httptest.NewServer(hits.wrap(srv))
	defer ts.Close()
	total := runFor(t, reimport(t, res), ts.URL)
	if total.Requests == 0 || total.ChecksFailed != 0 || total.Errors != 0 {
		t.Fatalf("%d requests, %d errors, %d checks failed (status %v)", total.Requests, total.Errors, total.ChecksFailed, total.Status)
	}
	for _, key := range []string{"GET /cookie/set", "GET /items", "GET /items/3", "POST /login", "POST /echo", "GET /redirect/1", "GET /"} {
		if len(hits.get(key)) == 0 {
			t.Errorf("%s never arrived", key)
		}
	}
	if me := hits.get("GET /me"); me[200] == 0 || me[401] != 0 {
		t.Errorf("GET /me answered %v: the token was not carried over", me)
	}
	if hits.get("GET /static/site.css") != nil {
		t.Errorf("the static asset was requested")
	}
}

// TestRunImportedOpenAPI runs the Petstore smoke scenario (every method)
// against a server that answers its paths: each operation's request
// arrives under the document's base path.
func TestRunImportedOpenAPI(t *testing.T) {
	data, err := os.ReadFile("testdata/openapi/petstore-expanded.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := OpenAPI(data, OpenAPIOptions{AllMethods: true})
	if err != nil {
		t.Fatal(err)
	}
	var hits seen
	ts := httptest.NewServer(hits.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasPrefix(r.URL.Path, "/api/pets"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":1,"name":"rex"}`))
		default:
			http.NotFound(w, r)
		}
	})))
	defer ts.Close()
	total := runFor(t, reimport(t, res), ts.URL)
	if total.Requests == 0 || total.ChecksFailed != 0 {
		t.Fatalf("%d requests, %d checks failed (status %v)", total.Requests, total.ChecksFailed, total.Status)
	}
	for _, key := range []string{"GET /api/pets", "POST /api/pets", "GET /api/pets/1", "DELETE /api/pets/1"} {
		if len(hits.get(key)) == 0 {
			t.Errorf("%s never arrived; got %v", key, hits.hit)
		}
	}
}
