// Package vmtest runs a real VictoriaMetrics (Debian's victoria-metrics
// binary) for tests: on a free loopback port, with a temporary data folder,
// stopped at the test's cleanup. It also queries it.
//
// VictoriaMetrics starts with -search.latencyOffset=0s and
// -search.disableCache, so that a query sees every sample pushed before it
// (even backfilled ones), and -dedup.minScrapeInterval=1ms, as the compose
// file runs it: a sample pushed again for the same time replaces the first.
//
// When the binary is missing the test is skipped, unless BARRAGE_CI is set:
// then it fails (CI installs it).
package vmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// VM is a running VictoriaMetrics.
type VM struct {
	URL  string // http://127.0.0.1:port
	addr string
	dir  string
	bin  string
	args []string

	mu    sync.Mutex // guards cmd
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd has exited
	outMu sync.Mutex
	out   strings.Builder
}

// Binary returns the path of the victoria-metrics binary, or "".
func Binary() string {
	for _, name := range []string{"victoria-metrics", "victoria-metrics-prod"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/victoria-metrics"); err == nil {
		return "/usr/bin/victoria-metrics"
	}
	return ""
}

// Start starts a VictoriaMetrics for t and stops it at t's cleanup; args
// are added to its flags.
func Start(t testing.TB, args ...string) *VM {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("BARRAGE_CI") != "" {
			t.Fatal("victoria-metrics is not installed (apt-get install victoria-metrics); BARRAGE_CI is set, so this is not skipped")
		}
		t.Skip("victoria-metrics is not installed (apt-get install victoria-metrics); skipping")
	}
	vm := &VM{dir: t.TempDir(), bin: bin, args: args}
	var err error
	for try := 0; try < 3; try++ {
		vm.addr = freeAddr(t)
		vm.URL = "http://" + vm.addr
		if err = vm.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vm.Stop)
	return vm
}

func (vm *VM) start() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	// #nosec G204 -- vm.bin is the VictoriaMetrics binary the test found to run, with its flags
	cmd := exec.Command(vm.bin, append([]string{"-storageDataPath=" + vm.dir, "-httpListenAddr=" + vm.addr,
		"-search.latencyOffset=0s", "-search.disableCache", "-dedup.minScrapeInterval=1ms",
		"-retentionPeriod=100y", "-loggerLevel=ERROR"}, vm.args...)...)
	w := &syncWriter{mu: &vm.outMu, b: &vm.out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start victoria-metrics: %w", err)
	}
	exited := make(chan struct{})
	vm.cmd, vm.done = cmd, exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(vm.URL + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			vm.cmd = nil
			return fmt.Errorf("victoria-metrics on %s exited:\n%s", vm.addr, vm.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	vm.cmd = nil
	return fmt.Errorf("victoria-metrics on %s did not become healthy:\n%s", vm.addr, vm.Output())
}

type syncWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// Stop stops VictoriaMetrics (gracefully, so that what it took is on disk).
func (vm *VM) Stop() {
	vm.mu.Lock()
	cmd, done := vm.cmd, vm.done
	vm.cmd = nil
	vm.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart starts it again on the same address and data folder.
func (vm *VM) Restart(t testing.TB) {
	t.Helper()
	var err error
	for try := 0; try < 50; try++ {
		if err = vm.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // the port may linger a moment
	}
	t.Fatal(err)
}

// Sample is one instant-query result.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant query at time at.
func (vm *VM) Query(ctx context.Context, query string, at time.Time) ([]Sample, error) {
	v := url.Values{"query": {query}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	var res struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := vm.get(ctx, "/api/v1/query?"+v.Encode(), &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", query, res.Error)
	}
	out := make([]Sample, 0, len(res.Data.Result))
	for _, r := range res.Data.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v", query, r.Value[1])
		}
		out = append(out, Sample{Metric: r.Metric, Value: f})
	}
	return out, nil
}

// Sum returns sum(query) at time at, or -1 when no series matches.
func (vm *VM) Sum(ctx context.Context, query string, at time.Time) (float64, error) {
	got, err := vm.Query(ctx, "sum("+query+")", at)
	if err != nil || len(got) == 0 {
		return -1, err
	}
	return got[0].Value, nil
}

// Range is one series of a range query.
type Range struct {
	Metric map[string]string
	Values [][2]any // [unix seconds, "value"]
}

// QueryRange runs a range query.
func (vm *VM) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]Range, error) {
	v := url.Values{"query": {query}, "start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix()+1, 10)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	var res struct {
		Status string
		Error  string
		Data   struct{ Result []Range }
	}
	if err := vm.get(ctx, "/api/v1/query_range?"+v.Encode(), &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query_range %q: %s", query, res.Error)
	}
	return res.Data.Result, nil
}

// LabelValues returns the values of a label among the series matching match.
func (vm *VM) LabelValues(ctx context.Context, label, match string, start, end time.Time) ([]string, error) {
	v := url.Values{"match[]": {match}, "start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix()+1, 10)}}
	var res struct {
		Status string
		Data   []string
	}
	if err := vm.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values?"+v.Encode(), &res); err != nil {
		return nil, err
	}
	return res.Data, nil
}

// Export returns every raw sample of the series matching match, as
// VictoriaMetrics' /api/v1/export lines.
func (vm *VM) Export(ctx context.Context, match string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, vm.URL+"/api/v1/export?"+url.Values{"match[]": {match}}.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func (vm *VM) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, vm.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return json.Unmarshal(b, into)
}

// Output returns what VictoriaMetrics printed.
func (vm *VM) Output() string {
	vm.outMu.Lock()
	defer vm.outMu.Unlock()
	return vm.out.String()
}

// DataDir is its data folder.
func (vm *VM) DataDir() string { return filepath.Clean(vm.dir) }

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
