package httpserve

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, o Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }), o)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestSlowlorisClosed: a client that sends its header a line at a time,
// never finishing it, is cut off at the header timeout.
func TestSlowlorisClosed(t *testing.T) {
	addr := serve(t, Options{HeaderTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, c) // returns when the server closes
		closed <- time.Since(start)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case took := <-closed:
			t.Logf("slowloris connection closed after %s (%d header lines sent)", took.Round(time.Millisecond), i)
			if took > 2*time.Second {
				t.Fatalf("closed after %s, header timeout 300ms", took)
			}
			return
		case <-tick.C:
			_, _ = io.WriteString(c, "X-Drip: 1\r\n")
		case <-time.After(5 * time.Second):
			t.Fatal("a slowloris connection is still open after 5 s (header timeout 300ms)")
		}
	}
}

// TestHeaderTooLarge: a header block over the limit gets 431, and a normal
// request on the same server still works.
func TestHeaderTooLarge(t *testing.T) {
	addr := serve(t, Options{MaxHeaderBytes: 4 << 10})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 64<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if resp == nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized header: %+v", resp)
	}
	ok, err := http.Get("http://" + addr + "/")
	if err != nil || ok.StatusCode != http.StatusOK {
		t.Fatalf("a normal request after it: %v %v", ok, err)
	}
	ok.Body.Close()
}
