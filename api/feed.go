package api

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/fold"
)

// A run's live streams on one server share a feed: the run's latest folded
// intervals, each read from the store and encoded as an SSE data event
// once, whatever the number of viewers. A stream that needs older
// intervals (a late subscriber, a resume) reads those itself.
const feedWindow = 300 // intervals a feed keeps encoded

type feeds struct {
	s    *Server
	mu   sync.Mutex
	runs map[string]*feed
}

type feed struct {
	runID   string
	users   int // streams holding it (under feeds.mu)
	mu      sync.Mutex
	points  []feedPoint // in index order, the latest feedWindow
	last    int64       // the last index read from the store, -1 before
	checked time.Time   // when the store was last read
	dirty   bool        // an interval was folded since
}

type feedPoint struct {
	index int64
	data  []byte // the event's JSON
}

func newFeeds(s *Server) *feeds { return &feeds{s: s, runs: map[string]*feed{}} }

// acquire returns the run's feed; a new one starts after the interval
// before next, so that a stream resuming a long run does not make it read
// the whole run.
func (fs *feeds) acquire(runID string, next int64) *feed {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.runs[runID]
	if f == nil {
		f = &feed{runID: runID, last: next - 1}
		fs.runs[runID] = f
	}
	f.users++
	return f
}

func (fs *feeds) release(f *feed) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.users--; f.users == 0 {
		delete(fs.runs, f.runID)
	}
}

// touch marks a run's feed behind the store: interval k was folded (k < 0:
// some interval). A feed that holds k already drops it and what follows,
// so that they are read again as folded now.
func (fs *feeds) touch(runID string, k int64) {
	fs.mu.Lock()
	f := fs.runs[runID]
	fs.mu.Unlock()
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirty = true
	if k >= 0 && k <= f.last {
		i := 0
		for i < len(f.points) && f.points[i].index < k {
			i++
		}
		f.points, f.last = f.points[:i], k-1
	}
}

// since returns the encoded intervals with index >= next, reading new ones
// from the store when an interval was folded here or streamPoll passed
// (another server may have folded it).
func (fs *feeds) since(ctx context.Context, f *feed, next int64) ([]feedPoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirty || time.Since(f.checked) >= streamPoll {
		if err := fs.refresh(ctx, f); err != nil {
			return nil, err
		}
	}
	var out []feedPoint
	first := f.last + 1 // the first index the feed holds
	if len(f.points) > 0 {
		first = f.points[0].index
	}
	if next < first {
		older, err := fs.read(ctx, f.runID, next-1, first)
		if err != nil {
			return nil, err
		}
		out = older
	}
	for _, p := range f.points {
		if p.index >= next {
			out = append(out, p)
		}
	}
	return out, nil
}

// refresh appends the intervals folded since the feed's last; f.mu is held.
func (fs *feeds) refresh(ctx context.Context, f *feed) error {
	f.checked, f.dirty = time.Now(), false
	points, err := fs.read(ctx, f.runID, f.last, -1)
	if err != nil {
		return err
	}
	for _, p := range points {
		f.points = append(f.points, p)
		f.last = p.index
	}
	if n := len(f.points); n > feedWindow {
		f.points = append(f.points[:0:0], f.points[n-feedWindow:]...)
	}
	return nil
}

// read encodes the stored intervals with after < index < before (before
// < 0: no bound).
func (fs *feeds) read(ctx context.Context, runID string, after, before int64) ([]feedPoint, error) {
	limit := 0
	if before >= 0 {
		limit = int(before - after - 1)
		if limit <= 0 {
			return nil, nil
		}
	}
	ivs, err := fs.s.cfg.Store.ListIntervals(ctx, runID, after, limit)
	if err != nil {
		return nil, err
	}
	r, err := fs.s.runs.get(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]feedPoint, 0, len(ivs))
	for i := range ivs {
		iv := &ivs[i]
		if before >= 0 && iv.Index >= before {
			break
		}
		sum, err := fold.ReadSummary(iv)
		if err != nil {
			fs.s.log.Error("live stream: unreadable interval", "run", runID, "interval", iv.Index, "err", err)
			continue
		}
		data, err := json.Marshal(intervalPoint(r, iv, sum))
		if err != nil {
			return nil, err
		}
		out = append(out, feedPoint{index: iv.Index, data: data})
	}
	return out, nil
}

// published tells this server's streams of a run that interval k of it
// was folded (k < 0: some interval, folded by another server sharing the
// database).
func (s *Server) published(runID string, k int64) {
	s.feeds.touch(runID, k)
	s.broker.publish(runID)
}
