package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/internal/wire"
)

// runCache keeps what ingest needs of a run (token, epoch, interval, status)
// for a moment, so that a snapshot a second per worker does not cost a read.
type runCache struct {
	st store.Store
	mu sync.Mutex
	m  map[string]cachedRun
}

type cachedRun struct {
	run *store.Run
	at  time.Time
}

const runCacheTTL = 2 * time.Second

func newRunCache(st store.Store) *runCache { return &runCache{st: st, m: map[string]cachedRun{}} }

func (rc *runCache) get(ctx context.Context, id string) (*store.Run, error) {
	rc.mu.Lock()
	c, ok := rc.m[id]
	rc.mu.Unlock()
	if ok && time.Since(c.at) < runCacheTTL {
		return c.run, nil
	}
	r, err := rc.st.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	rc.mu.Lock()
	if len(rc.m) > 10000 {
		clear(rc.m)
	}
	rc.m[id] = cachedRun{run: r, at: time.Now()}
	rc.mu.Unlock()
	return r, nil
}

func (rc *runCache) forget(id string) {
	rc.mu.Lock()
	delete(rc.m, id)
	rc.mu.Unlock()
}

// authRun checks the run's bearer token and returns the run.
func (s *Server) authRun(c *gin.Context) (*store.Run, bool) {
	id, ok := pathID(c)
	if !ok {
		return nil, false
	}
	r, err := s.runs.get(c, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		failErr(c, err, "run "+id)
		return nil, false
	}
	// An unknown run and a wrong token get the same answer: the ingest
	// endpoints do not tell which run IDs exist.
	token, bearer := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if r == nil || !bearer || token == "" || !s.runToken(r, token) {
		fail(c, http.StatusUnauthorized, "unauthorized", "", "a valid worker token for run %s is required", id)
		return nil, false
	}
	return r, true
}

// runToken: token is run r's worker token — the one stored with it, or the
// one derived from the fleet token.
func (s *Server) runToken(r *store.Run, token string) bool {
	if subtle.ConstantTimeCompare([]byte(token), []byte(r.Token)) == 1 {
		return true
	}
	return s.cfg.FleetToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(wire.IngestToken(s.cfg.FleetToken, r.ID))) == 1
}

func (s *Server) ingestSpec(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	spec := wire.RunSpec{RunID: r.ID, Scenario: json.RawMessage(r.Scenario), TargetBaseURL: r.TargetBaseURL,
		Shards: r.WorkerCount, IntervalMS: r.IntervalMS, Epoch: r.Epoch}
	if s.cfg.Guard != nil && s.cfg.Guard.Policy != nil {
		spec.TargetPolicy = &wire.TargetPolicy{Allow: s.cfg.Guard.AllowEntries()}
	}
	c.JSON(http.StatusOK, spec)
}

// intervalIndex places a snapshot: its end lies in interval k when
// epoch + k·I < end <= epoch + (k+1)·I. A worker cuts snapshots exactly at
// the boundaries; endSlack absorbs the epoch's rounding in the store.
func intervalIndex(r *store.Run, end time.Time) int64 {
	iv := fold.Width(r)
	d := end.Sub(r.Epoch) - endSlack
	if d <= 0 {
		return 0
	}
	return int64((d+iv-1)/iv) - 1
}

const endSlack = time.Millisecond

// endsInterval reports whether a snapshot ending at end completes its
// shard's part of interval k: a shard of a small fleet sends an interval in
// several snapshots, the last one ending at the interval's end.
func endsInterval(r *store.Run, k int64, end time.Time) bool {
	_, ivEnd := fold.Bounds(r, k)
	d := ivEnd.Sub(end)
	return d < endSlack && d > -endSlack
}

// maxShards bounds a run's shard indexes: first shards, replacements and
// elastic newcomers together.
const maxShards = 100_000

