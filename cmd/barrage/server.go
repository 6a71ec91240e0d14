package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/barrage/barrage/internal/netpolicy"
	"github.com/barrage/barrage/internal/service"
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
	var allow []string
	var maxDuration time.Duration
	var keyFile string
	var tlsOpts tlsFlags
	c := &cobra.Command{
		Use:   "server",
		Short: "run the Barrage service: API, ingest, the run workflows (and Temporal, embedded)",
		Args:  wantArgs(0, ""),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := tlsOpts.applyServer(&cfg); err != nil {
				return err
			}
			cfg.Logger = newLogger(verbose)
			cfg.RetainSnapshots = time.Duration(retain)
			cfg.MaxDuration = maxDuration
			// A server is safe by default: it sends load nowhere until told.
			policy, err := netpolicy.Parse(allow)
			if err != nil {
				return usageError(err)
			}
			cfg.TargetPolicy = policy
			if keyFile != "" {
				if cfg.SecretKey, err = service.ReadKeyFile(keyFile); err != nil {
					return &exitError{code: exitBadInput, err: err}
				}
			}
			if cfg.MaxVUs < 0 || cfg.MaxRPS < 0 || cfg.MaxDuration < 0 {
				return usageError(errors.New("--max-vus, --max-rps and --max-duration must be >= 0"))
			}
			return serve(c.Context(), cfg)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8480", "address of the HTTP API")
	tlsOpts.addServer(f)
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
	f.StringArrayVar(&allow, "allow-target", nil, "where runs may send load: CIDR, ADDRESS or HOST, each with an optional :PORT (repeatable, or comma-separated); nothing is allowed until allowed, and loopback, private, link-local and other special addresses only by a CIDR that names them")
	f.IntVar(&cfg.MaxVUs, "max-vus", 0, "refuse runs of more virtual users than this (0: no cap)")
	f.Float64Var(&cfg.MaxRPS, "max-rps", 0, "refuse open-model runs of a higher peak rate, in iterations/s (0: no cap)")
	f.DurationVar(&maxDuration, "max-duration", 0, "refuse runs longer than this, graceful stop included, e.g. 30m (0: no cap)")
	f.StringVar(&keyFile, "secret-key-file", "", "file with the 32-byte key that seals the secrets scenarios read as {{ secret.NAME }} (raw, hex or base64; e.g. openssl rand -hex 32); without it the server keeps no secrets")
	f.BoolVar(&cfg.NoAuth, "no-auth", false, "serve the API without tokens (only when --listen is a loopback address)")
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
	if cfg.TargetPolicy != nil && len(cfg.TargetPolicy.Entries()) == 0 {
		fmt.Println("barrage server: no --allow-target: every run will be refused until targets are allowed")
	}
	if !cfg.NoAuth {
		fmt.Println("barrage server: every API call needs a token (barrage tokens create --db DSN --name NAME --role admin)")
	}
	if cfg.FleetToken == "" {
		fmt.Println("barrage server: no --fleet-token (--no-auth): any worker may register, and each run's worker token is in its Temporal history")
	}
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
