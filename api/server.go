// Package api is Barrage's HTTP layer, on Gin: it turns requests into
// calls and answers, and holds no business rule of its own.
//
//   - The user-facing API: scenarios (to the store), runs (started and
//     steered through the run service, package service), reports, live
//     metrics over SSE, the run's events, and the web console under /ui/.
//   - The fleet's ingest: snapshots (batched into the store, then folded by
//     package fold's Scheduler), events, control polls, spec, feeder record
//     claims and shard starts, each authenticated by the run's token.
//   - The worker registry and the service's own /metrics.
//
// Its JSON shapes live in package wire, shared with the typed client
// (api/client). It imports no Temporal package: the orchestrator sits
// behind service.Orchestrator (Config.Orchestrator).
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/tsdb"
	"github.com/barrage/barrage/internal/wire"
)

// Defaults of Config.
const (
	// DefaultMaxBody fits the largest scenario (inline feeder data
	// included) with room for the JSON around it.
	DefaultMaxBody   = scenario.MaxSize + 64<<10
	DefaultFoldGrace = time.Second
)

// Config is what the server needs.
type Config struct {
	Store store.Store
	// Orchestrator runs the runs (Temporal, through temporalport); nil:
	// runs cannot be started or steered (a read-only server).
	Orchestrator service.Orchestrator
	// Scheduler keeps the schedules (Temporal Schedules, through
	// temporalport); nil: schedules can be read, not created or steered.
	Scheduler service.ScheduleOrchestrator
	// TemporalUI is the base URL of the Temporal Web UI, for links ("" = none).
	TemporalUI string
	Namespace  string
	// FoldGrace is how long an interval waits for its last shards before it
	// is folded without them (a late snapshot re-folds it).
	FoldGrace time.Duration
	// MaxBody bounds request bodies; larger ones get 413.
	MaxBody int64
	// MaxImportBody is MaxBody for the importers' routes (/import/*),
	// whose HAR recordings and OpenAPI documents outgrow scenarios;
	// default DefaultMaxImportBody.
	MaxImportBody int64
	// RetainSnapshots is how long raw snapshots are kept after a run ends;
	// then they are compacted into the run's folded intervals (reports and
	// series stay forever). Zero keeps them forever.
	RetainSnapshots time.Duration
	// CompactEvery is how often compaction looks for such runs (0: hourly);
	// the first look is a minute after start, or CompactEvery if sooner.
	CompactEvery time.Duration
	// Exporter, when set, pushes every folded interval to VictoriaMetrics.
	Exporter *tsdb.Exporter
	// GrafanaURL is the base URL of the Grafana with the barrage-run
	// dashboard, for links ("" = none).
	GrafanaURL string
	// FleetToken, when set, is required by the worker registry endpoint.
	FleetToken string
	// NoAuth serves every route to anyone (the embedded `barrage run`, and
	// `barrage server --no-auth` on loopback). Otherwise every route but
	// /healthz, /readyz, the login page and the worker-facing ones needs a
	// token with the route's role.
	NoAuth bool
	// Access checks tokens and keeps the audit log; nil: one over Store.
	Access *service.Access
	// SecretKey seals the values of {{ secret.NAME }} (32 bytes, checked
	// by the caller); nil: no secrets (setting one, or a run reading one,
	// is refused).
	SecretKey []byte
	// Guard is where runs may send load (sent to every worker with the
	// run's spec) and how much; nil: anywhere, any amount.
	Guard  *service.Guard
	Logger *slog.Logger
	// Ready reports whether everything the server depends on is up.
	Ready func(ctx context.Context) error
}

// maxPDFPrints bounds the PDF reports printed at once: each is a headless
// Chromium (hundreds of MB); more get 503 pdf_busy.
const maxPDFPrints = 2

// Server is the HTTP service.
type Server struct {
	cfg       Config
	log       *slog.Logger
	router    *gin.Engine
	runs      *runCache
	controls  *controls
	runsvc    *service.Runs
	schedsvc  *service.Schedules
	access    *service.Access
	blockedMu sync.Mutex
	blocked   map[string]map[string]bool // run → hosts of its target_blocked events
	observed  observedRuns               // samples and slow traces kept per run
	secrets   *service.Secrets
	snapshots *batchWriter[store.Snapshot, bool]
	events    *batchWriter[store.Event, int64]
	feeds     *feeds
	folder    *fold.Scheduler
	watch     *watch
	feeders   sequentialFeeders
	broker    *broker
	metrics   *serviceMetrics
	summaries summaries
	pdfSlots  chan struct{} // PDF prints running (each a Chromium)
	wg        sync.WaitGroup
	stop      context.CancelFunc
}

