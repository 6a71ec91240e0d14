// Command fleet measures what a server pays for a fleet: it starts the real
// server in this process (embedded Temporal, the store, the API with ingest,
// folding and live streams, the run workflow), runs a scenario on WORKERS
// stand-in load workers that send no traffic but report like real ones (a
// realistic snapshot every interval, heartbeats, control requests), and
// reports the server's CPU by kind of work, the live streams' lag, the
// snapshots lost between ingest and folding, and the size of the run's
// workflow history.
//
// Usage:
//
//	make bench-fleet                                    # 100 workers, 60 s, SQLite
//	WORKERS=20 SECONDS=15 VIEWERS=2 make bench-fleet
//	BARRAGE_TEST_PG=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable make bench-fleet
//
// STORE is sqlite or postgres; without it, SQLite runs, then Postgres when
// BARRAGE_TEST_PG is set (in a fresh database, dropped at the end).
// PROFILE_OUT=PATH keeps the CPU profile of each store as PATH.<store>.
// Progress goes to stderr; stdout gets, per store, the lines
//
//	fleet_cpu workers=N store=S ingest=… fold=… stream=… api=… standin=… other=… total=…
//	fleet_extra workers=N store=S history_events=… history_runs=… report_seconds=… lag_p50_ms=… snapshots_posted=… snapshots_folded=… viewers=V
//	fleet_bench workers=N steps=5 seconds=S store=S fold_core=F ingest_core=I lag_p99_ms=L dropped=D history_mb=H status=STATUS
//
// CPU figures are CPU-seconds per second of the load window (epoch to the
// profile's end), from a CPU profile whose samples the server labels by
// kind of work (api.ProfileLabel); total is the process's from getrusage.
// Everything listens on 127.0.0.1; the stand-ins' target is never contacted.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// config is the benchmark's parameters, from the environment.
type config struct {
	workers int
	seconds int
	viewers int
	steps   int
	stores  []string
	pgBase  string // BARRAGE_TEST_PG
	// profileOut, when set, keeps each store's CPU profile there, as
	// PROFILE_OUT.<store> (for go tool pprof -tags).
	profileOut string
}

// Fixed parameters of the load the stand-ins describe.
const (
	benchSteps    = 5
	vusPerWorker  = 10
	maxWorkers    = 1000 // api.MaxWorkers
	targetBaseURL = "http://127.0.0.1:9"
)

func main() {
	cfg, err := readConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := false
	for _, name := range cfg.stores {
		res, err := benchStore(ctx, cfg, name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fleet: %s: %v\n", name, err)
			failed = true
			continue
		}
		res.print(os.Stdout)
		if ctx.Err() != nil {
			break
		}
	}
	if failed {
		os.Exit(1)
	}
}

func readConfig() (config, error) {
	cfg := config{steps: benchSteps, pgBase: os.Getenv("BARRAGE_TEST_PG"), profileOut: os.Getenv("PROFILE_OUT")}
	var err error
	if cfg.workers, err = envInt("WORKERS", 100, 1, maxWorkers); err != nil {
		return cfg, err
	}
	if cfg.seconds, err = envInt("SECONDS", 60, 2, 3600); err != nil {
		return cfg, err
	}
	if cfg.viewers, err = envInt("VIEWERS", 1, 0, 1000); err != nil {
		return cfg, err
	}
	switch s := os.Getenv("STORE"); s {
	case "":
		cfg.stores = []string{"sqlite"}
		if cfg.pgBase != "" {
			cfg.stores = append(cfg.stores, "postgres")
		}
	case "sqlite":
		cfg.stores = []string{s}
	case "postgres":
		if cfg.pgBase == "" {
			return cfg, fmt.Errorf("STORE=postgres needs BARRAGE_TEST_PG (a database URL)")
		}
		cfg.stores = []string{s}
	default:
		return cfg, fmt.Errorf("STORE=%q: want sqlite or postgres", s)
	}
	return cfg, nil
}

func envInt(name string, def, lo, hi int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want an integer within %d..%d", name, v, lo, hi)
	}
	return n, nil
}

// progress prints a line to stderr, stamped with the time.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s fleet: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}
