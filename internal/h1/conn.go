package h1

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// conn is one TCP connection with its buffers; it belongs to exactly one
// Do at a time, or to the idle pool.
type conn struct {
	nc          net.Conn
	addr        string
	rd          *reader
	wbuf        []byte
	hasDeadline bool // a deadline is armed and must be cleared if the next request has none
}

func newConn(nc net.Conn, addr string, o *Options) *conn {
	return &conn{
		nc:   nc,
		addr: addr,
		rd:   newReader(nc, o.ReadBufferSize),
		wbuf: make([]byte, 0, o.WriteBufferSize),
	}
}

// exchange writes req and reads the whole response. retryable reports a
// failure before any response byte arrived that a closed idle connection
// explains: a failed write, or EOF/ECONNRESET on the first read.
func (cn *conn) exchange(req *Request, resp *Response, o *Options) (keep, retryable bool, err error) {
	if err := cn.armDeadline(req.Deadline); err != nil {
		return false, false, fmt.Errorf("set deadline: %w", err)
	}
	head, closeAfter, err := appendRequest(cn.wbuf[:0], req, o.UserAgent)
	cn.wbuf = head[:0]
	if err != nil {
		return false, false, err
	}
	cn.rd.resetCounts()
	if err := cn.write(head, req.Body, resp, o.WriteBufferSize); err != nil {
		// A passed deadline would fail the fresh connection just the same.
		return false, !errors.Is(err, os.ErrDeadlineExceeded), fmt.Errorf("write request: %w", err)
	}

	method := req.Method
	if method == "" {
		method = "GET"
	}
	keep, err = readResponse(cn.rd, method, resp, headerCapture{all: req.CaptureHeaders, only: req.CaptureOnly}, captureLimit(req, o))
	resp.BytesReceived = cn.rd.consumed
	if err != nil {
		retryable = cn.rd.arrived == 0 &&
			(errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET))
		return false, retryable, fmt.Errorf("read response: %w", err)
	}
	return keep && !closeAfter, false, nil
}

func captureLimit(req *Request, o *Options) int {
	if !req.CaptureBody {
		return 0
	}
	if req.CaptureMax > 0 && req.CaptureMax < o.MaxBodyCapture {
		return req.CaptureMax
	}
	return o.MaxBodyCapture
}

// armDeadline touches the socket only when needed: SetDeadline is not free
// and most load tests run without per-request deadlines.
func (cn *conn) armDeadline(d time.Time) error {
	if d.IsZero() {
		if !cn.hasDeadline {
			return nil
		}
		cn.hasDeadline = false
		return cn.nc.SetDeadline(time.Time{})
	}
	cn.hasDeadline = true
	return cn.nc.SetDeadline(d)
}

// write sends a small request in one syscall by copying the body behind
// the head; a large body goes in a second write rather than a big copy.
func (cn *conn) write(head, body []byte, resp *Response, bufSize int) error {
	if len(head)+len(body) <= bufSize {
		head = append(head, body...)
		body = nil
	}
	cn.wbuf = head[:0]
	n, err := cn.nc.Write(head)
	resp.BytesSent = int64(n)
	if err != nil || len(body) == 0 {
		return err
	}
	n, err = cn.nc.Write(body)
	resp.BytesSent += int64(n)
	return err
}