// foldChannel is the Postgres NOTIFY channel on which servers announce
// folded intervals (payload: the run ID).
const foldChannel = "barrage_folded"

// New builds the server; Handler serves it.
func New(cfg Config) *Server {
	if cfg.FoldGrace <= 0 {
		cfg.FoldGrace = DefaultFoldGrace
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxImportBody <= 0 {
		cfg.MaxImportBody = DefaultMaxImportBody
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, runs: newRunCache(cfg.Store), controls: newControls(cfg.Store), broker: newBroker(),
		summaries: summaries{names: map[string]string{}, m: map[string]*wire.RunSummary{}}, pdfSlots: make(chan struct{}, maxPDFPrints),
		metrics: newServiceMetrics(cfg.Store, cfg.Exporter)}
	orch := cfg.Orchestrator
	if orch == nil {
		orch = noOrchestrator{}
	}
	s.runsvc = service.NewRuns(cfg.Store, orch)
	s.access = cfg.Access
	if s.access == nil {
		s.access = service.NewAccess(cfg.Store)
		s.access.Log = s.log
	}
	s.runsvc.Guard = cfg.Guard
	var err error
	if s.secrets, err = service.NewSecrets(cfg.Store, s.access, cfg.SecretKey); err != nil {
		// The caller checks the key; a bad one keeps no secrets rather than
		// taking the server down.
		s.log.Error("secret key", "err", err)
		s.secrets, _ = service.NewSecrets(cfg.Store, s.access, nil)
	}
	s.runsvc.Secrets = s.secrets
	sched := cfg.Scheduler
	if sched == nil {
		sched = noOrchestrator{}
	}
	s.schedsvc = service.NewSchedules(cfg.Store, sched, s.runsvc)
	s.folder = s.newScheduler()
	s.watch = newWatch(s)
	s.feeds = newFeeds(s)
	s.snapshots = newSnapshotWriter(cfg.Store)
	s.events = newEventWriter(cfg.Store)
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if n, ok := cfg.Store.(store.Notifier); ok {
		// Streams on this server wake as soon as any server folds.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = n.Listen(ctx, foldChannel, func(runID string) { s.published(runID) })
		}()
	}
	if cfg.Orchestrator != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.watch.loop(ctx)
		}()
	}
	if cfg.RetainSnapshots > 0 {
		s.wg.Add(1)
		go labelled(LabelFold, func() {
			defer s.wg.Done()
			s.compactLoop(ctx)
		})
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// A handler's *gin.Context, used as a context.Context, ends with its
	// request: a client that goes away cancels the store reads and
	// Temporal calls made for it.
	r.ContextWithFallback = true
	r.Use(labelWork, gin.Recovery(), s.metrics.observe, s.limitBody)
	s.routes(r)
	s.router = r
	return s
}

