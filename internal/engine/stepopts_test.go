package engine

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/hist"
)

// TestStepOptions: retries send a failed request again (each attempt
// counted), a step's timeout replaces http.timeout, and skip_if/only_if
// leave steps out on a variable's value.
func TestStepOptions(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		}
	})
	p := plan(t, `name: options
virtual_users: 1
duration_seconds: 1
variables: {yes: "true", no: "0"}
steps:
  - {name: first, url_template: /first}
  - {name: fail, url_template: /fail, retries: 2, retry_backoff: 1ms}
  - {name: slow, url_template: /slow, timeout: 20ms}
  - {name: skipped, url_template: /skipped, skip_if: "yes"}
  - {name: only-no, url_template: /only-no, only_if: "no"}
  - {name: only-yes, url_template: /only-yes, only_if: "yes", group: g, tags: {team: core}}
`)
	if p.Steps[5].Group != "g" || p.Steps[5].Tags["team"] != "core" {
		t.Errorf("group %q tags %v", p.Steps[5].Group, p.Steps[5].Tags)
	}
	_, c := run(t, Config{Plan: p, BaseURL: srv.URL})
	_, steps, _ := c.total(t)
	iterations := steps[0].Requests
	if iterations == 0 {
		t.Fatal("no iterations")
	}
	fail, slow := steps[1], steps[2]
	// An iteration cut by the end of the run may stop between attempts.
	if fail.Requests < 3*(iterations-1) || fail.Requests > 3*iterations || fail.Status[503] != fail.Requests {
		t.Errorf("fail: %d requests (status %v) for %d iterations, want 3 attempts each", fail.Requests, fail.Status, iterations)
	}
	if slow.Requests == 0 || slow.Classes[hist.ClassTimeout] != slow.Requests {
		t.Errorf("slow: %d requests, classes %v: want every one timed out at 20ms", slow.Requests, slow.Classes)
	}
	if steps[3].Requests != 0 || steps[4].Requests != 0 || steps[5].Requests == 0 {
		t.Errorf("skip_if yes: %d, only_if no: %d, only_if yes: %d requests", steps[3].Requests, steps[4].Requests, steps[5].Requests)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/skipped"] != 0 || hits["/only-no"] != 0 || uint64(hits["/fail"]) != fail.Requests {
		t.Errorf("the target saw %v", hits)
	}
}
