package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
	"github.com/barrage/barrage/reports"
)

// Point is one folded interval as the live stream sends it: the report's
// series point for the interval, and where the interval is in the stream.
type Point struct {
	Interval int64 `json:"interval"`
	reports.Point
	// VUsByWorker shadows the series point's, which a report leaves out
	// when empty: the stream always sends it ({} when no worker reported).
	VUsByWorker map[string]int `json:"vus_by_worker"`
	// EndAt is the wall-clock end of the interval and FoldedAt when the
	// server folded it (Unix ms): their difference is the folding lag.
	EndAt    int64 `json:"end_at_ms"`
	FoldedAt int64 `json:"folded_at_ms"`
	// Revision counts the interval's folds (1: its first). Revised marks
	// an event that sends an interval again, folded anew after a late
	// snapshot: a view replaces its point for the interval.
	Revision int  `json:"revision"`
	Revised  bool `json:"revised"`
}

// intervalPoint is a stored interval as the stream sends it: its figures
// are the report's series point for the interval.
func intervalPoint(r *store.Run, iv *store.Interval, sum *fold.Summary) Point {
	sp := reports.SeriesPoint(r.Epoch, fold.Folded(iv, sum, fold.Width(r)))
	byWorker := sp.VUsByWorker
	if byWorker == nil {
		byWorker = map[string]int{}
	}
	end := r.Epoch.Add(time.Duration(sp.T * float64(time.Second)))
	return Point{
		Interval: iv.Index, Point: sp, VUsByWorker: byWorker, EndAt: end.UnixMilli(), FoldedAt: iv.FoldedAt.UnixMilli(), Revision: max(iv.Revision, 1),
	}
}

// broker wakes the live streams of a run when one of its intervals is
// folded here.
type broker struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]bool
}

func newBroker() *broker { return &broker{subs: map[string]map[chan struct{}]bool{}} }

func (b *broker) subscribe(runID string) chan struct{} {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs[runID] == nil {
		b.subs[runID] = map[chan struct{}]bool{}
	}
	b.subs[runID][ch] = true
	b.mu.Unlock()
	return ch
}

func (b *broker) unsubscribe(runID string, ch chan struct{}) {
	b.mu.Lock()
	delete(b.subs[runID], ch)
	if len(b.subs[runID]) == 0 {
		delete(b.subs, runID)
	}
	b.mu.Unlock()
}

