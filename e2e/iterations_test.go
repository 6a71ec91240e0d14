package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIterations: runs for a number of iterations on real workers end when
// they are done, with the reason "iterations done", having sent exactly
// that many iterations' requests — and, with a worker killed outright
// mid-run, the report still counts exactly that many iterations done: the
// lost worker's iterations that its delivered snapshots do not count are
// done by the others (the target serves those the lost worker did after
// its last delivered snapshot twice; docs/scenarios.md, Iterations).
func TestIterations(t *testing.T) {
	t.Run("shared over three workers", func(t *testing.T) {
		runIterations(t, 3, "virtual_users: 9\niterations: 2000\n", 2000, false)
	})
	t.Run("per VU over two workers", func(t *testing.T) {
		runIterations(t, 2, "virtual_users: 5\niterations_per_vu: 150\n", 750, false)
	})
	t.Run("shared, a worker killed", func(t *testing.T) {
		runIterations(t, 3, "virtual_users: 9\niterations: 6000\n", 6000, true)
	})
	t.Run("per VU, a worker killed", func(t *testing.T) {
		runIterations(t, 3, "virtual_users: 9\niterations_per_vu: 600\n", 5400, true)
	})
}

func runIterations(t *testing.T, workers int, load string, want uint64, kill bool) {
	tg := startTarget(t)
	c := startCluster(t, workers)
	doc := "name: iterations\n" + load + "steps: [{url_template: /it, think_time_ms: 10}]\n"
	fr := startFaultRun(t, c, tg, doc, workers)
	start := time.Now()
	if kill {
		waitFor(t, 30*time.Second, "steady load", func() bool { ps := fr.points(); return len(ps) >= 2 && ps[len(ps)-1].VUs == 9 })
		c.workers["w2"].kill()
	}
	rep := fr.finish("completed", 2*time.Minute)
	took := time.Since(start)
	run, err := c.api.GetRun(context.Background(), fr.runID)
	if err != nil {
		t.Fatal(err)
	}
	st := tg.stats(t)
	t.Logf("%s: served %d, reported %d requests and %d iterations, want %d; reason %q; %s; events: %d worker_lost",
		load, st.Served, rep.Totals.Requests, rep.Totals.Iterations, want, run.Reason, took.Round(time.Millisecond), countEvents(rep, "worker_lost"))
	if run.Reason != "iterations done" {
		t.Errorf("reason %q, want %q", run.Reason, "iterations done")
	}
	if took > 90*time.Second {
		t.Errorf("took %s: the run did not end when its iterations were done (cap 10m)", took)
	}
	if started := iterationsStarted(rep); !kill && started != want {
		t.Errorf("the shard_finished events count %d iterations started, want %d", started, want)
	}
	switch {
	case rep.Totals.Iterations != want:
		t.Fatalf("the report counts %d iterations done, want exactly %d", rep.Totals.Iterations, want)
	case !kill && (st.Served != want || rep.Totals.Requests != want):
		t.Fatalf("served %d, reported %d: want exactly %d", st.Served, rep.Totals.Requests, want)
	case kill && (st.Served < want || rep.Totals.Requests < want):
		t.Fatalf("served %d, reported %d requests: fewer than the %d iterations", st.Served, rep.Totals.Requests, want)
	case kill && countEvents(rep, "worker_lost") != 1:
		t.Fatalf("%d worker_lost events, want 1", countEvents(rep, "worker_lost"))
	case kill:
		name := "iterations: kill -9 one of three"
		if strings.Contains(load, "per_vu") {
			name = "iterations per VU: kill -9 one of three"
		}
		record(faultRow{name: name, recovery: fmt.Sprintf("%d of %d iterations done", rep.Totals.Iterations, want),
			reported: rep.Totals.Requests, served: st.Served, gap: rep.unmeasured(),
			note: fmt.Sprintf("%d served twice: done by the lost worker after its last delivered snapshot", st.Served-want)})
	}
}

var startedRE = regexp.MustCompile(`, (\d+) iterations started`)

// iterationsStarted adds up what the shard_finished events say the shards
// started.
func iterationsStarted(rep *report) uint64 {
	var n uint64
	for _, e := range rep.Events {
		if m := startedRE.FindStringSubmatch(e.Detail); e.Kind == "shard_finished" && m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			n += v
		}
	}
	return n
}
