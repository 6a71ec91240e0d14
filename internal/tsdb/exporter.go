// Package tsdb pushes every folded interval of every run to
// VictoriaMetrics, as series that charts and alerts can merge across the
// fleet (see series.go for the contract): counters cumulative within the
// run and latency histograms in VictoriaMetrics' vmrange buckets, mapped
// from the HDR data, each sample stamped with its interval's end.
//
// The store stays the truth. The exporter keeps no payload in memory: a
// fold only marks its run, and each push is built from the stored folded
// intervals after the last one pushed. So VictoriaMetrics being down or
// slow costs a run nothing — its fold never waits — and what could not be
// pushed is pushed from the store once it is back. An interval waits a few
// seconds after its end before its push (late snapshots re-fold it within
// that); one folded again after its push has the run's series deleted and
// the run pushed again from its start, so that the series converge to the
// report on any VictoriaMetrics (see correct).
//
// Usage: New, then Run in a goroutine; Folded after each stored fold,
// Finished once a run's report is stored; ExportRun (re)exports a stored
// run in one go (`barrage export`).
package tsdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/barrage/barrage/internal/fold"
	"github.com/barrage/barrage/internal/hist"
	"github.com/barrage/barrage/internal/store"
)

// Store is what the exporter reads of the store, and where it records a
// run's events (store.Store has it all).
type Store interface {
	GetRun(ctx context.Context, id string) (*store.Run, error)
	ListIntervals(ctx context.Context, runID string, after int64, limit int) ([]store.Interval, error)
	ListIntervalHeads(ctx context.Context, runID string, since time.Time) ([]store.IntervalHead, error)
	AppendEvent(ctx context.Context, e store.Event) (int64, error)
}

// Defaults of Config.
const (
	DefaultPushTimeout = 10 * time.Second
	DefaultBehindAfter = 30 * time.Second
	DefaultMaxPush     = 8 << 20
	DefaultSettle      = 5 * time.Second
	DefaultRetry       = 500 * time.Millisecond
	maxRetry           = 30 * time.Second
	// page is how many intervals one store read returns.
	page = 256
	// ringSize is how many intervals back a re-fold rewinds from memory;
	// an older one re-reads the run from its first interval.
	ringSize = 64
	// recheck: each push first asks which intervals were folded in the
	// last recheck (by the folding server's clock, stamped before its
	// write commits), to find the pushed ones folded again; a report
	// stored (Finished) asks about all of them.
	recheck = time.Minute
	// runRetryMax bounds the back-off of a run whose intervals cannot be
	// read (the others go on).
	runRetryMax = 5 * time.Minute
	// idleAfter: a run fully pushed and not folded for this long is
	// forgotten.
	idleAfter = 10 * time.Minute
)

// Event kinds the exporter records on a run.
const (
	EventBehind   = "export_behind"
	EventCaughtUp = "export_caught_up"
)

// Config configures an Exporter.
type Config struct {
	// URL is VictoriaMetrics' base URL, e.g. http://127.0.0.1:8428.
	URL   string
	Store Store
	Log   *slog.Logger
	// PushTimeout bounds one push.
	PushTimeout time.Duration
	// BehindAfter: a run whose oldest unpushed interval ended this long ago
	// gets an export_behind event (and export_caught_up when it is pushed).
	BehindAfter time.Duration
	// Settle is how long after its end an interval waits before it is
	// pushed (a run's last ones go when its report is stored): late
	// snapshots re-fold an interval within seconds, and one pushed already
	// costs a correction (see correct).
	Settle time.Duration
	// MaxPush bounds the uncompressed text of one push.
	MaxPush int
	// Retry is the wait after a failed push; it doubles up to 30 s.
	Retry time.Duration
}

