package api

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stallConn passes its first write through and then stalls every write
// until its write deadline passes: a client that stopped reading.
type stallConn struct {
	net.Conn
	writes   atomic.Int32
	mu       sync.Mutex
	deadline time.Time
	closed   bool
}

func (c *stallConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *stallConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *stallConn) Write(b []byte) (int, error) {
	if c.writes.Add(1) == 1 {
		return c.Conn.Write(b)
	}
	for {
		c.mu.Lock()
		d, closed := c.deadline, c.closed
		c.mu.Unlock()
		if !d.IsZero() && time.Now().After(d) {
			return 0, os.ErrDeadlineExceeded
		}
		if closed {
			return 0, net.ErrClosed
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type stallListener struct{ net.Listener }

func (l stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: c}, nil
}

// TestSSEWriteDeadline: a live stream whose client stops reading ends at
// the write deadline instead of holding its handler for the whole run.
func TestSSEWriteDeadline(t *testing.T) {
	old := sseWriteTimeout
	sseWriteTimeout = 300 * time.Millisecond
	t.Cleanup(func() { sseWriteTimeout = old })
	f := newHandlerFixture(t)
	ended := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.s.Handler().ServeHTTP(w, r)
		close(ended)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = stallListener{ln}
	srv.Start()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/runs/"+f.running.ID+"/metrics", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, _ := bufio.NewReader(resp.Body).ReadString('\n'); !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("first line %q", line)
	}
	start := time.Now()
	select {
	case <-ended:
		t.Logf("the stalled stream's handler ended %v after its first write", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		srv.CloseClientConnections() // so that the cleanup's Close does not wait for it
		t.Fatal("the handler of a stream whose client stopped reading is still running after 5 s")
	}
}
