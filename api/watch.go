package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

// Watching shards. A shard holds a control request open at all times and
// sends a snapshot every interval. A worker killed (or cut off) closes the
// one and stops the other at once, long before its load activity's
// heartbeat timeout: the server tells the run then, so that the shard's
// share moves to the others within seconds. Under CPU pressure requests
// slow down but connections do not close, so a busy worker is not taken
// for a dead one.
//
// The watch also keeps each shard's last snapshot and rate, so that when a
// shard is lost (told by the run, however it noticed) the server declares
// what of its load was not measured: a measurement gap.
const (
	// silentAfterDrop: the shard's last control request ended with its
	// connection this long ago and no other came since.
	silentAfterDrop = time.Second
	// silentAfterSnapshot: and no snapshot of it arrived for this long.
	silentAfterSnapshot = 1500 * time.Millisecond
	watchEvery          = 250 * time.Millisecond
)

type watch struct {
	s    *Server
	mu   sync.Mutex
	runs map[string]*runWatch
}

type runWatch struct {
	run     *store.Run
	end     time.Time // the profile's end: shards stop then on purpose
	touched time.Time // when the server last heard of one of its shards
	shards  map[int]*shardWatch
}

// shardWatch is what the server saw of one shard (its latest attempt).
type shardWatch struct {
	worker   string
	attempt  int
	polls    int       // control requests in flight
	dropped  time.Time // the last one ended with its connection, none since
	lastAt   time.Time // when its latest snapshot arrived
	heard    time.Time // when a request of it last came or ended
	retryAt  time.Time // a failed tell is tried again from then
	dataEnd  time.Time // the end of its latest snapshot
	rate     float64   // requests per second in its latest snapshot
	told     bool      // the run was told it went silent
	declared bool      // its measurement gap was declared
	finished bool      // it said it finished
}

func newWatch(s *Server) *watch { return &watch{s: s, runs: map[string]*runWatch{}} }

// shard returns the watch of a shard, nil when who is not a named shard.
// w.mu is held.
func (w *watch) shard(r *store.Run, shard, attempt int, worker string) *shardWatch {
	rw := w.runs[r.ID]
	if rw == nil {
		rw = &runWatch{shards: map[int]*shardWatch{}}
		w.runs[r.ID] = rw
	}
	rw.run, rw.touched = r, time.Now()
	if rw.end.IsZero() && !r.Epoch.IsZero() {
		if plan, err := fold.CompileRun(r); err == nil {
			rw.end = r.Epoch.Add(plan.Profile.Duration())
		}
	}
	sw := rw.shards[shard]
	if sw == nil || attempt > sw.attempt {
		sw = &shardWatch{worker: worker, attempt: attempt}
		rw.shards[shard] = sw
	}
	if attempt < sw.attempt {
		return nil // an older attempt's late request
	}
	return sw
}

// pollStarted notes a control request of a shard; the returned func ends
// it (gone: the worker's connection closed before the answer).
func (w *watch) pollStarted(r *store.Run, shard, attempt int, worker string) func(gone bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sw := w.shard(r, shard, attempt, worker)
	if sw == nil {
		return func(bool) {}
	}
	sw.polls++
	sw.dropped, sw.heard = time.Time{}, time.Now()
	return func(gone bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		sw.polls--
		sw.heard = time.Now()
		if gone && sw.polls == 0 {
			sw.dropped = time.Now()
		}
	}
}

// snapshot notes a stored snapshot.
func (w *watch) snapshot(r *store.Run, snap *hist.Snapshot) {
	var requests uint64
	for i := range snap.Steps {
		requests += snap.Steps[i].Requests
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sw := w.shard(r, int(snap.Shard), int(snap.Attempt), snap.Worker)
	if sw == nil {
		return
	}
	sw.lastAt, sw.heard = time.Now(), time.Now()
	if snap.End.After(sw.dataEnd) {
		sw.dataEnd = snap.End
		if span := snap.End.Sub(snap.Start).Seconds(); span > 0.1 {
			sw.rate = float64(requests) / span
		}
	}
}

// finished notes that a shard said it stopped on purpose.
func (w *watch) finished(r *store.Run, shard, attempt int, worker string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if sw := w.shard(r, shard, attempt, worker); sw != nil {
		sw.finished = true
	}
}

// loop tells runs about silent shards until ctx ends.
func (w *watch) loop(ctx context.Context) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sig := range w.silent(time.Now()) {
			w.tell(ctx, sig)
		}
	}
}