// Exporter pushes folded intervals to VictoriaMetrics.
type Exporter struct {
	cfg       Config
	pushURL   string
	deleteURL string
	flushURL  string
	client    *http.Client // for deletes; pushes go through the metrics package
	wake      chan struct{}

	mu     sync.Mutex
	runs   map[string]*runState
	wakeAt time.Time // when an interval held back settles

	pushes     atomic.Uint64
	pushErrors atomic.Uint64
	deletes    atomic.Uint64 // runs whose series were deleted to be pushed again
	bytes      atomic.Uint64 // of text, before compression
	samples    atomic.Uint64
}

// runState is how far a run is pushed.
type runState struct {
	labels  *runLabels
	run     *store.Run // its epoch and width place its intervals (fold.Bounds)
	next    int64      // intervals before next are pushed
	checked time.Time  // when re-folds were last looked for
	tot     *totals    // counters after interval next-1
	ring    [ringSize]checkpoint
	// snaps holds, by interval, how many snapshots its pushed fold had
	// (-1: none was stored): an interval's head with more was folded
	// again after its push.
	snaps  []int32
	folded int64 // the highest interval known folded
	pushed int64 // next, as the lag reads it (under Exporter.mu)
	// finished: the run's report is stored; every interval goes at once.
	finished bool
	// reconcile: compare every stored interval with what was pushed.
	reconcile bool
	status    store.Status  // as last pushed in run_info
	behind    bool          // an export_behind event was recorded
	work      bool          // something to push
	due       time.Time     // an interval held back settles (zero: none)
	touched   time.Time     // the latest Folded or Finished
	failed    time.Duration // back-off after a failure of this run alone
}

// checkpoint is a run's totals after an interval, and that interval's
// snapshot count as pushed.
type checkpoint struct {
	index     int64
	snapshots int
	tot       *totals
}

