package fold

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/store"
)

// SnapshotReader reads the stored snapshots of one interval of a run.
type SnapshotReader interface {
	ListSnapshots(ctx context.Context, runID string, interval int64) ([]store.Snapshot, error)
}

// IntervalWriter stores a folded interval.
type IntervalWriter interface {
	PutInterval(ctx context.Context, iv *store.Interval) error
}

// Store is what building a report reads, and re-folding writes, of the
// store (store.Store has it all).
type Store interface {
	SnapshotReader
	IntervalWriter
	GetRun(ctx context.Context, id string) (*store.Run, error)
	GetReport(ctx context.Context, runID string) ([]byte, error)
	ListEvents(ctx context.Context, runID string) ([]store.Event, error)
	ListIntervals(ctx context.Context, runID string, after int64, limit int) ([]store.Interval, error)
	CountSnapshots(ctx context.Context, runID string) (map[int64]int, error)
}

// Compactor is a Store that can also drop the raw snapshots of runs over.
type Compactor interface {
	Store
	CompactableRuns(ctx context.Context, t time.Time, limit int) ([]string, error)
	DeleteSnapshots(ctx context.Context, runID string) (int64, error)
}

// Aborter ends a run as failed: its error rate reached abort_on.
type Aborter interface {
	AbortFailed(ctx context.Context, r *store.Run, by, reason string) error
}

// Clock is the scheduler's time: the wall clock, or a test's.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Scheduler folds each run's intervals in order as their snapshots arrive
// (see schedule for when an interval is due), stores them and checks the
// run's abort_on error rate. Folding reads the interval's snapshots from
// the store, so it also counts those that reached another server. The
// zero value is not usable: set the fields, then call Arrived.
type Scheduler struct {
	Snapshots SnapshotReader
	Intervals IntervalWriter
	Aborter   Aborter // nil: abort_on is not enforced
	Clock     Clock   // nil: the wall clock
	// Grace is how long an interval waits for its last shards once the
	// first sent it.
	Grace time.Duration
	// Folded, when set, learns every stored interval and how long folding
	// it took.
	Folded func(r *store.Run, row *store.Interval, sum *Summary, took time.Duration)
	// Go starts a run's fold loop (nil: a plain goroutine); the server
	// labels and counts its goroutines.
	Go  func(fn func())
	Log *slog.Logger

	mu     sync.Mutex
	runs   map[string]*runLoop
	closed bool
}

type runLoop struct {
	sched  *schedule
	wake   chan struct{}
	folder Folder // its count arrays serve every interval of the run
	abort  *errorRate
}

func (s *Scheduler) clock() Clock {
	if s.Clock == nil {
		return wallClock{}
	}
	return s.Clock
}

// Arrived notes a stored snapshot of interval k of run r from shard; whole:
// the shard has sent all of its interval.
func (s *Scheduler) Arrived(r *store.Run, k int64, shard int, whole bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.runs == nil {
		s.runs = map[string]*runLoop{}
	}
	rl := s.runs[r.ID]
	if rl == nil {
		rl = &runLoop{sched: newSchedule(r), wake: make(chan struct{}, 1)}
		if plan, err := CompileRun(r); err == nil {
			rl.abort = newErrorRate(plan.AbortOn, Width(r))
		}
		s.runs[r.ID] = rl
		start := s.Go
		if start == nil {
			start = func(fn func()) { go fn() }
		}
		start(func() { s.loop(rl) })
	}
	rl.sched.arrived(k, shard, whole, s.clock().Now())
	select {
	case rl.wake <- struct{}{}:
	default:
	}
}

// Close stops every run's loop; later arrivals are ignored.
func (s *Scheduler) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, rl := range s.runs {
		close(rl.wake)
	}
	s.runs = nil
}

func (s *Scheduler) loop(rl *runLoop) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		due, wait, done := rl.sched.step(s.clock().Now(), s.Grace)
		if done {
			delete(s.runs, rl.sched.run.ID)
		}
		s.mu.Unlock()
		for _, k := range due {
			s.fold(rl, k)
		}
		if done {
			return
		}
		if len(due) > 0 {
			continue // more may have become due while folding
		}
		select {
		case _, ok := <-rl.wake:
			if !ok {
				return
			}
		case <-s.clock().After(max(wait, time.Millisecond)):
		}
	}
}

// fold merges interval k from the store and stores it.
func (s *Scheduler) fold(rl *runLoop, k int64) {
	r := rl.sched.run
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := s.clock().Now()
	snaps, err := s.Snapshots.ListSnapshots(ctx, r.ID, k)
	if err != nil || len(snaps) == 0 {
		if err != nil {
			s.log().Error("fold: list snapshots", "run", r.ID, "interval", k, "err", err)
		}
		return
	}
	row, sum, err := rl.folder.Interval(r, k, snaps)
	if err != nil {
		s.log().Error("fold", "run", r.ID, "interval", k, "err", err)
		return
	}
	if err := s.Intervals.PutInterval(ctx, row); err != nil {
		s.log().Error("fold: store interval", "run", r.ID, "interval", k, "err", err)
		return
	}
	if s.Folded != nil {
		s.Folded(r, row, sum, s.clock().Now().Sub(began))
	}
	if reason := rl.abort.add(k, sum.Requests, sum.Errors); reason != "" && s.Aborter != nil {
		actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer acancel()
		if err := s.Aborter.AbortFailed(actx, r, "error_rate", reason); err != nil {
			rl.abort.tripped = false // try again at the next interval
			s.log().Error("error-rate abort", "run", r.ID, "err", err)
		}
	}
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
