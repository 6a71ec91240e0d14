package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/temporal"
)

const (
	// DefaultListen is the frontend address when Options.Listen is empty:
	// where Temporal clients look by default.
	DefaultListen = "127.0.0.1:7233"
	// DefaultNamespace is the namespace when Options.Namespace is empty.
	DefaultNamespace = "default"

	// stopTimeout bounds Stop. A stop takes 30-60 ms when no worker is
	// polling; the frontend lets in-flight long polls run for up to one
	// second (a minimum built into Temporal) before cutting them.
	stopTimeout = 5 * time.Second
)

// ErrStopTimeout is returned by Stop when Temporal did not stop in time.
// Its goroutines may then still be running.
var ErrStopTimeout = errors.New("temporal server did not stop in time")

// Options configure a dev server. The zero value is an in-memory server on
// DefaultListen with DefaultNamespace, no UI and no logs.
type Options struct {
	// Listen is the frontend gRPC address, host:port, the host an IP
	// address or localhost. Port 0 picks a free port.
	Listen string
	// DBFile is the SQLite database file; "" keeps state in memory, lost on
	// Stop. A missing or empty file gets the schema; an existing one is
	// reused, with its workflows.
	DBFile string
	// Namespace is created if missing, with 7 days of retention.
	Namespace string
	// UIListen is where the Temporal Web UI serves HTTP; "" means no UI.
	// Port 0 picks a free port.
	UIListen string
	// Logger receives Temporal's logs at Warn and above; nil discards them.
	Logger *slog.Logger
	// ExtraNamespaces are created too, like Namespace.
	ExtraNamespaces []string
}

// Server is a running dev server.
type Server struct {
	temporal  temporal.Server
	tlog      *temporalLogger
	ui        *uiserver.Server
	frontend  string
	uiAddr    string
	namespace string
	logger    *slog.Logger

	stopOnce sync.Once
	stopErr  error
}

// FrontendAddr is the host:port to dial the frontend at.
func (s *Server) FrontendAddr() string { return s.frontend }

// UIAddr is the host:port of the Web UI, or "" without UI.
func (s *Server) UIAddr() string { return s.uiAddr }

// Namespace is the main namespace (Options.Namespace or DefaultNamespace).
func (s *Server) Namespace() string { return s.namespace }

// Start starts a dev server and returns once its frontend answers
// DescribeNamespace (and its UI answers, when asked for). It gives up with an
// error when ctx ends first; whatever started is then stopped.
func Start(ctx context.Context, opts Options) (*Server, error) {
	began := time.Now()
	opts = withDefaults(opts)
	var s *Server
	var err error
	for try := 1; ; try++ {
		s, err = startOnce(ctx, opts)
		if err == nil {
			break
		}
		// Temporal binds the ports picked for it only later: another
		// process may take one in between. Pick again.
		if !errors.Is(err, errPortTaken) || try == portTries || ctx.Err() != nil {
			return nil, err
		}
		opts.Logger.Debug("temporal dev server: a picked port was taken, picking again", slog.Any("error", err))
	}
	s.logger.Info("temporal dev server ready",
		slog.String("frontend", s.frontend), slog.String("ui", s.uiAddr),
		slog.String("namespace", s.namespace), slog.String("db", dbName(opts.DBFile)),
		slog.Duration("took", time.Since(began)))
	return s, nil
}

// portTries bounds how often Start picks ports again after losing one.
const portTries = 5

// errPortTaken marks a start that failed because a port picked for Temporal
// was taken before Temporal bound it.
var errPortTaken = errors.New("a port picked for temporal was taken")

