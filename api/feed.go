package api

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
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
	points  []feedPoint   // in index order, the latest feedWindow
	last    int64         // the last index read from the store, -1 before
	since   time.Time     // the latest FoldedAt read: later folds of older intervals are revisions
	folded  map[int64]int // the snapshots each interval held as last encoded
	created time.Time     // folds before it were read by the streams themselves
	revs    []feedPoint   // revisions read, in order, the latest feedWindow
	revSeq  int64         // the seq of the last revision read
	checked time.Time     // when the store was last read
	dirty   bool          // an interval was folded since
}

// feedPoint is an encoded data event: a new interval, or an interval
// folded again (seq > 0 numbers the feed's revisions).
type feedPoint struct {
	index int64
	seq   int64
	data  []byte // the event's JSON
}

// revisionSlack is how far back from the latest fold a feed looks for
// folds of older intervals: FoldedAt is the folding server's clock, taken
// before its commit, so folds by several servers reach the store a little
// out of order. An interval already encoded with as many snapshots is not
// sent again.
const revisionSlack = 2 * time.Second

func newFeeds(s *Server) *feeds { return &feeds{s: s, runs: map[string]*feed{}} }

// acquire returns the run's feed; a new one starts after the interval
// before next, so that a stream resuming a long run does not make it read
// the whole run.
func (fs *feeds) acquire(runID string, next int64) *feed {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.runs[runID]
	if f == nil {
		now := time.Now()
		f = &feed{runID: runID, last: next - 1, since: now, created: now, folded: map[int64]int{}}
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

// touch marks a run's feed behind the store: an interval was folded.
func (fs *feeds) touch(runID string) {
	fs.mu.Lock()
	f := fs.runs[runID]
	fs.mu.Unlock()
	if f == nil {
		return
	}
	f.mu.Lock()
	f.dirty = true
	f.mu.Unlock()
}

// cursor is the seq of a feed's latest revision: a stream that starts now
// sends the revisions after it.
func (f *feed) cursor() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.revSeq
}

// since returns the encoded intervals with index >= next and the revisions
// with seq > rev, reading new ones from the store when an interval was
// folded here or streamPoll passed (another server may have folded it).
func (fs *feeds) since(ctx context.Context, f *feed, next, rev int64) (points, revs []feedPoint, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirty || time.Since(f.checked) >= streamPoll {
		if err := fs.refresh(ctx, f); err != nil {
			return nil, nil, err
		}
	}
	first := f.last + 1 // the first index the feed holds
	if len(f.points) > 0 {
		first = f.points[0].index
	}
	if next < first {
		older, err := fs.read(ctx, f.runID, next-1, first)
		if err != nil {
			return nil, nil, err
		}
		points = older
	}
	for _, p := range f.points {
		if p.index >= next {
			points = append(points, p)
		}
	}
	if len(f.revs) > 0 && f.revs[0].seq > rev+1 {
		fs.s.log.Warn("live stream: revisions dropped from the feed before a slow stream sent them", "run", f.runID, "missed", f.revs[0].seq-rev-1)
	}
	for _, p := range f.revs {
		if p.seq > rev && p.index < next {
			revs = append(revs, p)
		}
	}
	return points, revs, nil
}

// refresh appends the intervals folded since the feed's last and the
// revisions since its last read; f.mu is held.
func (fs *feeds) refresh(ctx context.Context, f *feed) error {
	f.checked, f.dirty = time.Now(), false
	ivs, err := fs.s.cfg.Store.ListIntervalsChanged(ctx, f.runID, f.last, f.since.Add(-revisionSlack), false, 0)
	if err != nil {
		return err
	}
	for i := range ivs {
		if ivs[i].FoldedAt.After(f.since) {
			f.since = ivs[i].FoldedAt
		}
	}
	// Older intervals folded since they were encoded here with more
	// snapshots (folding the same ones again changes nothing), or for the
	// first time after a later one; then the new ones.
	var older []store.Interval
	n := 0
	for n < len(ivs) && ivs[n].Index <= f.last {
		if had, ok := f.folded[ivs[n].Index]; ok && had < ivs[n].Snapshots || !ok && ivs[n].FoldedAt.After(f.created) {
			older = append(older, ivs[n])
		}
		n++
	}
	for i := range ivs {
		f.folded[ivs[i].Index] = max(f.folded[ivs[i].Index], ivs[i].Snapshots)
	}
	ivs = append(older, ivs[n:]...)
	n = len(older)
	for _, p := range fs.encode(ctx, f.runID, ivs[:n], true) {
		f.revSeq++
		p.seq = f.revSeq
		f.revs = append(f.revs, p)
	}
	// A later subscriber gets such an interval as folded now, unmarked, in
	// its place (one folded late for the first time, too).
	for _, p := range fs.encode(ctx, f.runID, ivs[:n], false) {
		i, found := slices.BinarySearchFunc(f.points, p.index, func(q feedPoint, k int64) int { return cmp.Compare(q.index, k) })
		switch {
		case found:
			f.points[i].data = p.data
		case i > 0:
			f.points = slices.Insert(f.points, i, p)
		}
	}
	for _, p := range fs.encode(ctx, f.runID, ivs[n:], false) {
		f.points = append(f.points, p)
		f.last = p.index
	}
	if n := len(f.points); n > feedWindow {
		f.points = append(f.points[:0:0], f.points[n-feedWindow:]...)
	}
	if n := len(f.revs); n > feedWindow {
		f.revs = append(f.revs[:0:0], f.revs[n-feedWindow:]...)
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
	for len(ivs) > 0 && before >= 0 && ivs[len(ivs)-1].Index >= before {
		ivs = ivs[:len(ivs)-1]
	}
	return fs.encode(ctx, runID, ivs, false), nil
}

// revised encodes the intervals before next that were folded again: what a
// stream resuming at next may have missed.
func (fs *feeds) revised(ctx context.Context, runID string, next int64) ([]feedPoint, error) {
	ivs, err := fs.s.cfg.Store.ListIntervalsChanged(ctx, runID, next-1, time.Time{}, true, 0)
	if err != nil {
		return nil, err
	}
	n := 0
	for n < len(ivs) && ivs[n].Index < next {
		n++
	}
	return fs.encode(ctx, runID, ivs[:n], true), nil
}

// encode makes the data events of stored intervals, marked revised when
// they re-send intervals already sent. An unreadable one is logged and
// left out.
func (fs *feeds) encode(ctx context.Context, runID string, ivs []store.Interval, revised bool) []feedPoint {
	if len(ivs) == 0 {
		return nil
	}
	r, err := fs.s.runs.get(ctx, runID)
	if err != nil {
		fs.s.log.Error("live stream: read run", "run", runID, "err", err)
		return nil
	}
	out := make([]feedPoint, 0, len(ivs))
	for i := range ivs {
		iv := &ivs[i]
		sum, err := fold.ReadSummary(iv)
		if err != nil {
			fs.s.log.Error("live stream: unreadable interval", "run", runID, "interval", iv.Index, "err", err)
			continue
		}
		p := intervalPoint(r, iv, sum)
		p.Revised = revised
		data, err := json.Marshal(p)
		if err != nil {
			fs.s.log.Error("live stream: encode interval", "run", runID, "interval", iv.Index, "err", err)
			continue
		}
		out = append(out, feedPoint{index: iv.Index, data: data})
	}
	return out
}

// published tells this server's streams of a run that an interval of it
// was folded (here, or by another server sharing the database).
func (s *Server) published(runID string) {
	s.feeds.touch(runID)
	s.broker.publish(runID)
}
