package h1

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func addrOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func TestRequestHeaders(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		wantHost string
		wantUA   string
		wantLen  string
		wantBody string
	}{
		{name: "defaults", req: Request{}, wantHost: "", wantUA: "barrage"},
		{name: "host and body", req: Request{Method: "POST", Host: "example.test", Body: []byte("abc")}, wantHost: "example.test", wantUA: "barrage", wantLen: "3", wantBody: "abc"},
		{name: "empty POST gets length 0", req: Request{Method: "POST"}, wantUA: "barrage", wantLen: "0"},
		{
			name: "caller headers replace the client's",
			req: Request{Method: "PUT", Body: []byte("abc"), Header: []Header{
				{Name: "host", Value: "h.test"}, {Name: "User-Agent", Value: "me"}, {Name: "content-length", Value: "3"},
			}},
			wantHost: "h.test", wantUA: "me", wantLen: "3", wantBody: "abc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var gotBody string
			srv := startRawServer(t, func(_ int, r *http.Request) (string, after) {
				got = r
				b, _ := io.ReadAll(r.Body)
				gotBody = string(b)
				return okResponse(""), stay
			})
			c := New(Options{})
			t.Cleanup(c.Close)
			req := tt.req
			req.Addr = srv.addr
			if err := c.Do(&req, &Response{}); err != nil {
				t.Fatalf("Do: %v", err)
			}
			wantHost := tt.wantHost
			if wantHost == "" {
				wantHost = srv.addr
			}
			if got.Host != wantHost || got.UserAgent() != tt.wantUA || got.Header.Get("Content-Length") != tt.wantLen {
				t.Errorf("server saw Host %q UA %q Content-Length %q; want %q %q %q",
					got.Host, got.UserAgent(), got.Header.Get("Content-Length"), wantHost, tt.wantUA, tt.wantLen)
			}
			if gotBody != tt.wantBody {
				t.Errorf("server read body %q, want %q", gotBody, tt.wantBody)
			}
		})
	}
}

func TestInvalidRequest(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{name: "CRLF in target", req: Request{Target: "/a HTTP/1.1\r\nX: y"}},
		{name: "space in method", req: Request{Method: "G ET"}},
		{name: "LF in header value", req: Request{Header: []Header{{Name: "X", Value: "a\nb"}}}},
		{name: "colon in header name", req: Request{Header: []Header{{Name: "X:Y", Value: "a"}}}},
		{name: "CR in host", req: Request{Host: "h\r"}},
	}
	srv := startRawServer(t, func(int, *http.Request) (string, after) { return okResponse(""), stay })
	c := New(Options{})
	t.Cleanup(c.Close)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Addr = srv.addr
			if err := c.Do(&req, &Response{}); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Do error = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}

func TestCaptureWithHTTPTest(t *testing.T) {
	body := strings.Repeat("0123456789", 10_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("X-Path", r.URL.RequestURI())
		if r.URL.Query().Get("chunked") != "" {
			io.WriteString(w, body[:50_000])
			w.(http.Flusher).Flush()
			io.WriteString(w, body[50_000:])
			return
		}
		w.Header().Set("Content-Length", "100000")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := New(Options{MaxBodyCapture: 10})
	t.Cleanup(c.Close)

	tests := []struct {
		name   string
		target string
	}{
		{name: "content length", target: "/p?q=1"},
		{name: "chunked", target: "/p?chunked=1"},
	}
	var resp Response
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &Request{Addr: addrOf(srv), Target: tt.target, CaptureBody: true, CaptureHeaders: true}
			if err := c.Do(req, &resp); err != nil {
				t.Fatalf("Do: %v", err)
			}
			if string(resp.Body) != "0123456789" {
				t.Errorf("Body = %q, want the first 10 bytes", resp.Body)
			}
			if resp.BytesReceived <= int64(len(body)) {
				t.Errorf("BytesReceived = %d, want more than the %d-byte body", resp.BytesReceived, len(body))
			}
			if got := resp.Get("x-PATH"); got != tt.target {
				t.Errorf("Get(x-PATH) = %q, want %q", got, tt.target)
			}
			if got := resp.Values("set-cookie"); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
				t.Errorf("Values(set-cookie) = %q", got)
			}
		})
	}

	// Captured strings must survive the next Do reusing the Response.
	kept := resp.Get("X-Path")
	if err := c.Do(&Request{Addr: addrOf(srv), Target: "/other", CaptureHeaders: true}, &resp); err != nil {
		t.Fatalf("Do: %v", err)
	}
	if kept != "/p?chunked=1" || resp.Get("X-Path") != "/other" || len(resp.Body) != 0 {
		t.Errorf("kept %q, now %q, body %d bytes", kept, resp.Get("X-Path"), len(resp.Body))
	}
	if dials, reuses := c.Stats(); dials != 1 || reuses != 2 {
		t.Errorf("Stats = %d dials, %d reuses; want 1, 2", dials, reuses)
	}
}

