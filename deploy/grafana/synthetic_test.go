package grafana

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/barrage/barrage/internal/vmtest"
)

// synthRun makes a finished run's series in the exporter's contract: one
// sample per series per one-second interval, stamped with the interval's
// end, counters cumulative from the run's start.
type synthRun struct {
	id, scenario string
	start        time.Time
	intervals    int
	faulty       bool // errors, failed checks and dropped iterations
	rnd          *rand.Rand

	requests int // sent over the run
}

func newSynthRun(id, scenario string, start time.Time, intervals int, faulty bool, seed uint64) *synthRun {
	return &synthRun{id: id, scenario: scenario, start: start, intervals: intervals, faulty: faulty, rnd: rand.New(rand.NewPCG(seed, 7))}
}

// stepState is one step's cumulative counters.
type stepState struct {
	hist     metrics.Histogram
	sum      float64           // of the latencies, in seconds
	statuses map[string]uint64 // by status_class
	errors   map[string]uint64 // by class
	checks   map[string]uint64 // by result
}

var (
	synthSteps   = []string{"login", "browse"}
	synthWorkers = []string{"worker-1", "worker-2"}
)

// lines returns the run's samples as Prometheus text lines with
// millisecond timestamps.
func (r *synthRun) lines() []string {
	steps := map[string]*stepState{}
	for _, s := range synthSteps {
		steps[s] = &stepState{statuses: map[string]uint64{}, errors: map[string]uint64{}, checks: map[string]uint64{}}
	}
	var out []string
	add := func(ts int64, name string, labels []string, v float64) {
		out = append(out, fmt.Sprintf("%s{%s} %g %d", name, strings.Join(labels, ","), v, ts))
	}
	dropped := 0
	for i := 1; i <= r.intervals; i++ {
		ts := r.start.Add(time.Duration(i) * time.Second).UnixMilli()
		run := fmt.Sprintf("run_id=%q", r.id)
		target := min(40, 4+i)
		for _, name := range synthSteps {
			st := steps[name]
			r.interval(st, 5*target)
			sel := []string{run, fmt.Sprintf("scenario=%q", r.scenario), fmt.Sprintf("step=%q", name)}
			for _, c := range sortedKeys(st.statuses) {
				add(ts, "barrage_requests_total", append(sel, fmt.Sprintf("status_class=%q", c)), float64(st.statuses[c]))
			}
			for _, c := range sortedKeys(st.errors) {
				add(ts, "barrage_errors_total", append(sel, fmt.Sprintf("class=%q", c)), float64(st.errors[c]))
			}
			var count uint64
			st.hist.VisitNonZeroBuckets(func(vmrange string, n uint64) {
				add(ts, "barrage_request_duration_seconds_bucket", append(sel, fmt.Sprintf("vmrange=%q", vmrange)), float64(n))
				count += n
			})
			add(ts, "barrage_request_duration_seconds_sum", sel, st.sum)
			add(ts, "barrage_request_duration_seconds_count", sel, float64(count))
			for _, res := range sortedKeys(st.checks) {
				add(ts, "barrage_checks_total", []string{run, fmt.Sprintf("step=%q", name), fmt.Sprintf("result=%q", res)}, float64(st.checks[res]))
			}
		}
		for w, name := range synthWorkers {
			add(ts, "barrage_vus", []string{run, fmt.Sprintf("worker=%q", name)}, float64(target/2+w*(target%2)))
		}
		add(ts, "barrage_target", []string{run}, float64(target))
		if r.faulty {
			dropped += r.rnd.IntN(2)
			add(ts, "barrage_dropped_iterations_total", []string{run}, float64(dropped))
		}
		status := "running"
		if i == r.intervals {
			status = "passed"
		}
		add(ts, "barrage_run_info", []string{run, fmt.Sprintf("scenario=%q", r.scenario), fmt.Sprintf("status=%q", status), `env="ci"`, `team="perf"`}, 1)
	}
	return out
}

// interval records about n requests of one step for one interval.
func (r *synthRun) interval(st *stepState, n int) {
	n += r.rnd.IntN(n/4 + 1)
	for range n {
		r.requests++
		lat := math.Exp(math.Log(0.02) + 0.5*r.rnd.NormFloat64())
		class, errClass := "2xx", ""
		if r.faulty {
			switch p := r.rnd.Float64(); {
			case p < 0.02:
				class, errClass = "4xx", "http_4xx"
			case p < 0.04:
				class, errClass = "5xx", "http_5xx"
			case p < 0.05:
				class, errClass, lat = "none", "timeout", 1
			case p < 0.08:
				class = "3xx"
			}
		}
		st.hist.Update(lat)
		st.sum += lat
		st.statuses[class]++
		if errClass != "" {
			st.errors[errClass]++
		}
		if r.faulty {
			if errClass == "" {
				st.checks["passed"]++
			} else {
				st.checks["failed"]++
			}
		}
	}
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// push POSTs lines to VictoriaMetrics' Prometheus text import and returns
// how many samples it sent.
func push(t *testing.T, url string, lines []string) int {
	t.Helper()
	resp, err := http.Post(url+"/api/v1/import/prometheus", "text/plain", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: %s %s", resp.Status, b)
	}
	return len(lines)
}

// waitForSamples waits until VictoriaMetrics shows every sample pushed.
func waitForSamples(t *testing.T, vm *vmtest.VM, want int, at time.Time) {
	t.Helper()
	ctx := context.Background()
	var got []vmtest.Sample
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err = vm.Query(ctx, `sum(count_over_time({__name__=~"barrage_.+"}[1h]))`, at)
		if err == nil && len(got) == 1 && got[0].Value == float64(want) {
			return
		}
	}
	t.Fatalf("VictoriaMetrics shows %v samples (%v), want %d\n%s", got, err, want, vm.Output())
}
