package engine

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSharedIterationsAcrossShards: three shards of one run, in one
// process, claim shared iterations from one ledger (runClaims stands in for
// the server's): between them they start exactly N, the target gets
// exactly N requests, and every shard ends as soon as none is left — long
// before the duration cap.
func TestSharedIterationsAcrossShards(t *testing.T) {
	tests := []struct {
		name          string
		iterations    int
		vus, shards   int
		claimsFailing int
	}{
		{name: "three shards", iterations: 1000, vus: 6, shards: 3},
		{name: "more shards than VUs", iterations: 57, vus: 2, shards: 3},
		{name: "claims fail at first", iterations: 300, vus: 4, shards: 2, claimsFailing: 2},
		{name: "fewer iterations than VUs", iterations: 3, vus: 8, shards: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
			p := plan(t, `name: shared
virtual_users: `+itoa(tt.vus)+`
iterations: `+itoa(tt.iterations)+`
steps: [{url_template: /x}]
`)
			ledger := &runClaims{total: tt.iterations, fail: tt.claimsFailing}
			var wg sync.WaitGroup
			engines := make([]*Engine, tt.shards)
			sums := make([]Summary, tt.shards)
			started := make([]int64, tt.shards)
			requests, done := make([]uint64, tt.shards), make([]uint64, tt.shards)
			collectors := make([]*collector, tt.shards)
			for shard := range tt.shards {
				c := &collector{}
				collectors[shard] = c
				e, err := New(Config{Plan: p, BaseURL: srv.URL, Shard: shard, Shards: tt.shards, Claim: ledger.claim, Sink: c.sink})
				if err != nil {
					t.Fatal(err)
				}
				engines[shard] = e
			}
			for shard, e := range engines {
				c := collectors[shard]
				wg.Add(1)
				go func() {
					defer wg.Done()
					sums[shard], _ = e.Run(context.Background())
					if sums[shard].Reason == ReasonIterationsDone {
						// What the run's workflow publishes: a shard
						// with no VU would not learn it from the ledger.
						for _, other := range engines {
							other.IterationsDone()
						}
					}
					started[shard] = e.Iterations()
					all, _, _ := c.total(t)
					requests[shard], done[shard] = all.Requests, c.iterations()
				}()
			}
			wg.Wait()
			var total int64
			var recorded, counted uint64
			for shard, sum := range sums {
				if sum.Reason != ReasonIterationsDone || sum.Elapsed > 30*time.Second {
					t.Errorf("shard %d: %+v, want %q well before the 10m cap", shard, sum, ReasonIterationsDone)
				}
				total += started[shard]
				recorded += requests[shard]
				counted += done[shard]
			}
			if counted != uint64(tt.iterations) {
				t.Errorf("the snapshots count %d iterations done, want %d", counted, tt.iterations)
			}
			if total != int64(tt.iterations) || srv.total.Load() != int64(tt.iterations) || recorded != uint64(tt.iterations) {
				t.Fatalf("started %d (per shard %v), target got %d, recorded %d; want %d each",
					total, started, srv.total.Load(), recorded, tt.iterations)
			}
		})
	}
}

// TestSharedIterationsWithoutLedger: an engine alone does its shard's part
// of the shared iterations, split as partitioned records.
func TestSharedIterationsWithoutLedger(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	p := plan(t, `name: alone
virtual_users: 3
iterations: 10
steps: [{url_template: /x}]
`)
	for shard, want := range []int64{3, 3, 4} {
		before := srv.total.Load()
		e, err := New(Config{Plan: p, BaseURL: srv.URL, Shard: shard, Shards: 3})
		if err != nil {
			t.Fatal(err)
		}
		sum, _ := e.Run(context.Background())
		if got := srv.total.Load() - before; got != want || e.Iterations() != want || sum.Reason != ReasonIterationsDone {
			t.Errorf("shard %d of 3: %d requests, %d iterations, %q; want %d and %q", shard, got, e.Iterations(), sum.Reason, want, ReasonIterationsDone)
		}
	}
}