func TestConcurrentDo(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	c := New(Options{})
	t.Cleanup(c.Close)

	const workers, perWorker = 50, 200
	var wg sync.WaitGroup
	var failed, received atomic.Int64
	for range workers {
		wg.Go(func() {
			req := &Request{Addr: addrOf(srv), Target: "/"}
			var resp Response
			for range perWorker {
				if err := c.Do(req, &resp); err != nil || resp.Status != 200 {
					failed.Add(1)
					continue
				}
				received.Add(resp.BytesReceived)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || served.Load() != workers*perWorker {
		t.Errorf("failed %d, served %d; want 0, %d", failed.Load(), served.Load(), workers*perWorker)
	}
	if dials, reuses := c.Stats(); dials > workers || dials+reuses != workers*perWorker {
		t.Errorf("Stats = %d dials, %d reuses; want at most %d dials summing to %d", dials, reuses, workers, workers*perWorker)
	}
}

func TestDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	c := New(Options{})
	t.Cleanup(c.Close)
	err = c.Do(&Request{Addr: closedAddr}, &Response{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Do to a closed port: %v, want ECONNREFUSED", err)
	}
	// An empty label and the .onion suffix (RFC 7686) make resolvers fail
	// without sending a query: tests talk to 127.0.0.1 only.
	err = c.Do(&Request{Addr: "bad..name.onion:80"}, &Response{})
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Errorf("Do to an unresolvable host: %v, want *net.DNSError", err)
	}
}

// silentServer accepts and reads but never answers.
func silentServer(t *testing.T) *rawServer {
	return startRawServer(t, func(int, *http.Request) (string, after) {
		<-t.Context().Done()
		return "", closeConn
	})
}

func TestDeadline(t *testing.T) {
	srv := silentServer(t)
	c := New(Options{})
	t.Cleanup(c.Close)
	start := time.Now()
	err := c.Do(&Request{Addr: srv.addr, Deadline: time.Now().Add(50 * time.Millisecond)}, &Response{})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Do error = %v, want os.ErrDeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Do took %v with a 50ms deadline", elapsed)
	}
}

// A deadline armed for one request must not linger on the pooled
// connection and fail a later request that has none.
func TestDeadlineClearedOnReuse(t *testing.T) {
	srv := startRawServer(t, func(n int, _ *http.Request) (string, after) {
		if n == 2 {
			time.Sleep(100 * time.Millisecond)
		}
		return okResponse("ok"), stay
	})
	c := New(Options{})
	t.Cleanup(c.Close)
	if err := c.Do(&Request{Addr: srv.addr, Deadline: time.Now().Add(50 * time.Millisecond)}, &Response{}); err != nil {
		t.Fatalf("first Do: %v", err)
	}
	if err := c.Do(&Request{Addr: srv.addr}, &Response{}); err != nil {
		t.Fatalf("second Do without deadline: %v", err)
	}
	if _, reuses := c.Stats(); reuses != 1 {
		t.Errorf("reuses = %d, want 1", reuses)
	}
}

func TestCloseInterruptsDo(t *testing.T) {
	srv := silentServer(t)
	c := New(Options{})
	const inflight = 5
	errs := make(chan error, inflight)
	for range inflight {
		go func() { errs <- c.Do(&Request{Addr: srv.addr}, &Response{}) }()
	}
	waitFor(t, "requests to reach the server", func() bool { return srv.requests.Load() == inflight })

	start := time.Now()
	c.Close()
	for range inflight {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("interrupted Do error = %v, want ErrClosed", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Do still blocked 2s after Close")
		}
	}
	t.Logf("in-flight Do calls returned %v after Close", time.Since(start))
	if err := c.Do(&Request{Addr: srv.addr}, &Response{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
}
