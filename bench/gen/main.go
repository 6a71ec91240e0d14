// Command gen drives Barrage's engine for the benchmarks in bench/: one shard,
// one URL, the closed or the open model, HDR recording on. It prints one JSON
// line with what it measured. Every run is bounded by -d and stops by itself.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/engine"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
)

type result struct {
	Model     string  `json:"model"`
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	Dropped   uint64  `json:"dropped"`
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"rps"`
	AskedRate float64 `json:"asked_rate,omitempty"`
	P50ms     float64 `json:"p50_ms"`
	P95ms     float64 `json:"p95_ms"`
	P99ms     float64 `json:"p99_ms"`
	P999ms    float64 `json:"p999_ms"`
	MaxMs     float64 `json:"max_ms"`
	Dials     uint64  `json:"dials"`
	VUs       int     `json:"peak_vus"`
}

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/", "URL to load (loopback only)")
	conns := flag.Int("c", 50, "closed model: virtual users (each one keep-alive connection)")
	rate := flag.Float64("rate", 0, "open model: iterations per second (0: closed model)")
	maxVUs := flag.Int("max-vus", 0, "open model: cap on concurrent iterations (0: the scenario default)")
	pre := flag.Int("pre-allocated", 0, "open model: VUs (with a warm connection each) started before the first arrival (0: the scenario default)")
	dur := flag.Duration("d", 10*time.Second, "duration (at most 60s)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*target, *conns, *rate, *maxVUs, *pre, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(target string, conns int, rate float64, maxVUs, pre int, dur time.Duration) error {
	u, err := url.Parse(target)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		return fmt.Errorf("refusing %q: the benchmarks load loopback only", target)
	}
	if dur <= 0 || dur > time.Minute {
		return fmt.Errorf("-d must be in (0, 60s]")
	}
	doc := fmt.Sprintf("name: bench\nvirtual_users: %d\nduration_seconds: %g\nsteps: [{url_template: %q}]\n", conns, dur.Seconds(), target)
	if rate > 0 {
		doc = fmt.Sprintf("name: bench\nrate_per_second: %g\nduration_seconds: %g\nsteps: [{url_template: %q}]\n", rate, dur.Seconds(), target)
		if maxVUs > 0 {
			doc += fmt.Sprintf("max_vus: %d\n", maxVUs)
		}
		if pre > 0 {
			doc += fmt.Sprintf("pre_allocated_vus: %d\n", pre)
		}
	}
	s, err := scenario.ParseYAML([]byte(doc))
	if err != nil {
		return err
	}
	plan, err := scenario.Compile(s)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	total := hist.StepStats{Latency: hist.NewHistogram()}
	var dropped uint64
	var peakVUs int
	e, err := engine.New(engine.Config{Plan: plan, Sink: func(snap *hist.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		t := snap.Total()
		total.Merge(&t)
		dropped += snap.Dropped
		peakVUs = max(peakVUs, int(snap.ActiveVUs))
	}})
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := e.Run(context.Background())
	if err != nil {
		return err
	}
	secs := min(time.Since(start), dur).Seconds()
	h := total.Latency
	res := result{
		Model: "closed", Requests: total.Requests, Errors: total.Errors, Dropped: dropped, Seconds: secs,
		RPS: float64(total.Requests) / dur.Seconds(), AskedRate: rate,
		P50ms: msOf(hist.Percentile(h, 50)), P95ms: msOf(hist.Percentile(h, 95)), P99ms: msOf(hist.Percentile(h, 99)),
		P999ms: msOf(hist.Percentile(h, 99.9)), MaxMs: msOf(h.Max()), Dials: sum.Dials, VUs: peakVUs,
	}
	if rate > 0 {
		res.Model = "open"
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func msOf(us int64) float64 { return float64(us) / 1000 }
