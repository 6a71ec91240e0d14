// Package server assembles a Barrage server process — the store, Temporal
// (external, or an embedded dev server), the HTTP API with ingest and
// folding, the control worker and any in-process load workers — and a fleet
// node (a `barrage worker`). cmd/barrage turns flags into these configs.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/barrage/barrage/internal/netpolicy"
	"github.com/barrage/barrage/internal/service"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/barrage/barrage/activities"
	"github.com/barrage/barrage/api"
	apiclient "github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/internal/devserver"
	"github.com/barrage/barrage/internal/httpserve"
	"github.com/barrage/barrage/internal/service/temporalport"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/tsdb"
	"github.com/barrage/barrage/workers"
)

// Config is a server process.
type Config struct {
	Listen         string // API address; port 0 picks one
	DB             string // postgres://… or sqlite:PATH
	Temporal       string // frontend of an external Temporal; "" starts one in-process
	TemporalListen string // the embedded frontend's address
	TemporalUI     string // the embedded Web UI's address ("" = none)
	TemporalDB     string // the embedded Temporal's SQLite file ("" = in memory)
	Namespace      string
	LocalWorkers   int // load workers in this process
	LocalMaxVUs    int
	FleetToken     string
	FoldGrace      time.Duration
	// VictoriaMetrics is the base URL every folded interval is pushed to
	// ("" = none); GrafanaURL the Grafana that charts it, for links.
	VictoriaMetrics string
	GrafanaURL      string
	// TargetPolicy is where runs may send load; nil: anywhere (the
	// embedded `barrage run`). `barrage server` always has one, empty
	// (nothing allowed) until --allow-target.
	TargetPolicy *netpolicy.Policy
	// Caps on each run (0: none).
	MaxVUs      int
	MaxRPS      float64
	MaxDuration time.Duration
	// NoAuth serves the API without tokens; only on a loopback Listen.
	NoAuth bool
	// SecretKey seals the secrets scenarios read (32 bytes; nil: the
	// server keeps no secrets).
	SecretKey []byte
	// RetainSnapshots: raw snapshots are compacted this long after their
	// run ends (0: never).
	RetainSnapshots time.Duration
	Logger          *slog.Logger
	// TLS serves the API over HTTPS with its certificate (LoadServerTLS;
	// nil: plain HTTP).
	TLS *tls.Config
	// TemporalTLS connects to the external Temporal over TLS
	// (TemporalTLS.Config; nil: plaintext). Refused with the embedded one.
	TemporalTLS *tls.Config
}

// Server is a running server process.
type Server struct {
	URL      string // http(s)://host:port of the API
	Temporal string // frontend address
	UI       string // Temporal Web UI URL, "" when none

	log     *slog.Logger
	dev     *devserver.Server
	st      store.Store
	tc      sdkclient.Client
	api     *api.Server
	http    *http.Server
	workers []worker.Worker
	done    chan error
	once    sync.Once
	self    *tls.Config // how this process trusts its own API (nil: plain HTTP)

	stopExport context.CancelFunc
	exportDone chan struct{}
}

// Start brings everything up and returns once the API answers.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = devserver.DefaultNamespace
	}
	s := &Server{log: log, done: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if cfg.NoAuth && !loopback(cfg.Listen) {
		return nil, fmt.Errorf("--no-auth is accepted only when the API listens on loopback (127.0.0.1, ::1 or localhost), not %q", cfg.Listen)
	}
	if !cfg.NoAuth && cfg.FleetToken == "" {
		// Safe by default: workers prove themselves with it, and each run's
		// worker token is derived from it instead of travelling in Temporal.
		return nil, errors.New("--fleet-token is required (unless --no-auth): workers register with it, and each run's worker token is derived from it rather than kept in Temporal's history")
	}
	apiTLS, err := s.checkTLS(cfg)
	if err != nil {
		return nil, err
	}
	if s.st, err = store.Open(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.startTemporal(ctx, cfg); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s.URL = scheme(apiTLS) + "://" + ln.Addr().String()
	var exporter *tsdb.Exporter
	if cfg.VictoriaMetrics != "" {
		if exporter, err = tsdb.New(tsdb.Config{URL: cfg.VictoriaMetrics, Store: s.st, Log: log}); err != nil {
			_ = ln.Close()
			return nil, err
		}
		ectx, stop := context.WithCancel(context.Background())
		s.stopExport = stop
		s.exportDone = make(chan struct{})
		go func() { defer close(s.exportDone); exporter.Run(ectx) }()
	}
	access := service.NewAccess(s.st)
	access.Log = log
	if _, err := service.NewSecrets(s.st, access, cfg.SecretKey); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.api = api.New(api.Config{
		Access: access, SecretKey: cfg.SecretKey,
		Store: s.st, Orchestrator: temporalport.New(s.tc), Scheduler: temporalport.New(s.tc), TemporalUI: s.UI, Namespace: cfg.Namespace, FoldGrace: cfg.FoldGrace,
		FleetToken: cfg.FleetToken, Logger: log, Ready: s.temporalReady, RetainSnapshots: cfg.RetainSnapshots,
		Exporter: exporter, GrafanaURL: cfg.GrafanaURL, NoAuth: cfg.NoAuth,
		Guard: &service.Guard{Policy: cfg.TargetPolicy, MaxVUs: cfg.MaxVUs, MaxRPS: cfg.MaxRPS, MaxDuration: cfg.MaxDuration},
	})
	s.http = httpserve.New(s.api.Handler(), httpserve.Options{})
	s.http.TLSConfig = apiTLS
	go func() { s.done <- serveAPI(s.http, ln) }()
	acts := &activities.Server{Store: s.st, Logger: log, ControlPublished: s.api.ControlPublished,
		ShardLost: s.api.ShardLost, FleetToken: cfg.FleetToken, Schedules: s.api.Schedules()}
	if exporter != nil {
		acts.Reported = exporter.Finished
	}
	s.workers = append(s.workers, workers.NewControl(s.tc, acts))
	if err := s.addLocalWorkers(cfg); err != nil {
		return nil, err
	}
	for _, w := range s.workers {
		if err := w.Start(); err != nil {
			return nil, fmt.Errorf("start worker: %w", err)
		}
	}
	ok = true
	return s, nil
}

// loopback: addr's host is a loopback address or localhost.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (s *Server) startTemporal(ctx context.Context, cfg Config) error {
	addr := cfg.Temporal
	if addr == "" {
		dev, err := devserver.Start(ctx, devserver.Options{
			Listen: cfg.TemporalListen, DBFile: cfg.TemporalDB, Namespace: cfg.Namespace, UIListen: cfg.TemporalUI, Logger: s.log,
		})
		if err != nil {
			return fmt.Errorf("start the embedded Temporal: %w", err)
		}
		s.dev, addr = dev, dev.FrontendAddr()
		if dev.UIAddr() != "" {
			s.UI = "http://" + dev.UIAddr()
		}
	}
	s.Temporal = addr
	tc, err := DialTLS(ctx, addr, cfg.Namespace, cfg.TemporalTLS, s.log)
	if err != nil {
		return err
	}
	s.tc = tc
	return nil
}