// TestIterationsPerVU: every VU of every shard does exactly its
// iterations (steps skipped or not), and the shards end when they all did.
func TestIterationsPerVU(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	p := plan(t, `name: per-vu
virtual_users: 5
iterations_per_vu: 7
steps:
  - {name: a, url_template: /a}
  - {name: b, url_template: /b}
`)
	var wg sync.WaitGroup
	sums := make([]Summary, 2)
	c := &collector{}
	for shard := range 2 {
		e, err := New(Config{Plan: p, BaseURL: srv.URL, Shard: shard, Shards: 2, Sink: c.sink})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); sums[shard], _ = e.Run(context.Background()) }()
	}
	wg.Wait()
	for shard, sum := range sums {
		if sum.Reason != ReasonIterationsDone || sum.Elapsed > 30*time.Second {
			t.Errorf("shard %d: %+v", shard, sum)
		}
	}
	if n := c.iterations(); n != 35 {
		t.Errorf("the snapshots count %d iterations done, want 35", n)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.paths["/a"] != 35 || srv.paths["/b"] != 35 {
		t.Fatalf("requests by path %v, want 5 VUs x 7 iterations of each step", srv.paths)
	}
}

// TestIterationsCappedByDuration: iterations that cannot be done within the
// duration end with it, as a completed run.
func TestIterationsCappedByDuration(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) })
	p := plan(t, `name: capped
virtual_users: 2
duration_seconds: 0.5
iterations: 1000000
steps: [{url_template: /x}]
`)
	sum, _ := run(t, Config{Plan: p, BaseURL: srv.URL})
	if sum.Reason != "completed" || srv.total.Load() == 0 || srv.total.Load() > 100 {
		t.Fatalf("summary %+v after %d requests: want completed by the 0.5s cap", sum, srv.total.Load())
	}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// TestIterationsPerVUFromTheLedger: with a ledger, a per-VU shard claims
// no more than its own VUs have left to do, so that what a lost shard
// left in the ledger is all there for the shard that takes over: here a
// shard of 2 VUs does its 2 × 10 of a 3-VU run's 30, and a second shard
// of 1 VU (its replacement, say) does the remaining 10, and each VU at
// most 10.
func TestIterationsPerVUFromTheLedger(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	p := plan(t, `name: per-vu-ledger
virtual_users: 3
iterations_per_vu: 10
steps: [{url_template: /x}]
`)
	ledger := &runClaims{total: 30}
	for _, step := range []struct {
		vus, want int
	}{{2, 20}, {1, 10}} {
		c := &collector{}
		share := []float64{float64(step.vus) / 3, 1 - float64(step.vus)/3}
		e, err := New(Config{Plan: p, BaseURL: srv.URL, Shard: 0, Shards: 2, Share: share, Claim: ledger.claim, Sink: c.sink})
		if err != nil {
			t.Fatal(err)
		}
		before := srv.total.Load()
		sum, _ := e.Run(context.Background())
		if sum.Reason != ReasonIterationsDone {
			t.Fatalf("%d VUs: %+v", step.vus, sum)
		}
		if got := srv.total.Load() - before; got != int64(step.want) || c.iterations() != uint64(step.want) {
			t.Fatalf("%d VUs: %d requests, %d iterations done; want %d", step.vus, got, c.iterations(), step.want)
		}
	}
	if ledger.next != 30 {
		t.Fatalf("the ledger handed out %d of 30", ledger.next)
	}
}