func (s *Server) ingestSnapshot(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	body, ok := readBody(c)
	if !ok {
		return
	}
	snap, err := hist.Inspect(body) // every check of Decode, without building histograms
	if err != nil {
		s.metrics.ingested.WithLabelValues("rejected").Inc()
		s.log.Warn("corrupt snapshot rejected", "run", r.ID, "bytes", len(body), "err", err)
		fail(c, http.StatusBadRequest, "corrupt_snapshot", "", "snapshot rejected: %v", err)
		return
	}
	if snap.RunID != r.ID {
		fail(c, http.StatusBadRequest, "wrong_run", "", "snapshot of run %q sent to run %s", snap.RunID, r.ID)
		return
	}
	if r.Epoch.IsZero() {
		// The cached run may predate its start: read it again.
		s.runs.forget(r.ID)
		if r, err = s.runs.get(c, r.ID); err != nil || r.Epoch.IsZero() {
			fail(c, http.StatusConflict, "not_started", "", "run %s has not started", snap.RunID)
			return
		}
	}
	// Shards past the first worker_count are replacements and newcomers.
	if snap.Shard >= maxShards {
		fail(c, http.StatusBadRequest, "bad_shard", "", "shard %d is out of range (at most %d)", snap.Shard, maxShards-1)
		return
	}
	if snap.Attempt > math.MaxInt32 || snap.Seq > math.MaxInt64 {
		fail(c, http.StatusBadRequest, "corrupt_snapshot", "", "snapshot rejected: attempt %d or seq %d out of range", snap.Attempt, snap.Seq)
		return
	}
	k := intervalIndex(r, snap.End)
	st := store.Snapshot{
		RunID: r.ID, Shard: int(snap.Shard), Attempt: int(snap.Attempt), Seq: int64(snap.Seq),
		Interval: k, Worker: snap.Worker, Data: body, ReceivedAt: time.Now(),
	}
	// The folder learns of a stored snapshot from the writer, once it is
	// committed: also when this request has gone meanwhile.
	end, shard := snap.End, int(snap.Shard)
	inserted, err := s.snapshots.put(c.Request.Context(), st, func(inserted bool) {
		if !inserted {
			s.metrics.ingested.WithLabelValues("duplicate").Inc()
			return
		}
		s.metrics.ingested.WithLabelValues("stored").Inc()
		s.metrics.ingestLag.Observe(time.Since(end).Seconds())
		s.folder.Arrived(r, k, shard, endsInterval(r, k, end))
		s.watch.snapshot(r, snap)
	})
	if err != nil {
		failErr(c, err, "store snapshot")
		return
	}
	c.JSON(http.StatusOK, gin.H{"inserted": inserted, "interval": k})
}

type eventRequest struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	// The shard the event is about, when a load activity sends it.
	Shard   *int   `json:"shard"`
	Attempt int    `json:"attempt"`
	Worker  string `json:"worker"`
	// Data is the JSON of a response_sample or slow_traces event.
	Data json.RawMessage `json:"data"`
}

func (s *Server) ingestEvent(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	var req eventRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Kind == "" || len(req.Kind) > 64 || len(req.Detail) > 4096 {
		fail(c, http.StatusBadRequest, "invalid_field", "kind", "an event needs a kind (at most 64 bytes) and a detail of at most 4096 bytes")
		return
	}
	if req.Kind == "measurement_gap" {
		// The server declares gaps, with their figures; a worker cannot.
		fail(c, http.StatusBadRequest, "invalid_field", "kind", "kind measurement_gap is the server's to record")
		return
	}
	if req.Shard != nil && req.Kind == "shard_finished" {
		s.watch.finished(r, *req.Shard, req.Attempt, req.Worker)
		s.finishedIterations(r, *req.Shard)
	}
	if req.Kind == "target_blocked" && s.seenBlocked(r.ID, req.Detail) {
		// Each shard reports the first refusal of each host; the run keeps
		// the first of all.
		c.JSON(http.StatusOK, gin.H{"seq": 0, "duplicate": true})
		return
	}
	data, keep, ok := s.observationData(c, r.ID, &req)
	if !ok {
		return
	}
	if !keep {
		// The run has as many of these as it keeps.
		c.JSON(http.StatusOK, gin.H{"seq": 0, "duplicate": true})
		return
	}
	seq, err := s.events.put(c.Request.Context(), store.Event{RunID: r.ID, At: time.Now(), Kind: req.Kind, Detail: req.Detail, Data: data}, nil)
	if err != nil {
		failErr(c, err, "event")
		return
	}
	c.JSON(http.StatusOK, gin.H{"seq": seq})
}

