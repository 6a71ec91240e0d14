package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/reports"
)

const flowsDoc = `name: e2e-flows
virtual_users: 8
duration_seconds: 4
flows:
  - name: browse
    weight: 3
    steps:
      - {name: catalogue, url_template: /items, checks: [{status: 200}]}
  - name: checkout
    steps:
      - name: login
        method: POST
        url_template: /login
        headers: {Content-Type: application/json}
        body_template: '{"user": "vu{{ $vu }}-{{ $shard }}", "password": "secret"}'
        extract: [{var: token, json: $.token}]
        checks: [{status: 200}]
      - name: me
        url_template: /me
        headers: {Authorization: 'Bearer {{ token }}'}
        checks: [{status: 200}]
thresholds:
  - {expression: 'p95 < 500ms', flow: checkout}
  - {expression: 'error_rate < 1%', flow: browse, step: catalogue}
  - {expression: 'p99 < 1ms', flow: checkout}
`

// TestFlows runs a scenario with weighted flows through the API on two
// workers: each shard's 4 VUs are 3 browsing and 1 checking out, so with
// every request taking the same time the browse flow makes 3/4 of the
// requests; report.json has flows[], steps[].flow and flow thresholds,
// and the HTML report shows the flows table.
func TestFlows(t *testing.T) {
	tg := startTarget(t, "--latency", "fixed:5ms")
	c := startCluster(t, 2)
	ctx := context.Background()
	ref, err := c.api.CreateScenario(ctx, scenarioJSON(t, flowsDoc))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "the run to end", func() bool {
		r, err := c.api.GetRun(ctx, run.RunID)
		return err == nil && r.Summary != nil && r.Status != "running" && r.Status != "queued"
	})
	raw, err := c.api.Report(ctx, run.RunID, "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "completed" || rep.Totals.Requests != tg.served(t) || rep.Totals.Errors != 0 {
		t.Fatalf("status %s, %d requests reported, %d served, %d errors", rep.Status, rep.Totals.Requests, tg.served(t), rep.Totals.Errors)
	}
	if len(rep.Flows) != 2 || rep.Flows[0].Name != "browse" || rep.Flows[1].Name != "checkout" {
		t.Fatalf("flows = %+v", rep.Flows)
	}
	browse, checkout := rep.Flows[0], rep.Flows[1]
	t.Logf("browse: %d requests (%.1f%%), checkout: %d requests (%.1f%%), p95 %.2f / %.2f ms",
		browse.Requests, 100*browse.RequestShare, checkout.Requests, 100*checkout.RequestShare, browse.LatencyMS.P95, checkout.LatencyMS.P95)
	if browse.Share != 0.75 || browse.RequestShare < 0.70 || browse.RequestShare > 0.80 {
		t.Errorf("browse has a %.3f share of the weights and %.3f of the requests, want 0.75 and 0.75±0.05", browse.Share, browse.RequestShare)
	}
	for i, want := range []string{"browse", "checkout", "checkout"} {
		if rep.Steps[i].Flow != want {
			t.Errorf("steps[%d] (%s) has flow %q, want %q", i, rep.Steps[i].Name, rep.Steps[i].Flow, want)
		}
	}
	if rep.Steps[1].Requests != rep.Steps[2].Requests || checkout.Requests != rep.Steps[1].Requests+rep.Steps[2].Requests {
		t.Errorf("checkout %d requests, login %d, me %d", checkout.Requests, rep.Steps[1].Requests, rep.Steps[2].Requests)
	}
	verdicts := []bool{true, true, false} // a 5 ms target cannot make p99 < 1ms
	for i, th := range rep.Thresholds {
		if i >= len(verdicts) || th.Passed != verdicts[i] || th.Flow == "" || th.Error != "" {
			t.Errorf("thresholds[%d] = %+v", i, th)
		}
	}

	// A second run against the first: compare has both flows.
	head, err := c.api.StartRun(ctx, client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url, WorkerCount: 2,
		BaselineRunID: run.RunID, Overrides: json.RawMessage(`{"duration_seconds": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "the second run to end", func() bool {
		r, err := c.api.GetRun(ctx, head.RunID)
		return err == nil && r.Summary != nil && r.Status != "running" && r.Status != "queued"
	})
	cmp, err := c.api.Compare(ctx, run.RunID, head.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Flows) != 2 || cmp.Flows[0].Name != "browse" || cmp.Flows[1].Name != "checkout" || len(cmp.Flows[0].Metrics) == 0 {
		t.Errorf("compare flows = %+v", cmp.Flows)
	}

	t.Run("report file shows the flows", func(t *testing.T) {
		b := startBrowser(t)
		html, err := c.api.Report(ctx, head.RunID, "html")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "report.html")
		if err := os.WriteFile(file, html, 0o644); err != nil {
			t.Fatal(err)
		}
		tab := b.tab(t)
		open(t, tab, "file://"+file)
		until(t, tab, 10*time.Second, "the flows table", `document.querySelectorAll('[data-testid=flows-table] tbody tr').length === 2`)
		rows := eval[[]string](t, tab, `[...document.querySelectorAll('[data-testid=flows-table] tbody tr')].map(r => r.innerText.replace(/\s+/g, ' '))`)
		t.Logf("flows table: %q", rows)
		headRep, err := c.api.Report(ctx, head.RunID, "json")
		if err != nil {
			t.Fatal(err)
		}
		var hr reports.Report
		if err := json.Unmarshal(headRep, &hr); err != nil || len(hr.Flows) != 2 {
			t.Fatalf("head report flows: %v %+v", err, hr.Flows)
		}
		if len(rows) != 2 || !strings.HasPrefix(rows[0], "browse 75") || !contains(rows[0], thousands(hr.Flows[0].Requests)) ||
			!strings.HasPrefix(rows[1], "checkout 25") || !contains(rows[1], thousands(hr.Flows[1].Requests)) {
			t.Errorf("flows table rows %q", rows)
		}
		flowsCompared := eval[[]string](t, tab, `[...document.querySelectorAll('[data-testid=compare-flows] tbody tr')].map(r => r.children[0].innerText)`)
		if len(flowsCompared) == 0 || flowsCompared[0] != "browse" || flowsCompared[len(flowsCompared)-1] != "checkout" {
			t.Errorf("compare-flows first column %q", flowsCompared)
		}
		heads := eval[[]string](t, tab, `[...document.querySelectorAll('[data-testid=steps-table] thead th')].map(h => h.innerText.trim())`)
		if len(heads) < 2 || heads[1] != "Flow" {
			t.Errorf("steps table headers %q, want a Flow column second", heads)
		}
		scopes := eval[[]string](t, tab, `[...document.querySelectorAll('[data-testid=thresholds] tbody tr')].map(r => r.children[1].innerText)`)
		if len(scopes) != 3 || scopes[0] != "flow checkout" || scopes[1] != "flow browse, step catalogue" {
			t.Errorf("threshold scopes %q", scopes)
		}
		b.shot(t, tab, "report-flows")
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// thousands writes n as the console does: 3,955.
func thousands(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
