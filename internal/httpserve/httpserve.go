// Package httpserve builds Barrage's HTTP servers with the same limits, so
// that none is left open to a slow or oversized client: a header that
// takes longer than HeaderTimeout closes the connection (slowloris), a
// header block over MaxHeaderBytes gets 431, and an idle keep-alive
// connection is closed after IdleTimeout. Request bodies are bounded by
// each handler (the API answers 413).
package httpserve

import (
	"net/http"
	"time"
)

// Defaults of Options.
const (
	DefaultHeaderTimeout  = 10 * time.Second
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultMaxHeaderBytes = 64 << 10
)

// Options overrides the defaults; zero fields keep them.
type Options struct {
	HeaderTimeout  time.Duration
	IdleTimeout    time.Duration
	MaxHeaderBytes int
}

// New returns a server for h with the limits of o.
func New(h http.Handler, o Options) *http.Server {
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = DefaultHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: o.HeaderTimeout, IdleTimeout: o.IdleTimeout, MaxHeaderBytes: o.MaxHeaderBytes}
}
