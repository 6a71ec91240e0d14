package main

import (
	"fmt"
	"github.com/barrage/barrage/internal/netpolicy"
	"os"

	"github.com/barrage/barrage/internal/server"
	"github.com/spf13/cobra"
)

// newWorkerCmd is `barrage worker`: one fleet node.
func newWorkerCmd() *cobra.Command {
	var cfg server.NodeConfig
	var verbose bool
	var allow []string
	var tlsOpts tlsFlags
	c := &cobra.Command{
		Use:   "worker",
		Short: "run a fleet node that executes load shards",
		Args:  wantArgs(0, ""),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := tlsOpts.applyWorker(&cfg); err != nil {
				return err
			}
			if !c.Flags().Changed("id") {
				cfg.ID, _ = os.Hostname()
			}
			if cfg.ID == "" {
				return usageError(fmt.Errorf("--id is required"))
			}
			if err := checkSpoolDir(cfg.SpoolDir); err != nil {
				// Found now, not after registering and failing every shard taken.
				return &exitError{code: exitBadInput, err: err}
			}
			if len(allow) > 0 {
				p, err := netpolicy.Parse(allow)
				if err != nil {
					return usageError(err)
				}
				cfg.Policy = p
			}
			cfg.Logger = newLogger(verbose)
			fmt.Printf("barrage worker %s: server %s, Temporal %s\n", cfg.ID, cfg.Server, cfg.Temporal)
			return server.RunNode(c.Context(), cfg)
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Server, "server", "http://127.0.0.1:8480", "URL of the Barrage server (ingest and control)")
	tlsOpts.addWorker(f)
	f.StringVar(&cfg.Temporal, "temporal", "127.0.0.1:7233", "Temporal frontend address")
	f.StringVar(&cfg.Namespace, "namespace", "default", "Temporal namespace")
	// The default is not the flag's: help and docs/cli.md must not depend
	// on the machine they are made on.
	f.StringVar(&cfg.ID, "id", "", "this worker's name, unique in the fleet (default: this machine's host name)")
	f.IntVar(&cfg.MaxVUs, "max-vus", 0, "declared capacity: most VUs this worker runs (0: no cap)")
	f.IntVar(&cfg.MaxRPS, "max-rps", 0, "declared capacity: most iterations/s this worker starts (0: no cap)")
	f.StringVar(&cfg.FleetToken, "fleet-token", "", "token to register with the server")
	f.StringVar(&cfg.SpoolDir, "spool-dir", "", "folder for snapshots waiting for the server (default: the temp folder)")
	f.StringArrayVar(&allow, "allow-target", nil, "narrow where this worker sends load: runs reach only targets both the server's policy and this one allow (CIDR, ADDRESS or HOST, each with an optional :PORT; repeatable)")
	f.BoolVar(&verbose, "v", false, "log at debug level")
	return c
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
