package target

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTarget serves a new target on a real loopback server.
func startTarget(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	// Enough idle connections that concurrent tests reuse them instead of
	// exhausting ephemeral ports.
	ts.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	return s, ts
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// call makes one request and reads the whole response.
func call(t testing.TB, client *http.Client, method, url, body string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, url, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// status makes one GET from any goroutine (call may only run on the test's own).
func status(client *http.Client, url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "zero", cfg: Config{}},
		{name: "everything", cfg: Config{Latency: Latency{Dist: DistFixed, Fixed: time.Millisecond}, ErrorRate: 0.5,
			FreezeFor: time.Second, FreezeEvery: 3 * time.Second, Seed: 9, MaxTokens: 10}},
		{name: "error rate above 1", cfg: Config{ErrorRate: 1.5}, wantErr: "error rate"},
		{name: "negative error rate", cfg: Config{ErrorRate: -0.1}, wantErr: "error rate"},
		{name: "freeze without period", cfg: Config{FreezeFor: time.Second}, wantErr: "period must be longer"},
		{name: "freeze as long as period", cfg: Config{FreezeFor: time.Second, FreezeEvery: time.Second}, wantErr: "period must be longer"},
		{name: "negative freeze", cfg: Config{FreezeFor: -time.Second, FreezeEvery: time.Second}, wantErr: "negative"},
		{name: "period alone is no freeze", cfg: Config{FreezeEvery: time.Second}},
		{name: "bad latency", cfg: Config{Latency: Latency{Dist: DistUniform, Min: 2, Max: 1}}, wantErr: "latency"},
		{name: "negative max tokens", cfg: Config{MaxTokens: -1}, wantErr: "max tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadEndpoints(t *testing.T) {
	s, ts := startTarget(t, Config{})
	tests := []struct {
		name         string
		method       string
		path         string
		body         string
		header       http.Header
		wantCode     int
		wantType     string
		wantLen      int // -1: any
		wantContains []string
	}{
		{name: "root", method: "GET", path: "/", wantCode: 200, wantType: "text/plain; charset=utf-8", wantLen: len(rootBody), wantContains: []string{"barrage target: ok"}},
		{name: "unknown path is root", method: "GET", path: "/no/such/thing", wantCode: 200, wantLen: len(rootBody), wantContains: []string{"barrage target: ok"}},
		{name: "unknown method is GET", method: "PATCH", path: "/", wantCode: 200, wantLen: len(rootBody)},
		{name: "delay", method: "GET", path: "/delay?ms=5", wantCode: 200, wantLen: -1, wantContains: []string{`"latency_ms":5`}},
		{name: "delay as duration", method: "GET", path: "/delay?ms=1.5ms", wantCode: 200, wantLen: -1, wantContains: []string{`"latency_ms":1.5`}},
		{name: "delay missing", method: "GET", path: "/delay", wantCode: 400, wantLen: -1, wantContains: []string{`"error":"ms is required`}},
		{name: "delay negative", method: "GET", path: "/delay?ms=-1", wantCode: 400, wantLen: -1, wantContains: []string{"between 0 and"}},
		{name: "delay too long", method: "GET", path: "/delay?ms=60001", wantCode: 400, wantLen: -1, wantContains: []string{"between 0 and"}},
		{name: "delay not a number", method: "GET", path: "/delay?ms=soon", wantCode: 400, wantLen: -1, wantContains: []string{"milliseconds or a duration"}},
		{name: "latency fixed", method: "GET", path: "/latency?dist=fixed&ms=2", wantCode: 200, wantLen: -1, wantContains: []string{`"dist":"fixed"`, `"latency_ms":2`}},
		{name: "latency uniform", method: "GET", path: "/latency?dist=uniform&min=1&max=2", wantCode: 200, wantLen: -1, wantContains: []string{`"dist":"uniform"`}},
		{name: "latency lognormal", method: "GET", path: "/latency?dist=lognormal&median=1&sigma=0.1", wantCode: 200, wantLen: -1, wantContains: []string{`"dist":"lognormal"`}},
		{name: "latency unknown dist", method: "GET", path: "/latency?dist=pareto", wantCode: 400, wantLen: -1, wantContains: []string{"dist must be"}},
		{name: "latency uniform reversed", method: "GET", path: "/latency?dist=uniform&min=5&max=1", wantCode: 400, wantLen: -1, wantContains: []string{"min <= max"}},
		{name: "latency lognormal no sigma", method: "GET", path: "/latency?dist=lognormal&median=1", wantCode: 400, wantLen: -1, wantContains: []string{"sigma must be a number"}},
		{name: "status 418", method: "GET", path: "/status/418", wantCode: 418, wantLen: -1, wantContains: []string{`"status":418`, "teapot"}},
		{name: "status 503", method: "POST", path: "/status/503", wantCode: 503, wantLen: -1},
		{name: "status 204 has no body", method: "GET", path: "/status/204", wantCode: 204, wantLen: 0},
		{name: "status 1xx refused", method: "GET", path: "/status/100", wantCode: 400, wantLen: -1, wantContains: []string{"200..599"}},
		{name: "status 600 refused", method: "GET", path: "/status/600", wantCode: 400, wantLen: -1, wantContains: []string{"200..599"}},
		{name: "status not a number", method: "GET", path: "/status/ok", wantCode: 400, wantLen: -1, wantContains: []string{`got \"ok\"`}},
		{name: "error default always fails", method: "GET", path: "/error", wantCode: 500, wantLen: -1, wantContains: []string{`"error":"error drawn`}},
		{name: "error rate 0 never fails", method: "GET", path: "/error?rate=0", wantCode: 200, wantLen: -1},
		{name: "error rate out of range", method: "GET", path: "/error?rate=2", wantCode: 400, wantLen: -1, wantContains: []string{"0..1"}},
		{name: "bytes", method: "GET", path: "/bytes/100000", wantCode: 200, wantType: "application/octet-stream", wantLen: 100000},
		{name: "bytes zero", method: "GET", path: "/bytes/0", wantCode: 200, wantLen: 0},
		{name: "bytes max", method: "GET", path: "/bytes/10485760", wantCode: 200, wantLen: MaxBytes},
		{name: "bytes over max", method: "GET", path: "/bytes/10485761", wantCode: 400, wantLen: -1, wantContains: []string{"0..10485760"}},
		{name: "bytes negative", method: "GET", path: "/bytes/-1", wantCode: 400, wantLen: -1},
		{name: "echo", method: "PUT", path: "/echo?a=1&a=2&b=x", body: `{"hello":"world"}`,
			header: http.Header{"X-Test": {"one", "two"}}, wantCode: 200, wantLen: -1,
			wantContains: []string{`"method":"PUT"`, `"path":"/echo"`, `"a":"1,2"`, `"X-Test":"one, two"`, `"body":"{\"hello\":\"world\"}"`, `"body_bytes":17`}},
		{name: "items", method: "GET", path: "/items", wantCode: 200, wantLen: -1, wantContains: []string{`"count":10`, `"name":"anvil"`}},
		{name: "item", method: "GET", path: "/items/2", wantCode: 200, wantLen: -1, wantContains: []string{`"id":2`, `"name":"rocket skates"`}},
		{name: "item missing", method: "GET", path: "/items/11", wantCode: 404, wantLen: -1, wantContains: []string{"item 11 not found"}},
		{name: "item bad id", method: "GET", path: "/items/x", wantCode: 400, wantLen: -1, wantContains: []string{"must be an integer"}},
		{name: "redirect", method: "GET", path: "/redirect/3", wantCode: 200, wantLen: len(rootBody)},
		{name: "redirect zero is root", method: "GET", path: "/redirect/0", wantCode: 200, wantLen: len(rootBody)},
		{name: "redirect too many", method: "GET", path: "/redirect/101", wantCode: 400, wantLen: -1, wantContains: []string{"0..100"}},
		{name: "cookie set without cookies", method: "GET", path: "/cookie/set", wantCode: 400, wantLen: -1, wantContains: []string{"query parameters"}},
		{name: "cookie set bad name", method: "GET", path: "/cookie/set?bad%20name=1", wantCode: 400, wantLen: -1, wantContains: []string{"invalid"}},
		{name: "cookie get none", method: "GET", path: "/cookie/get", wantCode: 200, wantLen: -1, wantContains: []string{`"cookies":{}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(t, ts.Client(), tt.method, ts.URL+tt.path, tt.body, tt.header)
			if got.code != tt.wantCode {
				t.Fatalf("code = %d, want %d (body %q)", got.code, tt.wantCode, got.body)
			}
			if tt.wantType != "" && got.header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got.header.Get("Content-Type"), tt.wantType)
			}
			if tt.wantLen >= 0 && len(got.body) != tt.wantLen {
				t.Errorf("body length = %d, want %d", len(got.body), tt.wantLen)
			}
			if tt.wantLen > 0 && got.header.Get("Content-Length") == "" {
				t.Errorf("no Content-Length header")
			}
			if got.code >= 400 && got.header.Get("Content-Type") != "application/json" {
				t.Errorf("error Content-Type = %q, want application/json", got.header.Get("Content-Type"))
			}
			for _, want := range tt.wantContains {
				if !strings.Contains(string(got.body), want) {
					t.Errorf("body %q does not contain %q", got.body, want)
				}
			}
		})
	}
	// Three redirects of /redirect/3 land on / : four responses, not one.
	wantServed := uint64(len(tests) + 3)
	if got := s.Served(); got != wantServed {
		t.Errorf("Served() = %d, want %d", got, wantServed)
	}
}

func TestServedExactUnderConcurrency(t *testing.T) {
	const workers, perWorker = 50, 200
	s, ts := startTarget(t, Config{})
	paths := []string{"/", "/status/404", "/items/1", "/echo", "/bytes/10", "/unknown"}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				urls := []string{ts.URL + paths[(w+i)%len(paths)]}
				if i%50 == 0 {
					urls = append(urls, ts.URL+"/_/stats", ts.URL+"/_/health")
				}
				for _, url := range urls {
					if _, err := status(ts.Client(), url); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if got := s.Served(); got != workers*perWorker {
		t.Fatalf("Served() = %d, want exactly %d", got, workers*perWorker)
	}
	st := s.Stats()
	if st.ByStatus[404] == 0 || st.ByStatus[200]+st.ByStatus[404] != workers*perWorker {
		t.Errorf("ByStatus = %v, want 200s and 404s adding up to %d", st.ByStatus, workers*perWorker)
	}
	stats := decode[statsJSON](t, call(t, ts.Client(), "GET", ts.URL+"/_/stats", "", nil).body)
	if stats.Served != workers*perWorker {
		t.Errorf("/_/stats served = %d, want %d", stats.Served, workers*perWorker)
	}
}

// errorsAfter sends n concurrent requests to path and counts the 500s.
func errorsAfter(t *testing.T, ts *httptest.Server, path string, n int) int {
	t.Helper()
	var (
		mu   sync.Mutex
		fail int
		wg   sync.WaitGroup
	)
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				code, err := status(ts.Client(), ts.URL+path)
				if err != nil {
					t.Error(err)
					return
				}
				if code == http.StatusInternalServerError {
					mu.Lock()
					fail++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return fail
}

func TestErrorRate(t *testing.T) {
	const n = 2000
	tests := []struct {
		name string
		cfg  Config
		path string
		want float64
	}{
		{name: "global 20%", cfg: Config{ErrorRate: 0.2, Seed: 7}, path: "/", want: 0.2},
		{name: "global 100%", cfg: Config{ErrorRate: 1, Seed: 7}, path: "/items", want: 1},
		{name: "endpoint 10%", cfg: Config{Seed: 7}, path: "/error?rate=0.1", want: 0.1},
		{name: "endpoint 10% under global 20%", cfg: Config{ErrorRate: 0.2, Seed: 3}, path: "/error?rate=0.1", want: 0.28},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s1, ts1 := startTarget(t, tt.cfg)
			s2, ts2 := startTarget(t, tt.cfg)
			got1 := errorsAfter(t, ts1, tt.path, n)
			got2 := errorsAfter(t, ts2, tt.path, n)
			// Same seed, same number of draws: the same count, whatever the interleaving.
			if got1 != got2 {
				t.Errorf("same seed gave %d and %d errors", got1, got2)
			}
			// The count is fixed by the seed; ±0.04 (4σ at n = 2000) only checks
			// that the draws are fair.
			if rate := float64(got1) / n; rate < tt.want-0.04 || rate > tt.want+0.04 {
				t.Errorf("error rate = %.4f, want %.2f ± 0.04", rate, tt.want)
			}
			if s1.Served() != n || s2.Served() != n {
				t.Errorf("Served() = %d, %d, want %d", s1.Served(), s2.Served(), n)
			}
			if got := s1.Stats().ByStatus[500]; got != uint64(got1) {
				t.Errorf("ByStatus[500] = %d, want %d", got, got1)
			}
		})
	}
}

func TestSetConfigMidRun(t *testing.T) {
	s, ts := startTarget(t, Config{})
	for range 10 {
		if got := call(t, ts.Client(), "GET", ts.URL+"/", "", nil).code; got != 200 {
			t.Fatalf("before the switch: code %d, want 200", got)
		}
	}
	cfg := s.Config()
	cfg.ErrorRate = 1
	if err := s.SetConfig(cfg); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	for range 10 {
		got := call(t, ts.Client(), "POST", ts.URL+"/login", `{"user":"a","password":"secret"}`, nil)
		if got.code != 500 || !strings.Contains(string(got.body), "injected error") {
			t.Fatalf("after the switch: %d %q, want an injected 500", got.code, got.body)
		}
	}
	if st := s.Stats(); st.ByStatus[200] != 10 || st.ByStatus[500] != 10 || st.Served != 20 {
		t.Errorf("stats = %+v, want 10 × 200 and 10 × 500", st)
	}
	if err := s.SetConfig(Config{ErrorRate: 2}); err == nil {
		t.Errorf("SetConfig(error rate 2) succeeded")
	}
	if got := s.Config().ErrorRate; got != 1 {
		t.Errorf("a rejected SetConfig changed the error rate to %v", got)
	}
}

func TestDefaultLatencyApplies(t *testing.T) {
	_, ts := startTarget(t, Config{Latency: Latency{Dist: DistFixed, Fixed: 50 * time.Millisecond}})
	for _, path := range []string{"/", "/items", "/status/404"} {
		start := time.Now()
		call(t, ts.Client(), "GET", ts.URL+path, "", nil)
		if took := time.Since(start); took < 50*time.Millisecond {
			t.Errorf("GET %s took %v, want at least the 50ms default latency", path, took)
		}
	}
	start := time.Now()
	call(t, ts.Client(), "GET", ts.URL+"/_/stats", "", nil)
	if took := time.Since(start); took >= 50*time.Millisecond {
		t.Logf("control endpoint took %v (it has no latency; the machine may be loaded)", took)
	}
}

func TestAbandonedRequestIsNotCounted(t *testing.T) {
	s, ts := startTarget(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/delay?ms=5000", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := ts.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request finished with %d, want a client timeout", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Abandoned == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.Abandoned != 1 || st.Served != 0 {
		t.Errorf("stats = %+v, want 1 abandoned and 0 served", st)
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so allocation counts
// measure the handler alone.
type discardWriter struct {
	header http.Header
	code   int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestServeRootDoesNotAllocate(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := &discardWriter{header: http.Header{}}
	r := httptest.NewRequest("GET", "/", nil)
	allocs := testing.AllocsPerRun(1000, func() {
		clear(w.header)
		s.ServeHTTP(w, r)
	})
	if allocs != 0 || w.code != 200 {
		t.Errorf("ServeHTTP(/) = %d with %v allocations per request, want 200 with 0", w.code, allocs)
	}
}

func BenchmarkServeRoot(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{header: http.Header{}}
		r := httptest.NewRequest("GET", "/", nil)
		for pb.Next() {
			clear(w.header)
			s.ServeHTTP(w, r)
		}
	})
	if s.Served() != uint64(b.N) {
		b.Fatalf("Served() = %d, want %d", s.Served(), b.N)
	}
}

// BenchmarkServeRootHTTP serves / over a real keep-alive connection driven by
// a raw client, so the numbers are mostly net/http's server side. Compare with
// BenchmarkBaselineHTTP, a handler that only writes the same body: the target
// should add no allocations.
func BenchmarkServeRootHTTP(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkHTTP(b, s)
}

func BenchmarkBaselineHTTP(b *testing.B) {
	body := []byte(rootBody)
	benchmarkHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
}

func benchmarkHTTP(b *testing.B, h http.Handler) {
	ts := httptest.NewServer(h)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: target\r\n\r\n")
	br := bufio.NewReader(conn)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestOnceCountsRepeatedIDs: /once/{id} answers 409 to an id that came
// before and counts it; a reset forgets them.
func TestOnceCountsRepeatedIDs(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	codes := []int{}
	for _, id := range []string{"a", "b", "a", "a"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/once/"+id, nil))
		codes = append(codes, rec.Code)
	}
	if st := s.Stats(); fmt.Sprint(codes) != "[200 200 409 409]" || st.OnceIDs != 2 || st.OnceRepeated != 2 {
		t.Fatalf("codes %v, stats %d ids %d repeated", codes, st.OnceIDs, st.OnceRepeated)
	}
	s.Reset()
	if st := s.Stats(); st.OnceIDs != 0 || st.OnceRepeated != 0 {
		t.Fatalf("after a reset: %d ids %d repeated", st.OnceIDs, st.OnceRepeated)
	}
}
