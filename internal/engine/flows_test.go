package engine

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/scenario"
)

// TestFlowSplit: a shard's VUs go to flows within quota and house
// monotone, arrivals cycle through the flows' exact weights, and ties
// rotate with the shard so that small counts spread across a fleet.
func TestFlowSplit(t *testing.T) {
	flows := []*scenario.PlanFlow{{Name: "browse", Weight: 3}, {Name: "checkout", Weight: 1}}
	fs, err := newFlowSplit(flows, 0)
	if err != nil {
		t.Fatal(err)
	}
	prev := []int{0, 0}
	for n := 0; n <= 200; n++ {
		a, b := fs.count(n, 0), fs.count(n, 1)
		if a+b != n {
			t.Fatalf("n=%d: %d+%d", n, a, b)
		}
		if q := float64(n) * 3 / 4; float64(a) < q-1 || float64(a) > q+1 {
			t.Fatalf("n=%d: browse %d outside its quota %.2f", n, a, q)
		}
		if a < prev[0] || b < prev[1] {
			t.Fatalf("n=%d: a count fell: %d,%d after %v", n, a, b, prev)
		}
		prev = []int{a, b}
	}
	got := []int{0, 0}
	for k := range uint64(4000) {
		got[fs.arrival(k)]++
		if (k+1)%4 == 0 && got[0] != 3*got[1] {
			t.Fatalf("after %d arrivals: %v, want 3:1", k+1, got)
		}
	}
	// Three shards of one VU each, flows 1:1: not all three in the first flow.
	even := []*scenario.PlanFlow{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}}
	fleet := []int{0, 0}
	for shard := range 3 {
		fs, err := newFlowSplit(even, shard)
		if err != nil {
			t.Fatal(err)
		}
		for f := range 2 {
			fleet[f] += fs.count(1, f)
		}
	}
	if fleet[0] != 2 || fleet[1] != 1 {
		t.Errorf("three shards of one VU over flows 1:1: %v, want [2 1]", fleet)
	}
}

// flowServer answers every request and remembers which VUs asked for
// which path.
type flowServer struct {
	mu   sync.Mutex
	vus  map[string]map[string]bool
	hits map[string]int
}

func (fs *flowServer) handle(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	if fs.vus[r.URL.Path] == nil {
		fs.vus[r.URL.Path] = map[string]bool{}
	}
	fs.vus[r.URL.Path][r.URL.Query().Get("vu")] = true
	fs.hits[r.URL.Path]++
	fs.mu.Unlock()
	if r.URL.Path == "/login" {
		fmt.Fprint(w, `{"token":"t-`+r.URL.Query().Get("vu")+`"}`)
		return
	}
	if r.URL.Path == "/pay" && r.Header.Get("X-Token") != "t-"+r.URL.Query().Get("vu") {
		http.Error(w, "wrong token", http.StatusForbidden)
	}
}

// TestFlowsClosed: 8 VUs over flows 3:1 are 6 browsing VUs and 2 that
// check out, each running only its flow's steps with its own variables.
func TestFlowsClosed(t *testing.T) {
	fsrv := &flowServer{vus: map[string]map[string]bool{}, hits: map[string]int{}}
	srv := newCountingServer(t, fsrv.handle)
	p := plan(t, `name: shop
virtual_users: 8
duration_seconds: 0.6
flows:
  - name: browse
    weight: 3
    think_time_ms: 5
    steps:
      - {name: home, url_template: "/home?vu={{ $vu }}"}
  - name: checkout
    weight: 1
    think_time_ms: 5
    steps:
      - {name: login, method: POST, url_template: "/login?vu={{ $vu }}", extract: [{var: token, json: $.token}]}
      - {name: pay, method: POST, url_template: "/pay?vu={{ $vu }}", headers: {X-Token: "{{ token }}"}, checks: [{status: 200}]}
`)
	_, c := run(t, Config{Plan: p, BaseURL: srv.URL})
	_, steps, _ := c.total(t)
	fsrv.mu.Lock()
	defer fsrv.mu.Unlock()
	if got := len(fsrv.vus["/home"]); got != 6 {
		t.Errorf("%d VUs browsed, want 6 of 8 (weights 3:1)", got)
	}
	if got := len(fsrv.vus["/login"]); got != 2 {
		t.Errorf("%d VUs checked out, want 2 of 8", got)
	}
	for vu := range fsrv.vus["/home"] {
		if fsrv.vus["/login"][vu] {
			t.Errorf("VU %s ran both flows", vu)
		}
	}
	if steps[2].Errors != 0 || steps[2].Requests == 0 {
		t.Errorf("pay: %d requests, %d errors: the token extracted by login did not reach it", steps[2].Requests, steps[2].Errors)
	}
	if steps[1].Requests != steps[2].Requests || uint64(fsrv.hits["/login"]) != steps[1].Requests {
		t.Errorf("login %d, pay %d recorded; %d logins served", steps[1].Requests, steps[2].Requests, fsrv.hits["/login"])
	}
}

// TestFlowsOpen: arrivals take the flows in their weights' proportion,
// within one arrival of it at every count.
func TestFlowsOpen(t *testing.T) {
	fsrv := &flowServer{vus: map[string]map[string]bool{}, hits: map[string]int{}}
	srv := newCountingServer(t, fsrv.handle)
	p := plan(t, `name: shop
load: {model: open, constant: {target: 200, duration: 1s}}
max_vus: 50
flows:
  - {name: browse, weight: 3, steps: [{name: home, url_template: /home}]}
  - {name: checkout, steps: [{name: login, method: POST, url_template: /login}]}
`)
	_, c := run(t, Config{Plan: p, BaseURL: srv.URL})
	_, steps, dropped := c.total(t)
	if dropped != 0 {
		t.Fatalf("%d dropped iterations", dropped)
	}
	browse, checkout := steps[0].Requests, steps[1].Requests
	n := browse + checkout
	if n < 150 {
		t.Fatalf("only %d arrivals in 1s at 200/s", n)
	}
	if q := float64(n) * 3 / 4; float64(browse) < q-1 || float64(browse) > q+1 {
		t.Errorf("%d of %d arrivals browsed, want %.2f ± 1", browse, n, q)
	}
}

// TestFlowsWithIterationsPerVU: each flow's VUs do their own iterations:
// 4 VUs over flows 3:1, 5 iterations each, are 15 browsing iterations and
// 5 checking out, and the shard ends when all of them are done.
func TestFlowsWithIterationsPerVU(t *testing.T) {
	fsrv := &flowServer{vus: map[string]map[string]bool{}, hits: map[string]int{}}
	srv := newCountingServer(t, fsrv.handle)
	p := plan(t, `name: shop
virtual_users: 4
duration_seconds: 30
iterations_per_vu: 5
flows:
  - {name: browse, weight: 3, steps: [{name: home, url_template: "/home?vu={{ $vu }}"}]}
  - {name: checkout, steps: [{name: pay, method: POST, url_template: "/pay2?vu={{ $vu }}"}]}
`)
	sum, c := run(t, Config{Plan: p, BaseURL: srv.URL})
	_, steps, _ := c.total(t)
	if steps[0].Requests != 15 || steps[1].Requests != 5 {
		t.Errorf("browse %d, checkout %d iterations; want 15 and 5", steps[0].Requests, steps[1].Requests)
	}
	if sum.Reason != ReasonIterationsDone || sum.Elapsed > 10*time.Second {
		t.Errorf("ended %q after %s, want %q long before the 30s cap", sum.Reason, sum.Elapsed, ReasonIterationsDone)
	}
}
