package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/barrage/barrage/internal/server"
	"github.com/spf13/cobra"
)

// newServerCmd is `barrage server`: API + ingest + the run workflow's
// worker, with an embedded Temporal dev server unless --temporal names one.
func newServerCmd() *cobra.Command {
	var cfg server.Config
	retain := retention(defaultRetention)
	var verbose bool
	c := &cobra.Command{
		Use:   "server",
		Short: "run the Barrage service: API, ingest, the run workflows (and Temporal, embedded)",
		Args:  wantArgs(0, ""),
		RunE: func(c *cobra.Command, _ []string) error {
			cfg.Logger = newLogger(verbose)
			cfg.RetainSnapshots = time.Duration(retain)
			return serve(c.Context(), cfg)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8480", "address of the HTTP API")
	f.StringVar(&cfg.DB, "db", "sqlite:./barrage.db", "database: postgres://… or sqlite:PATH")
	f.StringVar(&cfg.Temporal, "temporal", "", "frontend address of an external Temporal (default: start one in this process)")
	f.StringVar(&cfg.TemporalListen, "temporal-listen", "127.0.0.1:7233", "address of the embedded Temporal's frontend")
	f.StringVar(&cfg.TemporalUI, "temporal-ui", "", "also serve the Temporal Web UI at this address (embedded Temporal only)")
	f.StringVar(&cfg.TemporalDB, "temporal-db", "./barrage-temporal.db", "SQLite file of the embedded Temporal, so that a restarted server carries its runs on (\"\" = in memory)")
	f.StringVar(&cfg.Namespace, "namespace", "default", "Temporal namespace")
	f.IntVar(&cfg.LocalWorkers, "local-workers", 0, "load workers to run in this process")
	f.IntVar(&cfg.LocalMaxVUs, "local-max-vus", 0, "declared VU capacity of each local worker (0: no cap)")
	f.StringVar(&cfg.FleetToken, "fleet-token", "", "token workers must send to register (empty: none)")
	f.StringVar(&cfg.VictoriaMetrics, "victoria-metrics", "", "push every folded interval of every run to this VictoriaMetrics, e.g. http://127.0.0.1:8428 (run it with -dedup.minScrapeInterval=1ms)")
	f.StringVar(&cfg.GrafanaURL, "grafana-url", "", "Grafana with the barrage-run dashboard (deploy/grafana): runs link to it as grafana_url")
	f.Var(&retain, "retain-snapshots", "keep raw snapshots this long after a run ends (e.g. 30d, 36h; 0: forever), then compact them into its folded intervals; reports and series stay forever")
	f.BoolVar(&verbose, "v", false, "log at debug level")
	return c
}

// serve runs the service until ctx ends or it fails.
func serve(ctx context.Context, cfg server.Config) error {
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
