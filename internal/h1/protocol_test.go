package h1

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

var bigValue = strings.Repeat("x", 40<<10)

// protocolCases are well-formed exchanges; each runs twice to check
// whether the connection was reused.
var protocolCases = []struct {
	name       string
	method     string
	body       string
	reply      string
	then       after
	wantStatus int
	wantBody   string
	wantHeader map[string]string // captured fields, trailers included
	wantReuse  bool
}{
	{name: "content length", reply: okResponse("hello"), wantStatus: 200, wantBody: "hello", wantReuse: true},
	{name: "no reason phrase", reply: "HTTP/1.1 201\r\nContent-Length: 2\r\n\r\nok", wantStatus: 201, wantBody: "ok", wantReuse: true},
	{
		name:       "chunked with extensions and trailers",
		reply:      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\nA \r\n0123456789\r\n0\r\nX-Sum: 42\r\n\r\n",
		wantStatus: 200, wantBody: "hello world0123456789",
		wantHeader: map[string]string{"transfer-encoding": "chunked", "x-sum": "42"},
		wantReuse:  true,
	},
	{name: "chunked without trailers", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", wantStatus: 200, wantBody: "abc", wantReuse: true},
	{name: "HTTP/1.0 close delimited", reply: "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", then: closeConn, wantStatus: 200, wantBody: "until the end"},
	{name: "HTTP/1.0 keep-alive", reply: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", wantStatus: 200, wantBody: "ok", wantReuse: true},
	{name: "HTTP/1.0 without keep-alive", reply: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", then: closeConn, wantStatus: 200, wantBody: "ok"},
	{name: "HTTP/1.1 close delimited", reply: "HTTP/1.1 200 OK\r\n\r\nrest", then: closeConn, wantStatus: 200, wantBody: "rest"},
	{name: "unknown transfer coding reads to close", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", then: closeConn, wantStatus: 200, wantBody: "zzz"},
	{name: "connection close", reply: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", then: closeConn, wantStatus: 200, wantBody: "ok"},
	{
		name: "100 continue skipped", method: "POST", body: "payload",
		reply:      "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 2\r\n\r\nok",
		wantStatus: 200, wantBody: "ok",
		wantHeader: map[string]string{"x-final": "1", "content-length": "2"},
		wantReuse:  true,
	},
	{name: "204 ignores content length", reply: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", wantStatus: 204, wantReuse: true},
	{name: "304 has no body", reply: "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n", wantStatus: 304, wantReuse: true},
	{name: "HEAD has no body", method: "HEAD", reply: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", wantStatus: 200, wantReuse: true},
	{name: "chunked wins over content length, then close", reply: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", wantStatus: 200, wantBody: "ok"},
	{name: "bare LF line endings", reply: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", wantStatus: 200, wantBody: "ok", wantReuse: true},
	{name: "long header line grows the buffer", reply: "HTTP/1.1 200 OK\r\nX-Big: " + bigValue + "\r\nContent-Length: 2\r\n\r\nok", wantStatus: 200, wantBody: "ok", wantReuse: true},
	{name: "POST body", method: "POST", body: strings.Repeat("b", 10<<10), reply: okResponse("done"), wantStatus: 200, wantBody: "done", wantReuse: true},
	{name: "PUT empty body", method: "PUT", reply: okResponse(""), wantStatus: 200, wantReuse: true},
}

func TestProtocol(t *testing.T) {
	tests := protocolCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRawServer(t, func(int, *http.Request) (string, after) { return tt.reply, tt.then })
			c := New(Options{})
			t.Cleanup(c.Close)
			req := &Request{Method: tt.method, Addr: srv.addr, Target: "/x?y=1", Body: []byte(tt.body), CaptureBody: true, CaptureHeaders: true}
			var resp Response
			for i := range 2 {
				sentBefore := srv.bytesRead.Load()
				if err := c.Do(req, &resp); err != nil {
					t.Fatalf("Do #%d: %v", i+1, err)
				}
				if resp.Status != tt.wantStatus || string(resp.Body) != tt.wantBody {
					t.Fatalf("Do #%d: got %d %q, want %d %q", i+1, resp.Status, resp.Body, tt.wantStatus, tt.wantBody)
				}
				if got, want := resp.BytesReceived, int64(len(tt.reply)); got != want {
					t.Errorf("BytesReceived = %d, server wrote %d", got, want)
				}
				if got, want := resp.BytesSent, srv.bytesRead.Load()-sentBefore; got != want {
					t.Errorf("BytesSent = %d, server read %d", got, want)
				}
				for name, want := range tt.wantHeader {
					if got := resp.Get(name); got != want {
						t.Errorf("Get(%q) = %q, want %q", name, got, want)
					}
				}
			}
			wantDials := uint64(2)
			if tt.wantReuse {
				wantDials = 1
			}
			if dials, _ := c.Stats(); dials != wantDials {
				t.Errorf("dials = %d, want %d (reuse %v)", dials, wantDials, tt.wantReuse)
			}
			if got := srv.requests.Load(); got != 2 {
				t.Errorf("server saw %d requests, want 2", got)
			}
		})
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   string
		then    after
		wantErr error
	}{
		{name: "bad status code", reply: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: ErrProtocol},
		{name: "not HTTP", reply: "SSH-2.0-OpenSSH_9.6\r\n", wantErr: ErrProtocol},
		{name: "HTTP/2 preface", reply: "HTTP/2 200\r\n\r\n", wantErr: ErrProtocol},
		{name: "status below 100", reply: "HTTP/1.1 099 Low\r\n\r\n", wantErr: ErrProtocol},
		{name: "header without colon", reply: "HTTP/1.1 200 OK\r\nBroken\r\n\r\n", wantErr: ErrProtocol},
		{name: "space before colon", reply: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", wantErr: ErrProtocol},
		{name: "obsolete folding", reply: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", wantErr: ErrProtocol},
		{name: "bad content length", reply: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: ErrProtocol},
		{name: "conflicting content lengths", reply: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", wantErr: ErrProtocol},
		{name: "bad chunk size", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: ErrProtocol},
		{name: "chunk longer than its size", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n", wantErr: ErrProtocol},
		{name: "oversized headers", reply: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("f", 1000)+"\r\n", 70) + "\r\n", wantErr: ErrHeaderTooLarge},
		{name: "oversized header line", reply: "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n", wantErr: ErrHeaderTooLarge},
		{name: "oversized trailers", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + strings.Repeat("X-T: "+strings.Repeat("t", 1000)+"\r\n", 70) + "\r\n", wantErr: ErrHeaderTooLarge},
		{name: "truncated body", reply: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", then: closeConn, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated headers", reply: "HTTP/1.1 200 OK\r\nContent-", then: closeConn, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated chunk", reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", then: closeConn, wantErr: io.ErrUnexpectedEOF},
		{name: "closed without answer", reply: "", then: closeConn, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRawServer(t, func(int, *http.Request) (string, after) { return tt.reply, tt.then })
			c := New(Options{})
			t.Cleanup(c.Close)
			var resp Response
			err := c.Do(&Request{Addr: srv.addr, Target: "/"}, &resp)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Do error = %v, want it to wrap %v", err, tt.wantErr)
			}
			// A fresh connection is never retried and never pooled.
			if dials, reuses := c.Stats(); dials != 1 || reuses != 0 {
				t.Errorf("Stats = %d dials, %d reuses; want 1, 0", dials, reuses)
			}
			if err := c.Do(&Request{Addr: srv.addr, Target: "/"}, &resp); err == nil {
				t.Fatal("second Do succeeded; want the same failure on a new connection")
			}
			if dials, _ := c.Stats(); dials != 2 {
				t.Errorf("dials after failure = %d, want 2: a failed connection must not be reused", dials)
			}
		})
	}
}
