// Command memvu measures the memory of an idle virtual user: it starts N VUs
// (default 10,000) whose one step is followed by a long think time, waits
// until every VU has made its request and sits in its pause, and reports the
// growth of the Go heap and stacks, and of the process's RSS, per VU. The
// target runs in a child process (this program, re-executed), so its memory
// is not counted. Everything listens on 127.0.0.1 and ends by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/internal/engine"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/target"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		serve()
		return
	}
	vus := flag.Int("vus", 10000, "virtual users")
	flag.Parse()
	if err := measure(*vus); err != nil {
		fmt.Fprintln(os.Stderr, "memvu:", err)
		os.Exit(1)
	}
}

// serve is the child process: a barrage target on a free loopback port,
// printed on stdout, for at most two minutes.
func serve() {
	srv, err := target.New(target.Config{})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	time.AfterFunc(2*time.Minute, func() { os.Exit(0) })
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	_ = hs.Serve(ln)
}

func startTarget() (string, func(), error) {
	cmd := exec.Command(os.Args[0], "serve") // #nosec G204 G702 -- re-runs this program as the target child
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	buf := make([]byte, 64)
	n, err := out.Read(buf)
	if err != nil {
		_ = cmd.Process.Kill()
		return "", nil, fmt.Errorf("target did not start: %w", err)
	}
	return strings.TrimSpace(string(buf[:n])), func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }, nil
}

type mem struct{ heapStack, rss uint64 }

func sample() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{heapStack: ms.HeapInuse + ms.StackInuse, rss: rssBytes()}
}

func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func measure(vus int) error {
	if vus < 1 {
		return fmt.Errorf("-vus %d: want at least 1", vus)
	}
	addr, stop, err := startTarget()
	if err != nil {
		return err
	}
	defer stop()
	doc := fmt.Sprintf(`name: idle
load: {stages: [{duration: 5s, target: %d}, {duration: 55s, target: %d}]}
steps:
  - url_template: /items/{{ $randInt(1, 10) }}
    think_time: {distribution: constant, value: 50s}
`, vus, vus)
	s, err := scenario.ParseYAML([]byte(doc))
	if err != nil {
		return err
	}
	plan, err := scenario.Compile(s)
	if err != nil {
		return err
	}
	var requests atomic.Uint64
	e, err := engine.New(engine.Config{Plan: plan, BaseURL: "http://" + addr, Sink: func(snap *hist.Snapshot) {
		t := snap.Total()
		requests.Add(t.Requests)
	}})
	if err != nil {
		return err
	}
	before := sample()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { _, runErr = e.Run(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for (e.ActiveVUs() < vus || requests.Load() < uint64(vus)) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	after := sample()
	active, made := e.ActiveVUs(), requests.Load()
	cancel()
	<-done
	if runErr != nil {
		return fmt.Errorf("run: %w", runErr)
	}
	if active < vus || made < uint64(vus) {
		return fmt.Errorf("only %d VUs active and %d requests made after 30 s", active, made)
	}
	perVU := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(vus) / 1024 }
	fmt.Printf("%d idle VUs (each made its request and sits in a 50 s think time)\n", vus)
	fmt.Printf("Go heap+stacks: %.1f MiB -> %.1f MiB; RSS: %.1f MiB -> %.1f MiB\n",
		float64(before.heapStack)/(1<<20), float64(after.heapStack)/(1<<20), float64(before.rss)/(1<<20), float64(after.rss)/(1<<20))
	fmt.Printf("memory_per_idle_vu_kib heap_stack=%.1f rss=%.1f goal=50\n", perVU(before.heapStack, after.heapStack), perVU(before.rss, after.rss))
	return nil
}
