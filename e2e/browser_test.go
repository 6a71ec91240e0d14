package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/chrome"
)

// xssName is a scenario and step name that would run script if any page
// rendered it as markup.
const xssName = `</script><img src=x onerror=alert(1)>`

// browser is a headless Chromium for one test.
type browser struct {
	ctx   context.Context
	shots string
}

// startBrowser starts Debian's Chromium. Without one the test is skipped,
// except in CI (BARRAGE_CI set), where that is a failure.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := chrome.Find(); err != nil {
		if os.Getenv("BARRAGE_CI") != "" {
			t.Fatalf("browser tests need Chromium in CI: %v", err)
		}
		t.Skipf("browser tests skipped: %v", err)
	}
	ctx, stop, err := chrome.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	shots := os.Getenv("BARRAGE_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "barrage-artifacts")
	}
	shots = filepath.Join(shots, "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{ctx: ctx, shots: shots}
}

// tab is a new tab. Every dialog (alert) it opens is counted in
// window.__dialogs, so that script run by a page's data can be seen.
func (b *browser) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__dialogs = 0; window.alert = window.confirm = window.prompt = function () { window.__dialogs++; };`,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (b *browser) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", path)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// until polls js until it is true.
func until(t *testing.T, ctx context.Context, limit time.Duration, what, js string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
			t.Fatalf("%s: not within %v (%v)\npage:\n%s", what, limit, err, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// open navigates to url and waits until the bundle says it rendered.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(url), chrome.WaitRendered()); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// drawnCharts lists the charts on the page whose canvas has pixels drawn,
// once every chart is drawn (the page draws far-away ones lazily, and
// uPlot draws at the end of the task): a promise.
const drawnCharts = `(async () => {
  if (window.__barrageDrawAll) window.__barrageDrawAll();
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const out = [];
  for (const el of document.querySelectorAll('[data-chart]')) {
    const c = el.querySelector('canvas');
    if (!c || c.width === 0 || c.height === 0) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) inked++;
    if (inked > 50) out.push(el.dataset.chart);
  }
  return out;
})()`

// allCharts lists every chart container on the page.
const allCharts = `Array.from(document.querySelectorAll('[data-chart]')).map(e => e.dataset.chart)`

// noInjection: the hostile name rendered as text, ran nothing and made no
// element.
func noInjection(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if n := eval[int](t, ctx, `document.querySelectorAll('img[src="x"]').length + (window.__dialogs || 0)`); n != 0 {
		t.Errorf("%s: the scenario's name was rendered as markup (%d injected elements or dialogs)", where, n)
	}
	if !eval[bool](t, ctx, `document.body.innerText.includes(`+jsString(xssName)+`)`) {
		t.Errorf("%s: the scenario's name is not shown as text", where)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowser drives the console and the report file in a real Chromium:
// a live run's charts gain points, the page ramps and aborts it, the runs
// list, the scenario and the compare pages show them; the report file opens
// offline with every request blocked and draws every chart; a hostile
// scenario name is text everywhere.
func TestBrowser(t *testing.T) {
	b := startBrowser(t)
	tg := startTarget(t, "--latency", "fixed:2ms")
	c := startCluster(t, 2)
	ctx := context.Background()
	doc := fmt.Sprintf("name: %s\nvirtual_users: 4\nduration_seconds: 4\nthresholds:\n  - p95 < 500ms\nsteps:\n"+
		"  - name: %s\n    url_template: /items\n    think_time_ms: 20\n  - name: one item\n    url_template: /items/1\n    think_time_ms: 20\n",
		jsString(xssName), jsString(xssName))
	ref, err := c.api.CreateScenario(ctx, scenarioJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	// A short base run to compare with, then the live one.
	base, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 2, Tags: map[string]string{"release": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the base run to finish", func() bool {
		r, err := c.api.GetRun(ctx, base.RunID)
		return err == nil && r.Summary != nil && r.Status == "completed"
	})
	run, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 2,
		Tags: map[string]string{"release": "b", "note": xssName}, BaselineRunID: base.RunID, Overrides: json.RawMessage(`{"duration_seconds": 120}`)})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("live run page", func(t *testing.T) {
		tab := b.tab(t)
		open(t, tab, c.url+"/ui/runs/"+run.RunID)
		points := `+(document.querySelector('[data-testid=run-page]')?.dataset.points || 0)`
		until(t, tab, 30*time.Second, "three live points", points+` >= 3`)
		first := eval[int](t, tab, points)
		until(t, tab, 10*time.Second, "the charts gaining points", points+` > `+fmt.Sprint(first))
		if s := eval[string](t, tab, `document.querySelector('[data-testid=run-status]').textContent.trim()`); s != "running" {
			t.Errorf("status %q, want running", s)
		}
		// At most 2 s behind the load: the page has every interval the
		// server folded but the last two.
		shown := eval[int](t, tab, points)
		folded := foldedIntervals(t, c, run.RunID)
		t.Logf("live page: %d points shown, %d intervals folded on the server", shown, folded)
		if shown < folded-2 {
			t.Errorf("the page shows %d points while %d intervals are folded", shown, folded)
		}
		for _, name := range []string{"rps", "latency", "error_rate", "vus", "workers"} {
			until(t, tab, 5*time.Second, "the "+name+" chart drawn", drawnCharts+`.then(l => l.includes(`+jsString(name)+`))`)
		}
		noInjection(t, tab, "live run page")
		b.shot(t, tab, "run-live")

		// Ramp from the page: the run's events say so, the page lists it.
		eval[bool](t, tab, `(() => {
			const set = (id, v) => { const el = document.querySelector('[data-testid=' + id + ']'); el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); };
			set('ramp-target', '6'); set('ramp-over', '0');
			document.querySelector('[data-testid=ramp-submit]').click();
			return true;
		})()`)
		until(t, tab, 15*time.Second, "the ramp in the page's events", `document.querySelector('[data-testid=events]').innerText.includes('ramp')`)
		waitFor(t, 15*time.Second, "6 VUs", func() bool {
			r, err := c.api.Report(ctx, run.RunID, "json")
			var rep struct{ Series []struct{ VUs int } }
			return err == nil && json.Unmarshal(r, &rep) == nil && len(rep.Series) > 0 && rep.Series[len(rep.Series)-1].VUs == 6
		})

		// Abort, confirmed in the page.
		eval[bool](t, tab, `(document.querySelector('[data-testid=abort]').click(), true)`)
		until(t, tab, 5*time.Second, "the confirmation", `!!document.querySelector('[data-testid=confirm-abort]')`)
		// The reason goes into the run's events and its reason: text too.
		eval[bool](t, tab, `(() => { const el = document.querySelector('[data-testid=abort-reason]'); el.value = `+jsString(xssName)+`; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
		eval[bool](t, tab, `(document.querySelector('[data-testid=confirm-abort]').click(), true)`)
		until(t, tab, 30*time.Second, "the status aborted", `document.querySelector('[data-testid=run-status]')?.textContent.trim() === 'aborted'`)
		if r, err := c.api.GetRun(ctx, run.RunID); err != nil || r.Status != "aborted" || !strings.Contains(r.Reason, xssName) {
			t.Fatalf("run after the page's abort (with the reason typed there): %+v %v", r, err)
		}
		// The finished page is the stored report, drawn by the same code.
		until(t, tab, 30*time.Second, "the stored report", `document.querySelector('[data-testid=run-page]')?.dataset.mode === 'report'`)
		if n := eval[int](t, tab, `document.querySelectorAll('[data-testid=abort], [data-testid=ramp-submit]').length`); n != 0 {
			t.Errorf("a finished run's page still has %d controls", n)
		}
		drawn := eval[[]string](t, tab, drawnCharts)
		for _, name := range []string{"rps", "latency", "vus", "histogram", "percentiles", "step-0"} {
			if !slices.Contains(drawn, name) {
				t.Errorf("finished run page: chart %s not drawn (drawn: %v)", name, drawn)
			}
		}
		noInjection(t, tab, "finished run page")
		b.shot(t, tab, "run-finished")
	})

	t.Run("runs list, scenario and compare", func(t *testing.T) {
		tab := b.tab(t)
		open(t, tab, c.url+"/ui/")
		for _, id := range []string{base.RunID, run.RunID} {
			until(t, tab, 10*time.Second, "run "+id+" listed", `!!document.querySelector('[data-testid=runs-table] tr[data-run-id=`+jsString(id)+`]')`)
		}
		noInjection(t, tab, "runs list")
		b.shot(t, tab, "runs")
		listed := `Array.from(document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run-id]')).map(r => r.dataset.runId).join(',')`
		open(t, tab, c.url+"/ui/?status=aborted")
		until(t, tab, 10*time.Second, "only the aborted run", listed+` === `+jsString(run.RunID))
		open(t, tab, c.url+"/ui/?tag=release%3Da")
		until(t, tab, 10*time.Second, "only the run tagged release=a", listed+` === `+jsString(base.RunID))

		open(t, tab, c.url+"/ui/scenarios/"+ref.ScenarioID)
		until(t, tab, 10*time.Second, "the scenario's YAML", `document.querySelector('[data-testid=scenario-yaml]')?.textContent.includes('virtual_users: 4')`)
		noInjection(t, tab, "scenario page")
		b.shot(t, tab, "scenario")
		// Start a run from the scenario's page: the page goes to the new run.
		eval[bool](t, tab, `(() => {
			const set = (id, v) => { const el = document.querySelector('[data-testid=' + id + ']'); el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); };
			set('start-target', `+jsString(tg.url)+`); set('start-workers', '1'); set('start-tags', 'release=c');
			set('start-overrides', '{"duration_seconds": 2}');
			document.querySelector('[data-testid=start-submit]').click();
			return true;
		})()`)
		until(t, tab, 10*time.Second, "the new run's page", `location.pathname.startsWith('/ui/runs/') && !!document.querySelector('[data-testid=run-page]')`)
		started := eval[string](t, tab, `document.querySelector('[data-testid=run-page]').dataset.runId`)
		waitFor(t, 60*time.Second, "the run started from the page to complete", func() bool {
			r, err := c.api.GetRun(ctx, started)
			return err == nil && r.Status == "completed" && r.Tags["release"] == "c" && r.TargetBaseURL == tg.url && r.WorkerCount == 1
		})
		until(t, tab, 30*time.Second, "its page showing the stored report", `document.querySelector('[data-testid=run-page]')?.dataset.mode === 'report'`)

		open(t, tab, c.url+"/ui/compare?base="+base.RunID+"&head="+run.RunID)
		until(t, tab, 10*time.Second, "the Δ table", `document.querySelectorAll('[data-testid=compare-table] tbody tr').length >= 5`)
		until(t, tab, 10*time.Second, "the per-step Δ", `document.querySelectorAll('[data-testid=compare-steps] tbody tr').length >= 2`)
		until(t, tab, 10*time.Second, "overlaid charts", `(window.__barrageDrawAll(), document.querySelectorAll('[data-section=compare] [data-chart] canvas').length >= 1)`)
		until(t, tab, 10*time.Second, "the head's threshold verdict against this base", `document.querySelector('[data-testid=compare-thresholds]')?.innerText.includes('evaluated against this base run')`)
		noInjection(t, tab, "compare page")
		b.shot(t, tab, "compare")
	})

	t.Run("report file offline", func(t *testing.T) {
		html, err := c.api.Report(ctx, run.RunID, "html")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "report.html")
		if err := os.WriteFile(file, html, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("report.html of a %s run: %d bytes", "2-worker", len(html))
		tab := b.tab(t)
		blocked := blockNetwork(t, tab)
		consoleErrors := collectConsoleErrors(tab)
		open(t, tab, "file://"+file)
		drawn := eval[[]string](t, tab, drawnCharts)
		all := eval[[]string](t, tab, allCharts)
		t.Logf("charts drawn: %v", drawn)
		if len(all) < 12 || len(drawn) != len(all) {
			t.Errorf("charts drawn %v of %v", drawn, all)
		}
		for _, name := range []string{"rps", "latency", "error_rate", "vus", "workers", "bytes", "status_codes", "histogram", "percentiles", "step-0", "step-1"} {
			if !slices.Contains(drawn, name) {
				t.Errorf("chart %s not drawn", name)
			}
		}
		for _, section := range []string{"kpis", "thresholds", "steps-table", "workers-table", "events", "report-scenario-yaml", "download-report", "compare-table"} {
			if !eval[bool](t, tab, `!!document.querySelector('[data-testid=`+section+`]')`) {
				t.Errorf("the report has no %s", section)
			}
		}
		noInjection(t, tab, "report file")
		b.shot(t, tab, "report-file")
		if got := blocked(); len(got) > 0 {
			t.Errorf("the report file asked for %v", got)
		}
		if errs := consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	})

	t.Run("pdf", func(t *testing.T) {
		pdf, err := c.api.Report(ctx, run.RunID, "pdf")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Fatalf("not a PDF: %.40q", pdf)
		}
		pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1))
		t.Logf("report PDF: %d bytes, %d pages", len(pdf), pages)
		if pages < 2 {
			t.Errorf("the PDF has %d pages", pages)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(b.shots), "report.pdf"), pdf, 0o644); err != nil {
			t.Error(err)
		}
	})
}

// foldedIntervals is how many intervals of a run the server has folded.
func foldedIntervals(t *testing.T, c *cluster, runID string) int {
	t.Helper()
	resp, err := http.Get(c.url + "/runs/" + runID + "/report")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct{ Series []json.RawMessage }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report so far: %v", err)
	}
	return len(rep.Series)
}

// blockNetwork fails every request of the tab but for file:// ones, and
// returns what was asked for.
func blockNetwork(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	paused := chromedp.Events(tab, fetch.RequestPaused)
	if _, err := chromedp.Call(tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			if strings.HasPrefix(ev.Request.URL, "file://") {
				_, _ = chromedp.Call(tab, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			mu.Lock()
			asked = append(asked, ev.Request.URL)
			mu.Unlock()
			_, _ = chromedp.Call(tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// collectConsoleErrors gathers the tab's console errors and uncaught
// exceptions from now on.
func collectConsoleErrors(tab context.Context) func() []string {
	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == "error" || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		time.Sleep(200 * time.Millisecond) // what the page wrote last is in
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}