// New returns an exporter for cfg; cfg.URL must be an http(s) URL.
func New(cfg Config) (*Exporter, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("VictoriaMetrics URL %q: want http(s)://host:port", cfg.URL)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PushTimeout <= 0 {
		cfg.PushTimeout = DefaultPushTimeout
	}
	if cfg.BehindAfter <= 0 {
		cfg.BehindAfter = DefaultBehindAfter
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.MaxPush <= 0 {
		cfg.MaxPush = DefaultMaxPush
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	return &Exporter{cfg: cfg, pushURL: u.String() + "/api/v1/import/prometheus", deleteURL: u.String() + "/api/v1/admin/tsdb/delete_series",
		flushURL: u.String() + "/internal/force_flush",
		wake:     make(chan struct{}, 1), runs: map[string]*runState{}, client: &http.Client{Timeout: cfg.PushTimeout}}, nil
}

// Folded tells the exporter that interval index of a run was stored. It
// never blocks.
func (x *Exporter) Folded(runID string, index int64) {
	x.mu.Lock()
	rs := x.state(runID)
	rs.folded = max(rs.folded, index)
	rs.work, rs.touched = true, time.Now()
	x.mu.Unlock()
	x.poke()
}

// Finished tells the exporter that a run's report is stored: its last
// intervals (re-folded for the report) and final status are pushed, then
// the run is forgotten.
func (x *Exporter) Finished(runID string) {
	x.mu.Lock()
	rs := x.state(runID)
	rs.finished, rs.reconcile, rs.work, rs.touched = true, true, true, time.Now()
	x.mu.Unlock()
	x.poke()
}

func (x *Exporter) state(runID string) *runState {
	rs := x.runs[runID]
	if rs == nil {
		rs = &runState{folded: -1}
		x.runs[runID] = rs
	}
	return rs
}

// wakeBy makes Run try again by t at the latest (an interval settles).
func (x *Exporter) wakeBy(t time.Time) {
	x.mu.Lock()
	if x.wakeAt.IsZero() || t.Before(x.wakeAt) {
		x.wakeAt = t
	}
	x.mu.Unlock()
}

func (x *Exporter) poke() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// Run pushes until ctx ends. After a failed push it waits out a back-off
// before the next, whatever folds meanwhile; each fold still checks
// whether a run fell behind.
func (x *Exporter) Run(ctx context.Context) {
	var (
		retry   time.Duration
		failure error
		next    time.Time // no push before
	)
	for {
		wait := x.cfg.BehindAfter / 2
		x.mu.Lock()
		if !x.wakeAt.IsZero() {
			wait = min(wait, time.Until(x.wakeAt))
			x.wakeAt = time.Time{}
		}
		x.mu.Unlock()
		if failure != nil {
			wait = time.Until(next)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-x.wake:
		}
		if failure != nil {
			x.checkBehind(ctx, failure)
			if time.Now().Before(next) {
				continue
			}
		}
		if failure = x.cycle(ctx); failure != nil {
			retry = min(max(2*retry, x.cfg.Retry), maxRetry)
			next = time.Now().Add(retry)
			x.cfg.Log.Warn("VictoriaMetrics export failed; retrying", "err", failure, "in", retry)
			x.checkBehind(ctx, failure)
		} else {
			retry = 0
		}
	}
}

// cycle pushes every run with work; it returns the first error.
func (x *Exporter) cycle(ctx context.Context) error {
	now := time.Now()
	x.mu.Lock()
	ids := make([]string, 0, len(x.runs))
	for id, rs := range x.runs {
		due := !rs.due.IsZero() && !now.Before(rs.due)
		waiting := rs.failed > 0 && !due // backing off after a failure of its own
		switch {
		case due || rs.work && !waiting:
			ids = append(ids, id)
		case !rs.work && rs.due.IsZero() && now.Sub(rs.touched) > idleAfter:
			// Pushed, and no fold for long: over (or its report never
			// came). A later fold starts it afresh.
			delete(x.runs, id)
		}
	}
	x.mu.Unlock()
	for _, id := range ids {
		err := x.exportRun(ctx, id)
		switch {
		case err == nil:
		case errors.Is(err, errPush):
			return err // VictoriaMetrics is down: the other runs wait too
		default:
			// This run's intervals cannot be read: it waits, alone.
			x.mu.Lock()
			if rs := x.runs[id]; rs != nil {
				rs.failed = min(max(2*rs.failed, time.Second), runRetryMax)
				rs.due, rs.work = time.Now().Add(rs.failed), true
				x.cfg.Log.Error("VictoriaMetrics export of a run failed; retrying", "run", id, "err", err, "in", rs.failed)
			}
			x.mu.Unlock()
		}
	}
	return nil
}

var errPush = errors.New("push to VictoriaMetrics")

// exportRun pushes what a run has folded since its last push.
func (x *Exporter) exportRun(ctx context.Context, id string) error {
	x.mu.Lock()
	rs := x.runs[id]
	if rs != nil {
		rs.work = false
	}
	x.mu.Unlock()
	if rs == nil {
		return nil
	}
	r, err := x.cfg.Store.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		x.forget(id)
		return nil
	}
	if err != nil {
		x.markWork(id)
		return err
	}
	if rs.labels == nil {
		plan, err := fold.CompileRun(r)
		if err != nil {
			x.cfg.Log.Error("run not exported: its scenario does not compile", "run", id, "err", err)
			x.forget(id)
			return nil
		}
		// A run new to this exporter may have series already: pushed
		// before a restart, or before its report (a fold after it), or by
		// `barrage export`. They go first, so that the push is exact
		// whatever VictoriaMetrics keeps of a sample pushed twice.
		if err := x.deleteRun(ctx, id); errors.Is(err, errPush) {
			x.markWork(id)
			return err
		} else if err != nil {
			x.cfg.Log.Warn("VictoriaMetrics refused to delete a run's earlier series; pushing over them", "run", id, "err", err)
		}
		x.mu.Lock() // the lag reads run
		rs.labels, rs.run, rs.tot = labelsOf(r, plan), r, newTotals(len(plan.Steps))
		x.mu.Unlock()
	}
	x.mu.Lock()
	final, reconcile := rs.finished, rs.reconcile
	rs.due = time.Time{}
	x.mu.Unlock()
	if err := x.pushNew(ctx, rs, r.Status, final, reconcile); err != nil {
		x.markWork(id)
		return err
	}
	if rs.status != r.Status && rs.next > 0 {
		// The final status, at the last interval's end.
		var w writer
		_, end := fold.Bounds(rs.run, rs.next-1)
		w.at(end)
		w.runInfo(rs.labels, r.Status)
		if err := x.push(ctx, &w); err != nil {
			x.markWork(id)
			return err
		}
		rs.status = r.Status
	}
	x.mu.Lock()
	rs.pushed, rs.failed = rs.next, 0
	if reconcile {
		rs.reconcile = false
	}
	x.mu.Unlock()
	x.caughtUp(ctx, id, rs)
	// A finished run's state stays until it idles (idleAfter): a fold
	// after its report then costs a push of what changed, not of the run.
	return nil
}

func (x *Exporter) markWork(id string) {
	x.mu.Lock()
	if rs := x.runs[id]; rs != nil {
		rs.work = true
	}
	x.mu.Unlock()
}

func (x *Exporter) forget(id string) {
	x.mu.Lock()
	delete(x.runs, id)
	x.mu.Unlock()
}

// pushNew pushes a run's settled intervals after its last push, first
// correcting (see correct) when an interval already pushed was folded
// again. reconcile compares every stored interval with what was pushed;
// otherwise only those folded in the last recheck are.
func (x *Exporter) pushNew(ctx context.Context, rs *runState, status store.Status, final, reconcile bool) error {
	if rs.next > 0 {
		since := time.Time{}
		if !reconcile && !rs.checked.IsZero() {
			since = rs.checked.Add(-recheck)
		}
		asked := time.Now()
		heads, err := x.cfg.Store.ListIntervalHeads(ctx, rs.labels.id, since)
		if err != nil {
			return fmt.Errorf("intervals of run %s: %w", rs.labels.id, err)
		}
		if k, ok := rs.refolded(heads); ok {
			if err := x.correct(ctx, rs, k); err != nil {
				return err
			}
		}
		rs.checked = asked
	} else if rs.checked.IsZero() {
		rs.checked = time.Now()
	}
	var acc hist.Accumulator
	for {
		rows, err := x.cfg.Store.ListIntervals(ctx, rs.labels.id, rs.next-1, page)
		if err != nil {
			return fmt.Errorf("intervals of run %s: %w", rs.labels.id, err)
		}
		read := len(rows)
		// An interval is pushed once it has settled (late snapshots come
		// within seconds), so that pushing it again is rare.
		if !final {
			now := time.Now()
			for i := range rows {
				if due := rows[i].End.Add(x.cfg.Settle); now.Before(due) {
					rows = rows[:i]
					x.mu.Lock()
					rs.due = due
					x.mu.Unlock()
					x.wakeBy(due)
					break
				}
			}
		}
		var w writer
		tot := rs.tot.clone()
		done := 0
		var cps []checkpoint
		for i := range rows {
			row := &rows[i]
			acc.Reset()
			if _, err := acc.Add(row.Data); err != nil {
				return fmt.Errorf("interval %d of run %s: %w", row.Index, rs.labels.id, err)
			}
			sum, err := fold.ReadSummary(row)
			if err != nil {
				return err
			}
			tot.add(&acc)
			w.interval(rs.labels, status, row, sum, tot)
			cps = append(cps, checkpoint{index: row.Index, snapshots: row.Snapshots, tot: tot.clone()})
			if len(w.b) >= x.cfg.MaxPush || i == len(rows)-1 {
				if err := x.push(ctx, &w); err != nil {
					return err
				}
				rs.commit(rows[done:i+1], cps, tot)
				rs.status = status
				w.reset()
				cps, done = nil, i+1
			}
		}
		if read < page || len(rows) < read {
			return nil
		}
	}
}

// refolded returns the first interval that heads show folded again (or
// stored late) after its push.
func (rs *runState) refolded(heads []store.IntervalHead) (int64, bool) {
	for _, h := range heads {
		if h.Index >= rs.next {
			break
		}
		if h.Index >= int64(len(rs.snaps)) || int(rs.snaps[h.Index]) < h.Snapshots {
			return h.Index, true
		}
	}
	return 0, false
}

// rewind sets the run back to before interval k: to a checkpoint when the
// ring still has one, else to its start.
func (rs *runState) rewind(k int64) {
	if cp := rs.ring[(k-1+ringSize)%ringSize]; k > 0 && cp.tot != nil && cp.index == k-1 {
		rs.tot, rs.next = cp.tot.clone(), k
	} else {
		rs.tot, rs.next = newTotals(len(rs.tot.steps)), 0
		rs.ring = [ringSize]checkpoint{}
	}
	rs.snaps = rs.snaps[:min(int64(len(rs.snaps)), rs.next)]
}

// commit records rows as pushed.
func (rs *runState) commit(rows []store.Interval, cps []checkpoint, tot *totals) {
	for _, cp := range cps {
		rs.ring[cp.index%ringSize] = cp
		for int64(len(rs.snaps)) <= cp.index {
			rs.snaps = append(rs.snaps, -1) // an interval not stored
		}
		rs.snaps[cp.index] = int32(min(max(cp.snapshots, 0), math.MaxInt32))
	}
	rs.next = rows[len(rows)-1].Index + 1
	rs.tot = tot.clone()
}

// push sends w's samples, gzipped, through the metrics package's push
// transport.
func (x *Exporter) push(ctx context.Context, w *writer) error {
	if len(w.b) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, x.cfg.PushTimeout)
	defer cancel()
	err := metrics.PushMetricsExt(ctx, x.pushURL, func(out io.Writer) {
		_, _ = out.Write(w.b)
	}, &metrics.PushOptions{Method: "POST", LogErr: func(string, ...any) {}})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // the transport takes a cancelled push for a success
	}
	x.pushes.Add(1)
	if err != nil {
		x.pushErrors.Add(1)
		return fmt.Errorf("%w: %w", errPush, err)
	}
	x.bytes.Add(uint64(len(w.b)))
	x.samples.Add(uint64(w.n)) // #nosec G115 -- a count of samples written, never negative
	return nil
}

