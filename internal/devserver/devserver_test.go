package devserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const testTimeout = 60 * time.Second

// testLogger sends logs to t.Log until the test's cleanups are done;
// Temporal goroutines may outlive the test by a moment.
func testLogger(t *testing.T, level slog.Level) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(w.close) // registered first, so it runs last
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// startServer starts a dev server that the test's cleanup stops, and logs
// how long the start took.
func startServer(t *testing.T, label string, opts Options) *Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t, slog.LevelWarn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	began := time.Now()
	srv, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start %s: %v", label, err)
	}
	t.Logf("start-to-ready %s: %v (frontend %s)", label, time.Since(began).Round(time.Millisecond), srv.FrontendAddr())
	t.Cleanup(func() { stopServer(t, label, srv) })
	return srv
}

func stopServer(t *testing.T, label string, srv *Server) {
	t.Helper()
	began := time.Now()
	if err := srv.Stop(); err != nil {
		t.Errorf("stop %s: %v", label, err)
	}
	t.Logf("stop %s: %v", label, time.Since(began).Round(time.Millisecond))
}

func dial(t *testing.T, srv *Server) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  srv.FrontendAddr(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(testLogger(t, slog.LevelWarn)),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", srv.FrontendAddr(), err)
	}
	t.Cleanup(c.Close)
	return c
}

func startWorker(t *testing.T, c client.Client, queue string) worker.Worker {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterWorkflow(waitWorkflow)
	w.RegisterActivity(greetActivity)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
	return w
}

var activityOptions = workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second}

func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	var greeting string
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions), greetActivity, name).Get(ctx, &greeting)
	return greeting, err
}

func greetActivity(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

// waitWorkflow greets, then waits for the "finish" signal (or an hour).
// Its "stage" query says where it is.
func waitWorkflow(ctx workflow.Context, name string) (string, error) {
	stage := "greeting"
	if err := workflow.SetQueryHandler(ctx, "stage", func() (string, error) { return stage, nil }); err != nil {
		return "", err
	}
	var greeting string
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions), greetActivity, name).Get(ctx, &greeting)
	if err != nil {
		return "", err
	}
	stage = "waiting"
	var suffix string
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "finish"), func(ch workflow.ReceiveChannel, _ bool) {
		ch.Receive(ctx, &suffix)
	})
	sel.AddFuture(workflow.NewTimer(ctx, time.Hour), func(workflow.Future) { suffix = "(timed out)" })
	sel.Select(ctx)
	return greeting + " " + suffix, nil
}

func TestStartInMemory(t *testing.T) {
	srv := startServer(t, "in-memory", Options{Listen: "127.0.0.1:0", ExtraNamespaces: []string{"extra", "", "extra"}})
	if srv.Namespace() != DefaultNamespace {
		t.Errorf("Namespace() = %q, want %q", srv.Namespace(), DefaultNamespace)
	}
	if srv.UIAddr() != "" {
		t.Errorf("UIAddr() = %q without UI", srv.UIAddr())
	}
	if host, port, _ := net.SplitHostPort(srv.FrontendAddr()); host != loopback || port == "0" {
		t.Errorf("FrontendAddr() = %q, want 127.0.0.1 and a real port", srv.FrontendAddr())
	}
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ns := range []string{DefaultNamespace, "extra"} {
		resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		if err != nil {
			t.Fatalf("describe namespace %s: %v", ns, err)
		}
		if got := resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != retentionDays*24*time.Hour {
			t.Errorf("namespace %s retention = %v, want %d days", ns, got, retentionDays)
		}
	}
}

func TestWorkflowWithActivity(t *testing.T) {
	srv := startServer(t, "in-memory", Options{Listen: "127.0.0.1:0"})
	c := dial(t, srv)
	startWorker(t, c, "greet")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// More runs than the history queues' burst of reads (see dynamicConfig),
	// so that the steady state shows.
	const runs = 20
	took := make([]time.Duration, 0, runs)
	for range runs {
		began := time.Now()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "greet"}, greetWorkflow, "barrage")
		if err != nil {
			t.Fatalf("start workflow: %v", err)
		}
		var got string
		if err := run.Get(ctx, &got); err != nil {
			t.Fatalf("workflow result: %v", err)
		}
		if got != "hello barrage" {
			t.Fatalf("result = %q, want %q", got, "hello barrage")
		}
		took = append(took, time.Since(began))
	}
	t.Logf("workflow + activity round trips: first %v, last %v, median %v, max %v",
		took[0].Round(time.Millisecond), took[runs-1].Round(time.Millisecond),
		median(took).Round(time.Millisecond), slices.Max(took).Round(time.Millisecond))
}

func median(ds []time.Duration) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

func TestRestartOnSameFileKeepsWorkflow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "state", "temporal.db") // directory created by Start
	first := startServer(t, "file, new", Options{Listen: "127.0.0.1:0", DBFile: db})
	id := runUntilWaiting(t, first)
	stopServer(t, "file, first", first)
	if info, err := os.Stat(db); err != nil || info.Size() == 0 {
		t.Fatalf("database file after stop: %v, %v", info, err)
	}

	// Same port too, as a restarted `barrage` on 127.0.0.1:7233 would do.
	second := startServer(t, "file, existing", Options{Listen: first.FrontendAddr(), DBFile: db})
	c := dial(t, second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatalf("describe workflow after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %v, want running", st)
	}
	startWorker(t, c, "wait")
	if err := c.SignalWorkflow(ctx, id, "", "finish", "again"); err != nil {
		t.Fatalf("signal: %v", err)
	}
	var got string
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &got); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if want := "hello restart again"; got != want {
		t.Errorf("result = %q, want %q", got, want)
	}
}

