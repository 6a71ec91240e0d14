package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
)

// TestSecretNeverLeaks sets a sentinel secret with `barrage secrets set`,
// runs a scenario that sends it in a query, a header and a body to a
// target on loopback, and then looks for it everywhere Barrage writes:
// the database files, the Temporal histories of the run and its shard
// groups, every log line of the server and the worker (at debug level),
// the live stream, report.json/html/junit and every API answer about the
// run. It must be found nowhere — and the target must have received it.
func TestSecretNeverLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e")
	}
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	sentinel := "sntl" + hex.EncodeToString(raw[:])
	var received atomic.Int64
	tg := startCounting(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("k") == sentinel && r.Header.Get("X-Api-Key") == sentinel || bytes.Contains(body, []byte(sentinel)) {
			received.Add(1)
		}
		// Echo it back too: a response holding the secret must not leak it either.
		_, _ = io.WriteString(w, `{"echo": "`+sentinel+`"}`)
	})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(bytes.Repeat([]byte{7}, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(dir, "db")
	if err := os.Mkdir(dbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	dsn := "sqlite:" + filepath.Join(dbDir, "barrage.db")
	const fleet = "fleet-secret-e2e-2"
	c := startClusterOn(t, 0, dsn, "--no-auth=false", "--allow-target", "127.0.0.0/8", "--secret-key-file", keyFile,
		"--fleet-token", fleet, "-v")
	admin := createToken(t, dsn, "ops", "admin")
	api := c.api.WithToken(admin)
	c.token = admin
	c.addWorker(t, "w1", "--fleet-token", fleet, "-v")
	waitFor(t, 30*time.Second, "the worker registered", func() bool { return c.registered(t) == 1 })

	// The secret goes in on standard input, never in an argument.
	set := exec.Command(binary, "secrets", "set", "SENTINEL", "--server", c.url)
	set.Env = append(os.Environ(), "BARRAGE_TOKEN="+admin)
	set.Stdin = strings.NewReader(sentinel + "\n")
	if out, err := set.CombinedOutput(); err != nil || !strings.Contains(string(out), "secret SENTINEL set") {
		t.Fatalf("barrage secrets set: %v\n%s", err, out)
	}

	doc := `name: sentinel
virtual_users: 2
duration_seconds: 3
steps:
  - name: query and header
    url_template: "/a?k={{ secret.SENTINEL }}"
    headers:
      X-Api-Key: "{{ secret.SENTINEL }}"
    checks:
      - status: 200
  - name: body
    method: POST
    url_template: /b
    body_template: '{"token": "{{ secret.SENTINEL }}"}'
    extract:
      - var: echoed
        json: $.echo
`
	ref, err := api.CreateScenario(context.Background(), scenarioJSON(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	run, err := api.StartRun(context.Background(), client.RunRequest{ScenarioID: ref.ScenarioID, TargetBaseURL: tg.url})
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	var mu sync.Mutex
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_ = api.Metrics(ctx, run.RunID, "", func(ev client.Event) bool {
			mu.Lock()
			fmt.Fprintf(&stream, "%s %s %s\n", ev.ID, ev.Name, ev.Data)
			mu.Unlock()
			return ev.Name != "end"
		})
	}()
	waitFor(t, 90*time.Second, "the run's end", func() bool {
		r, err := api.GetRun(context.Background(), run.RunID)
		return err == nil && (r.Status == "completed" || r.Status == "failed" || r.Status == "aborted")
	})
	select {
	case <-streamed:
	case <-time.After(30 * time.Second):
		t.Fatal("the live stream did not end")
	}

	tbl := &safetyTable{}
	defer tbl.print(t)
	tbl.add(t, "the target received the secret", "> 0 requests", fmt.Sprint(received.Load()), received.Load() > 0)

	places := map[string][]byte{}
	for _, f := range []string{"json", "html", "junit"} {
		b, err := api.Report(context.Background(), run.RunID, f)
		if err != nil {
			t.Fatal(err)
		}
		places["report."+f] = b
	}
	for _, path := range []string{"/runs/" + run.RunID, "/runs/" + run.RunID + "/events", "/runs", "/scenarios/" + ref.ScenarioID,
		"/secrets", "/audit?limit=1000", "/workers", "/metrics"} {
		places["GET "+path] = []byte(authed(t, "GET", c.url+path, admin, "").body)
	}
	mu.Lock()
	places["the live stream"] = stream.Bytes()
	mu.Unlock()
	// The database's files, the WAL included: the secret is stored sealed.
	files, _ := filepath.Glob(filepath.Join(dbDir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		places["database file "+filepath.Base(f)] = b
	}
	places["server log"] = []byte(c.server.output())
	places["worker log"] = []byte(c.workers["w1"].output())
	for _, name := range slices.Sorted(maps.Keys(places)) {
		b := places[name]
		n := bytes.Count(b, []byte(sentinel))
		tbl.add(t, "hits in "+name+fmt.Sprintf(" (%d bytes)", len(b)), "0", fmt.Sprint(n), n == 0 && len(b) > 0)
	}
	events, hits := historyHits(t, c.temporal, run.RunID, sentinel)
	tbl.add(t, fmt.Sprintf("hits in Temporal history (%d events)", events), "0", fmt.Sprint(hits), events > 0 && hits == 0)
}

// createToken makes an API token with `barrage tokens create` on the
// server's database and returns it.
func createToken(t *testing.T, dsn, name, role string) string {
	t.Helper()
	mk := start(t, "tokens create "+name, "tokens", "create", "--db", dsn, "--name", name, "--role", role)
	if code := mk.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("tokens create exited %d:\n%s", code, mk.output())
	}
	lines := strings.Split(strings.TrimSpace(mk.output()), "\n")
	tok := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(tok, "brg_") {
		t.Fatalf("tokens create printed %q last", tok)
	}
	return tok
}
