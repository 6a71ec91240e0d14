package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/store"
)

// Point is one folded interval as the live stream sends it.
type Point struct {
	Interval    int64             `json:"interval"`
	T           float64           `json:"t"` // seconds since the run's epoch, at the interval's end
	RPS         float64           `json:"rps"`
	P50         float64           `json:"p50"`
	P95         float64           `json:"p95"`
	P99         float64           `json:"p99"`
	ErrorRate   float64           `json:"error_rate"`
	Requests    uint64            `json:"requests"`
	Errors      uint64            `json:"errors"`
	Dropped     uint64            `json:"dropped_iterations"`
	VUs         uint32            `json:"vus"`
	VUsByWorker map[string]uint32 `json:"vus_by_worker"`
	Workers     int               `json:"workers"`
	// EndAt is the wall-clock end of the interval and FoldedAt when the
	// server folded it (Unix ms): their difference is the folding lag.
	EndAt    int64 `json:"end_at_ms"`
	FoldedAt int64 `json:"folded_at_ms"`
}

func intervalPoint(r *store.Run, iv *store.Interval, sum *fold.Summary) Point {
	// The last interval of a run ends when its load does; its rate is still
	// per second of the interval, so a tail of a few requests reads as such.
	end := iv.End
	if sum.DataEnd.Before(end) && sum.DataEnd.After(iv.Start) {
		end = sum.DataEnd
	}
	secs := iv.End.Sub(iv.Start).Seconds()
	byWorker := make(map[string]uint32, len(sum.Workers))
	for id, w := range sum.Workers {
		byWorker[id] = w.VUs
	}
	p := Point{
		Interval: iv.Index, T: end.Sub(r.Epoch).Seconds(), Requests: sum.Requests, Errors: sum.Errors,
		Dropped: sum.Dropped, VUs: sum.VUs, VUsByWorker: byWorker, Workers: iv.Workers,
		EndAt: end.UnixMilli(), FoldedAt: iv.FoldedAt.UnixMilli(),
	}
	if secs > 0 {
		p.RPS = float64(sum.Requests) / secs
	}
	if sum.Requests > 0 {
		p.ErrorRate = float64(sum.Errors) / float64(sum.Requests)
		p.P50, p.P95, p.P99 = msOf(sum.P50), msOf(sum.P95), msOf(sum.P99)
	}
	return p
}

func msOf(us int64) float64 { return float64(us) / 1000 }

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

// liveMetrics streams a run's folded intervals as Server-Sent Events. Event IDs:
// a data event's ID is n = its interval index + 1, the number of intervals
// sent so far; a status or end event's is "n-status" / "n-end". Sending
// Last-Event-ID resumes after that event, so that nothing is sent twice and
// nothing is skipped; a late subscriber first gets everything folded so far.
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
	f := s.feeds.acquire(r.ID, next)
	defer s.feeds.release(f)
	st := &stream{s: s, c: c, runID: r.ID, feed: f, next: next, status: lastStatus}
	st.run(c.Request.Context(), sub)
}

func parseEventID(id string) (next int64, status string, err error) {
	if id == "" {
		return 0, "", nil
	}
	num, suffix, _ := strings.Cut(id, "-")
	n, perr := strconv.ParseInt(num, 10, 64)
	if perr != nil || n < 0 {
		return 0, "", fmt.Errorf("Last-Event-ID %q is not an ID this stream sent", id)
	}
	return n, suffix, nil
}

type stream struct {
	s      *Server
	c      *gin.Context
	runID  string
	feed   *feed
	next   int64  // the next interval index to send
	status string // the last status sent
}

func (st *stream) run(ctx context.Context, wake chan struct{}) {
	t := time.NewTicker(streamPoll)
	defer t.Stop()
	var quietSince time.Time
	for {
		sent, err := st.sendNew(ctx)
		if err != nil {
			return
		}
		r, err := st.s.runs.get(ctx, st.runID)
		if err != nil {
			return
		}
		if r.Status != st.status {
			st.event(fmt.Sprintf("%d-%s", st.next, r.Status), "status", map[string]string{"status": r.Status, "reason": r.Reason})
			st.status = r.Status
		}
		if store.Finished(r.Status) {
			// The last intervals fold up to FoldGrace after their snapshots:
			// end the stream once nothing new came for a while.
			if sent > 0 || quietSince.IsZero() {
				quietSince = time.Now()
			} else if time.Since(quietSince) > 2*st.s.cfg.FoldGrace+time.Second {
				st.event(fmt.Sprintf("%d-end", st.next), "end", map[string]string{"status": r.Status})
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
	points, err := st.s.feeds.since(ctx, st.feed, st.next)
	if err != nil {
		return 0, err
	}
	for _, p := range points {
		st.next = p.index + 1
		st.write(strconv.FormatInt(st.next, 10), "", p.data)
	}
	return len(points), nil
}

func (st *stream) event(id, name string, v any) {
	b, _ := json.Marshal(v)
	st.write(id, name, b)
}

func (st *stream) write(id, name string, b []byte) {
	w := st.c.Writer
	fmt.Fprintf(w, "id: %s\n", id)
	if name != "" {
		fmt.Fprintf(w, "event: %s\n", name)
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
	w.Flush()
}
