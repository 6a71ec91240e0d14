package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/barrage/barrage/internal/server"
)

// runServer is `barrage server`: API + ingest + the run workflow's worker,
// with an embedded Temporal dev server unless --temporal names one.
func runServer(ctx context.Context, args []string) error {
	fs := newFlagSet("server")
	var cfg server.Config
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8480", "address of the HTTP API")
	fs.StringVar(&cfg.DB, "db", "sqlite:./barrage.db", "database: postgres://… or sqlite:PATH")
	fs.StringVar(&cfg.Temporal, "temporal", "", "frontend address of an external Temporal (default: start one in this process)")
	fs.StringVar(&cfg.TemporalListen, "temporal-listen", "127.0.0.1:7233", "address of the embedded Temporal's frontend")
	fs.StringVar(&cfg.TemporalUI, "temporal-ui", "", "also serve the Temporal Web UI at this address (embedded Temporal only)")
	fs.StringVar(&cfg.TemporalDB, "temporal-db", "./barrage-temporal.db", "SQLite file of the embedded Temporal, so that a restarted server carries its runs on (\"\" = in memory)")
	fs.StringVar(&cfg.Namespace, "namespace", "default", "Temporal namespace")
	fs.IntVar(&cfg.LocalWorkers, "local-workers", 0, "load workers to run in this process")
	fs.IntVar(&cfg.LocalMaxVUs, "local-max-vus", 0, "declared VU capacity of each local worker (0: no cap)")
	fs.StringVar(&cfg.FleetToken, "fleet-token", os.Getenv("BARRAGE_FLEET_TOKEN"), "token workers must send to register (default $BARRAGE_FLEET_TOKEN; empty: none)")
	retain := retention(defaultRetention)
	fs.Var(&retain, "retain-snapshots", "keep raw snapshots this long after a run ends (e.g. 30d, 36h; 0: forever), then compact them into its folded intervals; reports and series stay forever")
	verbose := fs.Bool("v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	if fs.NArg() > 0 {
		return &exitError{code: exitBadInput, err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	cfg.Logger = newLogger(*verbose)
	cfg.RetainSnapshots = time.Duration(retain)
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	cfg.Logger.Info("barrage server ready", "api", srv.URL, "temporal", srv.Temporal, "ui", srv.UI, "db", cfg.DB)
	fmt.Printf("barrage server listening on %s (Temporal %s)\n", srv.URL, srv.Temporal)
	select {
	case <-ctx.Done():
		return nil
	case err := <-waitErr(srv):
		return err
	}
}

func waitErr(srv *server.Server) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- srv.Wait() }()
	return ch
}

func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
