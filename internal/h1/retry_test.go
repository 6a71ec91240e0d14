package h1

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// A server that closes a keep-alive connection while it sits idle in the
// pool must cost the caller nothing: Do retries once on a fresh connection
// and the server sees the request exactly once.
func TestRetryStaleIdleConnection(t *testing.T) {
	tests := []struct {
		name string
		then after
	}{
		{name: "FIN", then: closeConn},
		{name: "RST", then: resetConn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRawServer(t, func(n int, _ *http.Request) (string, after) {
				if n == 1 {
					return okResponse("first"), tt.then
				}
				return okResponse("second"), stay
			})
			c := New(Options{})
			t.Cleanup(c.Close)
			req := &Request{Addr: srv.addr, Target: "/", CaptureBody: true}
			var resp Response
			if err := c.Do(req, &resp); err != nil {
				t.Fatalf("first Do: %v", err)
			}
			waitFor(t, "the server to close the idle connection", func() bool { return srv.closed.Load() == 1 })
			time.Sleep(10 * time.Millisecond) // let the FIN or RST reach the client's socket

			sentBefore := srv.bytesRead.Load()
			if err := c.Do(req, &resp); err != nil {
				t.Fatalf("Do on a stale connection: %v", err)
			}
			if string(resp.Body) != "second" {
				t.Errorf("Body = %q, want %q", resp.Body, "second")
			}
			if got := srv.requests.Load(); got != 2 {
				t.Errorf("server saw %d complete requests, want 2 (one per Do)", got)
			}
			if got, want := resp.BytesSent, srv.bytesRead.Load()-sentBefore; got != want {
				t.Errorf("BytesSent = %d, server read %d", got, want)
			}
			if dials, reuses := c.Stats(); dials != 2 || reuses != 1 {
				t.Errorf("Stats = %d dials, %d reuses; want 2, 1", dials, reuses)
			}
		})
	}
}

// Once response bytes arrived the server has acted on the request, so a
// failure then must surface instead of sending the request again.
func TestNoRetryAfterResponseBytes(t *testing.T) {
	srv := startRawServer(t, func(n int, _ *http.Request) (string, after) {
		if n == 1 {
			return okResponse("ok"), stay
		}
		return "HTTP/1.1 200 OK\r\nContent-Le", closeConn
	})
	c := New(Options{})
	t.Cleanup(c.Close)
	req := &Request{Addr: srv.addr, Target: "/"}
	if err := c.Do(req, &Response{}); err != nil {
		t.Fatalf("first Do: %v", err)
	}
	err := c.Do(req, &Response{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Do error = %v, want io.ErrUnexpectedEOF", err)
	}
	if dials, reuses := c.Stats(); dials != 1 || reuses != 1 {
		t.Errorf("Stats = %d dials, %d reuses; want 1, 1 (no retry)", dials, reuses)
	}
	if got := srv.requests.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
}

func TestIdlePoolCap(t *testing.T) {
	srv := startRawServer(t, func(int, *http.Request) (string, after) { return okResponse("ok"), stay })
	c := New(Options{MaxIdlePerAddr: 1})
	t.Cleanup(c.Close)
	// Two connections in use at once, then both returned: one must close.
	a, b := &Request{Addr: srv.addr}, &Request{Addr: srv.addr}
	cnA, _, err := c.acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	cnB, _, err := c.acquire(b)
	if err != nil {
		t.Fatal(err)
	}
	c.release(cnA)
	c.release(cnB)
	c.mu.Lock()
	idle, open := len(c.idle[srv.addr].conns), len(c.conns)
	c.mu.Unlock()
	if idle != 1 || open != 1 {
		t.Errorf("idle %d, open %d; want 1, 1", idle, open)
	}
}

func TestDoAllocs(t *testing.T) {
	addr := startFixedServer(t, okResponse("hello"))
	far := time.Now().Add(time.Hour)
	tests := []struct {
		name       string
		req        Request
		wantAllocs float64
	}{
		{name: "GET", req: Request{Addr: addr, Target: "/"}},
		{name: "GET with deadline", req: Request{Addr: addr, Target: "/a?b=c", Deadline: far}},
		{name: "POST with headers", req: Request{Method: "POST", Addr: addr, Target: "/", Body: []byte(`{"k":1}`),
			Header: []Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Authorization", Value: "Bearer x"}}}},
		{name: "capture body", req: Request{Addr: addr, Target: "/", CaptureBody: true}},
		// The one allocation is the string backing the captured fields,
		// which keeps them valid after the next Do.
		{name: "capture headers", req: Request{Addr: addr, Target: "/", CaptureHeaders: true}, wantAllocs: 1},
	}
	c := New(Options{})
	t.Cleanup(c.Close)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp Response
			var err error
			allocs := testing.AllocsPerRun(1000, func() {
				if e := c.Do(&tt.req, &resp); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if allocs != tt.wantAllocs {
				t.Errorf("%v allocations per Do, want %v", allocs, tt.wantAllocs)
			}
		})
	}
}
