// Command cpucompare measures the client's own CPU per request, which the
// package benchmarks cannot: there the server shares the CPU.
//
// It starts a server in a child process pinned to CPU 0 and, for each
// client, a load child pinned to CPU 1 that keeps -c keep-alive connections
// busy for -d and reports its user+sys CPU (getrusage) per request:
//
//	go run ./internal/h1/testdata/cpucompare -c 50 -d 5s
//
// Linux only; needs taskset. The subcommands serve and load are what the
// parent runs in its children.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/barrage/barrage/internal/h1"
)

func main() {
	conns := flag.Int("c", 50, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "measured duration per client")
	clients := flag.String("clients", "h1,nethttp", "clients to measure, comma separated")
	server := flag.String("server", "nethttp", "server: nethttp, or fixed (a raw server doing the least work)")
	rounds := flag.Int("rounds", 1, "times to measure each client, interleaved")
	flag.Parse()
	var err error
	switch flag.Arg(0) {
	case "serve":
		err = serve(*server)
	case "load":
		err = load(flag.Arg(1), flag.Arg(2), *conns, *dur)
	default:
		err = compare(strings.Split(*clients, ","), *server, *conns, *rounds, *dur)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpucompare:", err)
		os.Exit(1)
	}
}

func compare(clients []string, server string, conns, rounds int, dur time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	srv := exec.Command("taskset", "-c", "0", self, "-server", server, "serve") // #nosec G204 -- runs this program's own binary
	srv.Stderr = os.Stderr
	out, err := srv.StdoutPipe()
	if err != nil {
		return fmt.Errorf("pipe server output: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read server address: %w", err)
	}
	addr = strings.TrimSpace(addr)
	fmt.Printf("server (%s) on CPU 0 at %s; clients on CPU 1, %d connections, %v each\n", server, addr, conns, dur)
	for range rounds {
		for _, client := range clients {
			cmd := exec.Command("taskset", "-c", "1", self, "-c", fmt.Sprint(conns), "-d", dur.String(), "load", client, addr) // #nosec G204 -- runs this program's own binary
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("run %s load: %w", client, err)
			}
		}
	}
	return nil
}

func serve(kind string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Println(ln.Addr())
	if kind == "fixed" {
		return serveFixed(ln)
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})}
	return hs.Serve(ln)
}

// load warms the connections up for a second, then measures dur.
func load(client, addr string, conns int, dur time.Duration) error {
	newDo, closeClient, err := newClient(client, addr, conns)
	if err != nil {
		return err
	}
	defer closeClient()
	var requests, failures atomic.Int64
	var measuring, stop atomic.Bool
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			do := newDo()
			for !stop.Load() {
				if err := do(); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if measuring.Load() {
					requests.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Second)
	before, start := cpuTime(), time.Now()
	measuring.Store(true)
	time.Sleep(dur)
	measuring.Store(false)
	used, wall, n := cpuTime().sub(before), time.Since(start), requests.Load()
	stop.Store(true)
	wg.Wait()
	if n == 0 {
		return fmt.Errorf("no request succeeded: %v", firstErr.Load())
	}
	perReq := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(n) }
	fmt.Printf("%-8s %8d req %8.0f req/s  client CPU %5.1f%%  user %5.2f µs/req  sys %5.2f µs/req  total %5.2f µs/req  errors %d\n",
		client, n, float64(n)/wall.Seconds(), 100*float64(used.user+used.sys)/float64(wall),
		perReq(used.user), perReq(used.sys), perReq(used.user+used.sys), failures.Load())
	return nil
}

// newClient returns a constructor of per-connection request loops, so
// each goroutine owns its request state as a virtual user would.
func newClient(client, addr string, conns int) (newDo func() func() error, closeClient func(), err error) {
	switch client {
	case "h1":
		c := h1.New(h1.Options{})
		return func() func() error {
			req := &h1.Request{Addr: addr, Target: "/"}
			var resp h1.Response
			return func() error { return c.Do(req, &resp) }
		}, c.Close, nil
	case "nethttp":
		tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
		hc := &http.Client{Transport: tr}
		return func() func() error {
			req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
			return func() error {
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				return err
			}
		}, tr.CloseIdleConnections, nil
	}
	return nil, nil, fmt.Errorf("unknown client %q", client)
}

type cpu struct{ user, sys time.Duration }

func cpuTime() cpu {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprintf("getrusage: %v", err)) // a zero reading would be a wrong measurement
	}
	return cpu{user: time.Duration(ru.Utime.Nano()), sys: time.Duration(ru.Stime.Nano())}
}

func (c cpu) sub(o cpu) cpu { return cpu{user: c.user - o.user, sys: c.sys - o.sys} }

// serveFixed answers every request with the same bytes, scanning only for
// the blank line that ends a bodiless request.
func serveFixed(ln net.Listener) error {
	out := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 16<<10)
			matched := 0
			for {
				n, err := c.Read(buf)
				for _, b := range buf[:n] {
					switch {
					case b == "\r\n\r\n"[matched]:
						matched++
					case b == '\r':
						matched = 1
					default:
						matched = 0
					}
					if matched == 4 {
						matched = 0
						if _, err := c.Write(out); err != nil {
							return
						}
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}
