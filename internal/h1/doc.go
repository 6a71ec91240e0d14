// Package h1 is a minimal HTTP/1.1 client for the load generator's hot path.
//
// net/http's client spends roughly twice wrk's CPU per request on bookkeeping a
// load generator does not need (goroutine per connection, header maps, context
// plumbing). This client speaks plain http:// over TCP with keep-alive, and in
// steady state a GET without capture performs zero heap allocations.
//
// Usage:
//
//  1. Create one Client per run with New; it is safe for concurrent use and
//     keeps idle keep-alive connections per dial address.
//  2. Give each virtual user its own Request and Response and call Do in a
//     loop; Response buffers are reused between calls.
//  3. Read Status, BytesSent and BytesReceived, and when capture was
//     requested, Header (via Get and Values) and Body.
//  4. Call Close to end the run: it closes idle and in-use connections, so
//     blocked Do calls return promptly with an error wrapping ErrClosed.
//
// What the client writes: the request line, a Host header (Request.Host, or
// Request.Addr when empty), a User-Agent header (Options.UserAgent), the
// caller's headers, and Content-Length when a body is present or the method is
// POST, PUT or PATCH. Host, User-Agent and Content-Length are written only when
// Request.Header does not already carry them; when Request.Header carries
// Transfer-Encoding the body is written as given and must already be encoded.
//
// Framing of responses follows RFC 9112: 1xx interim responses are skipped;
// HEAD, 204 and 304 have no body; Transfer-Encoding: chunked (with trailers)
// takes precedence over Content-Length; anything else is read until the
// server closes the connection. A connection returns to the idle pool only
// after a complete keep-alive response with no stray bytes behind it.
//
// Retries: when a connection taken from the idle pool fails before any byte
// of the response arrived (the write failed, or the first read saw EOF or
// ECONNRESET because the server had closed the idle connection), Do retries
// exactly once on a freshly dialed connection. It never retries after response
// bytes arrived, never on a freshly dialed connection, and never after Close.
// Note that this includes non-idempotent methods: a server that accepted the
// request and then reset the connection without answering may see it twice.
//
// Errors wrap the underlying network error with %w, so callers classify them
// with errors.Is and errors.As (syscall.ECONNREFUSED, syscall.ECONNRESET,
// os.ErrDeadlineExceeded, *net.DNSError, io.ErrUnexpectedEOF); malformed
// responses wrap ErrProtocol; a connection Options.Policy refused wraps
// *netpolicy.BlockedError (nothing reached the refused address: the check
// runs on the resolved address before connect). A connection that saw any
// error is closed.
//
// Not supported, by design: TLS and HTTP/2 (the engine uses net/http for
// those), proxies, redirects, content decoding, pipelining. An "Expect:
// 100-continue" header is passed through, but the body is sent at once.
package h1
