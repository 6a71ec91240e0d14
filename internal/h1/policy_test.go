package h1

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/netpolicy"
)

// listenCounting serves on addr (a loopback address) and counts the
// connections it accepts.
func listenCounting(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen on %s: %v", addr, err)
	}
	var accepted atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String(), &accepted
}

func TestPolicyRefusesBeforeConnecting(t *testing.T) {
	allowedAddr, allowedConns := listenCounting(t, "127.0.0.1:0")
	refusedAddr, refusedConns := listenCounting(t, "127.0.0.2:0")
	policy, err := netpolicy.Parse([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{Policy: policy})
	defer c.Close()
	var resp Response
	deadline := time.Now().Add(5 * time.Second)

	for range 3 {
		if err := c.Do(&Request{Addr: refusedAddr, Deadline: deadline}, &resp); !netpolicy.IsBlocked(err) {
			t.Fatalf("Do to %s: %v, want blocked", refusedAddr, err)
		}
	}
	if err := c.Warm(refusedAddr, 4, deadline); !netpolicy.IsBlocked(err) {
		t.Fatalf("Warm of %s: %v, want blocked", refusedAddr, err)
	}
	if err := c.Warm(allowedAddr, 2, deadline); err != nil {
		t.Fatalf("Warm of %s: %v", allowedAddr, err)
	}
	if err := c.Do(&Request{Addr: allowedAddr, Deadline: deadline}, &resp); err != nil || resp.Status != 200 {
		t.Fatalf("Do to %s: %v, status %d", allowedAddr, err, resp.Status)
	}
	// The server notes a connection after accepting it: wait for the
	// allowed ones, dialed after the refused ones, before counting those.
	for wait := time.Now().Add(5 * time.Second); allowedConns.Load() < 2 && time.Now().Before(wait); {
		time.Sleep(5 * time.Millisecond)
	}
	if dials, _ := c.Stats(); dials != 2 || allowedConns.Load() != 2 {
		t.Errorf("%d dials, %d accepted by the allowed address; want the 2 warmed", dials, allowedConns.Load())
	}
	if n := refusedConns.Load(); n != 0 {
		t.Errorf("the refused address accepted %d connections", n)
	}
}