func (b *broker) publish(runID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[runID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// streamPoll is how often a stream looks at the store without being woken:
// it catches intervals folded by another server and status changes.
const streamPoll = 500 * time.Millisecond

// streamRetry is the reconnection delay a stream asks its clients for.
const streamRetry = 2 * time.Second

// liveMetrics streams a run's folded intervals as Server-Sent Events.
//
// An event's ID is the stream's position after it: n, the number of
// intervals sent so far (data event n is interval n-1), followed by
// "-<status>" when the last status sent is not running: "7", "3-queued",
// "9-completed"; an end event's is "n-end". Sending Last-Event-ID resumes
// after that position, so that no interval and no status is sent twice and
// nothing is skipped; a late subscriber first gets the status, then
// everything folded so far. An interval folded again after it was sent (a
// late snapshot) is sent again, marked revised, with the position's ID.
func (s *Server) liveMetrics(c *gin.Context) {
	r, ok := s.loadRun(c)
	if !ok {
		return
	}
	next, lastStatus, err := parseEventID(c.GetHeader("Last-Event-ID"))
	if err != nil {
		fail(c, http.StatusBadRequest, "bad_event_id", "Last-Event-ID", "%v", err)
		return
	}
	if lastStatus == "end" {
		// The stream had ended: 204 tells an EventSource not to reconnect.
		c.Status(http.StatusNoContent)
		return
	}
	if next > 0 {
		// Data event n was interval n-1: an ID naming an interval never
		// folded was not sent by this stream.
		ivs, err := s.cfg.Store.ListIntervals(c.Request.Context(), r.ID, next-2, 1)
		if err != nil {
			failErr(c, err, "read intervals")
			return
		}
		if len(ivs) == 0 || ivs[0].Index != next-1 {
			fail(c, http.StatusBadRequest, "bad_event_id", "Last-Event-ID", "Last-Event-ID %q names interval %d, which this run has not folded", c.GetHeader("Last-Event-ID"), next-1)
			return
		}
	}
	sub := s.broker.subscribe(r.ID)
	defer s.broker.unsubscribe(r.ID, sub)
	w := c.Writer
	// The first write is bounded too (see write).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Clients reconnect this soon after losing the stream (a server
	// restarting, say), rather than after their own default.
	fmt.Fprintf(w, "retry: %d\n\n", streamRetry.Milliseconds())
	w.Flush()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	f := s.feeds.acquire(r.ID, next)
	defer s.feeds.release(f)
	st := &stream{s: s, c: c, runID: r.ID, feed: f, next: next, status: lastStatus, rev: f.cursor()}
	if next > 0 {
		// Intervals sent before the resume may have been folded again since.
		revs, err := s.feeds.revised(c.Request.Context(), r.ID, next)
		if err != nil {
			return
		}
		for _, p := range revs {
			st.write(st.position(), "", p.data)
		}
	}
	st.run(c.Request.Context(), sub)
}

func parseEventID(id string) (next int64, status store.Status, err error) {
	if id == "" {
		return 0, "", nil
	}
	num, suffix, found := strings.Cut(id, "-")
	n, perr := strconv.ParseInt(num, 10, 64)
	if perr != nil || n < 0 || (found && suffix != "end" && !store.ValidStatus(suffix)) {
		return 0, "", fmt.Errorf("Last-Event-ID %q is not an ID this stream sent", id)
	}
	status = store.Status(suffix)
	if !found {
		status = store.StatusRunning
		if n == 0 {
			status = "" // "0" was never sent: nothing was
		}
	}
	return n, status, nil
}

// position is the ID of an event sent now: see liveMetrics.
func (st *stream) position() string {
	if st.status == store.StatusRunning {
		return strconv.FormatInt(st.next, 10)
	}
	return fmt.Sprintf("%d-%s", st.next, st.status)
}

type stream struct {
	s      *Server
	c      *gin.Context
	runID  string
	feed   *feed
	next   int64        // the next interval index to send
	status store.Status // the last status sent
	rev    int64        // the feed's last revision sent
	err    error        // the write that broke the stream
}

func (st *stream) run(ctx context.Context, wake chan struct{}) {
	t := time.NewTicker(streamPoll)
	defer t.Stop()
	var quietSince time.Time
	for {
		r, err := st.s.runs.get(ctx, st.runID)
		if err != nil {
			return
		}
		// The status goes first: a data event's position carries the
		// status sent before it.
		if status, _ := r.Shown(time.Now()); status != st.status {
			st.status = status
			st.event(fmt.Sprintf("%d-%s", st.next, status), "status", map[string]string{"status": string(status), "reason": r.Reason})
		}
		sent, err := st.sendNew(ctx)
		if err != nil || st.err != nil {
			return
		}
		if store.Finished(r.Status) {
			// The last intervals fold up to FoldGrace after their snapshots:
			// end the stream once nothing new came for a while.
			if sent > 0 || quietSince.IsZero() {
				quietSince = time.Now()
			} else if time.Since(quietSince) > 2*st.s.cfg.FoldGrace+time.Second {
				st.event(fmt.Sprintf("%d-end", st.next), "end", map[string]string{"status": string(r.Status)})
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// sendNew sends the folded intervals not sent yet, in order.
func (st *stream) sendNew(ctx context.Context) (int, error) {
	points, revs, err := st.s.feeds.since(ctx, st.feed, st.next, st.rev)
	if err != nil {
		return 0, err
	}
	for _, p := range revs {
		st.rev = p.seq
		st.write(st.position(), "", p.data)
	}
	for _, p := range points {
		st.next = p.index + 1
		st.write(st.position(), "", p.data)
	}
	return len(points) + len(revs), nil
}

func (st *stream) event(id, name string, v any) {
	b, _ := json.Marshal(v)
	st.write(id, name, b)
}

// sseWriteTimeout bounds each event's write: a client that stops reading
// (its window full) loses its stream instead of holding a handler, a
// feed and a goroutine for as long as the run lasts.
var sseWriteTimeout = 10 * time.Second

// write sends one event; after a failed or late write the stream is
// broken (st.err) and its loop ends.
func (st *stream) write(id, name string, b []byte) {
	if st.err != nil {
		return
	}
	w := st.c.Writer
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		st.err = err
		return
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "id: %s\n", id)
	if name != "" {
		fmt.Fprintf(&buf, "event: %s\n", name)
	}
	fmt.Fprintf(&buf, "data: %s\n\n", b)
	if _, err := w.Write(buf.Bytes()); err != nil {
		st.err = err
		return
	}
	if err := rc.Flush(); err != nil {
		st.err = err
		return
	}
	// The deadline bounds a write, not the quiet between writes: over
	// HTTP/2 a deadline left set resets an idle stream when it passes.
	_ = rc.SetWriteDeadline(time.Time{})
}