// ControlPublished tells the server that a run's control was just stored
// (by the PublishControl activity in this process): its shards get it now
// rather than at the next refresh.
func (s *Server) ControlPublished(runID string, version int, doc []byte) {
	s.controls.Published(runID, version, doc)
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// Close stops background folding.
func (s *Server) Close() {
	s.stop()
	s.snapshots.close()
	s.events.close()
	s.folder.Close()
	s.wg.Wait()
}

func (s *Server) routes(r *gin.Engine) {
	viewer, runner, admin := s.need(store.RoleViewer), s.need(store.RoleRunner), s.need(store.RoleAdmin)
	s.consoleRoutes(r)
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", viewer, s.metrics.handler())
	r.GET("/openapi.json", viewer, serveOpenAPI)

	r.POST("/scenarios", runner, s.createScenario)
	r.GET("/scenarios", viewer, s.listScenarios)
	r.GET("/scenarios/:id", viewer, s.getScenario)
	r.PUT("/scenarios/:id", runner, s.updateScenario)
	r.DELETE("/scenarios/:id", admin, s.deleteScenario)

	r.POST("/runs", runner, s.createRun)
	r.GET("/runs", viewer, s.listRuns)
	r.GET("/runs/compare", viewer, s.compareRuns)
	r.GET("/runs/:id", viewer, s.getRun)
	r.GET("/runs/:id/report", viewer, s.getReport)
	r.GET("/runs/:id/hlog", viewer, s.getHlog)
	r.GET("/runs/:id/metrics", viewer, s.liveMetrics)
	r.GET("/runs/:id/events", viewer, s.runEvents)
	r.POST("/runs/:id/abort", runner, s.abortRun)
	r.POST("/runs/:id/ramp", runner, s.rampRun)
	r.DELETE("/runs/:id", admin, s.deleteRun)

	s.scheduleRoutes(r, viewer, runner)
	s.importRoutes(r, runner)

	r.POST("/tokens", admin, s.createToken)
	r.GET("/tokens", admin, s.listTokens)
	r.DELETE("/tokens/:name", admin, s.revokeToken)
	r.GET("/audit", admin, s.getAudit)
	r.GET("/secrets", runner, s.listSecrets)
	r.PUT("/secrets/:name", runner, s.putSecret)
	r.DELETE("/secrets/:name", admin, s.deleteSecret)

	// The worker-facing routes: each run's ingest token, the fleet token.
	r.GET("/ingest/runs/:id/spec", s.ingestSpec)
	r.GET("/ingest/runs/:id/control", s.ingestControl)
	r.GET("/ingest/runs/:id/secrets", s.ingestSecrets)
	r.POST("/ingest/runs/:id/snapshots", s.ingestSnapshot)
	r.POST("/ingest/runs/:id/events", s.ingestEvent)
	r.POST("/ingest/runs/:id/records", s.ingestClaim)
	r.POST("/ingest/runs/:id/shards", s.ingestShard)

	r.POST("/workers/heartbeat", s.workerHeartbeat)
	r.GET("/workers", viewer, s.listWorkers)
	r.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, "not_found", "", "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path)
	})
}

// limitBody turns bodies over MaxBody (MaxImportBody for the importers)
// into 413 before a handler reads them.
func (s *Server) limitBody(c *gin.Context) {
	limit := s.cfg.MaxBody
	if strings.HasPrefix(c.FullPath(), importPrefix) {
		limit = s.cfg.MaxImportBody
	}
	if c.Request.ContentLength > limit {
		fail(c, http.StatusRequestEntityTooLarge, "too_large", "", "request body is %d bytes, the limit is %d", c.Request.ContentLength, limit)
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["database"], ok = err.Error(), false
	} else {
		checks["database"] = "ok"
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			checks["temporal"], ok = err.Error(), false
		} else {
			checks["temporal"] = "ok"
		}
	}
	if !ok {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": checks})
}

// noOrchestrator stands in when a server has none: the API reads, but
// starting or steering a run answers 503.
type noOrchestrator struct{}

var errNoOrchestrator = errors.New("this server runs no orchestrator")

func (noOrchestrator) Start(context.Context, *store.Run) error { return errNoOrchestrator }
func (noOrchestrator) Abort(context.Context, *store.Run, string, string, bool) error {
	return errNoOrchestrator
}
func (noOrchestrator) Ramp(context.Context, *store.Run, float64, time.Duration, string) error {
	return errNoOrchestrator
}
func (noOrchestrator) ShardsStarted(context.Context, string, []wire.ShardState) error {
	return errNoOrchestrator
}
func (noOrchestrator) ShardSilent(context.Context, *store.Run, int, string, string) error {
	return errNoOrchestrator
}
func (noOrchestrator) CreateSchedule(context.Context, *store.Schedule) error {
	return errNoOrchestrator
}
func (noOrchestrator) DescribeSchedule(context.Context, string) (service.ScheduleState, error) {
	return service.ScheduleState{}, errNoOrchestrator
}
func (noOrchestrator) PauseSchedule(context.Context, string, bool, string) error {
	return errNoOrchestrator
}
func (noOrchestrator) DeleteSchedule(context.Context, string) error { return errNoOrchestrator }
