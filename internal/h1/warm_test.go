package h1

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestWarmOpensIdleConnections(t *testing.T) {
	var accepted atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	c := New(Options{})
	defer c.Close()
	if err := c.Warm(addr, 8, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	var resp Response
	for range 8 {
		if err := c.Do(&Request{Addr: addr}, &resp); err != nil {
			t.Fatal(err)
		}
	}
	if dials, reuses := c.Stats(); dials != 8 || reuses != 8 || accepted.Load() != 8 {
		t.Fatalf("dials %d reuses %d accepted %d, want 8 warm connections reused", dials, reuses, accepted.Load())
	}
	if err := c.Warm("127.0.0.1:1", 1, time.Now().Add(time.Second)); err == nil {
		t.Fatal("warming an address nobody listens on succeeded")
	}
}

func TestCaptureOnlyKeepsTheNamedHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Other", "1")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Location", "/x")
	}))
	defer srv.Close()
	c := New(Options{})
	defer c.Close()
	var resp Response
	req := &Request{Addr: srv.Listener.Addr().String(), CaptureOnly: []string{"set-cookie", "location"}}
	if err := c.Do(req, &resp); err != nil {
		t.Fatal(err)
	}
	if got := resp.Values("Set-Cookie"); len(got) != 2 || resp.Get("Location") != "/x" || resp.Get("X-Other") != "" || len(resp.Header) != 3 {
		t.Fatalf("captured %+v", resp.Header)
	}
}