type silentShard struct {
	run    *store.Run
	watch  *shardWatch
	shard  int
	worker string
	why    string
}

// silent returns the shards that went silent, each once, and forgets runs
// long over.
func (w *watch) silent(now time.Time) []silentShard {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []silentShard
	for id, rw := range w.runs {
		if now.Sub(rw.touched) > fold.IdleAfter {
			delete(w.runs, id)
			continue
		}
		if !rw.end.IsZero() && now.After(rw.end.Add(-silentAfterSnapshot)) {
			continue // the profile is ending: shards stop on purpose
		}
		for shard, sw := range rw.shards {
			if sw.told || sw.finished || sw.polls > 0 || sw.dropped.IsZero() || now.Before(sw.retryAt) ||
				now.Sub(sw.dropped) < silentAfterDrop || now.Sub(sw.lastAt) < silentAfterSnapshot {
				continue
			}
			sw.told = true
			out = append(out, silentShard{run: rw.run, watch: sw, shard: shard, worker: sw.worker,
				why: fmt.Sprintf("silent: its connection to the server closed %s ago and its last snapshot came %s ago",
					now.Sub(sw.dropped).Round(10*time.Millisecond), now.Sub(sw.lastAt).Round(10*time.Millisecond))})
		}
	}
	return out
}

func (w *watch) tell(ctx context.Context, s silentShard) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := w.s.runsvc.ShardSilent(cctx, s.run, s.shard, s.worker, s.why)
	switch {
	case errors.Is(err, service.ErrNoWorkflow):
		return // the run's workflow has ended: nothing to tell
	case err != nil:
		w.s.log.Warn("tell the run a shard went silent", "run", s.run.ID, "shard", s.shard, "err", err)
		w.mu.Lock()
		s.watch.told, s.watch.retryAt = false, time.Now().Add(2*time.Second)
		w.mu.Unlock()
		return
	}
	w.s.log.Info("shard went silent", "run", s.run.ID, "shard", s.shard, "worker", s.worker, "why", s.why)
}

// ShardLost is told, by the run's workflow through its event activity,
// that a shard was lost. The server releases the shard's unclaimed feeder
// records (and its iterations not done) and declares the shard's
// measurement gap: from the end of its last snapshot to when it was last
// heard of (its connection closing, else now), at its last known rate. An
// error says the release failed: told again, the server tries again.
func (s *Server) ShardLost(runID string, shard int) error {
	// Its unclaimed feeder records go to the shards that come next (its
	// replacement is queued after this).
	if err := s.releaseRecords(runID, shard); err != nil {
		return err
	}
	w := s.watch
	w.mu.Lock()
	rw := w.runs[runID]
	var sw *shardWatch
	if rw != nil {
		sw = rw.shards[shard]
	}
	if sw == nil || sw.declared || sw.dataEnd.IsZero() {
		w.mu.Unlock()
		return nil // nothing seen of it here: nothing to estimate from
	}
	sw.declared = true
	until, why := sw.heard, "lost: not heard of since"
	if !sw.dropped.IsZero() {
		until, why = sw.dropped, "lost: its connection to the server closed"
	}
	if until.Before(sw.dataEnd) {
		until = sw.dataEnd
	}
	epoch := rw.run.Epoch
	g := reports.Gap{Worker: sw.worker, Shard: shard, FromT: round3(sw.dataEnd.Sub(epoch).Seconds()), ToT: round3(until.Sub(epoch).Seconds()),
		EstimatedRequests: uint64(math.Round(sw.rate * until.Sub(sw.dataEnd).Seconds())), Reason: why}
	w.mu.Unlock()
	data, err := json.Marshal(g)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := store.Event{RunID: runID, At: time.Now(), Kind: "measurement_gap", Data: data,
		Detail: fold.GapDetail(g, g)}
	if _, err := s.events.put(ctx, e, nil); err != nil {
		s.log.Error("declare a measurement gap", "run", runID, "shard", shard, "err", err)
	}
	return nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
