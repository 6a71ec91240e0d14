package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/barrage/barrage/reports"
)

// progress prints one line per interval.
type progress struct {
	w     io.Writer
	quiet bool
	total time.Duration
}

func newProgress(w io.Writer, quiet bool, total time.Duration) *progress {
	return &progress{w: w, quiet: quiet, total: total}
}

func (p *progress) point(data []byte) {
	if p.quiet {
		return
	}
	var pt struct {
		T         float64 `json:"t"`
		RPS       float64 `json:"rps"`
		P50       float64 `json:"p50"`
		P95       float64 `json:"p95"`
		P99       float64 `json:"p99"`
		ErrorRate float64 `json:"error_rate"`
		VUs       uint32  `json:"vus"`
		Workers   int     `json:"workers"`
		Revised   bool    `json:"revised"`
	}
	if json.Unmarshal(data, &pt) != nil {
		return
	}
	// A revised interval (late snapshots) is printed again, marked: a
	// terminal cannot change a line it printed.
	mark := ""
	if pt.Revised {
		mark = "  (revised)"
	}
	fmt.Fprintf(p.w, "[%6.1fs/%s] %8.0f req/s  p50 %7.2fms  p95 %7.2fms  p99 %7.2fms  errors %5.2f%%  vus %d  workers %d%s\n",
		pt.T, p.total, pt.RPS, pt.P50, pt.P95, pt.P99, 100*pt.ErrorRate, pt.VUs, pt.Workers, mark)
}

func rate(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func printSummary(w io.Writer, r *reports.Report) {
	// A run that failed before its load started has no duration (its
	// planned start may even lie after its end).
	dur := "none: no load ran"
	if !r.StartedAt.IsZero() && r.EndedAt.After(r.StartedAt) {
		dur = r.EndedAt.Sub(r.StartedAt).Round(10 * time.Millisecond).String()
	}
	fmt.Fprintf(w, "\n  scenario %q  status %s  duration %s\n\n", r.Scenario, r.Status, dur)
	t := r.Totals
	fmt.Fprintf(w, "  requests..............: %d  %.1f/s\n", t.Requests, t.RPS)
	for _, g := range r.MeasurementGaps {
		// Totals are what was measured; what a lost worker sent after its
		// last snapshot is said, never added.
		fmt.Fprintf(w, "  not measured..........: ≈%d requests by %s in its last %.1f s were not measured (shard %d, %s)\n",
			g.EstimatedRequests, g.Worker, g.ToT-g.FromT, g.Shard, g.Reason)
	}
	fmt.Fprintf(w, "  iterations............: %d  %.1f/s\n", t.Iterations, t.IterationsPerSecond)
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
	if len(r.Flows) > 0 {
		fmt.Fprintf(w, "\n  %-24s %10s %10s %8s %10s %10s %10s\n", "flow (weight share)", "requests", "req share", "errors", "p50 ms", "p95 ms", "p99 ms")
		for _, f := range r.Flows {
			name := fmt.Sprintf("%s (%.0f%%)", truncate(f.Name, 16), 100*f.Share)
			fmt.Fprintf(w, "  %-24s %10d %9.1f%% %8d %10.2f %10.2f %10.2f\n", name, f.Requests, 100*f.RequestShare, f.Errors, f.LatencyMS.P50, f.LatencyMS.P95, f.LatencyMS.P99)
		}
	}
	if len(r.Steps) > 1 {
		fmt.Fprintf(w, "\n  %-24s %10s %8s %10s %10s %10s\n", "step", "requests", "errors", "p50 ms", "p95 ms", "p99 ms")
		for _, s := range r.Steps {
			fmt.Fprintf(w, "  %-24s %10d %8d %10.2f %10.2f %10.2f\n", truncate(s.Label(), 24), s.Requests, s.Errors, s.LatencyMS.P50, s.LatencyMS.P95, s.LatencyMS.P99)
		}
	}
	if len(r.Thresholds) > 0 {
		fmt.Fprintln(w, "\n  thresholds:")
		for _, th := range r.Thresholds {
			mark := "✓"
			switch {
			case th.NoBaseline:
				mark = "–"
			case !th.Passed:
				mark = "✗"
			}
			scope := ""
			if tag := th.Tag(); tag != "" {
				scope = " [" + tag + "]"
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
