package target

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxTokens bounds the login tokens kept when Config.MaxTokens is zero.
const DefaultMaxTokens = 1_000_000

// Salts that give each random stream its own sequence from one seed.
const (
	saltErrors  = 0x6572726f72730000 // global error-rate decisions
	saltSamples = 0x73616d706c657300 // latencies and the /error endpoint
)

// Config is the target's behaviour. The zero value is a plain, fast server.
type Config struct {
	// Latency delays every load endpoint that does not choose its own delay.
	Latency Latency
	// ErrorRate is the fraction (0..1) of load requests answered 500.
	ErrorRate float64
	// FreezeFor and FreezeEvery pause the whole server for FreezeFor at the end
	// of every FreezeEvery period (see FreezeSchedule). FreezeFor zero: no freeze.
	FreezeFor   time.Duration
	FreezeEvery time.Duration
	// Seed seeds the error and latency draws. It is read by New only.
	Seed int64
	// MaxTokens bounds the login tokens kept; the oldest is forgotten first.
	// Zero means DefaultMaxTokens. It is read by New only.
	MaxTokens int
}

// Validate reports whether c can be served.
func (c Config) Validate() error {
	if err := c.Latency.Validate(); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		return fmt.Errorf("error rate %v is outside 0..1", c.ErrorRate)
	}
	if c.FreezeFor < 0 || c.FreezeEvery < 0 {
		return fmt.Errorf("freeze %v every %v: durations must not be negative", c.FreezeFor, c.FreezeEvery)
	}
	// A zero FreezeFor disables the freeze whatever FreezeEvery says, so the
	// freeze can be switched off by changing one field.
	if c.FreezeFor > 0 && c.FreezeFor >= c.FreezeEvery {
		return fmt.Errorf("freeze %v every %v: the period must be longer than the freeze", c.FreezeFor, c.FreezeEvery)
	}
	if c.MaxTokens < 0 {
		return fmt.Errorf("max tokens %d is negative", c.MaxTokens)
	}
	return nil
}

// state is one immutable configuration. It is swapped whole, so the hot path
// reads it with a single atomic load; changed is closed when it is replaced,
// which wakes requests held by a freeze.
type state struct {
	cfg     Config
	freeze  FreezeSchedule
	changed chan struct{}
}

// Server is the target's http.Handler. Its methods are safe for concurrent use.
type Server struct {
	state     atomic.Pointer[state]
	swap      sync.Mutex // serialises Reset and SetConfig so neither loses the other's change
	startedAt time.Time

	byStatus  [600]atomic.Uint64 // responses written on load endpoints, by status code
	abandoned atomic.Uint64

	errors  *stream
	samples *stream
	tokens  *tokenStore
	once    once

	// Bodies and header values built once, so the hot path only copies references.
	rootBody  []byte
	pattern   []byte
	catalogue catalogue
}

// New returns a server for cfg. Phase 0 of the freeze schedule starts now. The
// server's Config reports MaxTokens with its default filled in.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("target config: %w", err)
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	now := time.Now()
	s := &Server{
		startedAt: now,
		errors:    newStream(cfg.Seed, saltErrors),
		samples:   newStream(cfg.Seed, saltSamples),
		tokens:    newTokenStore(cfg.MaxTokens),
		rootBody:  []byte(rootBody),
		pattern:   []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_\n", 512)),
		catalogue: newCatalogue(),
	}
	s.state.Store(newState(cfg, now))
	return s, nil
}

// rootBody is plain text because net/http labels it by sniffing (see serveRoot).
const rootBody = "barrage target: ok\nthe built-in load target; run 'barrage target -h' for its endpoints\n"

func newState(cfg Config, origin time.Time) *state {
	return &state{
		cfg:     cfg,
		freeze:  FreezeSchedule{Origin: origin, For: cfg.FreezeFor, Every: cfg.FreezeEvery},
		changed: make(chan struct{}),
	}
}

// Config returns the configuration in force.
func (s *Server) Config() Config {
	return s.state.Load().cfg
}

// SetConfig replaces the runtime behaviour (latency, error rate, freeze) from
// the next request on; requests held by a freeze re-read the schedule at once.
// Seed and MaxTokens are fixed at New and ignored here. The freeze phase keeps
// its origin (the start, or the last Reset).
func (s *Server) SetConfig(cfg Config) error {
	_, err := s.update(func(c *Config) {
		c.Latency, c.ErrorRate, c.FreezeFor, c.FreezeEvery = cfg.Latency, cfg.ErrorRate, cfg.FreezeFor, cfg.FreezeEvery
	})
	return err
}

func (s *Server) update(change func(*Config)) (Config, error) {
	s.swap.Lock()
	defer s.swap.Unlock()
	old := s.state.Load()
	cfg := old.cfg
	change(&cfg)
	if err := cfg.Validate(); err != nil {
		return old.cfg, fmt.Errorf("target config: %w", err)
	}
	s.replace(old, newState(cfg, old.freeze.Origin))
	return cfg, nil
}

func (s *Server) replace(old, next *state) {
	s.state.Store(next)
	close(old.changed)
}

