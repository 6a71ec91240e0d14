package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	sdkclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/barrage/barrage/activities"
	"github.com/barrage/barrage/api"
	"github.com/barrage/barrage/api/client"
	"github.com/barrage/barrage/bench/synth"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/workflows"
)

// Timing of a stand-in shard: the cadence of activities.LoadShard. It
// heartbeats every workflows.HeartbeatEvery and follows the control with
// requests that wait up to controlWait for a newer version, pausing
// controlRetry after a failed one (controlWait and controlRetry in
// activities/load.go: keep them equal).
const (
	heartbeatEvery = workflows.HeartbeatEvery
	controlWait    = 5 * time.Second
	controlRetry   = 250 * time.Millisecond
	postTimeout    = 10 * time.Second
	postRetries    = 20
	// shardsPerSDKWorker bounds the activities one SDK worker runs: a few
	// SDK workers carry the fleet, rather than one per shard.
	shardsPerSDKWorker = 250
	standinLabel       = "standin"
)

// fleet is the stand-in load workers: LoadShard activities that report like
// activities.LoadShard but send no traffic, and what they counted.
type fleet struct {
	base     string // the server's API URL
	duration time.Duration
	pool     *synth.Pool

	started, finished atomic.Int64 // shards
	posted            atomic.Int64 // snapshots sent to ingest (retries not counted)
	inserted          atomic.Int64 // acknowledged as inserted
	duplicates        atomic.Int64 // acknowledged, already stored
	lost              atomic.Int64 // given up on (refused, or out of retries)
	controlErrors     atomic.Int64
	errorsLogged      atomic.Int64
}

// startStandins registers the stand-in activity under LoadShard's name on
// enough SDK workers of the load queue that every shard runs at once.
func startStandins(tc sdkclient.Client, f *fleet, shards int) ([]worker.Worker, error) {
	n := (shards + shardsPerSDKWorker - 1) / shardsPerSDKWorker
	per := (shards + n - 1) / n
	var ws []worker.Worker
	for i := range n {
		w := worker.New(tc, workflows.LoadQueue, worker.Options{
			// Slack for replacements of lost shards.
			MaxConcurrentActivityExecutionSize: per + per/10 + 1,
			MaxConcurrentActivityTaskPollers:   8,
			DisableWorkflowWorker:              true,
			MaxHeartbeatThrottleInterval:       heartbeatEvery,
			DefaultHeartbeatThrottleInterval:   heartbeatEvery,
			Identity:                           fmt.Sprintf("fleet-standin-%d", i),
		})
		w.RegisterActivityWithOptions(f.loadShard, activity.RegisterOptions{Name: workflows.ActivityLoadShard})
		if err := w.Start(); err != nil {
			stopAll(ws)
			return nil, fmt.Errorf("start stand-in worker %d: %w", i, err)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func stopAll(ws []worker.Worker) {
	for _, w := range ws {
		w.Stop()
	}
}

// loadShard is the stand-in activity. Its work, and the goroutines and
// connections it starts, carry the pprof label standin.
func (f *fleet) loadShard(ctx context.Context, in workflows.ShardInput) (res workflows.ShardResult, err error) {
	pprof.Do(ctx, pprof.Labels(api.ProfileLabel, standinLabel), func(ctx context.Context) {
		res, err = f.runShard(ctx, in)
	})
	return res, err
}

// shard is one stand-in shard's state.
type shard struct {
	f         *fleet
	c         *client.Client
	in        workflows.ShardInput
	worker    string
	attempt   uint32
	delivered atomic.Uint64
	aborted   atomic.Bool
}

func (f *fleet) runShard(ctx context.Context, in workflows.ShardInput) (workflows.ShardResult, error) {
	info := activity.GetInfo(ctx)
	s := &shard{f: f, in: in, worker: fmt.Sprintf("w-%d", in.Shard), attempt: uint32(info.Attempt)} // #nosec G115 -- Temporal counts attempts from 1
	res := workflows.ShardResult{Shard: in.Shard, Worker: s.worker, Attempt: int(info.Attempt)}
	// Its own client, so its own connections: a fleet node is a process.
	c, err := client.New(f.base)
	if err != nil {
		return res, err
	}
	s.c = c
	end := in.Epoch.Add(f.duration)
	if time.Now().After(end) {
		res.Reason = "the profile was over when the shard started"
		return res, nil
	}
	f.started.Add(1)
	defer f.finished.Add(1)
	beating := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.heartbeat(ctx, beating)
	}()
	s.reportStart(ctx)
	s.firstControl(ctx)
	runCtx, stop := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.followControl(runCtx, stop)
	}()
	queue := make(chan hist.Snapshot, 300)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		s.send(ctx, queue)
	}()
	n := s.generate(runCtx, end, queue)
	close(queue)
	<-sent
	stop()
	close(beating)
	wg.Wait()
	res.Snapshots, res.Aborted = s.delivered.Load(), s.aborted.Load()
	res.Reason = "the profile ended"
	if res.Aborted {
		res.Reason = "aborted"
	}
	s.event(ctx, fmt.Sprintf("shard %d attempt %d on worker %s: %s, %d of %d snapshots delivered (stand-in)",
		in.Shard, s.attempt, s.worker, res.Reason, res.Snapshots, n))
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// heartbeat reports progress every heartbeatEvery until beating closes;
// Temporal's cancellation arrives through it (as ctx ending).
// As activities.LoadShard does, the first heartbeat comes at a random
// point of the last two thirds of heartbeatEvery.
func (s *shard) heartbeat(ctx context.Context, beating chan struct{}) {
	t := time.NewTimer(heartbeatEvery/3 + rand.N(heartbeatEvery*2/3)) // #nosec G404 -- jitter that spreads heartbeats, no secret
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beating:
			return
		case <-t.C:
		}
		activity.RecordHeartbeat(ctx, workflows.ShardProgress{
			Worker: s.worker, Offset: max(time.Since(s.in.Epoch), 0), Snapshots: s.delivered.Load(),
		})
		t.Reset(heartbeatEvery)
	}
}

