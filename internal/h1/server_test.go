package h1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// after says what a scripted server does once it wrote its reply.
type after int

const (
	stay      after = iota // keep reading requests on the connection
	closeConn              // close with FIN
	resetConn              // close with RST (SO_LINGER 0)
)

// replyFunc scripts the exact bytes of the n-th response (counted from 1
// across connections) to a request that net/http's own parser accepted.
type replyFunc func(n int, req *http.Request) (out string, then after)

// rawServer is a byte-exact HTTP/1.1 peer: it checks the client's requests
// with http.ReadRequest and counts what it read, so tests compare the
// client's accounting against the other end of a real socket.
type rawServer struct {
	addr      string
	requests  atomic.Int64 // complete requests parsed
	bytesRead atomic.Int64
	accepted  atomic.Int64
	closed    atomic.Int64 // connections the server closed itself

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startRawServer(t *testing.T, reply replyFunc) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &rawServer{addr: ln.Addr().String(), conns: make(map[net.Conn]struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c, reply)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *rawServer) serve(c net.Conn, reply replyFunc) {
	defer c.Close()
	br := bufio.NewReader(countingReader{r: c, n: &s.bytesRead})
	for range 100_000 {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body)) // let reply inspect it
		out, then := reply(int(s.requests.Add(1)), req)
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
		switch then {
		case closeConn:
			s.closed.Add(1)
			return
		case resetConn:
			c.(*net.TCPConn).SetLinger(0)
			s.closed.Add(1)
			return
		}
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// startFixedServer answers every request with the same bytes and allocates
// nothing per request, so allocation counts and benchmarks see only the
// client. It assumes bodiless requests, which is all its callers send.
func startFixedServer(tb testing.TB, response string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	out := []byte(response)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serveFixed(c, out)
			}()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serveFixed writes out once per "\r\n\r\n" seen, tracking a terminator
// split across reads; the loop ends when the client closes.
func serveFixed(c net.Conn, out []byte) {
	const end = "\r\n\r\n"
	buf := make([]byte, 16<<10)
	matched := 0
	for {
		n, err := c.Read(buf)
		for _, b := range buf[:n] {
			switch {
			case b == end[matched]:
				matched++
			case b == '\r':
				matched = 1
			default:
				matched = 0
			}
			if matched == len(end) {
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
}

// waitFor polls cond for up to two seconds; the servers report state
// changes from their own goroutines.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func okResponse(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}
