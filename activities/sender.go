package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/barrage/barrage/api/client"
)

// Limits of the snapshot sender.
const (
	// memQueue snapshots wait in memory (a few KB each, five minutes at one
	// a second); later ones go to files in the spool folder, in order.
	memQueue    = 300
	retryMin    = 100 * time.Millisecond
	retryMax    = 2 * time.Second
	postTimeout = 10 * time.Second
	// deliveryGrace is how long a finished shard keeps trying to deliver:
	// less than the slack its activity has after the profile's end.
	deliveryGrace = 90 * time.Second
)

// sender delivers a shard's snapshots to the server in order, one at a
// time, retrying until each is stored: the server's ingest is idempotent, so
// a retry of a snapshot that did arrive changes nothing. While the server is
// unreachable, snapshots queue (bounded memory, then spill to disk).
type sender struct {
	c           *client.Client
	runID       string
	token       string
	dir         string
	log         *slog.Logger
	mu          sync.Mutex
	cond        *sync.Cond
	queue       []item
	closed      bool
	delivered   uint64
	dropped     uint64
	spooled     uint64
	failingFrom time.Time
	seq         uint64
	gaveUp      bool
	done        chan struct{}
}

// item is a queued snapshot: in memory, or in a spool file.
type item struct {
	data []byte
	file string
}

func newSender(c *client.Client, runID, token, spoolDir string, log *slog.Logger) (*sender, error) {
	if spoolDir == "" {
		spoolDir = os.TempDir()
	}
	dir, err := os.MkdirTemp(spoolDir, "barrage-spool-")
	if err != nil {
		return nil, fmt.Errorf("spool folder: %w", err)
	}
	s := &sender{c: c, runID: runID, token: token, dir: dir, log: log, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.loop()
	return s, nil
}

// enqueue adds an encoded snapshot; it never blocks on the network.
func (s *sender) enqueue(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := item{data: data}
	if s.inMemory() >= memQueue {
		s.seq++
		path := filepath.Join(s.dir, fmt.Sprintf("%012d.snap", s.seq))
		if err := os.WriteFile(path, data, 0o600); err == nil {
			it = item{file: path}
			s.spooled++
		} else {
			s.log.Warn("spool snapshot failed; keeping it in memory", "err", err)
		}
	}
	s.queue = append(s.queue, it)
	s.cond.Signal()
}

func (s *sender) inMemory() int {
	n := 0
	for _, it := range s.queue {
		if it.file == "" {
			n++
		}
	}
	return n
}

// abandon gives up on what is still queued (after deliveryGrace).
func (s *sender) abandon() {
	s.mu.Lock()
	s.gaveUp = true
	s.queue = nil
	s.closed = true
	s.cond.Signal()
	s.mu.Unlock()
}

func (s *sender) stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gaveUp
}

// close stops accepting snapshots; wait then waits for the queue to drain.
func (s *sender) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Signal()
	s.mu.Unlock()
}

// wait blocks until every queued snapshot is delivered or ctx ends; tick is
// called every second meanwhile (the activity heartbeats from it).
func (s *sender) wait(ctx context.Context, tick func()) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("deliver snapshots: %d still queued: %w", s.pending(), ctx.Err())
		case <-t.C:
			tick()
		}
	}
}

func (s *sender) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// stats returns delivered, dropped (rejected by the server) and spooled counts.
func (s *sender) stats() (delivered, dropped, spooled uint64, failingSince time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered, s.dropped, s.spooled, s.failingFrom
}

func (s *sender) loop() {
	defer close(s.done)
	defer os.RemoveAll(s.dir)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.queue) == 0 && s.closed {
			s.mu.Unlock()
			return
		}
		it := s.queue[0]
		s.mu.Unlock()
		s.deliver(it)
		s.mu.Lock()
		if len(s.queue) > 0 {
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
	}
}

// deliver posts one snapshot until the server stores it or rejects it.
func (s *sender) deliver(it item) {
	data := it.data
	if it.file != "" {
		var err error
		if data, err = os.ReadFile(it.file); err != nil {
			s.log.Error("read spooled snapshot", "file", it.file, "err", err)
			s.count(false)
			return
		}
		defer os.Remove(it.file)
	}
	backoff := retryMin
	for {
		ctx, cancel := context.WithTimeout(context.Background(), postTimeout)
		_, err := s.c.PostSnapshot(ctx, s.runID, s.token, data)
		cancel()
		if err == nil {
			s.count(true)
			return
		}
		status := client.StatusOf(err)
		transient := status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status == http.StatusConflict
		if s.stopped() {
			s.count(false)
			return
		}
		if status >= 400 && status < 500 && !transient {
			// The server read it and refused it (corrupt, unknown run, bad
			// token): sending it again would be refused again.
			s.log.Error("snapshot refused by the server", "run", s.runID, "err", err)
			s.count(false)
			return
		}
		s.mu.Lock()
		if s.failingFrom.IsZero() {
			s.failingFrom = time.Now()
			s.log.Warn("server unreachable; snapshots are queued", "run", s.runID, "err", errors.Unwrap(err))
		}
		s.mu.Unlock()
		time.Sleep(backoff)
		backoff = min(2*backoff, retryMax)
	}
}

func (s *sender) count(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.delivered++
		if !s.failingFrom.IsZero() {
			s.log.Info("server reachable again", "run", s.runID, "after", time.Since(s.failingFrom).Round(time.Millisecond))
		}
		s.failingFrom = time.Time{}
	} else {
		s.dropped++
	}
}
