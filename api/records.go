package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

// Records of sequential feeders, claimed by shards for the whole run (see
// internal/store/feeds.go): a shard claims a block before it uses it, a
// lost shard's unclaimed rest goes to the shards that come next.

// maxClaim bounds the records one claim may ask for.
const maxClaim = 100_000

// sequentialFeeders keeps, per run, its sequential feeders' record counts
// (and its shared iterations, as scenario.IterationsFeeder):
// compiling a scenario with its data for every claim would cost more than
// the claim.
type sequentialFeeders struct {
	mu   sync.Mutex
	runs map[string]map[string]int
}

func (sf *sequentialFeeders) of(r *store.Run) (map[string]int, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if m, ok := sf.runs[r.ID]; ok {
		return m, nil
	}
	plan, err := fold.CompileRun(r)
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, f := range plan.Feeders {
		if f.Mode == scenario.ModeSequential {
			m[f.Name] = len(f.Records)
		}
	}
	if n := plan.LedgerIterations(); n > 0 {
		// Iterations (shared, or all the VUs' of a per-VU run) are
		// claimed as records of a feeder no scenario can name: a lost
		// shard's are released with the feeders' records.
		m[scenario.IterationsFeeder] = n
	}
	if sf.runs == nil || len(sf.runs) >= controlRuns {
		sf.runs = map[string]map[string]int{}
	}
	sf.runs[r.ID] = m
	return m, nil
}

type claimRequest struct {
	Feeder  string `json:"feeder"`
	Shard   int    `json:"shard"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	N       int    `json:"n"`
}

// ingestClaim hands a shard the next records of a sequential feeder.
func (s *Server) ingestClaim(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	var req claimRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.N < 1 || req.N > maxClaim || req.Shard < 0 || req.Shard >= maxShards {
		fail(c, http.StatusBadRequest, "invalid_field", "n", "n must be 1..%d and shard 0..%d", maxClaim, maxShards-1)
		return
	}
	feeders, err := s.feeders.of(r)
	if err != nil {
		failErr(c, err, "scenario of run "+r.ID)
		return
	}
	total, ok := feeders[req.Feeder]
	if !ok {
		fail(c, http.StatusNotFound, "not_found", "feeder", "run %s has no sequential feeder %q", r.ID, req.Feeder)
		return
	}
	lo, hi, err := s.cfg.Store.ClaimRecords(c, store.RecordClaim{RunID: r.ID, Feeder: req.Feeder, Shard: req.Shard,
		Shards: max(r.WorkerCount, 1), Total: total, N: req.N})
	if err != nil {
		failErr(c, err, "claim records")
		return
	}
	c.JSON(http.StatusOK, gin.H{"lo": lo, "hi": hi})
}

// releaseTimeout bounds a release: reading a long run's snapshots of a
// shard takes a while.
const releaseTimeout = 30 * time.Second

// releaseRecords gives a lost shard's unclaimed records of every
// sequential feeder of the run, and its iterations not done, to the
// shards that come next. Releasing again changes nothing, so a caller
// whose release failed tries again.
func (s *Server) releaseRecords(runID string, shard int) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	r, err := s.runs.get(ctx, runID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted: nothing is left to hand out
	}
	if err != nil {
		return fmt.Errorf("release shard %d of run %s: %w", shard, runID, err)
	}
	feeders, err := s.feeders.of(r)
	if err != nil {
		return fmt.Errorf("release shard %d of run %s: %w", shard, runID, err)
	}
	var errs []error
	for name, total := range feeders {
		var err error
		if name == scenario.IterationsFeeder {
			err = s.releaseIterations(ctx, runID, shard, max(r.WorkerCount, 1), total)
		} else {
			err = s.cfg.Store.ReleaseRecords(ctx, runID, name, shard, max(r.WorkerCount, 1), total)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("release feeder %s of shard %d of run %s: %w", name, shard, runID, err))
		}
	}
	return errors.Join(errs...)
}

// finishedIterations takes a shard's word that it finished (its snapshots
// delivered): the iterations it was granted and did not do — held by a VU
// that stopped, or cut off at its end — go back to the ledger for the
// shards still running, as a lost shard's do. A run without iterations
// has nothing to give back.
func (s *Server) finishedIterations(r *store.Run, shard int) {
	feeders, err := s.feeders.of(r)
	total, ok := feeders[scenario.IterationsFeeder]
	if err != nil || !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		defer cancel()
		if err := s.releaseIterations(ctx, r.ID, shard, max(r.WorkerCount, 1), total); err != nil {
			s.log.Error("give back a finished shard's iterations", "run", r.ID, "shard", shard, "err", err)
		}
	}()
}

// releaseIterations gives a lost (or finished) shard's iterations to the
// shards that ask next: those it never claimed, and those it claimed that
// its delivered snapshots do not count as done (not started, cut off, or
// done after its last snapshot that arrived). A snapshot stored by now
// was answered before the shard was taken as lost; one that arrives later
// (a worker cut off, not dead, delivering its spool) counts iterations
// that were handed out again, and the report counts them all.
func (s *Server) releaseIterations(ctx context.Context, runID string, shard, shards, total int) error {
	snaps, err := s.cfg.Store.ListShardSnapshots(ctx, runID, shard)
	if err != nil {
		return err
	}
	var done uint64
	for _, sn := range snaps {
		h, err := hist.Inspect(sn.Data)
		if err != nil {
			// Checked when it was stored: a damaged row counts nothing.
			s.log.Error("a stored snapshot does not decode", "run", runID, "shard", shard, "seq", sn.Seq, "err", err)
			continue
		}
		done += h.Iterations
	}
	return s.cfg.Store.ReleaseIterations(ctx, runID, shard, shards, total, int(min(done, uint64(total))))
}