// runUntilWaiting starts waitWorkflow and returns its ID once the workflow
// waits for its signal; the worker and client are closed again.
func runUntilWaiting(t *testing.T, srv *Server) string {
	t.Helper()
	c := dial(t, srv)
	w := startWorker(t, c, "wait")
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "restart-me", TaskQueue: "wait"}, waitWorkflow, "restart")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	for {
		var stage string
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", "stage")
		if err == nil && v.Get(&stage) == nil && stage == "waiting" {
			return run.GetID()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow never reached waiting (stage %q, last error %v)", stage, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestUI(t *testing.T) {
	srv := startServer(t, "in-memory with UI", Options{Listen: "127.0.0.1:0", UIListen: "127.0.0.1:0", Namespace: "barrage"})
	if srv.UIAddr() == "" {
		t.Fatal("UIAddr() empty with UIListen set")
	}
	page := get(t, "http://"+srv.UIAddr()+"/")
	if ct := page.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET / Content-Type = %q, want text/html", ct)
	}
	// The UI's API proxies to our frontend: it must know our namespace.
	ns := get(t, "http://"+srv.UIAddr()+"/api/v1/namespaces/barrage")
	if !strings.Contains(ns.body, `"barrage"`) {
		t.Errorf("GET /api/v1/namespaces/barrage = %.300s, want the namespace", ns.body)
	}
}

type response struct {
	header http.Header
	body   string
}

func get(t *testing.T, url string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %.300s", url, resp.Status, body)
	}
	return response{header: resp.Header, body: string(body)}
}

func TestTwoServersAtOnce(t *testing.T) {
	var (
		wg   sync.WaitGroup
		srvs [2]*Server
	)
	began := time.Now()
	for i := range srvs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			srv, err := Start(ctx, Options{Listen: "127.0.0.1:0", Logger: testLogger(t, slog.LevelWarn)})
			if err != nil {
				t.Errorf("start server %d: %v", i, err)
				return
			}
			srvs[i] = srv
		})
	}
	wg.Wait()
	for i, srv := range srvs {
		if srv != nil {
			t.Cleanup(func() { stopServer(t, "concurrent "+string(rune('A'+i)), srv) })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("start-to-ready two in-memory servers concurrently: %v", time.Since(began).Round(time.Millisecond))
	if srvs[0].FrontendAddr() == srvs[1].FrontendAddr() {
		t.Fatalf("both servers on %s", srvs[0].FrontendAddr())
	}

	a, b := dial(t, srvs[0]), dial(t, srvs[1])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "only-on-a", TaskQueue: "nobody"}, greetWorkflow, "a"); err != nil {
		t.Fatalf("start workflow on A: %v", err)
	}
	var notFound *serviceerror.NotFound
	if _, err := b.DescribeWorkflowExecution(ctx, "only-on-a", ""); !errors.As(err, &notFound) {
		t.Errorf("workflow of A seen on B: err = %v, want NotFound", err)
	}
	// B runs workflows while A is up.
	startWorker(t, b, "greet")
	run, err := b.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "greet"}, greetWorkflow, "b")
	if err != nil {
		t.Fatalf("start workflow on B: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "hello b" {
		t.Errorf("workflow on B = %q, %v", got, err)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Start(ctx, Options{Listen: l.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("Start on a busy port: err = %v, want 'not available'", err)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "hostname", opts: Options{Listen: "example.com:0"}, want: "IP address"},
		{name: "no port", opts: Options{Listen: "127.0.0.1"}, want: "parse address"},
		{name: "bad port", opts: Options{Listen: "127.0.0.1:99999"}, want: "invalid port"},
		{name: "db path with ?", opts: Options{Listen: "127.0.0.1:0", DBFile: filepath.Join(t.TempDir(), "a?b.db")}, want: "must not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestStartPicksAgainWhenAPortIsTaken hands Temporal's history service a
// port another listener holds, as happens when a parallel process takes a
// picked port before Temporal binds it: Start picks again and succeeds.
func TestStartPicksAgainWhenAPortIsTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	taken := held.Addr().(*net.TCPAddr).Port
	calls := 0
	pickFree = func(host string) (int, error) {
		calls++
		if calls == 2 { // the first attempt's history port
			return taken, nil
		}
		return freePort(host)
	}
	defer func() { pickFree = freePort }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := Start(ctx, Options{Listen: "127.0.0.1:0", Logger: testLogger(t, slog.LevelError)})
	if err != nil {
		t.Fatalf("Start with one taken port: %v", err)
	}
	defer stopServer(t, "retry", srv)
	if calls <= 4 {
		t.Fatalf("ports picked %d times, want a second round after the taken one", calls)
	}
	dial(t, srv)
}
