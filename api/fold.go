package api

import (
	"context"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
)

// newScheduler folds the runs whose snapshots this server stores (package
// fold has the rules); a folded interval wakes the run's live streams here
// and, through Postgres NOTIFY, on every other server.
func (s *Server) newScheduler() *fold.Scheduler {
	return &fold.Scheduler{
		Snapshots: s.cfg.Store, Intervals: s.cfg.Store, Aborter: s.runsvc, Grace: s.cfg.FoldGrace, Log: s.log,
		Go: func(fn func()) {
			s.wg.Add(1)
			go labelled(LabelFold, func() {
				defer s.wg.Done()
				fn()
			})
		},
		Folded: func(r *store.Run, row *store.Interval, sum *fold.Summary, took time.Duration) {
			s.metrics.foldSeconds.Observe(took.Seconds())
			s.metrics.foldLag.Observe(time.Since(earlier(row.End, sum.DataEnd)).Seconds())
			s.published(r.ID)
			if s.cfg.Exporter != nil {
				s.cfg.Exporter.Folded(r.ID, row.Index)
			}
			if n, ok := s.cfg.Store.(store.Notifier); ok {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = n.Notify(ctx, foldChannel, r.ID)
			}
		},
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
