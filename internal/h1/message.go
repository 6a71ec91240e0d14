package h1

import "time"

// Header is one header field. Names keep the case they had on the wire.
type Header struct{ Name, Value string }

// Request describes one exchange. A virtual user typically keeps one Request
// and rewrites its fields between calls.
type Request struct {
	Method string // "GET" when empty
	Addr   string // dial address, "127.0.0.1:8080"
	Host   string // Host header value; Addr when empty
	Target string // request-target, "/path?query"; "/" when empty

	// Header holds extra header fields, written in order after Host and
	// User-Agent. Giving Host, User-Agent or Content-Length here replaces the
	// client's own; giving Transfer-Encoding suppresses Content-Length.
	Header []Header
	Body   []byte

	// Deadline bounds the whole exchange, dial included; zero means none.
	Deadline time.Time

	CaptureBody bool // keep up to Options.MaxBodyCapture bytes in Response.Body
	// CaptureMax, when > 0, keeps at most this many body bytes (fewer than
	// Options.MaxBodyCapture), e.g. for a sample of a failed response.
	CaptureMax     int
	CaptureHeaders bool // keep header and trailer fields in Response.Header
	// CaptureOnly keeps just these fields (names in lower case) when
	// CaptureHeaders is off, e.g. set-cookie and location.
	CaptureOnly []string
}

// Response receives the result of Do. Reuse one Response per virtual user:
// its slices are recycled, which is what keeps Do allocation-free.
type Response struct {
	Status int

	// Header holds the header fields, then any chunked trailer fields, when
	// Request.CaptureHeaders is set. The slice is overwritten by the next Do;
	// the strings stay valid because each capture allocates one fresh
	// backing string for them.
	Header []Header

	// Body holds the first Options.MaxBodyCapture bytes of the body when
	// Request.CaptureBody is set. The next Do overwrites it.
	Body []byte

	// BytesSent counts the request line, headers and body written;
	// BytesReceived counts the status line, headers (interim responses
	// included), body and framing read. After a keep-alive retry both cover
	// the successful attempt only, matching what the server accounted.
	BytesSent     int64
	BytesReceived int64

	// scratch collects captured header bytes; spans index into it until the
	// response is complete and one string is made from it.
	scratch []byte
	spans   []headerSpan
}

type headerSpan struct{ name, value, end int }

// Get returns the first value of the named header field, matched
// case-insensitively, or "" when absent or not captured.
func (r *Response) Get(name string) string {
	for i := range r.Header {
		if equalFoldString(r.Header[i].Name, name) {
			return r.Header[i].Value
		}
	}
	return ""
}

// Values returns every value of the named header field, for fields such as
// Set-Cookie that may repeat.
func (r *Response) Values(name string) []string {
	var vs []string
	for i := range r.Header {
		if equalFoldString(r.Header[i].Name, name) {
			vs = append(vs, r.Header[i].Value)
		}
	}
	return vs
}

func (r *Response) reset() {
	r.Status = 0
	r.Header = r.Header[:0]
	r.Body = r.Body[:0]
	r.BytesSent = 0
	r.BytesReceived = 0
	r.scratch = r.scratch[:0]
	r.spans = r.spans[:0]
}

// captureHeader records one field into scratch; publishHeaders turns the
// collected fields into strings once the response is complete.
func (r *Response) captureHeader(name, value []byte) {
	start := len(r.scratch)
	r.scratch = append(r.scratch, name...)
	mid := len(r.scratch)
	r.scratch = append(r.scratch, value...)
	r.spans = append(r.spans, headerSpan{name: start, value: mid, end: len(r.scratch)})
}

func (r *Response) publishHeaders() {
	if len(r.spans) == 0 {
		return
	}
	s := string(r.scratch)
	for _, sp := range r.spans {
		r.Header = append(r.Header, Header{Name: s[sp.name:sp.value], Value: s[sp.value:sp.end]})
	}
}

// equalFoldString reports whether a and b are equal under ASCII case folding;
// header names are ASCII tokens, so Unicode folding would be wrong and slower.
func equalFoldString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// equalFoldLower compares b with lowerName, which must already be lower case.
func equalFoldLower(b []byte, lowerName string) bool {
	if len(b) != len(lowerName) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lowerName[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
