package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/workflows"
)

// folder folds each run's intervals in order: interval k is folded once
// every shard has reported it whole, or FoldGrace after the first shard
// did (after the interval's end, when only parts came: the run's last
// interval, cut short), whichever is first, and never before k-1. Folding reads the interval's
// snapshots from the store, so it also counts those that reached another
// server; a snapshot that arrives after its interval was folded folds it again.
type folder struct {
	s      *Server
	mu     sync.Mutex
	runs   map[string]*runFold
	closed bool
}

type runFold struct {
	abortOn *scenario.AbortOn // nil: the scenario has no error-rate abort
	window  map[int64][2]uint64
	tripped bool
	run     *store.Run
	next    int64 // the next interval to fold in order
	pending map[int64]*pendingInterval
	wake    chan struct{}
	refold  map[int64]bool // folded intervals with late snapshots
	last    time.Time
	folder  fold.Folder // its count arrays serve every interval of the run
	// seen holds the latest interval each shard reported whole. Interval k waits
	// for the shards that reported k-1 or later: a shard that joined counts
	// from its first snapshot, a lost one stops counting one interval after
	// its last. Until the first fold it waits for the run's worker_count.
	seen   map[int]int64
	folded bool
}

type pendingInterval struct {
	shards map[int]bool // shards that sent the interval whole
	first  time.Time    // when the first of them did
	seen   time.Time    // when its first snapshot, whole or a part, came
	end    time.Time    // the interval's end
}

// due is when an interval that not every shard has sent whole is folded:
// FoldGrace after the first shard did, or after the interval's end when
// only parts came (a run's last interval, cut short).
func (p *pendingInterval) due(grace time.Duration) time.Time {
	if !p.first.IsZero() {
		return p.first.Add(grace)
	}
	return later(p.seen, p.end).Add(grace)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func newFolder(s *Server) *folder { return &folder{s: s, runs: map[string]*runFold{}} }

// arrived notes a stored snapshot of interval k from shard; whole: the
// shard has sent all of its interval (its last part ends at the interval's end).
func (f *folder) arrived(r *store.Run, k int64, shard int, whole bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	rf := f.runs[r.ID]
	if rf == nil {
		rf = &runFold{run: r, pending: map[int64]*pendingInterval{}, refold: map[int64]bool{}, wake: make(chan struct{}, 1),
			window: map[int64][2]uint64{}, seen: map[int]int64{}}
		if plan, err := fold.CompileRun(r); err == nil {
			rf.abortOn = plan.AbortOn
		}
		f.runs[r.ID] = rf
		f.s.wg.Add(1)
		go labelled(LabelFold, func() { f.loop(rf) })
	}
	rf.last = time.Now()
	if last, ok := rf.seen[shard]; whole && (!ok || k > last) {
		// Whole intervals only: a shard killed within an interval sent
		// parts of it, and the next one does not wait for it.
		rf.seen[shard] = k
	}
	if k < rf.next {
		rf.refold[k] = true
	} else {
		p := rf.pending[k]
		if p == nil {
			_, end := fold.Bounds(r, k)
			p = &pendingInterval{shards: map[int]bool{}, seen: time.Now(), end: end}
			rf.pending[k] = p
		}
		if whole {
			if p.first.IsZero() {
				p.first = time.Now()
			}
			p.shards[shard] = true
		}
	}
	select {
	case rf.wake <- struct{}{}:
	default:
	}
}

func (f *folder) close() {
	f.mu.Lock()
	f.closed = true
	for _, rf := range f.runs {
		close(rf.wake)
	}
	f.runs = map[string]*runFold{}
	f.mu.Unlock()
}

// idleAfter ends a run's fold loop once nothing arrived for this long.
const idleAfter = 2 * time.Minute

func (f *folder) loop(rf *runFold) {
	defer f.s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := f.step(rf)
		if wait < 0 {
			return
		}
		timer.Reset(wait)
		select {
		case _, ok := <-rf.wake:
			if !ok {
				return
			}
		case <-timer.C:
		}
	}
}