// seenBlocked: the run already has a target_blocked event for the host
// this detail ("host: why") names, or has all it will keep (each shard
// reports at most a few; the run keeps maxBlockedEvents). It remembers in
// memory, not by reading the run's events back for every report.
func (s *Server) seenBlocked(runID, detail string) bool {
	host, _, _ := strings.Cut(detail, ": ")
	s.blockedMu.Lock()
	defer s.blockedMu.Unlock()
	if s.blocked == nil || len(s.blocked) > maxBlockedRuns {
		s.blocked = map[string]map[string]bool{}
	}
	hosts := s.blocked[runID]
	if hosts == nil {
		hosts = map[string]bool{}
		s.blocked[runID] = hosts
	}
	if hosts[host] || len(hosts) >= maxBlockedEvents {
		return true
	}
	hosts[host] = true
	return false
}

// The target_blocked events a run keeps, and the runs remembered (past
// it, memory starts over: at worst a host is reported once more).
const (
	maxBlockedEvents = 64
	maxBlockedRuns   = 10_000
)

// ingestShard relays a load activity's start to the run's workflow (which
// then counts the shard and its worker's capacity) and records it.
func (s *Server) ingestShard(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	var req wire.ShardState
	if !bindJSON(c, &req) {
		return
	}
	if req.Shard < 0 || req.Worker == "" || req.MaxVUs < 0 || req.MaxRPS < 0 {
		fail(c, http.StatusBadRequest, "invalid_field", "shard", "a shard state needs shard >= 0, a worker and capacities >= 0")
		return
	}
	if err := s.runsvc.ShardStarted(c, r, req); err != nil {
		fail(c, http.StatusServiceUnavailable, "temporal_unavailable", "", "relay the shard's start: %v", err)
		return
	}
	detail := fmt.Sprintf("shard %d attempt %d on worker %s", req.Shard, req.Attempt, req.Worker)
	if req.Detail != "" {
		detail += " " + req.Detail
	}
	if _, err := s.events.put(c.Request.Context(), store.Event{RunID: r.ID, At: time.Now(), Kind: "shard_started", Detail: detail}, nil); err != nil {
		failErr(c, err, "event")
		return
	}
	c.JSON(http.StatusOK, gin.H{"shard": req.Shard})
}

func (s *Server) workerHeartbeat(c *gin.Context) {
	if s.cfg.FleetToken != "" {
		token := strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.FleetToken)) != 1 {
			fail(c, http.StatusUnauthorized, "unauthorized", "", "a valid fleet token is required")
			return
		}
	}
	var req wire.WorkerBeat
	if !bindJSON(c, &req) {
		return
	}
	if !service.ValidID(req.ID) || req.MaxVUs < 0 || req.MaxRPS < 0 {
		fail(c, http.StatusBadRequest, "invalid_field", "id", "a worker needs an id of letters, digits, - and _, and capacities >= 0")
		return
	}
	w := &store.Worker{ID: req.ID, MaxVUs: req.MaxVUs, MaxRPS: req.MaxRPS, Host: req.Host, LastSeen: time.Now(), RunID: req.RunID, Shard: req.Shard}
	if err := s.cfg.Store.UpsertWorker(c, w); err != nil {
		failErr(c, err, "worker")
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": req.ID})
}

func (s *Server) listWorkers(c *gin.Context) {
	ws, err := s.cfg.Store.ListWorkers(c, time.Now().Add(-30*time.Second))
	if err != nil {
		failErr(c, err, "workers")
		return
	}
	out := make([]gin.H, len(ws))
	for i, w := range ws {
		out[i] = gin.H{"id": w.ID, "max_vus": w.MaxVUs, "max_rps": w.MaxRPS, "host": w.Host, "last_seen": w.LastSeen.UTC(), "run_id": w.RunID, "shard": w.Shard}
	}
	c.JSON(http.StatusOK, gin.H{"workers": out})
}