// correct handles a re-fold of interval k, already pushed. A sample pushed
// again for the same series and time only replaces the first where
// VictoriaMetrics deduplicates by keeping the largest value (recent
// releases with -dedup.minScrapeInterval); older ones keep either. So the
// run's series are deleted and the run pushed again from its start: exact
// on every release. Where deleting is refused (-deleteAuthKey, a
// read-only proxy), the run rewinds to before k and pushes again over the
// first samples, which converges where the largest value wins.
func (x *Exporter) correct(ctx context.Context, rs *runState, k int64) error {
	err := x.deleteRun(ctx, rs.labels.id)
	switch {
	case err == nil:
		x.deletes.Add(1)
		rs.rewind(0)
		rs.status = ""
		return nil
	case errors.Is(err, errPush):
		return err // unreachable: try again later
	}
	x.cfg.Log.Warn("VictoriaMetrics refused to delete a run's series to push a re-folded interval again; pushing over them", "run", rs.labels.id, "err", err)
	rs.rewind(k)
	return nil
}

// deleteRun deletes every series of a run. An error wrapping errPush means
// VictoriaMetrics could not be reached; any other, that it refused.
func (x *Exporter) deleteRun(ctx context.Context, runID string) error {
	// Samples pushed in the last second or so are still in memory, where
	// a delete misses them: flush first (single-node VictoriaMetrics; a
	// cluster's vmselect answers 404, and its storage flushes on its own).
	if req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.flushURL, nil); err == nil {
		if resp, err := x.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
		}
	}
	q := url.Values{"match[]": {`{run_id="` + string(appendEscaped(nil, runID)) + `"}`}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.deleteURL+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := x.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: delete run %s: %w", errPush, runID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: delete run %s: %s: %s", errPush, runID, resp.Status, bytes.TrimSpace(body))
	}
	return fmt.Errorf("delete run %s: %s: %s", runID, resp.Status, bytes.TrimSpace(body))
}
