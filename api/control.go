package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/store"
)

// Serving a run's control. Every shard of a run follows one control
// document; a fleet of a thousand polling it four times a second would
// read the store four thousand times a second. Instead the server keeps each
// run's latest document in memory — updated at once when the control is
// published in this process, and read again from the store at most every
// controlRefresh (another server may have published it) — and a worker
// asks with the version it has (?after=V&wait=…): the answer waits until
// there is a newer one, up to the wait.
const (
	// controlRefresh bounds how stale a control served here can be when it
	// was published by another server.
	controlRefresh = 500 * time.Millisecond
	// maxControlWait caps how long a control request may wait for a change.
	maxControlWait = 10 * time.Second
	// controlRuns bounds the runs whose control is kept.
	controlRuns = 10000
)

// controls keeps the latest control document of each run.
type controls struct {
	st   store.Store
	mu   sync.Mutex
	runs map[string]*runControl
}

type runControl struct {
	mu      sync.Mutex // serializes reading it from the store
	version int
	doc     []byte // nil until published
	read    time.Time
	changed chan struct{} // closed when version grows
}

func newControls(st store.Store) *controls {
	return &controls{st: st, runs: map[string]*runControl{}}
}

func (cs *controls) entry(runID string) *runControl {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	rc := cs.runs[runID]
	if rc == nil {
		if len(cs.runs) >= controlRuns {
			clear(cs.runs)
		}
		rc = &runControl{changed: make(chan struct{})}
		cs.runs[runID] = rc
	}
	return rc
}

// Published records a control published in this process; an older
// version than the one kept changes nothing.
func (cs *controls) Published(runID string, version int, doc []byte) {
	rc := cs.entry(runID)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.set(version, doc, time.Now())
}

// set keeps doc if it is newer and wakes the waiters; rc.mu is held.
func (rc *runControl) set(version int, doc []byte, at time.Time) {
	rc.read = at
	if doc == nil || version <= rc.version && rc.doc != nil {
		return
	}
	rc.version, rc.doc = version, doc
	close(rc.changed)
	rc.changed = make(chan struct{})
}

// get returns the run's control (nil doc: not published yet) and a channel
// closed when it changes, reading the store when the kept one is older
// than controlRefresh.
func (cs *controls) get(ctx context.Context, runID string) (int, []byte, <-chan struct{}, error) {
	rc := cs.entry(runID)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if time.Since(rc.read) >= controlRefresh {
		doc, err := cs.st.GetControl(ctx, runID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rc.read = time.Now()
		case err != nil:
			return 0, nil, nil, err
		default:
			var head struct{ Version int }
			if err := json.Unmarshal(doc, &head); err != nil {
				return 0, nil, nil, err
			}
			rc.set(head.Version, doc, time.Now())
		}
	}
	return rc.version, rc.doc, rc.changed, nil
}

// ingestControl serves a run's control. With ?after=V it answers as soon
// as a version above V is there, or after ?wait (seconds, at most
// maxControlWait) with a short document that says the version is
// unchanged.
func (s *Server) ingestControl(c *gin.Context) {
	r, ok := s.authRun(c)
	if !ok {
		return
	}
	after, wait, ok := controlQuery(c)
	if !ok {
		return
	}
	if v := c.Query("shard"); v != "" {
		// A shard's request: the watch notices the worker's connection
		// closing while the request waits.
		shard, err := strconv.Atoi(v)
		attempt, aerr := strconv.Atoi(c.DefaultQuery("attempt", "0"))
		if err != nil || aerr != nil || shard < 0 || shard >= maxShards {
			fail(c, http.StatusBadRequest, "invalid_field", "shard", "shard and attempt must be integers, shard in 0..%d", maxShards-1)
			return
		}
		done := s.watch.pollStarted(r, shard, attempt, c.Query("worker"))
		defer func() { done(c.Request.Context().Err() != nil) }()
	}
	deadline := time.Now().Add(wait)
	for {
		version, doc, changed, err := s.controls.get(c.Request.Context(), r.ID)
		if err != nil {
			failErr(c, err, "control of run "+r.ID)
			return
		}
		if doc != nil && version > after {
			c.Data(http.StatusOK, "application/json", doc)
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			// Not published yet, or not changed: the shard keeps its share.
			c.JSON(http.StatusOK, gin.H{"RunID": r.ID, "Version": version})
			return
		}
		t := time.NewTimer(min(left, controlRefresh))
		select {
		case <-c.Request.Context().Done():
			t.Stop()
			return
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

func controlQuery(c *gin.Context) (after int, wait time.Duration, ok bool) {
	after = -1
	if v := c.Query("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fail(c, http.StatusBadRequest, "invalid_field", "after", "after must be a control version (an integer >= 0)")
			return 0, 0, false
		}
		after = n
	}
	if v := c.Query("wait"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 || secs > maxControlWait.Seconds() {
			fail(c, http.StatusBadRequest, "invalid_field", "wait", "wait must be seconds between 0 and %g", maxControlWait.Seconds())
			return 0, 0, false
		}
		wait = time.Duration(secs * float64(time.Second))
	}
	return after, wait, true
}
