// Package client is the typed Go client of Barrage's HTTP API, used by the
// CLI (barrage run --server, barrage runs ...) and by fleet workers (ingest,
// control, spec).
package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to one Barrage server.
type Client struct {
	base string
	http *http.Client
	// token authenticates the user's calls (Bearer); the worker-facing
	// calls send their own (a run's ingest token, the fleet token).
	token string
}

// WithToken returns a copy of c that sends token (an API token, from
// barrage tokens create) with every call that has none of its own.
func (c *Client) WithToken(token string) *Client {
	cc := *c
	cc.token = token
	return &cc
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base }

// New returns a client for the server at baseURL (http://host:port).
func New(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://host:port", baseURL)
	}
	return &Client{
		base: strings.TrimSuffix(baseURL, "/"),
		http: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute}},
	}, nil
}

// NewTLS is New trusting what tc trusts (e.g. a private CA in RootCAs)
// for an https server; a nil tc is New: the system's roots.
func NewTLS(baseURL string, tc *tls.Config) (*Client, error) {
	c, err := New(baseURL)
	if err != nil || tc == nil {
		return c, err
	}
	c.http.Transport.(*http.Transport).TLSClientConfig = tc
	return c, nil
}

// NewWithTransport is New with the given transport (tests check every
// response against the OpenAPI document through it).
func NewWithTransport(baseURL string, rt http.RoundTripper) (*Client, error) {
	c, err := New(baseURL)
	if err != nil {
		return nil, err
	}
	c.http = &http.Client{Transport: rt}
	return c, nil
}

// Base returns the server's base URL.
func (c *Client) Base() string { return c.base }

// Error is an error answer of the API: {"error": {"code", "message", "field"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return msg
}

// StatusOf returns the HTTP status of an API error, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path, token, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token == "" {
		token = c.token
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return apiError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) doJSON(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, method, path, token, "application/json", body, out)
}

// Event is one Server-Sent Event.
type Event struct {
	ID   string
	Name string // "message" when the stream named none
	Data []byte
}

// Stream reads the Server-Sent Events of path, calling fn for each, until the
// stream ends, fn returns false, or ctx ends. lastID resumes a stream.
func (c *Client) Stream(ctx context.Context, path, lastID string, fn func(Event) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("stream %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return apiError(resp.StatusCode, data)
	}
	return readEvents(resp.Body, fn)
}

func readEvents(r io.Reader, fn func(Event) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	ev := Event{Name: "message"}
	var data [][]byte
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if len(data) > 0 || ev.ID != "" {
				ev.Data = bytes.Join(data, []byte("\n"))
				if !fn(ev) {
					return nil
				}
			}
			ev, data = Event{Name: "message"}, nil
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Name = string(value)
		case "data":
			data = append(data, append([]byte(nil), value...))
		}
	}
	return sc.Err()
}

// apiError is the error an answer with this status and body stands for:
// the API's {"error": …}, else the body as the message.
func apiError(status int, data []byte) *Error {
	var wrapped struct {
		Error Error `json:"error"`
	}
	if json.Unmarshal(data, &wrapped) != nil || wrapped.Error.Message == "" {
		wrapped.Error = Error{Code: http.StatusText(status), Message: strings.TrimSpace(string(data))}
	}
	wrapped.Error.Status = status
	return &wrapped.Error
}
