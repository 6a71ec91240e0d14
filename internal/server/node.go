package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/barrage/barrage/internal/netpolicy"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	sdkclient "go.temporal.io/sdk/client"

	"github.com/barrage/barrage/activities"
	apiclient "github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/workers"
)

// NodeConfig is a fleet node: a `barrage worker`.
type NodeConfig struct {
	Server     string // the server's API URL
	Temporal   string // Temporal frontend address
	Namespace  string
	ID         string
	MaxVUs     int
	MaxRPS     int
	FleetToken string
	SpoolDir   string
	// Policy narrows every run's target policy on this node (nil: the
	// server's alone).
	Policy *netpolicy.Policy
	Logger *slog.Logger
	// ServerTLS is what an https Server is trusted by (LoadCA; nil: the
	// system's roots); TemporalTLS as in Config.
	ServerTLS   *tls.Config
	TemporalTLS *tls.Config
}

// beatEvery is how often a node announces itself to the server.
const beatEvery = 2 * time.Second

// RunNode runs a fleet node until ctx ends: it polls the load task queue for
// one shard at a time and announces its capacity to the server.
func RunNode(ctx context.Context, cfg NodeConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	c, err := apiclient.NewTLS(cfg.Server, cfg.ServerTLS)
	if err != nil {
		return err
	}
	tc, err := DialTLS(ctx, cfg.Temporal, cfg.Namespace, cfg.TemporalTLS, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	health := watchHealth(ctx, func(ctx context.Context) error {
		_, err := tc.CheckHealth(ctx, &sdkclient.CheckHealthRequest{})
		return err
	})
	acts := &activities.Fleet{Server: c, WorkerID: cfg.ID, MaxVUs: cfg.MaxVUs, MaxRPS: cfg.MaxRPS, SpoolDir: cfg.SpoolDir,
		Logger: log, TemporalHealthy: health, Policy: cfg.Policy, FleetToken: cfg.FleetToken}
	w := workers.NewLoad(tc, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start load worker: %w", err)
	}
	defer w.Stop()
	log.Info("worker ready", "id", cfg.ID, "server", cfg.Server, "temporal", cfg.Temporal)
	host, _ := os.Hostname()
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	for {
		bctx, cancel := context.WithTimeout(ctx, beatEvery)
		err := c.Heartbeat(bctx, cfg.FleetToken, apiclient.WorkerBeat{ID: cfg.ID, MaxVUs: cfg.MaxVUs, MaxRPS: cfg.MaxRPS, Host: host})
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Debug("announce to the server failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watchHealth checks every second whether check succeeds and returns a
// function telling when it last did.
func watchHealth(ctx context.Context, check func(context.Context) error) func() time.Time {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if check(cctx) == nil {
				last.Store(time.Now().UnixNano())
			}
			cancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() time.Time { return time.Unix(0, last.Load()) }
}