// step folds what is due and returns how long to wait for more (< 0: stop).
func (f *folder) step(rf *runFold) time.Duration {
	grace := f.s.cfg.FoldGrace
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return -1
		}
		var late []int64
		for k := range rf.refold {
			late = append(late, k)
		}
		clear(rf.refold)
		k := rf.next
		p := rf.pending[k]
		due, wait := false, time.Duration(0)
		if p == nil {
			// Interval k has no snapshot yet; if a later one has, k is empty
			// or lost: skip it once the later one's grace is over.
			if nk, np := earliest(rf.pending); np != nil {
				if w := grace - time.Since(np.seen); w <= 0 {
					rf.next = nk
					f.mu.Unlock()
					for _, lk := range late {
						f.fold(rf, lk)
					}
					continue
				} else {
					wait = w
				}
			} else if time.Since(rf.last) > idleAfter {
				delete(f.runs, rf.run.ID)
				f.mu.Unlock()
				return -1
			} else {
				wait = time.Minute
			}
		} else if len(p.shards) >= rf.expected(k) || !time.Now().Before(p.due(grace)) {
			due = true
			delete(rf.pending, k)
			rf.next = k + 1
			rf.folded = true
		} else {
			wait = time.Until(p.due(grace))
		}
		f.mu.Unlock()
		for _, lk := range late {
			f.fold(rf, lk)
		}
		if !due {
			return max(wait, time.Millisecond)
		}
		f.fold(rf, k)
	}
}

// expected is how many shards interval k waits for (see seen).
func (rf *runFold) expected(k int64) int {
	n := 0
	for _, last := range rf.seen {
		if last >= k-1 {
			n++
		}
	}
	if !rf.folded {
		n = max(n, rf.run.WorkerCount, 1)
	}
	return n
}

func earliest(m map[int64]*pendingInterval) (int64, *pendingInterval) {
	var best int64 = -1
	for k := range m {
		if best < 0 || k < best {
			best = k
		}
	}
	if best < 0 {
		return 0, nil
	}
	return best, m[best]
}

// fold merges interval k from the store, stores it and tells subscribers.
func (f *folder) fold(rf *runFold, k int64) {
	r := rf.run
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	snaps, err := f.s.cfg.Store.ListSnapshots(ctx, r.ID, k)
	if err != nil || len(snaps) == 0 {
		if err != nil {
			f.s.log.Error("fold: list snapshots", "run", r.ID, "interval", k, "err", err)
		}
		return
	}
	row, sum, err := rf.folder.Interval(r, k, snaps)
	if err != nil {
		f.s.log.Error("fold", "run", r.ID, "interval", k, "err", err)
		return
	}
	if err := f.s.cfg.Store.PutInterval(ctx, row); err != nil {
		f.s.log.Error("fold: store interval", "run", r.ID, "interval", k, "err", err)
		return
	}
	f.s.metrics.foldSeconds.Observe(time.Since(began).Seconds())
	f.s.metrics.foldLag.Observe(time.Since(earlier(row.End, sum.DataEnd)).Seconds())
	f.s.published(r.ID)
	f.checkErrorRate(rf, k, sum)
	if n, ok := f.s.cfg.Store.(store.Notifier); ok {
		_ = n.Notify(ctx, foldChannel, r.ID)
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// checkErrorRate evaluates the scenario's abort_on over the last window of
// folded intervals — every worker's requests — and asks the run's workflow
// to end the run as failed when it trips.
func (f *folder) checkErrorRate(rf *runFold, k int64, sum *fold.Summary) {
	a := rf.abortOn
	if a == nil || rf.tripped {
		return
	}
	rf.window[k] = [2]uint64{sum.Requests, sum.Errors}
	iv := fold.Width(rf.run)
	span := max(1, int64(time.Duration(a.WindowSeconds*float64(time.Second))/iv))
	var requests, errs uint64
	for i, c := range rf.window {
		if i <= k-span {
			delete(rf.window, i)
			continue
		}
		requests, errs = requests+c[0], errs+c[1]
	}
	if requests == 0 || requests < uint64(a.MinRequests) {
		return
	}
	rate := float64(errs) / float64(requests)
	if rate < a.ErrorRate {
		return
	}
	rf.tripped = true
	reason := fmt.Sprintf("error rate %.3f over the last %gs (%d of %d requests, all workers) reached abort_on.error_rate %g",
		rate, a.WindowSeconds, errs, requests, a.ErrorRate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sig := workflows.AbortSignal{By: "error_rate", Reason: reason, Failed: true}
	if err := f.s.cfg.Temporal.SignalWorkflow(ctx, rf.run.WorkflowID, "", workflows.SignalAbort, sig); err != nil {
		rf.tripped = false // try again at the next interval
		f.s.log.Error("error-rate abort: signal", "run", rf.run.ID, "err", err)
	}
}