// TestIterationsWaitForAPlan: a replacement started on a plan that does
// not count it yet (its part zero) does not end for want of VUs: per VU,
// or told the shared iterations are done, it waits for a plan with it and
// then does what the ledger holds (what a lost shard gave back).
func TestIterationsWaitForAPlan(t *testing.T) {
	for _, kind := range []string{"iterations: 90", "iterations_per_vu: 30"} {
		t.Run(kind, func(t *testing.T) {
			srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
			p := plan(t, "name: wait\nvirtual_users: 3\n"+kind+"\nsteps: [{url_template: /x}]\n")
			ledger := &runClaims{total: 90, next: 60} // 30 given back
			c := &collector{}
			e, err := New(Config{Plan: p, BaseURL: srv.URL, Shard: 2, Shards: 3, Share: []float64{.5, .5, 0},
				Unplanned: true, Claim: ledger.claim, Sink: c.sink})
			if err != nil {
				t.Fatal(err)
			}
			ended := make(chan Summary, 1)
			go func() { sum, _ := e.Run(context.Background()); ended <- sum }()
			e.IterationsDone() // what a shared run's control says
			select {
			case sum := <-ended:
				t.Fatalf("ended on a plan without it: %+v", sum)
			case <-time.After(300 * time.Millisecond):
			}
			if err := e.SetShare([]float64{0, 0, 1}); err != nil {
				t.Fatal(err)
			}
			var sum Summary
			select {
			case sum = <-ended:
			case <-time.After(20 * time.Second):
				t.Fatal("did not end once planned")
			}
			if sum.Reason != ReasonIterationsDone || c.iterations() != 30 || srv.total.Load() != 30 {
				t.Fatalf("%+v: %d iterations done, %d requests; want the 30 given back", sum, c.iterations(), srv.total.Load())
			}
		})
	}
}

// TestIterationsPerVUTakerLeavesNothing: a VU that takes over and is
// stopped again (its share moved back) leaves no iteration its shard
// claimed undone: the own VUs do those left in the block.
func TestIterationsPerVUTakerLeavesNothing(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Millisecond) })
	p := plan(t, `name: taker
virtual_users: 3
iterations_per_vu: 400
steps: [{url_template: /x}]
`)
	ledger := &runClaims{total: 1200}
	c := &collector{}
	e, err := New(Config{Plan: p, BaseURL: srv.URL, Shard: 0, Shards: 2, Share: []float64{2.0 / 3, 1.0 / 3}, Claim: ledger.claim, Sink: c.sink})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan Summary, 1)
	go func() { sum, _ := e.Run(context.Background()); ended <- sum }()
	time.Sleep(100 * time.Millisecond)
	if err := e.SetShare([]float64{1, 0}); err != nil { // shard 1 lost: a VU takes over
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if err := e.SetShare([]float64{2.0 / 3, 1.0 / 3}); err != nil { // its replacement came
		t.Fatal(err)
	}
	select {
	case sum := <-ended:
		if sum.Reason != ReasonIterationsDone {
			t.Fatalf("%+v", sum)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not end")
	}
	ledger.mu.Lock()
	granted := ledger.next
	ledger.mu.Unlock()
	if done := c.iterations(); done != uint64(granted) || done < 800 {
		t.Fatalf("granted %d, done %d: want every granted one done, and at least the own VUs' 800", granted, done)
	}
	t.Logf("granted and done: %d (the VU that took over did %d)", granted, granted-800)
}

// TestIterationsPerVURefused: a per-VU shard whose ledger claims the
// server refuses says so, rather than that its iterations are done.
func TestIterationsPerVURefused(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	p := plan(t, "name: refused\nvirtual_users: 2\niterations_per_vu: 5\nsteps: [{url_template: /x}]\n")
	refuse := func(string, int) (int, int, error) {
		return 0, 0, &ClaimRefused{Err: errors.New("404 not_found: run r has no sequential feeder \"$iterations\"")}
	}
	e, err := New(Config{Plan: p, BaseURL: srv.URL, Claim: refuse})
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := e.Run(context.Background())
	if !strings.Contains(sum.Reason, "refused") || srv.total.Load() != 0 {
		t.Fatalf("%+v, %d requests: want the refusal as the reason", sum, srv.total.Load())
	}
}