// Reset zeroes the counters and moves the freeze origin to now, so phase 0 of
// the schedule starts at the Reset. Login tokens are kept. Requests in flight
// during a Reset are counted after it if they finish after it.
func (s *Server) Reset() {
	s.swap.Lock()
	defer s.swap.Unlock()
	for i := range s.byStatus {
		s.byStatus[i].Store(0)
	}
	s.abandoned.Store(0)
	s.once.reset()
	old := s.state.Load()
	s.replace(old, newState(old.cfg, time.Now()))
}

// Served returns the number of responses written on load endpoints (every path
// outside /_/) since the start or the last Reset. A request is counted just
// before its status line is written, so every client that got a response has
// been counted; one whose client went away while it was delayed or frozen is
// not (see Stats.Abandoned).
func (s *Server) Served() uint64 {
	var n uint64
	for i := range s.byStatus {
		n += s.byStatus[i].Load()
	}
	return n
}

// Stats is a snapshot of the counters.
type Stats struct {
	Served        uint64
	ByStatus      map[int]uint64
	Abandoned     uint64 // requests whose client left before their response was due
	StartedAt     time.Time
	CountingSince time.Time // the start or the last Reset; also the freeze origin
	Freeze        FreezeSchedule
	OnceIDs       int    // distinct ids /once/{id} was called with
	OnceRepeated  uint64 // calls of /once/{id} with an id that had come before
}

// Stats returns the counters and the freeze schedule.
func (s *Server) Stats() Stats {
	st := s.state.Load()
	out := Stats{
		ByStatus:      map[int]uint64{},
		Abandoned:     s.abandoned.Load(),
		StartedAt:     s.startedAt,
		CountingSince: st.freeze.Origin,
		Freeze:        st.freeze,
	}
	out.OnceIDs, out.OnceRepeated = s.once.stats()
	for code := range s.byStatus {
		if n := s.byStatus[code].Load(); n > 0 {
			out.ByStatus[code] = n
			out.Served += n
		}
	}
	return out
}

// FreezeSchedule returns the freeze windows in force, so tests can aim at one.
func (s *Server) FreezeSchedule() FreezeSchedule {
	return s.state.Load().freeze
}

// ServeHTTP answers load endpoints and, under /_/, the control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	st := s.state.Load()
	if st.freeze.Enabled() {
		if !s.hold(r.Context()) {
			s.abandoned.Add(1)
			return
		}
		// The configuration may have changed while the request was held.
		st = s.state.Load()
	}
	if rate := st.cfg.ErrorRate; rate > 0 && (rate >= 1 || s.errors.float64() < rate) {
		msg := "injected error (error rate " + strconv.FormatFloat(rate, 'g', -1, 64) + ")"
		s.replyError(w, r, s.delay(st), http.StatusInternalServerError, msg)
		return
	}
	if path == "/" {
		s.serveRoot(w, r, st)
		return
	}
	s.route(w, r, st, path)
}

// serveRoot is the hot path. It never touches w.Header(): once a handler has
// asked for the header map, net/http clones it when the status is written
// (3 allocations). Left alone, net/http sets Content-Length itself for a body
// written whole before the handler returns, and sniffs Content-Type (text/plain)
// in less time than the clone takes.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request, st *state) {
	if !s.commit(w, r, s.delay(st), http.StatusOK) {
		return
	}
	_, _ = w.Write(s.rootBody)
}

// delay samples the default latency. The no-latency test is kept small enough
// to inline, since it is all the hot path pays.
func (s *Server) delay(st *state) time.Duration {
	if st.cfg.Latency.Dist == "" {
		return 0
	}
	return s.sample(st.cfg.Latency)
}

func (s *Server) sample(l Latency) time.Duration {
	switch l.draws() {
	case 0:
		return l.at(0, 0)
	case 1:
		return l.at(s.samples.float64(), 0)
	default:
		return l.at(s.samples.float64(), s.samples.float64())
	}
}

// commit holds a load request through its delay and any freeze that began
// meanwhile, then counts it and writes the status line. It returns false, and
// writes nothing, when the client went away first.
func (s *Server) commit(w http.ResponseWriter, r *http.Request, delay time.Duration, code int) bool {
	if delay > 0 && !sleep(r.Context(), delay) {
		s.abandoned.Add(1)
		return false
	}
	if s.state.Load().freeze.Enabled() && !s.hold(r.Context()) {
		s.abandoned.Add(1)
		return false
	}
	s.byStatus[code].Add(1)
	w.WriteHeader(code)
	return true
}

// reply finishes a load request whose body is in memory.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, delay time.Duration, code int, contentType string, body []byte) {
	if bodyAllowed(code) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	if !s.commit(w, r, delay, code) || !bodyAllowed(code) {
		return
	}
	_, _ = w.Write(body)
}

func (s *Server) replyJSON(w http.ResponseWriter, r *http.Request, delay time.Duration, code int, v any) {
	s.reply(w, r, delay, code, "application/json", marshal(v))
}

// replyError answers {"error": msg}, the shape of every error this server gives.
func (s *Server) replyError(w http.ResponseWriter, r *http.Request, delay time.Duration, code int, msg string) {
	s.replyJSON(w, r, delay, code, errorBody{Error: msg})
}

type errorBody struct {
	Error string `json:"error"`
}

// marshal encodes the server's own response values, which always encode. HTML
// escaping is off so that messages like "0 <= min" stay readable.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(`{"error":"encode response"}` + "\n")
	}
	return buf.Bytes()
}

// bodyAllowed mirrors net/http: 1xx, 204 and 304 responses carry no body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

func finite(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}
