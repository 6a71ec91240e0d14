package api

import (
	"cmp"
	"context"
	"time"

	"github.com/barrage/barrage/internal/fold"
)

// compactEvery is how often a server compacts the raw snapshots of runs
// older than its retention (unless Config.CompactEvery says); the first
// pass is compactFirst after start.
const (
	compactEvery = time.Hour
	compactFirst = time.Minute
)

// compactLoop folds and deletes the raw snapshots of runs that ended more
// than RetainSnapshots ago (their reports and folded series stay forever).
// Several servers may do it at once: folding is idempotent and deleting
// what is gone deletes nothing.
func (s *Server) compactLoop(ctx context.Context) {
	every := cmp.Or(s.cfg.CompactEvery, compactEvery)
	t := time.NewTimer(min(compactFirst, every))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.compact(ctx)
		t.Reset(every)
	}
}

func (s *Server) compact(ctx context.Context) {
	for ctx.Err() == nil {
		var refolded func(string)
		if s.cfg.Exporter != nil {
			refolded = s.cfg.Exporter.Finished // the export compares them with what it pushed
		}
		runs, n, err := fold.Compact(ctx, s.cfg.Store, time.Now().Add(-s.cfg.RetainSnapshots), refolded)
		if err != nil {
			s.log.Error("compact raw snapshots", "err", err) // the others were compacted
		}
		if runs == 0 {
			return
		}
		s.metrics.compacted.Add(float64(n))
		s.log.Info("compacted raw snapshots", "runs", runs, "snapshots", n, "older_than", s.cfg.RetainSnapshots)
	}
}
