package h1

import (
	"errors"
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
	// The dials completed in the kernel's backlog; the server's accept loop
	// may take them a little later on a busy machine.
	for deadline := time.Now().Add(5 * time.Second); accepted.Load() < 8 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
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

// blockingServer answers /hold only when release is closed (/hold-close
// too, and then closes the connection), anything else at once, and counts
// the connections it accepted.
func blockingServer(t *testing.T) (addr string, release chan struct{}, accepted *atomic.Int64) {
	t.Helper()
	release = make(chan struct{})
	accepted = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold":
			<-release
		case "/hold-close":
			<-release
			w.Header().Set("Connection", "close")
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), release, accepted
}

// waiters reports how many requests are queued for a connection to addr.
func waiters(c *Client, addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.idle[addr]; l != nil {
		return len(l.waiters)
	}
	return 0
}

func TestBusyWarmPoolHandsBackConnectionsBeforeDialing(t *testing.T) {
	defer func(d time.Duration) { dialWait = d }(dialWait)
	dialWait = 10 * time.Second // the hand-over must not race the timer
	addr, release, accepted := blockingServer(t)
	c := New(Options{})
	defer c.Close()
	if err := c.Warm(addr, 1, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- c.Do(&Request{Addr: addr, Target: "/hold"}, &Response{}) }()
	waitFor(t, "the warm connection to be taken", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.idle[addr].conns) == 0
	})
	second := make(chan error, 1)
	go func() { second <- c.Do(&Request{Addr: addr, Target: "/"}, &Response{}) }()
	waitFor(t, "the second request to queue", func() bool { return waiters(c, addr) == 1 })
	close(release)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if dials, reuses := c.Stats(); dials != 1 || reuses != 2 || accepted.Load() != 1 {
		t.Fatalf("dials %d reuses %d accepted %d: the queued request should have got the warm connection", dials, reuses, accepted.Load())
	}
}

func TestBusyWarmPoolDialsAfterTheWait(t *testing.T) {
	addr, release, accepted := blockingServer(t)
	defer close(release)
	c := New(Options{})
	defer c.Close()
	if err := c.Warm(addr, 1, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	go c.Do(&Request{Addr: addr, Target: "/hold"}, &Response{})
	waitFor(t, "the warm connection to be taken", func() bool { return accepted.Load() == 1 && waiters(c, addr) == 0 && c.idleCount(addr) == 0 })
	start := time.Now()
	if err := c.Do(&Request{Addr: addr, Target: "/"}, &Response{}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < dialWait {
		t.Errorf("dialed after %v, before the %v wait", waited, dialWait)
	}
	if dials, _ := c.Stats(); dials != 2 || accepted.Load() != 2 || waiters(c, addr) != 0 {
		t.Fatalf("dials %d accepted %d waiters %d: a request should dial its own connection once the wait is over", dials, accepted.Load(), waiters(c, addr))
	}
}

func TestCloseWakesQueuedRequests(t *testing.T) {
	defer func(d time.Duration) { dialWait = d }(dialWait)
	dialWait = 10 * time.Second
	addr, release, _ := blockingServer(t)
	defer close(release)
	c := New(Options{})
	if err := c.Warm(addr, 1, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	go c.Do(&Request{Addr: addr, Target: "/hold"}, &Response{})
	waitFor(t, "the warm connection to be taken", func() bool { return c.idleCount(addr) == 0 })
	queued := make(chan error, 1)
	go func() { queued <- c.Do(&Request{Addr: addr, Target: "/"}, &Response{}) }()
	waitFor(t, "the request to queue", func() bool { return waiters(c, addr) == 1 })
	c.Close()
	select {
	case err := <-queued:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("queued request ended with %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close left a queued request waiting")
	}
}

func TestWarmTwiceOrConcurrentlyOpensNOnce(t *testing.T) {
	addr, release, accepted := blockingServer(t)
	defer close(release)
	c := New(Options{})
	defer c.Close()
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- c.Warm(addr, 100, time.Now().Add(5*time.Second)) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Warm(addr, 100, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if dials, _ := c.Stats(); dials != 100 || c.idleCount(addr) != 100 {
		t.Fatalf("dials %d idle %d, want exactly 100 warm connections after warming three times", dials, c.idleCount(addr))
	}
	waitFor(t, "the server to accept them all", func() bool { return accepted.Load() == 100 })
}

func TestQueuedRequestDialsAtOnceWhenAWarmConnectionCloses(t *testing.T) {
	defer func(d time.Duration) { dialWait = d }(dialWait)
	dialWait = 10 * time.Second // only the closed connection may wake it
	addr, release, accepted := blockingServer(t)
	c := New(Options{})
	defer c.Close()
	if err := c.Warm(addr, 1, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- c.Do(&Request{Addr: addr, Target: "/hold-close"}, &Response{}) }()
	waitFor(t, "the warm connection to be taken", func() bool { return c.idleCount(addr) == 0 })
	queued := make(chan error, 1)
	go func() { queued <- c.Do(&Request{Addr: addr, Target: "/"}, &Response{}) }()
	waitFor(t, "the request to queue", func() bool { return waiters(c, addr) == 1 })
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-queued:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the queued request still waits although the connection it waited for was closed")
	}
	if dials, _ := c.Stats(); dials != 2 || accepted.Load() != 2 {
		t.Fatalf("dials %d accepted %d, want the queued request to dial its own", dials, accepted.Load())
	}
}

// Many requests racing for a small warm pool with a very short wait: every
// connection a waiter was handed must be used, none may leak (counted open
// but neither idle nor in use) once all requests are done.
func TestPoolAccountingUnderContention(t *testing.T) {
	defer func(d time.Duration) { dialWait = d }(dialWait)
	dialWait = 20 * time.Microsecond
	addr, release, _ := blockingServer(t)
	close(release)
	c := New(Options{})
	defer c.Close()
	if err := c.Warm(addr, 4, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	const workers, each = 64, 30
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var resp Response
			for range each {
				if err := c.Do(&Request{Addr: addr, Target: "/"}, &resp); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	dials, reuses := c.Stats()
	c.mu.Lock()
	l := c.idle[addr]
	open, idle, dialing, queued := l.open, len(l.conns), l.dialing, len(l.waiters)
	c.mu.Unlock()
	if open != idle || dialing != 0 || queued != 0 || int(dials) != open || dials+reuses < workers*each {
		t.Fatalf("open %d idle %d dialing %d queued %d dials %d reuses %d after %d requests", open, idle, dialing, queued, dials, reuses, workers*each)
	}
}
