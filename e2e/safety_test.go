package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
	"github.com/barrage/barrage/workflows"
	sdkclient "go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
)

// countingTarget is an HTTP server on addr that counts the connections it
// accepts: a refused target must see none.
type countingTarget struct {
	url      string
	accepted atomic.Int64
	served   atomic.Int64
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func startCounting(t *testing.T, addr string, h http.HandlerFunc) *countingTarget {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ct := &countingTarget{url: "http://" + ln.Addr().String()}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct.served.Add(1)
		h(w, r)
	})}
	go func() { _ = srv.Serve(countingListener{ln, &ct.accepted}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ct
}

// authed sends a request with a bearer token ("" for none).
func authed(t *testing.T, method, url, token, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := checkedHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b)}
}

// safetyTable collects what TestSafeServer tried, printed at its end.
type safetyTable struct {
	rows [][4]string
}

func (st *safetyTable) add(t *testing.T, what, want, got string, ok bool) {
	t.Helper()
	verdict := "ok"
	if !ok {
		verdict = "FAIL"
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
	st.rows = append(st.rows, [4]string{what, want, got, verdict})
}

// print logs the table and writes it to $BARRAGE_ARTIFACTS/tables/, which
// .ci/run prints after the suite (go test shows a passing test's log only
// with -v).
func (st *safetyTable) print(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", t.Name())
	fmt.Fprintf(&b, "\n%-62s | %-28s | %-34s | %s\n", "case", "expected", "observed", "")
	b.WriteString(strings.Repeat("-", 136) + "\n")
	for _, r := range st.rows {
		fmt.Fprintf(&b, "%-62s | %-28s | %-34s | %s\n", r[0], r[1], r[2], r[3])
	}
	t.Log(b.String())
	writeArtifact(t, filepath.Join("tables", t.Name()+".txt"), b.String())
}

// writeArtifact writes a file under $BARRAGE_ARTIFACTS (the temp folder's
// barrage-artifacts when unset).
func writeArtifact(t *testing.T, name, text string) {
	dir := os.Getenv("BARRAGE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "barrage-artifacts")
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Error(err)
		return
	}
	if err := os.WriteFile(path, []byte(text+"\n"), 0o644); err != nil {
		t.Error(err)
	}
}

// TestSafeServer runs `barrage server` as shipped — tokens required, load
// only where --allow-target says — with a real worker process, and tries to
// get around both: unauthenticated and under-privileged calls, targets the
// policy refuses (a loopback alias, cloud metadata, a private address, a DNS
// name that resolves to a refused address), a redirect from the allowed
// target to a refused one, a templated host, forged ingest and oversized
// bodies. The refused targets are counting servers on 127.0.0.2 and on
// another port of 127.0.0.1: they must accept no connection at all.
func TestSafeServer(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	refused := startCounting(t, "127.0.0.2:0", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "leak") })
	otherPort := startCounting(t, "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "leak") })
	allowed := startCounting(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/go" {
			http.Redirect(w, r, refused.url+"/stolen", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	_, allowedPort, _ := net.SplitHostPort(strings.TrimPrefix(allowed.url, "http://"))
	_, otherPortN, _ := net.SplitHostPort(strings.TrimPrefix(otherPort.url, "http://"))

	dsn := "sqlite:" + t.TempDir() + "/barrage.db"
	const fleet = "fleet-secret-e2e"
	c := startClusterOn(t, 0, dsn, "--no-auth=false", "--allow-target", "127.0.0.1/32:"+allowedPort, "--max-vus", "20", "--fleet-token", fleet)
	tbl := &safetyTable{}
	defer tbl.print(t)

	// The first admin token comes from the command line, on the database.
	admin := createToken(t, dsn, "ops", "admin")
	api := c.api.WithToken(admin)
	newToken := func(name, role string) string {
		a := authed(t, "POST", c.url+"/tokens", admin, fmt.Sprintf(`{"name": %q, "role": %q}`, name, role))
		var tok struct{ Token string }
		if a.status != http.StatusCreated || json.Unmarshal([]byte(a.body), &tok) != nil {
			t.Fatalf("create token %s: %d %s", name, a.status, a.body)
		}
		return tok.Token
	}
	viewer, runner := newToken("viv", "viewer"), newToken("ci", "runner")
	c.token = viewer
	c.addWorker(t, "w1", "--fleet-token", fleet)
	waitFor(t, 30*time.Second, "the worker registered", func() bool { return c.registered(t) == 1 })

	// Who may call.
	a := authed(t, "GET", c.url+"/runs", "", "")
	tbl.add(t, "GET /runs without a token", "401", fmt.Sprint(a.status), a.status == 401)
	a = authed(t, "GET", c.url+"/healthz", "", "")
	tbl.add(t, "GET /healthz without a token", "200", fmt.Sprint(a.status), a.status == 200)
	a = authed(t, "GET", c.url+"/runs", "brg_forged", "")
	tbl.add(t, "GET /runs with a forged token", "401", fmt.Sprint(a.status), a.status == 401)
	doc := `name: safety
virtual_users: 2
duration_seconds: 4
variables:
  h: localhost:` + otherPortN + `
steps:
  - name: ok
    url_template: /ok
  - name: redirect
    url_template: /go
  - name: templated
    url_template: "http://{{ h }}/t"
`
	a = authed(t, "POST", c.url+"/scenarios", viewer, string(scenarioJSON(t, doc)))
	tbl.add(t, "POST /scenarios as a viewer", "403", fmt.Sprint(a.status), a.status == 403)
	ref, err := c.api.WithToken(runner).CreateScenario(context.Background(), scenarioJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	a = authed(t, "DELETE", c.url+"/scenarios/"+ref.ScenarioID, runner, "")
	tbl.add(t, "DELETE /scenarios/{id} as a runner", "403", fmt.Sprint(a.status), a.status == 403)
	a = authed(t, "GET", c.url+"/audit", runner, "")
	tbl.add(t, "GET /audit as a runner", "403", fmt.Sprint(a.status), a.status == 403)
	big := `{"name": "` + strings.Repeat("x", 9<<20) + `"}`
	a = authed(t, "POST", c.url+"/scenarios", admin, big)
	tbl.add(t, "POST /scenarios with a 9 MiB body", "413", fmt.Sprint(a.status), a.status == 413)

	// Where load may go: refused before the run exists.
	for _, tc := range []struct{ what, target string }{
		{"target on a refused loopback alias (127.0.0.2)", refused.url},
		{"target on another port of 127.0.0.1", otherPort.url},
		{"target: a DNS name resolving to a refused address", "http://localhost:" + otherPortN},
		{"target: cloud metadata 169.254.169.254", "http://169.254.169.254"},
		{"target: RFC 1918 10.0.0.1", "http://10.0.0.1"},
		{"target: IPv6 loopback [::1]", "http://[::1]:" + allowedPort},
		{"target: a public name no rule names", "http://example.com"},
	} {
		body := fmt.Sprintf(`{"scenario_id": %q, "target_base_url": %q}`, ref.ScenarioID, tc.target)
		a := authed(t, "POST", c.url+"/runs", runner, body)
		tbl.add(t, tc.what, "422 target_not_allowed", fmt.Sprintf("%d %s", a.status, errCode(a.body)),
			a.status == 422 && errCode(a.body) == "target_not_allowed" && strings.Contains(a.body, "--allow-target"))
	}
	a = authed(t, "POST", c.url+"/runs", runner, fmt.Sprintf(`{"scenario_id": %q, "target_base_url": %q, "overrides": {"virtual_users": 21}}`, ref.ScenarioID, allowed.url))
	tbl.add(t, "21 VUs on a server with --max-vus 20", "422 cap_exceeded", fmt.Sprintf("%d %s", a.status, errCode(a.body)), a.status == 422 && errCode(a.body) == "cap_exceeded")
	a = authed(t, "POST", c.url+"/runs", "", fmt.Sprintf(`{"scenario_id": %q, "target_base_url": %q}`, ref.ScenarioID, allowed.url))
	tbl.add(t, "POST /runs without a token", "401", fmt.Sprint(a.status), a.status == 401)
	if runs := authed(t, "GET", c.url+"/runs", viewer, ""); !strings.Contains(runs.body, `"runs":[]`) {
		t.Fatalf("a refused run was stored: %s", runs.body)
	}

	// An allowed run whose redirect and templated host lead to refused
	// addresses: the worker refuses them when it connects.
	run, err := api.WithToken(runner).StartRun(context.Background(), client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: allowed.url})
	if err != nil {
		t.Fatal(err)
	}
	var status string
	waitFor(t, 90*time.Second, "the run's end", func() bool {
		r, err := api.GetRun(context.Background(), run.RunID)
		if err == nil {
			status = r.Status
		}
		return err == nil && (r.Status == "completed" || r.Status == "failed" || r.Status == "aborted")
	})
	b, err := api.Report(context.Background(), run.RunID, "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Totals struct {
			Errors uint64 `json:"errors"`
		} `json:"totals"`
		ErrorsByClass map[string]uint64 `json:"errors_by_class"`
		Steps         []struct {
			Name     string `json:"name"`
			Requests uint64 `json:"requests"`
			Errors   uint64 `json:"errors"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	tbl.add(t, "allowed run with refused hops: status", "completed", status, status == "completed")
	blocked := rep.ErrorsByClass["blocked"]
	tbl.add(t, "errors of class blocked = all the run's errors", fmt.Sprintf("> 0, = %d", rep.Totals.Errors), fmt.Sprint(blocked), blocked > 0 && blocked == rep.Totals.Errors)
	for _, st := range rep.Steps {
		got := fmt.Sprintf("%d of %d requests", st.Errors, st.Requests)
		switch st.Name {
		case "ok":
			tbl.add(t, "step ok (the allowed target): errors", "0", got, st.Errors == 0 && st.Requests > 0)
		case "redirect":
			// Each iteration: the 302 (a success) and its refused hop.
			tbl.add(t, "step redirect (to 127.0.0.2): hops refused", "half", got, st.Errors > 0 && 2*st.Errors == st.Requests)
		case "templated":
			tbl.add(t, "step templated (localhost:other port): errors", "all", got, st.Errors > 0 && st.Errors == st.Requests)
		}
	}
	tbl.add(t, "the allowed target served", "> 0", fmt.Sprint(allowed.served.Load()), allowed.served.Load() > 0)
	tbl.add(t, "redirect to 127.0.0.2: connections accepted", "0", fmt.Sprint(refused.accepted.Load()), refused.accepted.Load() == 0)
	tbl.add(t, "templated localhost:other-port: connections", "0", fmt.Sprint(otherPort.accepted.Load()), otherPort.accepted.Load() == 0)
	ev := authed(t, "GET", c.url+"/runs/"+run.RunID+"/events", viewer, "")
	for _, host := range []string{"127.0.0.2", "localhost"} {
		n := strings.Count(ev.body, `"kind":"target_blocked","detail":"`+host)
		tbl.add(t, "target_blocked events for "+host, "1", fmt.Sprint(n), n == 1)
	}

	// Forged ingest: a snapshot with a made-up token is refused.
	a = authed(t, "POST", c.url+"/ingest/runs/"+run.RunID+"/snapshots", "forged", "x")
	tbl.add(t, "ingest with a forged run token", "401/403", fmt.Sprint(a.status), a.status == 401 || a.status == 403)
	a = authed(t, "GET", c.url+"/ingest/runs/"+run.RunID+"/spec", admin, "")
	tbl.add(t, "ingest spec with an API (not run) token", "401/403", fmt.Sprint(a.status), a.status == 401 || a.status == 403)

	// The run's worker tokens are nowhere in its workflows' histories: the
	// one stored with the run, and the one derived from the fleet token.
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetRun(context.Background(), run.RunID)
	_ = st.Close()
	if err != nil {
		t.Fatal(err)
	}
	events, hits := historyHits(t, c.temporal, run.RunID, stored.Token, wire.IngestToken(fleet, run.RunID))
	tbl.add(t, fmt.Sprintf("run tokens in Temporal history (%d events)", events), "0", fmt.Sprint(hits), events > 0 && hits == 0)

	// Who did it is on record.
	audit := authed(t, "GET", c.url+"/audit", admin, "")
	for _, want := range []string{`"actor":"ci","action":"run.create","subject":"` + run.RunID, `"actor":"ci","action":"scenario.create"`, `"actor":"ops","action":"token.create","subject":"ci"`} {
		tbl.add(t, "audit has "+strings.SplitN(want, `"action":`, 2)[1], "present", fmt.Sprint(strings.Contains(audit.body, want)), strings.Contains(audit.body, want))
	}
}

func errCode(body string) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// historyHits counts the events of a run's workflow and its shard groups'
// that contain any of secrets in their binary encoding (payloads are raw
// bytes there), and how many events it read.
func historyHits(t *testing.T, temporal, runID string, secrets ...string) (events, hits int) {
	t.Helper()
	tc, err := sdkclient.Dial(sdkclient.Options{HostPort: temporal})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ids := []string{runID}
	for i := 0; i < 4; i++ {
		ids = append(ids, workflows.ShardGroupID(runID, i))
	}
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		it := tc.GetWorkflowHistory(ctx, id, "", false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break // no such shard group
			}
			events++
			b, err := proto.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if s != "" && bytes.Contains(b, []byte(s)) {
					hits++
					t.Errorf("workflow %s event %d (%s) holds a run token", id, ev.GetEventId(), ev.GetEventType())
				}
			}
		}
		cancel()
	}
	return events, hits
}