// startOnce builds and starts a server once.
func startOnce(ctx context.Context, opts Options) (*Server, error) {
	s, err := build(opts)
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx, opts); err != nil {
		// Stop's own error would only hide the cause.
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// markPortTaken adds errPortTaken to err when Temporal failed to bind.
func markPortTaken(err error) error {
	if err != nil && strings.Contains(err.Error(), "address already in use") {
		return errors.Join(err, errPortTaken)
	}
	return err
}

func withDefaults(opts Options) Options {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts
}

func dbName(file string) string {
	if file == "" {
		return "memory"
	}
	return file
}

// build prepares the database and constructs (but does not start) the
// Temporal server.
func build(opts Options) (*Server, error) {
	frontend, err := resolveListen(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("frontend: %w", err)
	}
	p, err := pickPorts(frontend)
	if err != nil {
		return nil, err
	}
	sql, err := sqlConfig(opts.DBFile)
	if err != nil {
		return nil, err
	}
	if err := ensureSchema(sql); err != nil {
		return nil, err
	}
	if err := createNamespaces(sql, namespaceNames(opts.Namespace, opts.ExtraNamespaces)); err != nil {
		return nil, err
	}
	tlog := newTemporalLogger(opts.Logger)
	var srv temporal.Server
	err = recoverFatal(func() error {
		var err error
		srv, err = temporal.NewServer(
			temporal.WithConfig(serverConfig(p, sql)),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithStaticHosts(p.staticHosts()),
			temporal.WithLogger(tlog),
			temporal.WithDynamicConfigClient(dynamicConfig()),
		)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", markPortTaken(err))
	}
	return &Server{
		temporal:  srv,
		tlog:      tlog,
		frontend:  frontend.dial(),
		namespace: opts.Namespace,
		logger:    opts.Logger,
	}, nil
}

// start runs Temporal, then the UI, then waits until both answer.
func (s *Server) start(ctx context.Context, opts Options) error {
	started := make(chan error, 1)
	go func() { started <- recoverFatal(s.temporal.Start) }()
	select {
	case err := <-started:
		if err != nil {
			return fmt.Errorf("start temporal server: %w", markPortTaken(err))
		}
	case <-ctx.Done():
		// Temporal's Start cannot be interrupted; stop it once it returns.
		srv := s.temporal
		go func() {
			<-started
			_ = stopBounded(srv)
		}()
		s.temporal = nil
		return fmt.Errorf("start temporal server: %w", ctx.Err())
	}
	if opts.UIListen != "" {
		if err := s.startUI(ctx, opts.UIListen); err != nil {
			return err
		}
	}
	return waitFrontend(ctx, s.frontend, s.namespace)
}

func (s *Server) startUI(ctx context.Context, listen string) error {
	at, err := resolveListen(listen)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	ui, err := newUI(at, s.frontend, s.namespace)
	if err != nil {
		return err
	}
	s.ui, s.uiAddr = ui, at.dial()
	// Start blocks while serving and returns nil once Stop closes it.
	go func() { _ = ui.Start() }()
	return waitHTTP(ctx, "http://"+s.uiAddr+"/")
}

// waitFrontend dials the frontend and asks for the namespace until it
// answers or ctx ends.
func waitFrontend(ctx context.Context, addr, namespace string) error {
	nc, err := client.NewNamespaceClient(client.Options{
		HostPort: addr,
		Logger:   sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return fmt.Errorf("dial frontend %s: %w", addr, err)
	}
	defer nc.Close()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = nc.Describe(attempt, namespace)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("frontend %s not ready: %w (last: %v)", addr, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Stop stops the UI and Temporal, waiting at most a few seconds. It is safe
// to call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.tlog.stopping()
		if s.ui != nil {
			s.ui.Stop()
		}
		if s.temporal != nil {
			s.stopErr = stopBounded(s.temporal)
		}
		s.logger.Debug("temporal dev server stopped", slog.String("frontend", s.frontend), slog.Any("error", s.stopErr))
	})
	return s.stopErr
}

func stopBounded(srv temporal.Server) error {
	done := make(chan error, 1)
	go func() { done <- recoverFatal(srv.Stop) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("stop temporal server: %w", err)
		}
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("stop after %s: %w", stopTimeout, ErrStopTimeout)
	}
}

// recoverFatal runs f and turns a panic from Temporal's Fatal into an error.
// Other panics are not ours to swallow.
func recoverFatal(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fp, ok := r.(fatalPanic)
			if !ok {
				panic(r)
			}
			err = errors.New(fp.msg)
		}
	}()
	return f()
}
