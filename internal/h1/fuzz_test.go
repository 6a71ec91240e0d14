package h1

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzResponse feeds arbitrary bytes as a server's answer. Whatever arrives,
// the parser must not panic, must stop within the deadline, and must never
// report more bytes or body than it was given.
func FuzzResponse(f *testing.F) {
	seeds := []string{
		okResponse("hello"),
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nclose delimited",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\nContent-Length: 1\n\nx",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"\r\n\r\n",
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		cli, srv := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			go io.Copy(io.Discard, srv) // drain the request; ends when srv closes
			srv.Write(data)             // returns once the client read it all or closed
			srv.Close()
		}()
		o := Options{}.withDefaults()
		o.MaxBodyCapture = 16
		cn := newConn(cli, "pipe", &o)
		req := &Request{Addr: "pipe", Deadline: time.Now().Add(2 * time.Second), CaptureBody: true, CaptureHeaders: true}
		if head {
			req.Method = "HEAD"
		}
		var resp Response
		start := time.Now()
		_, _, err := cn.exchange(req, &resp, &o)
		resp.publishHeaders()
		cli.Close()
		<-done
		if time.Since(start) > 3*time.Second {
			t.Fatalf("exchange took %v despite a 2s deadline", time.Since(start))
		}
		if resp.BytesReceived > int64(len(data)) {
			t.Fatalf("BytesReceived %d > %d bytes sent", resp.BytesReceived, len(data))
		}
		if len(resp.Body) > o.MaxBodyCapture {
			t.Fatalf("captured %d body bytes, limit %d", len(resp.Body), o.MaxBodyCapture)
		}
		if err == nil && (resp.Status < 100 || resp.Status > 999) {
			t.Fatalf("status %d accepted", resp.Status)
		}
	})
}
