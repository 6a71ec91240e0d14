package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/engine"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/reports"
)

// Exit codes of barrage run, documented in the README.
const (
	exitThresholdFailed = 99
	exitRunFailed       = 98
	exitBadInput        = 2
)

type runConfig struct {
	file    string
	server  string
	target  string
	workers int
	out     string
	quiet   bool
}

func runRun(ctx context.Context, args []string) error {
	fs := newFlagSet("run")
	var cfg runConfig
	fs.StringVar(&cfg.server, "server", "", "URL of a Barrage server to run on (default: run everything in this process)")
	fs.StringVar(&cfg.target, "target", "", "base URL of the system under test; step URLs that are paths are resolved against it")
	fs.IntVar(&cfg.workers, "workers", 1, "number of workers (shards) the run is split over")
	fs.StringVar(&cfg.out, "out", "", "folder for report.json (default ./barrage-results/<run-id>/)")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no live progress lines")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: barrage run FILE [flags]\n\nRuns a scenario, shows live progress every second, prints a summary and writes report.json.")
		fmt.Fprintln(fs.Output(), "Exit codes: 0 every threshold passed, 99 a threshold failed, 98 the run failed or was aborted, 2 bad input.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: exitBadInput, err: fmt.Errorf("want one scenario file, got %d arguments", fs.NArg())}
	}
	cfg.file = fs.Arg(0)
	if cfg.server != "" {
		return &exitError{code: exitBadInput, err: errors.New("--server: running on a Barrage server is not available in this build yet")}
	}
	if cfg.workers != 1 {
		return &exitError{code: exitBadInput, err: errors.New("--workers: this build runs one in-process worker")}
	}
	return runLocal(ctx, cfg)
}

// parseInterspersed accepts flags before and after the positional arguments.
func parseInterspersed(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(pos)
}

// runLocal runs the scenario with the engine in this process.
func runLocal(ctx context.Context, cfg runConfig) error {
	s, err := scenario.LoadFile(cfg.file)
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	plan, err := scenario.Compile(s)
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	runID := newRunID()
	var mu sync.Mutex
	var intervals []reports.Interval
	started := time.Now()
	progress := newProgress(os.Stdout, cfg.quiet, plan.Profile.Duration())
	eng, err := engine.New(engine.Config{
		Plan: plan, BaseURL: cfg.target, RunID: runID, Worker: "local", Epoch: started,
		Sink: func(snap *hist.Snapshot) {
			mu.Lock()
			intervals = append(intervals, reports.Interval{Start: snap.Start, End: snap.End, Data: snap, Workers: 1})
			mu.Unlock()
			progress.interval(snap, started)
		},
	})
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	fmt.Printf("barrage: run %s of %q against %s (%s, %s)\n", runID, plan.Name, orNone(cfg.target), plan.Profile.Model, plan.Profile.Duration())
	sum, err := eng.Run(ctx)
	if err != nil {
		return err
	}
	status := "completed"
	var events []reports.Event
	if sum.Aborted {
		status = "aborted"
		events = append(events, reports.Event{T: time.Since(started).Seconds(), Kind: "aborted", Detail: "interrupted by the user"})
	} else if sum.Reason != "completed" {
		events = append(events, reports.Event{T: time.Since(started).Seconds(), Kind: "stopped", Detail: sum.Reason})
	}
	mu.Lock()
	rep := reports.Build(reports.Input{
		RunID: runID, Status: status, StartedAt: started, EndedAt: time.Now(), TargetBaseURL: cfg.target,
		WorkerCount: 1, Plan: plan, Intervals: intervals, Events: events,
		Workers: []reports.Worker{{ID: "local", Shards: []int{0}, Requests: sumRequests(intervals)}},
	})
	mu.Unlock()
	printSummary(os.Stdout, rep)
	path, err := writeReport(cfg.out, rep)
	if err != nil {
		return err
	}
	fmt.Printf("\nreport: %s\n", path)
	switch {
	case status != "completed":
		return &exitError{code: exitRunFailed, err: fmt.Errorf("run %s", status)}
	case !rep.Passed():
		return &exitError{code: exitThresholdFailed, err: errors.New("thresholds failed")}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(absolute URLs)"
	}
	return s
}

func sumRequests(ivs []reports.Interval) uint64 {
	var n uint64
	for _, iv := range ivs {
		t := iv.Data.Total()
		n += t.Requests
	}
	return n
}