// Dial connects to Temporal, retrying for a while: a fleet node may start
// before its Temporal does.
func Dial(ctx context.Context, addr, namespace string, log *slog.Logger) (sdkclient.Client, error) {
	return DialTLS(ctx, addr, namespace, nil, log)
}

// DialTLS is Dial over TLS with tlsCfg (nil: plaintext).
func DialTLS(ctx context.Context, addr, namespace string, tlsCfg *tls.Config, log *slog.Logger) (sdkclient.Client, error) {
	var last error
	for attempt := 0; attempt < 30; attempt++ {
		tc, err := sdkclient.DialContext(ctx, sdkclient.Options{
			HostPort: addr, Namespace: namespace, Logger: sdklog.NewStructuredLogger(quiet(log)),
			ConnectionOptions: sdkclient.ConnectionOptions{TLS: tlsCfg},
		})
		if err == nil {
			return tc, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to Temporal at %s: %w", addr, ctx.Err())
		case <-time.After(time.Second):
		}
	}
	return nil, fmt.Errorf("connect to Temporal at %s: %w", addr, last)
}

// quiet drops the SDK's info chatter (one line per poll error and more).
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{h: log.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.h.Handle(ctx, r) }
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}

func (s *Server) temporalReady(ctx context.Context) error {
	_, err := s.tc.CheckHealth(ctx, &sdkclient.CheckHealthRequest{})
	return err
}

func (s *Server) addLocalWorkers(cfg Config) error {
	if cfg.LocalWorkers <= 0 {
		return nil
	}
	c, err := apiclient.NewTLS(s.URL, s.self)
	if err != nil {
		return err
	}
	for i := 1; i <= cfg.LocalWorkers; i++ {
		acts := &activities.Fleet{Server: c, WorkerID: fmt.Sprintf("local-%d", i), MaxVUs: cfg.LocalMaxVUs, Logger: s.log, FleetToken: cfg.FleetToken}
		s.workers = append(s.workers, workers.NewLoad(s.tc, acts))
	}
	return nil
}

// Ready waits until the API answers /healthz.
func (s *Server) Ready(ctx context.Context) error {
	c, err := apiclient.NewTLS(s.URL, s.self)
	if err != nil {
		return err
	}
	for {
		if err := c.Health(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Wait blocks until the HTTP server stops.
func (s *Server) Wait() error {
	err := <-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops everything, in reverse order.
func (s *Server) Close() {
	s.once.Do(func() {
		for _, w := range s.workers {
			w.Stop()
		}
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.http.Shutdown(ctx)
			cancel()
		}
		if s.api != nil {
			s.api.Close()
		}
		if s.stopExport != nil {
			s.stopExport()
			<-s.exportDone
		}
		if s.tc != nil {
			s.tc.Close()
		}
		if s.dev != nil {
			if err := s.dev.Stop(); err != nil {
				s.log.Warn("stop the embedded Temporal", "err", err)
			}
		}
		if s.st != nil {
			_ = s.st.Close()
		}
	})
}

// Store returns the server's store (for tests and tools).
func (s *Server) Store() store.Store { return s.st }

// TemporalClient returns the server's Temporal client.
func (s *Server) TemporalClient() sdkclient.Client { return s.tc }
