package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// barrageCLI runs a short barrage command and returns its exit code and
// its stdout and stderr apart (JSON output must be stdout alone).
func barrageCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start barrage %v: %v", args, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("barrage %v: %v", args, err)
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("barrage %v still running after a minute", args)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// TestCompareCLI: two real short runs on a real server, compared by
// `barrage compare` in its three formats; the head scenario's baseline
// thresholds decide the exit code (99 when one fails against the base);
// an unknown run or format is exit 2; a deleted run is gone for compare.
func TestCompareCLI(t *testing.T) {
	tg := startTarget(t, "--latency", "fixed:2ms")
	c := startCluster(t, 1)
	doc := "name: cmp\nvirtual_users: 2\nduration_seconds: 2\nsteps: [{name: home, url_template: /, think_time_ms: 5}, {name: api, url_template: /api, think_time_ms: 5}]\n"
	run := func(thresholds string) (string, float64) { return runForCompare(t, c, tg, doc, thresholds) }
	base, baseRequests := run("['p95 < 1s']")
	// Without --baseline, baseline thresholds are not evaluated by the run.
	head, headRequests := run("['p95 < baseline * 1000', 'requests > baseline * 0.01', 'error_rate < 1%']")
	worse, _ := run("['requests < baseline * 0.01']")
	server := []string{"--server", c.url}

	code, text, stderr := barrageCLI(t, append([]string{"compare", base, head}, server...)...)
	if code != 0 {
		t.Fatalf("compare exited %d: %s%s", code, text, stderr)
	}
	for _, want := range []string{"base  " + base, "head  " + head, "METRIC", "p95", "error_rate", "STEP", "home", "api",
		"BASELINE THRESHOLD", "requests > baseline * 0.01", "PASSED: 2 of 2 baseline thresholds held"} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}

	code, md, stderr := barrageCLI(t, append([]string{"compare", base, head, "--format", "markdown"}, server...)...)
	if code != 0 || !strings.HasPrefix(md, "✅ **PASSED: 2 of 2 baseline thresholds held") ||
		!strings.Contains(md, "— head `"+head+"` vs base `"+base+"`") ||
		!strings.Contains(md, "| Metric | Base | Head | Change | Verdict |\n|---|---:|---:|---:|---|\n") ||
		!strings.Contains(md, "| home | p95 | ") || !strings.Contains(md, "| `p95 < baseline * 1000` | whole run | ") {
		t.Errorf("markdown exited %d:\n%s%s", code, md, stderr)
	}

	code, js, stderr := barrageCLI(t, append([]string{"compare", base, head, "--format", "json"}, server...)...)
	if code != 0 {
		t.Fatalf("json exited %d, %s%s", code, js, stderr)
	}
	checkCompareJSON(t, js, base, head, baseRequests)
	t.Logf("compared %s (%g requests) with %s (%g requests): %s", head, headRequests, base, baseRequests, strings.SplitN(md, "\n", 2)[0])

	code, md, _ = barrageCLI(t, append([]string{"compare", base, worse, "--format", "markdown"}, server...)...)
	if code != 99 || !strings.HasPrefix(md, "❌ **FAILED: 1 of 1 baseline thresholds failed") || !strings.Contains(md, "| `requests < baseline * 0.01` | whole run | ") {
		t.Errorf("a failed baseline threshold exited %d, want 99:\n%s", code, md)
	}
	for _, args := range [][]string{{"compare", base, "run_nope"}, {"compare", base, head, "--format", "yaml"}, {"compare", base}} {
		if code, _, stderr := barrageCLI(t, append(args, server...)...); code != 2 {
			t.Errorf("barrage %v exited %d, want 2: %s", args, code, stderr)
		}
	}

	deleteThenCompare(t, server, base, head, worse)
}

// checkCompareJSON checks the fields of `barrage compare --format json`
// against the runs: the base's request count is its report's.
func checkCompareJSON(t *testing.T, js, base, head string, baseRequests float64) {
	t.Helper()
	var cmp struct {
		Base, Head struct {
			RunID string `json:"run_id"`
		}
		Metrics []struct {
			Metric string  `json:"metric"`
			Base   float64 `json:"base"`
			Head   float64 `json:"head"`
		} `json:"metrics"`
		Steps []struct {
			Name string `json:"name"`
		} `json:"steps"`
		BaselineThresholds []struct {
			Expression string  `json:"expression"`
			Passed     bool    `json:"passed"`
			Limit      float64 `json:"limit"`
		} `json:"baseline_thresholds"`
		Passed bool `json:"passed"`
	}
	if err := json.Unmarshal([]byte(js), &cmp); err != nil {
		t.Fatalf("json output: %v\n%s", err, js)
	}
	var requests float64
	for _, m := range cmp.Metrics {
		if m.Metric == "requests" {
			requests = m.Base
		}
	}
	if cmp.Base.RunID != base || cmp.Head.RunID != head || requests != baseRequests || len(cmp.Steps) != 2 || !cmp.Passed ||
		len(cmp.BaselineThresholds) != 2 || cmp.BaselineThresholds[1].Limit != baseRequests*0.01 {
		t.Errorf("json comparison %+v; want base %s (%g requests), head %s, 2 steps, 2 baseline thresholds passed", cmp, base, baseRequests, head)
	}
}

// deleteThenCompare deletes the base run with `barrage runs delete`: then
// comparing with it is exit 2 (not found), deleting it again too, and the
// other runs compare as before.
func deleteThenCompare(t *testing.T, server []string, base, head, worse string) {
	t.Helper()
	if code, out, stderr := barrageCLI(t, append([]string{"runs", "delete", base}, server...)...); code != 0 || !strings.Contains(out, "deleted run "+base) {
		t.Fatalf("runs delete exited %d: %s%s", code, out, stderr)
	}
	if code, _, stderr := barrageCLI(t, append([]string{"compare", base, head}, server...)...); code != 2 || !strings.Contains(stderr, "not found") {
		t.Errorf("compare with a deleted run exited %d: %s", code, stderr)
	}
	if code, _, stderr := barrageCLI(t, append([]string{"runs", "delete", base}, server...)...); code != 2 {
		t.Errorf("deleting it again exited %d, want 2: %s", code, stderr)
	}
	if code, _, stderr := barrageCLI(t, append([]string{"compare", worse, head}, server...)...); code != 0 {
		t.Errorf("the other runs after the delete: compare exited %d: %s", code, stderr)
	}
}

// runForCompare runs doc with thresholds on the cluster, to its end, and
// returns the run's ID and request count from its report.json.
func runForCompare(t *testing.T, c *cluster, tg *target, doc, thresholds string) (id string, requests float64) {
	t.Helper()
	out := t.TempDir()
	p := start(t, "barrage run", "run", writeScenario(t, doc+"thresholds: "+thresholds+"\n"), "--server", c.url, "--target", tg.url, "--out", out, "--quiet")
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("run with thresholds %s exited %d", thresholds, code)
	}
	var rep struct {
		RunID  string `json:"run_id"`
		Totals struct {
			Requests float64 `json:"requests"`
		} `json:"totals"`
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.RunID == "" || rep.Totals.Requests == 0 {
		t.Fatalf("report.json of the run: %v %s", err, b)
	}
	return rep.RunID, rep.Totals.Requests
}
