package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/h1"
	"github.com/barrage/barrage/internal/netpolicy"
)

// request is one HTTP exchange as the engine prepares it: the h1 request plus
// the scheme, which picks the transport.
type request struct {
	h1.Request
	https bool
}

// url returns the absolute URL of the request.
func (r *request) url() string {
	scheme := "http://"
	if r.https {
		scheme = "https://"
	}
	return scheme + r.Host + r.Target
}

// transports sends requests: plain HTTP/1.1 over the allocation-free h1
// client; HTTPS, and HTTP/2 when asked for, over net/http.
type transports struct {
	fast   *h1.Client
	http2  bool
	tls    *tls.Config
	policy *netpolicy.Policy

	once sync.Once
	std  *http.Transport
	mu   sync.Mutex
	// inflight lets close interrupt net/http requests, which have no Close of
	// their own that reaches requests in progress.
	inflight map[*context.CancelFunc]struct{}
	closed   bool
}

// newTransports makes both transports; policy (nil: none) checks every
// connection either makes.
func newTransports(http2, insecure bool, maxConns int, policy *netpolicy.Policy) *transports {
	return &transports{
		fast:     h1.New(h1.Options{DialTimeout: dialTimeout, MaxIdlePerAddr: max(1024, maxConns), Policy: policy}),
		http2:    http2,
		tls:      &tls.Config{InsecureSkipVerify: insecure}, // #nosec G402 -- only when the scenario sets insecure_skip_verify, as curl -k
		policy:   policy,
		inflight: map[*context.CancelFunc]struct{}{},
	}
}

const dialTimeout = 10 * time.Second

func (t *transports) do(req *request, resp *h1.Response) error {
	if !req.https && !t.http2 {
		return t.fast.Do(&req.Request, resp)
	}
	return t.doStd(req, resp)
}

func (t *transports) stdTransport() *http.Transport {
	t.once.Do(func() {
		tr := &http.Transport{
			Proxy:               nil, // load goes where the scenario says, never through a proxy from the environment
			TLSClientConfig:     t.tls,
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   t.http2,
			DisableCompression:  true,
		}
		if t.policy != nil {
			// HTTPS and HTTP/2 (over TLS or not) dial through this too.
			tr.DialContext = t.policy.DialContext(net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second})
		}
		if t.http2 {
			var p http.Protocols
			p.SetHTTP1(!t.http2)
			p.SetHTTP2(true)
			p.SetUnencryptedHTTP2(true)
			tr.Protocols = &p
		}
		t.std = tr
	})
	return t.std
}

// doStd sends req with net/http and fills resp like the h1 client would.
// Byte counts are estimates: net/http does not expose the wire bytes, so they
// are computed from the request and response as HTTP/1.1 would frame them.
func (t *transports) doStd(req *request, resp *h1.Response) error {
	ctx, cancel := context.WithCancel(context.Background())
	if !req.Deadline.IsZero() {
		ctx, cancel = context.WithDeadline(context.Background(), req.Deadline)
	}
	if !t.track(&cancel) {
		cancel()
		return fmt.Errorf("send %s: %w", req.url(), h1.ErrClosed)
	}
	defer t.untrack(&cancel)
	defer cancel()
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.url(), body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	sent := int64(len(req.Method) + len(req.Target) + len(req.Host) + 26 + len(req.Body))
	for _, h := range req.Header {
		hr.Header.Add(h.Name, h.Value)
		sent += int64(len(h.Name) + len(h.Value) + 4)
	}
	hr.Header.Set("User-Agent", "barrage")
	res, err := t.stdTransport().RoundTrip(hr)
	resp.BytesSent = sent
	if err != nil {
		return err
	}
	defer res.Body.Close()
	resp.Status = res.StatusCode
	resp.Header = resp.Header[:0]
	recv := int64(len(res.Status) + 11)
	for name, vs := range res.Header {
		for _, v := range vs {
			if req.CaptureHeaders || wanted(name, req.CaptureOnly) {
				resp.Header = append(resp.Header, h1.Header{Name: name, Value: v})
			}
			recv += int64(len(name) + len(v) + 4)
		}
	}
	n, err := readBody(res.Body, req.CaptureBody, req.CaptureMax, resp)
	resp.BytesReceived = recv + 2 + n
	return err
}

func readBody(r io.Reader, capture bool, limit int, resp *h1.Response) (int64, error) {
	resp.Body = resp.Body[:0]
	if !capture {
		return io.Copy(io.Discard, r)
	}
	var buf bytes.Buffer
	buf.Grow(4096)
	if limit <= 0 || limit > 1<<20 {
		limit = 1 << 20
	}
	n, err := io.Copy(&buf, io.LimitReader(r, int64(limit)))
	resp.Body = append(resp.Body, buf.Bytes()...)
	if err != nil {
		return n, err
	}
	rest, err := io.Copy(io.Discard, r)
	return n + rest, err
}

func (t *transports) track(c *context.CancelFunc) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.inflight[c] = struct{}{}
	return true
}

func (t *transports) untrack(c *context.CancelFunc) {
	t.mu.Lock()
	delete(t.inflight, c)
	t.mu.Unlock()
}

// close interrupts every request in flight and closes every connection.
func (t *transports) close() {
	t.fast.Close()
	t.mu.Lock()
	t.closed = true
	for c := range t.inflight {
		(*c)()
	}
	t.mu.Unlock()
	if t.std != nil {
		t.std.CloseIdleConnections()
	}
}

// endpoint is a URL split the way requests need it.
type endpoint struct {
	https  bool
	addr   string // host:port to dial
	host   string // Host header
	prefix string // the base URL's path, without a trailing slash
}

// parseEndpoint splits an absolute http(s) URL into its endpoint and the
// request-target (path and query).
func parseEndpoint(raw string) (endpoint, string, error) {
	var ep endpoint
	rest, ok := cutPrefixFold(raw, "http://")
	if !ok {
		rest, ok = cutPrefixFold(raw, "https://")
		ep.https = true
	}
	if !ok {
		return ep, "", fmt.Errorf("URL %q: want an http:// or https:// URL", raw)
	}
	host, target := rest, "/"
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, target = rest[:i], rest[i:]
		if target[0] != '/' {
			target = "/" + target
		}
	}
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	if host == "" || strings.ContainsAny(host, " @") {
		return ep, "", fmt.Errorf("URL %q: bad host %q", raw, host)
	}
	ep.host, ep.addr = host, host
	if !hasPort(host) {
		if ep.https {
			ep.addr += ":443"
		} else {
			ep.addr += ":80"
		}
	}
	return ep, target, nil
}

func hasPort(host string) bool {
	i := strings.LastIndexByte(host, ':')
	return i >= 0 && i > strings.LastIndexByte(host, ']')
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func wanted(name string, only []string) bool {
	for _, n := range only {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}
