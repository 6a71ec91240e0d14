package h1

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// The benchmarks run each client against a net/http server and against
// startFixedServer, which allocates nothing, so allocs/op of the latter
// are the client's alone. The server shares the CPU either way: ns/op
// mixes both sides (testdata/cpucompare measures the client by itself).

func benchServers(b *testing.B) map[string]string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	b.Cleanup(srv.Close)
	return map[string]string{
		"nethttp": addrOf(srv),
		"fixed":   startFixedServer(b, okResponse("hello")),
	}
}

var benchCases = []struct {
	server string
	conns  int // 1: sequential; more: RunParallel with that many goroutines
}{
	{server: "fixed", conns: 1},
	{server: "nethttp", conns: 1},
	{server: "fixed", conns: 50},
	{server: "nethttp", conns: 50},
}

func BenchmarkDo(b *testing.B) {
	addrs := benchServers(b)
	for _, bc := range benchCases {
		b.Run("server="+bc.server+"/conns="+strconv.Itoa(bc.conns), func(b *testing.B) {
			c := New(Options{})
			defer c.Close()
			run(b, bc.conns, func() func() error {
				req := &Request{Addr: addrs[bc.server], Target: "/"}
				var resp Response
				return func() error { return c.Do(req, &resp) }
			})
		})
	}
}

func BenchmarkNetHTTP(b *testing.B) {
	addrs := benchServers(b)
	for _, bc := range benchCases {
		b.Run("server="+bc.server+"/conns="+strconv.Itoa(bc.conns), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 100, DisableCompression: true}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			run(b, bc.conns, func() func() error {
				req, err := http.NewRequest("GET", "http://"+addrs[bc.server]+"/", nil)
				if err != nil {
					panic(err)
				}
				return func() error {
					resp, err := hc.Do(req)
					if err != nil {
						return err
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return err
				}
			})
		})
	}
}

// run calls the function newDo builds, b.N times in all, from conns
// goroutines each with its own request state.
func run(b *testing.B, conns int, newDo func() func() error) {
	b.ReportAllocs()
	if conns == 1 {
		do := newDo()
		for b.Loop() {
			if err := do(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	b.SetParallelism(max(1, conns/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		do := newDo()
		for pb.Next() {
			if err := do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
