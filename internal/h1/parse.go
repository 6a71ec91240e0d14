package h1

import (
	"bytes"
	"errors"
	"io"
	"math"
)

const (
	// maxHeaderBytes bounds the status line and header fields of one
	// response (interim responses included), and separately its trailers.
	maxHeaderBytes = 64 << 10
	// maxChunkLine bounds a chunk-size line with its extensions.
	maxChunkLine = 4 << 10
	// maxBodyLength keeps Content-Length and chunk sizes far from overflow.
	maxBodyLength = math.MaxInt64 >> 2
)

var errLineTooLong = errors.New("line too long")

// framing is what the header section says about the body and the
// connection's fate.
type framing struct {
	http10        bool
	contentLength int64 // -1 when absent
	chunked       bool  // Transfer-Encoding ends in chunked
	otherTE       bool  // Transfer-Encoding present but not chunked-final
	connClose     bool
	connKeepAlive bool
}

// readResponse reads one complete response for a request with the given
// method, keeping headers when capture is set and up to maxCapture body
// bytes. keep reports whether the connection may carry another request.
func readResponse(rd *reader, method string, resp *Response, capture headerCapture, maxCapture int) (keep bool, err error) {
	start := rd.consumed
	var f framing
	for {
		f, err = readHead(rd, resp, capture, start)
		if err != nil {
			return false, err
		}
		if resp.Status >= 200 || resp.Status == 101 {
			break
		}
		// Interim responses (100 Continue, 103 Early Hints) only announce
		// the final one; their fields are not the response's.
		resp.scratch = resp.scratch[:0]
		resp.spans = resp.spans[:0]
	}

	sink := bodySink{resp: resp, capture: maxCapture > 0, max: maxCapture}
	switch {
	case method == "HEAD" || resp.Status < 200 || resp.Status == 204 || resp.Status == 304:
	case f.chunked:
		err = readChunked(rd, resp, capture, &sink)
	case f.otherTE || f.contentLength < 0:
		return false, readUntilEOF(rd, &sink)
	default:
		err = readFixed(rd, f.contentLength, &sink)
	}
	if err != nil {
		return false, err
	}
	keep = !f.connClose && !f.otherTE && resp.Status != 101 &&
		(!f.http10 || f.connKeepAlive) &&
		!(f.chunked && f.contentLength >= 0) && // RFC 9112 6.3: close after both
		rd.buffered() == 0 // stray bytes would be misread as the next response
	return keep, nil
}

// readHead reads a status line and its header fields. start is where this
// response began, so interim responses share the header bound.
func readHead(rd *reader, resp *Response, capture headerCapture, start int64) (framing, error) {
	f := framing{contentLength: -1}
	line, err := rd.readLine(headerBudget(rd, start))
	if err != nil {
		return f, lineErr(err)
	}
	resp.Status, f.http10, err = parseStatusLine(line)
	if err != nil {
		return f, err
	}
	return f, readFields(rd, resp, capture, start, &f)
}

func headerBudget(rd *reader, start int64) int {
	return maxHeaderBytes - int(rd.consumed-start)
}

// lineErr maps reader errors met inside a header section: the peer
// closing there always truncates the response.
func lineErr(err error) error {
	switch {
	case errors.Is(err, errLineTooLong):
		return ErrHeaderTooLarge
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseStatusLine accepts "HTTP/1.x NNN[ reason]".
func parseStatusLine(line []byte) (status int, http10 bool, err error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false, protoErr("bad status line %q", clip(line))
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, false, protoErr("bad status code in %q", clip(line))
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, false, protoErr("bad status code in %q", clip(line))
	}
	return status, line[7] == '0', nil
}

// readFields reads header or trailer fields up to the empty line. f is nil
// for trailers, whose framing fields must not change how the body was read.
func readFields(rd *reader, resp *Response, capture headerCapture, start int64, f *framing) error {
	for {
		budget := headerBudget(rd, start)
		if budget <= 0 {
			return ErrHeaderTooLarge
		}
		line, err := rd.readLine(budget)
		if err != nil {
			return lineErr(err)
		}
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return protoErr("obsolete line folding in %q", clip(line))
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validToken(line[:colon]) {
			return protoErr("bad header line %q", clip(line))
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if f != nil {
			if err := f.note(name, value); err != nil {
				return err
			}
		}
		if capture.wants(name) {
			resp.captureHeader(name, value)
		}
	}
}

// note records the fields that decide framing and connection reuse.
func (f *framing) note(name, value []byte) error {
	switch {
	case equalFoldLower(name, "content-length"):
		n, ok := parseDecimal(value)
		if !ok || (f.contentLength >= 0 && f.contentLength != n) {
			return protoErr("bad content-length %q", clip(value))
		}
		f.contentLength = n
	case equalFoldLower(name, "transfer-encoding"):
		// Only the final coding frames the message (RFC 9112 6.3); a later
		// field line continues the list, so it decides again.
		last := value
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			last = value[i+1:]
		}
		f.chunked = equalFoldLower(trimOWS(last), "chunked")
		f.otherTE = !f.chunked
	case equalFoldLower(name, "connection"):
		f.connClose = f.connClose || hasToken(value, "close")
		f.connKeepAlive = f.connKeepAlive || hasToken(value, "keep-alive")
	}
	return nil
}

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' || n > maxBodyLength/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxBodyLength
}

// clip keeps protocol error messages short when the peer sends garbage.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// headerCapture says which response header fields to keep: all of them, or
// only the named ones (lower case), so that a client that needs just
// Set-Cookie and Location does not pay for the rest.
type headerCapture struct {
	all  bool
	only []string
}

func (c headerCapture) wants(name []byte) bool {
	if c.all {
		return true
	}
	for _, n := range c.only {
		if equalFoldLower(name, n) {
			return true
		}
	}
	return false
}
