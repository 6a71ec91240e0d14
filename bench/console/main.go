// Command console (make bench-console) measures what a long run costs the
// people who look at it: it stores a run of WORKERS workers × STEPS steps
// lasting MINUTES (defaults 20 × 10 × 60: one hour at 1 s resolution), as
// the server would have left it, then
//
//   - builds its report.html (reports.HTML) and gives its size;
//   - opens the console's run page of it (a real API server on loopback
//     over the same store) in headless Chromium, ROUNDS times, and gives
//     the time from navigation to every chart drawn;
//   - opens the report file from file:// the same way.
//
// Times are from the navigation's start (performance.timeOrigin) to the
// moment the page marks itself rendered (document.documentElement.dataset
// .ready), read in the page. The last lines:
//
//	console_bench workers=20 steps=10 minutes=60 report_html_mb=M report_json_mb=J
//	console_bench page=console render_ms_median=… render_ms_max=…
//	console_bench page=file render_ms_median=… render_ms_max=…
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpperf "github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/barrage/barrage/api"
	"github.com/barrage/barrage/bench/storedrun"
	"github.com/barrage/barrage/internal/chrome"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

const runID = "console-bench"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "console bench:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000")+" console: "+format+"\n", args...)
}

func run() error {
	workers, steps, minutes, rounds := storedrun.EnvInt("WORKERS", 20), storedrun.EnvInt("STEPS", 10), storedrun.EnvInt("MINUTES", 60), storedrun.EnvInt("ROUNDS", 5)
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "barrage-console-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "barrage.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	began := time.Now()
	if _, err := storedrun.Populate(ctx, st, storedrun.Shape{ID: runID, Workers: workers, Minutes: minutes, Steps: steps}); err != nil {
		return err
	}
	progress("stored %d workers × %d steps × %d min in %s", workers, steps, minutes, time.Since(began).Round(time.Second))
	rep, body, err := storedrun.StoreReport(ctx, st, runID)
	if err != nil {
		return err
	}
	doc, err := reports.HTML(rep, nil)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		return err
	}
	progress("report.json %.2f MB, report.html %.2f MB (%d series points)", float64(len(body))/1e6, float64(len(doc))/1e6, len(rep.Series))

	srv := api.New(api.Config{Store: st, NoAuth: true})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	if os.Getenv("MARKS") != "" {
		for range 3 {
			began := time.Now()
			resp, err := http.Get("http://" + ln.Addr().String() + "/runs/" + runID + "/report")
			if err != nil {
				return err
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			progress("GET /runs/%s/report from Go: %d bytes in %s", runID, n, time.Since(began).Round(time.Millisecond))
		}
	}
	bctx, stop, err := chrome.Start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	pages := []struct{ name, url string }{
		{"console", "http://" + ln.Addr().String() + "/ui/runs/" + runID},
		{"file", "file://" + file},
	}
	fmt.Printf("console_bench workers=%d steps=%d minutes=%d report_html_mb=%.2f report_json_mb=%.2f\n",
		workers, steps, minutes, float64(len(doc))/1e6, float64(len(body))/1e6)
	for _, p := range pages {
		var times []float64
		for range rounds {
			ms, err := renderTime(bctx, p.url)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			times = append(times, ms)
		}
		slices.Sort(times)
		progress("%s: %v ms", p.name, times)
		fmt.Printf("console_bench page=%s render_ms_median=%.0f render_ms_max=%.0f\n", p.name, times[len(times)/2], times[len(times)-1])
	}
	return nil
}

// renderTime opens url in a new tab and returns the milliseconds from the
// navigation's start to the page's "rendered" mark, after checking that
// every chart drew.
func renderTime(bctx context.Context, url string) (float64, error) {
	tab, cancel := chromedp.NewContext(bctx)
	defer cancel()
	tctx, tcancel := context.WithTimeout(tab, 60*time.Second)
	defer tcancel()
	if os.Getenv("MARKS") != "" {
		if _, err := chromedp.Call(tctx, cdpperf.Enable, cdpperf.EnableParams{}); err != nil {
			return 0, err
		}
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(url), chrome.WaitRendered()); err != nil {
		return 0, err
	}
	// The page marks the moment it was ready (the first view drawn); then
	// every chart is drawn, as for printing; read both, and count charts.
	out, err := chromedp.Run(tctx, chromedp.Evaluate[[]float64](`(() => {
		const ready = performance.getEntriesByName('barrage:ready');
		const at = ready.length ? ready[ready.length - 1].startTime : performance.now();
		const before = document.querySelectorAll('[data-chart] canvas').length;
		window.__barrageDrawAll();
		return new Promise(r => requestAnimationFrame(() => {
			const charts = document.querySelectorAll('[data-chart]').length;
			const drawn = document.querySelectorAll('[data-chart] canvas').length;
			r([at, charts, drawn, performance.now() - at, before]);
		}));
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, err
	}
	if os.Getenv("MARKS") != "" {
		marks, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`performance.getEntriesByType('mark').map(m => m.name + '@' + m.startTime.toFixed(0)).join(' ') +
			' | ' + performance.getEntriesByType('resource').map(r => r.name.split('/').pop() + ':' + r.startTime.toFixed(0) + '-' + r.responseEnd.toFixed(0)).join(' ')`))
		progress("marks: %s", marks)
		{
			if m, err := chromedp.Call(tctx, cdpperf.GetMetrics, cdp.Empty{}); err == nil {
				var parts []string
				for _, x := range m.Metrics {
					switch x.Name {
					case "LayoutDuration", "RecalcStyleDuration", "ScriptDuration", "TaskDuration", "Nodes", "LayoutCount":
						parts = append(parts, fmt.Sprintf("%s=%.3f", x.Name, x.Value))
					}
				}
				progress("metrics: %v", parts)
			}
		}
	}
	if out[1] < 10 || out[2] < out[1] {
		return 0, fmt.Errorf("%s: %v of %v charts drawn", url, out[2], out[1])
	}
	progress("%s: first view (%v charts) ready at %.0f ms; the other %v charts drawn %.0f ms later", url, out[4], out[0], out[1]-out[4], out[3])
	return out[0], nil
}
