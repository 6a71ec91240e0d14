package main

import (
	"context"
	"fmt"
	"os"

	"github.com/barrage/barrage/internal/server"
)

// runWorker is `barrage worker`: one fleet node.
func runWorker(ctx context.Context, args []string) error {
	fs := newFlagSet("worker")
	var cfg server.NodeConfig
	host, _ := os.Hostname()
	fs.StringVar(&cfg.Server, "server", "http://127.0.0.1:8480", "URL of the Barrage server (ingest and control)")
	fs.StringVar(&cfg.Temporal, "temporal", "127.0.0.1:7233", "Temporal frontend address")
	fs.StringVar(&cfg.Namespace, "namespace", "default", "Temporal namespace")
	fs.StringVar(&cfg.ID, "id", host, "this worker's name, unique in the fleet")
	fs.IntVar(&cfg.MaxVUs, "max-vus", 0, "declared capacity: most VUs this worker runs (0: no cap)")
	fs.IntVar(&cfg.MaxRPS, "max-rps", 0, "declared capacity: most iterations/s this worker starts (0: no cap)")
	fs.StringVar(&cfg.FleetToken, "fleet-token", os.Getenv("BARRAGE_FLEET_TOKEN"), "token to register with the server (default $BARRAGE_FLEET_TOKEN)")
	fs.StringVar(&cfg.SpoolDir, "spool-dir", "", "folder for snapshots waiting for the server (default: the temp folder)")
	verbose := fs.Bool("v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	if fs.NArg() > 0 {
		return &exitError{code: exitBadInput, err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if cfg.ID == "" {
		return &exitError{code: exitBadInput, err: fmt.Errorf("--id is required")}
	}
	if err := checkSpoolDir(cfg.SpoolDir); err != nil {
		// Found now, not after registering and failing every shard taken.
		return &exitError{code: exitBadInput, err: err}
	}
	cfg.Logger = newLogger(*verbose)
	fmt.Printf("barrage worker %s: server %s, Temporal %s\n", cfg.ID, cfg.Server, cfg.Temporal)
	return server.RunNode(ctx, cfg)
}

// checkSpoolDir tells whether dir ("" = the temp folder) is a folder this
// worker can write its spool files in.
func checkSpoolDir(dir string) error {
	if dir == "" {
		return nil
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--spool-dir %s: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("--spool-dir %s: not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".barrage-spool-check-*")
	if err != nil {
		return fmt.Errorf("--spool-dir %s: not writable: %w", dir, err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}