// reportStart tells the run (through the server) that this worker took the
// shard, retrying for a while as activities.LoadShard does.
func (s *shard) reportStart(ctx context.Context) {
	st := client.ShardState{Shard: s.in.Shard, Attempt: int(s.attempt), Worker: s.worker, MaxVUs: 0, MaxRPS: 0}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.c.ShardStarted(rctx, s.in.RunID, s.in.Token, st)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		if time.Now().After(deadline) {
			s.f.logError("report shard %d start: %v", s.in.Shard, err)
			return
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// firstControl reads the run's control once before the load starts, as
// activities.LoadShard does for its initial share.
func (s *shard) firstControl(ctx context.Context) {
	for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.c.Control(cctx, s.in.RunID, s.in.Token)
		cancel()
		if err == nil {
			return
		}
		s.f.controlErrors.Add(1)
		sleep(ctx, controlRetry)
	}
}

// followControl follows the run's control, each request waiting for a
// newer version; an abort stops the shard.
func (s *shard) followControl(runCtx context.Context, stop context.CancelFunc) {
	version := 0
	for runCtx.Err() == nil {
		cctx, cancel := context.WithTimeout(runCtx, controlWait+5*time.Second)
		c, err := s.c.ControlFor(cctx, s.in.RunID, s.in.Token, s.ref(), version, controlWait)
		cancel()
		switch {
		case err != nil:
			if runCtx.Err() == nil {
				s.f.controlErrors.Add(1)
			}
			sleep(runCtx, controlRetry)
		case c.Aborted:
			s.aborted.Store(true)
			stop()
			return
		case c.Version > version:
			version = c.Version
		}
	}
}

// generate queues snapshot headers, cut every activities.SnapshotEvery
// since the epoch as a real worker's are (an interval in parts for smaller
// fleets), until end (or an abort: then a last, partial one). It returns
// how many it queued.
func (s *shard) generate(runCtx context.Context, end time.Time, queue chan<- hist.Snapshot) uint64 {
	iv := activities.SnapshotEvery(s.in)
	from := s.in.Epoch
	k := int64(0)
	if now := time.Now(); now.After(from) {
		k = int64(now.Sub(from) / iv)
		from = now
	}
	var seq uint64
	for {
		to := s.in.Epoch.Add(time.Duration(k+1) * iv)
		if to.After(end) {
			to = end
		}
		t := time.NewTimer(time.Until(to))
		select {
		case <-runCtx.Done():
			t.Stop()
			to = time.Now()
		case <-t.C:
		}
		if to.After(from) {
			seq++
			// #nosec G115 -- shards are numbered 0..Shards-1
			h := hist.Snapshot{RunID: s.in.RunID, Worker: s.worker, Shard: uint32(s.in.Shard), Attempt: s.attempt,
				Seq: seq, Start: from, End: to, ActiveVUs: vusPerWorker, TargetVUs: vusPerWorker}
			select {
			case queue <- h:
			case <-runCtx.Done():
				return seq - 1
			}
		}
		if runCtx.Err() != nil || !to.Before(end) {
			return seq
		}
		from, k = to, k+1
	}
}

// send encodes and posts the queued snapshots in order, one at a time, as
// the real sender does: also after the activity is cancelled, every
// snapshot recorded is delivered (within postRetries).
func (s *shard) send(ctx context.Context, queue <-chan hist.Snapshot) {
	ctx = context.WithoutCancel(ctx)
	var buf []byte
	for h := range queue {
		var err error
		if buf, err = s.f.pool.Encode(buf[:0], &h, int(h.Seq)+s.in.Shard); err != nil { // #nosec G115 -- seq counts this bench's snapshots, far below 2^63
			s.f.lost.Add(1)
			s.f.logError("encode snapshot: %v", err)
			continue
		}
		s.f.posted.Add(1)
		s.post(ctx, buf)
	}
}

func (s *shard) post(ctx context.Context, data []byte) {
	backoff := 100 * time.Millisecond
	for try := 0; ; try++ {
		pctx, cancel := context.WithTimeout(ctx, postTimeout)
		r, err := s.c.PostSnapshot(pctx, s.in.RunID, s.in.Token, data)
		cancel()
		if err == nil {
			s.delivered.Add(1)
			if r.Inserted {
				s.f.inserted.Add(1)
			} else {
				s.f.duplicates.Add(1)
			}
			return
		}
		status := client.StatusOf(err)
		transient := status == 0 || status >= 500 || status == http.StatusTooManyRequests ||
			status == http.StatusRequestTimeout || status == http.StatusConflict
		if !transient || try >= postRetries || ctx.Err() != nil {
			s.f.lost.Add(1)
			s.f.logError("snapshot of shard %d not delivered: %v", s.in.Shard, err)
			return
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (s *shard) event(ctx context.Context, detail string) {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.c.PostShardEvent(ectx, s.in.RunID, s.in.Token, s.ref(), "shard_finished", detail); err != nil {
		s.f.logError("record shard %d's end: %v", s.in.Shard, err)
	}
}

// logError prints the first few errors of the stand-ins; the rest are only
// counted (in lost and controlErrors).
func (f *fleet) logError(format string, args ...any) {
	if f.errorsLogged.Add(1) <= 10 {
		progress("stand-in: "+format, args...)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ref names the shard in its requests, as a real worker's load activity
// does: the server watches each shard's control requests.
func (s *shard) ref() *client.ShardRef {
	return &client.ShardRef{Shard: s.in.Shard, Attempt: int(s.attempt), Worker: s.worker}
}