func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func writeReport(dir string, rep *reports.Report) (string, error) {
	if dir == "" {
		dir = filepath.Join("barrage-results", rep.RunID)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create report folder: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode report: %w", err)
	}
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, nil
	}
	return abs, nil
}

// progress prints one line per interval.
type progress struct {
	w     io.Writer
	quiet bool
	total time.Duration
}

func newProgress(w io.Writer, quiet bool, total time.Duration) *progress {
	return &progress{w: w, quiet: quiet, total: total}
}

func (p *progress) interval(snap *hist.Snapshot, started time.Time) {
	secs := snap.End.Sub(snap.Start).Seconds()
	if p.quiet || secs < 0.2 {
		return // a sliver at the end says nothing as a rate
	}
	t := snap.Total()
	rps := 0.0
	if secs > 0 {
		rps = float64(t.Requests) / secs
	}
	var p50, p95, p99 float64
	if t.Latency.TotalCount() > 0 {
		p50, p95, p99 = float64(t.Latency.ValueAtQuantile(50))/1000, float64(t.Latency.ValueAtQuantile(95))/1000, float64(t.Latency.ValueAtQuantile(99))/1000
	}
	fmt.Fprintf(p.w, "[%6.1fs/%s] %8.0f req/s  p50 %7.2fms  p95 %7.2fms  p99 %7.2fms  errors %5.2f%%  vus %d  workers 1\n",
		snap.End.Sub(started).Seconds(), p.total, rps, p50, p95, p99, 100*rate(t.Errors, t.Requests), snap.ActiveVUs)
}

func rate(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func printSummary(w io.Writer, r *reports.Report) {
	dur := r.EndedAt.Sub(r.StartedAt).Round(10 * time.Millisecond)
	fmt.Fprintf(w, "\n  scenario %q  status %s  duration %s\n\n", r.Scenario, r.Status, dur)
	t := r.Totals
	fmt.Fprintf(w, "  requests..............: %d  %.1f/s\n", t.Requests, t.RPS)
	fmt.Fprintf(w, "  errors................: %.2f%%  %d of %d", 100*t.ErrorRate, t.Errors, t.Requests)
	if len(r.ErrorsByClass) > 0 {
		fmt.Fprintf(w, "  (%s)", kv(r.ErrorsByClass))
	}
	fmt.Fprintln(w)
	l := r.LatencyMS
	fmt.Fprintf(w, "  latency (ms)..........: min=%.2f mean=%.2f p50=%.2f p90=%.2f p95=%.2f p99=%.2f p99.9=%.2f max=%.2f\n",
		l.Min, l.Mean, l.P50, l.P90, l.P95, l.P99, l.P999, l.Max)
	if n := t.ChecksPassed + t.ChecksFailed; n > 0 {
		fmt.Fprintf(w, "  checks................: %.2f%%  %d of %d passed\n", 100*rate(t.ChecksPassed, n), t.ChecksPassed, n)
	}
	fmt.Fprintf(w, "  status codes..........: %s\n", kv(r.StatusCodes))
	fmt.Fprintf(w, "  data sent / received..: %s / %s\n", bytesText(t.BytesSent), bytesText(t.BytesReceived))
	if t.DroppedIterations > 0 {
		fmt.Fprintf(w, "  dropped iterations....: %d\n", t.DroppedIterations)
	}
	if len(r.Steps) > 1 {
		fmt.Fprintf(w, "\n  %-24s %10s %8s %10s %10s %10s\n", "step", "requests", "errors", "p50 ms", "p95 ms", "p99 ms")
		for _, s := range r.Steps {
			fmt.Fprintf(w, "  %-24s %10d %8d %10.2f %10.2f %10.2f\n", truncate(s.Name, 24), s.Requests, s.Errors, s.LatencyMS.P50, s.LatencyMS.P95, s.LatencyMS.P99)
		}
	}
	if len(r.Thresholds) > 0 {
		fmt.Fprintln(w, "\n  thresholds:")
		for _, th := range r.Thresholds {
			mark := "✓"
			if !th.Passed {
				mark = "✗"
			}
			scope := ""
			if th.Step != "" {
				scope = " [" + th.Step + "]"
			}
			detail := fmt.Sprintf("actual %g", th.Actual)
			if th.Error != "" {
				detail = th.Error
			}
			fmt.Fprintf(w, "    %s %s%s  (%s)\n", mark, th.Expression, scope, detail)
		}
	}
}

func kv(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
