// Package e2e runs Barrage as its users do: the built binary, as separate
// processes (server with its embedded Temporal, fleet workers, the demo
// target), talking over loopback only.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/reports"
)

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "barrage-e2e-")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "barrage")
	build := exec.Command("go", "build", "-o", binary, "../cmd/barrage")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	if err := build.Run(); err != nil {
		fmt.Println("e2e: build barrage:", err)
		os.Exit(1)
	}
	fmt.Printf("e2e: built barrage in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	os.RemoveAll(dir)
	if !contractReport() && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// proc is a barrage process started by a test; it is killed at cleanup.
type proc struct {
	cmd  *exec.Cmd
	name string
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), name: name, done: make(chan struct{})}
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%s still running after %s:\n%s", p.name, limit, p.output())
		return -1
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// target is a running `barrage target`.
type target struct {
	url string
}

func startTarget(t *testing.T, args ...string) *target {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "target.addr")
	start(t, "target", append([]string{"target", "--listen", "127.0.0.1:0", "--ready-file", ready, "--max-life", "10m"}, args...)...)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			return &target{url: "http://" + strings.TrimSpace(string(b))}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("target did not start")
	return nil
}

func (tg *target) served(t *testing.T) uint64 {
	t.Helper()
	return tg.stats(t).Served
}

type targetStats struct {
	Served       uint64 `json:"served"`
	OnceIDs      int    `json:"once_ids"`
	OnceRepeated uint64 `json:"once_repeated"`
}

func (tg *target) stats(t *testing.T) targetStats {
	t.Helper()
	resp, err := http.Get(tg.url + "/_/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st targetStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (tg *target) reset(t *testing.T) {
	t.Helper()
	resp, err := http.Post(tg.url+"/_/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// cluster is a server with its embedded Temporal and n workers.
type cluster struct {
	dsn      string // the server's database
	url      string
	temporal string
	server   *proc
	workers  map[string]*proc
	api      *client.Client
	token    string // an API token, for a server that needs one
}

func startCluster(t *testing.T, workers int, serverArgs ...string) *cluster {
	t.Helper()
	return startClusterOn(t, workers, "sqlite:"+filepath.Join(t.TempDir(), "barrage.db"), serverArgs...)
}

// openServer are the flags of a test server: no tokens (it listens on
// loopback) and load allowed to this machine, where every test target
// listens. A test of the safety flags overrides them (--no-auth=false).
var openServer = []string{"--no-auth", "--allow-target", "127.0.0.0/8"}

// openUnless is openServer but for the flags args sets itself.
func openUnless(args []string) []string {
	var out []string
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--no-auth") }) {
		out = append(out, "--no-auth")
	}
	if !slices.Contains(args, "--allow-target") {
		out = append(out, "--allow-target", "127.0.0.0/8")
	}
	return out
}

// startClusterOn starts a server on the database dsn (with an embedded,
// in-memory Temporal unless serverArgs say otherwise) and n workers.
func startClusterOn(t *testing.T, workers int, dsn string, serverArgs ...string) *cluster {
	t.Helper()
	var c *cluster
	for try := 1; ; try++ {
		// freeAddr releases the ports it picks: another process may take
		// one before the server binds it. Then pick again.
		c = &cluster{dsn: dsn, url: "http://" + freeAddr(t), temporal: freeAddr(t), workers: map[string]*proc{}}
		args := append([]string{"server", "--listen", strings.TrimPrefix(c.url, "http://"), "--db", dsn,
			"--temporal-listen", c.temporal, "--temporal-db", ""}, openUnless(serverArgs)...)
		args = append(args, serverArgs...)
		c.server = start(t, "server", args...)
		api, err := apiClient(c.url)
		if err != nil {
			t.Fatal(err)
		}
		c.api = api
		if healthy(c.server, api, 60*time.Second) {
			break
		}
		if try < 3 && strings.Contains(c.server.output(), "address already in use") {
			t.Logf("server lost a port it was given, trying others:\n%s", c.server.output())
			continue
		}
		t.Fatalf("server not healthy within 60 s:\n%s", c.server.output())
	}
	for i := 1; i <= workers; i++ {
		c.addWorker(t, fmt.Sprintf("w%d", i))
	}
	waitFor(t, 30*time.Second, "workers registered", func() bool { return c.registered(t) >= workers })
	return c
}

// healthy waits until the server answers /healthz; false when its process
// ends first or limit passes.
func healthy(p *proc, api *client.Client, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		// Bounded: whatever took the port may accept and never answer.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := api.Health(ctx)
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-p.done:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

func (c *cluster) addWorker(t *testing.T, id string, extra ...string) *proc {
	t.Helper()
	p := start(t, "worker "+id, append([]string{"worker", "--server", c.url, "--temporal", c.temporal, "--id", id}, extra...)...)
	c.workers[id] = p
	return p
}

func (c *cluster) registered(t *testing.T) int {
	req, _ := http.NewRequest(http.MethodGet, c.url+"/workers", nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct {
		Workers []json.RawMessage `json:"workers"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return len(out.Workers)
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", limit, what)
}

// report is the part of report.json the tests read.
type report struct {
	RunID     string    `json:"run_id"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Totals    struct {
		Requests uint64  `json:"requests"`
		Errors   uint64  `json:"errors"`
		RPS      float64 `json:"rps"`
		Dropped  uint64  `json:"dropped_iterations"`
		// Iterations counts the iterations done (all their steps ran).
		Iterations uint64 `json:"iterations"`
	} `json:"totals"`
	LatencyMS struct {
		P50, P95, P99 float64
	} `json:"latency_ms"`
	Steps []struct {
		Name     string `json:"name"`
		Requests uint64 `json:"requests"`
		Errors   uint64 `json:"errors"`
	} `json:"steps"`
	Workers []struct {
		ID       string `json:"id"`
		Shards   []int  `json:"shards"`
		Requests uint64 `json:"requests"`
	} `json:"workers"`
	Events []struct {
		T      float64 `json:"t"`
		Kind   string  `json:"kind"`
		Detail string  `json:"detail"`
	} `json:"events"`
	Series          []reports.Point `json:"series"`
	MeasurementGaps []reports.Gap   `json:"measurement_gaps"`
}

func readReport(t *testing.T, path string) *report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode report: %v", err)
	}
	return &r
}

func writeScenario(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// unmeasured sums the report's declared gaps.
func (r *report) unmeasured() uint64 {
	var n uint64
	for _, g := range r.MeasurementGaps {
		n += g.EstimatedRequests
	}
	return n
}
