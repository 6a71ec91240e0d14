package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/barrage/barrage/internal/httpserve"
	"github.com/barrage/barrage/internal/target"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// targetShutdownGrace is how long in-flight requests get to finish on exit;
// requests held by a freeze or a long latency are cut after it.
const targetShutdownGrace = 5 * time.Second

type targetOptions struct {
	listen      string
	allowRemote bool
	maxLife     time.Duration
	readyFile   string
	cfg         target.Config
}

// targetFlags are the target command's flags, read into targetOptions
// by options.
type targetFlags struct {
	o       targetOptions
	latency string
}

func (t *targetFlags) register(fs *pflag.FlagSet) {
	o := &t.o
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow listening on a non-loopback address")
	fs.StringVar(&t.latency, "latency", "none", "default latency: fixed:5ms, uniform:1ms-10ms, lognormal:5ms,0.5")
	fs.Float64Var(&o.cfg.ErrorRate, "error-rate", 0, "fraction of load requests answered 500 (0..1)")
	fs.DurationVar(&o.cfg.FreezeFor, "freeze", 0, "pause the whole server for this long every --freeze-every")
	fs.DurationVar(&o.cfg.FreezeEvery, "freeze-every", 0, "period of the freeze (the freeze is its last --freeze)")
	fs.Int64Var(&o.cfg.Seed, "seed", 0, "seed of the error and latency draws")
	fs.DurationVar(&o.maxLife, "max-life", 0, "exit by itself after this long (0: run until interrupted)")
	fs.StringVar(&o.readyFile, "ready-file", "", "once listening, write the actual address (host:port) to this file")
}

// options checks the flags' values together.
func (t *targetFlags) options() (targetOptions, error) {
	o := t.o
	lat, err := target.ParseLatency(t.latency)
	if err != nil {
		return o, fmt.Errorf("--latency: %w", err)
	}
	o.cfg.Latency = lat
	if o.maxLife < 0 {
		return o, fmt.Errorf("--max-life %v is negative", o.maxLife)
	}
	if !o.allowRemote && !isLoopback(o.listen) {
		return o, fmt.Errorf("refusing to listen on %q: not a loopback address (pass --allow-remote to expose the target)", o.listen)
	}
	return o, nil
}

func newTargetCmd() *cobra.Command {
	var tf targetFlags
	var o targetOptions
	c := &cobra.Command{
		Use:   "target",
		Short: "run the built-in HTTP target for demos, tests and benchmarks",
		Long:  "Run the built-in HTTP target for demos, tests and benchmarks.\n\n" + target.EndpointsHelp,
		Args:  wantArgs(0, ""),
		// The values are checked before running, and nothing is started
		// there, so that compose_test.go can check them too.
		PreRunE: func(*cobra.Command, []string) error {
			var err error
			if o, err = tf.options(); err != nil {
				return usageError(err)
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			return runTarget(c.Context(), o)
		},
	}
	tf.register(c.Flags())
	return c
}

// isLoopback reports whether addr can only be reached from this machine. An
// empty host means every interface, and a host name other than localhost could
// resolve anywhere, so both count as remote.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runTarget serves the built-in target until ctx ends or --max-life passes.
func runTarget(ctx context.Context, o targetOptions) error {
	handler, err := target.New(o.cfg)
	if err != nil {
		return err
	}
	if o.maxLife > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.maxLife)
		defer cancel()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()
	srv := httpserve.New(handler, httpserve.Options{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if o.readyFile != "" {
		if err := writeReadyFile(o.readyFile, addr); err != nil {
			_ = srv.Close()
			return err
		}
		defer os.Remove(o.readyFile)
	}
	fmt.Printf("barrage target listening on http://%s\n", addr)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), targetShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// writeReadyFile writes addr through a rename, so a script polling for the
// file never reads it half written.
func writeReadyFile(path, addr string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".barrage-target-*")
	if err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	// CreateTemp makes the file private; other users' scripts may need to read it.
	merr := tmp.Chmod(0o644)
	_, werr := tmp.WriteString(addr + "\n")
	cerr := tmp.Close()
	if err := errors.Join(merr, werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write ready file: %w", err)
	}
	return nil
}
