package fold

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/scenario"
	"github.com/barrage/barrage/internal/store"
)

const grace = time.Second

// TestPendingDue: an interval only parts of which came (a run's last, cut
// short) is due grace after its end, one a shard sent whole grace after
// that shard did.
func TestPendingDue(t *testing.T) {
	seen := epoch.Add(2100 * time.Millisecond)
	p := &pendingInterval{seen: seen, end: epoch.Add(3 * time.Second)}
	if got := p.due(time.Second); !got.Equal(epoch.Add(4 * time.Second)) {
		t.Errorf("parts only: due at %v, want a second after the interval's end", got.Sub(epoch))
	}
	p.first = epoch.Add(3050 * time.Millisecond)
	if got := p.due(time.Second); !got.Equal(epoch.Add(4050 * time.Millisecond)) {
		t.Errorf("one shard whole: due at %v, want a second after it", got.Sub(epoch))
	}
}

// at is a time relative to the run's epoch.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// TestScheduleStates walks the in-order state machine through its rules,
// with the time passed in.
func TestScheduleStates(t *testing.T) {
	type arrival struct {
		k     int64
		shard int
		whole bool
		at    time.Duration
	}
	type check struct {
		at   time.Duration
		fold []int64
		wait time.Duration // 0: not checked
		done bool
	}
	for _, tc := range []struct {
		name    string
		workers int
		events  []any // arrival or check, in order
	}{
		{name: "every shard sent it whole: folded at once", workers: 2, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			check{at: 1001 * time.Millisecond, fold: nil, wait: 999 * time.Millisecond},
			arrival{0, 1, true, 1010 * time.Millisecond},
			check{at: 1010 * time.Millisecond, fold: []int64{0}},
		}},
		{name: "a shard missing: folded grace after the first", workers: 2, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			check{at: 1999 * time.Millisecond, fold: nil, wait: time.Millisecond},
			check{at: 2000 * time.Millisecond, fold: []int64{0}},
		}},
		{name: "never before the interval before it", workers: 2, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			arrival{1, 0, true, 1500 * time.Millisecond},
			arrival{1, 1, true, 1500 * time.Millisecond},
			check{at: 1500 * time.Millisecond, fold: nil, wait: 500 * time.Millisecond},
			check{at: 1000*time.Millisecond + grace, fold: []int64{0, 1}},
		}},
		{name: "an interval nobody sent is skipped after the next one's grace", workers: 1, events: []any{
			arrival{2, 0, true, 3000 * time.Millisecond},
			check{at: 3500 * time.Millisecond, fold: nil, wait: 500 * time.Millisecond},
			check{at: 4000 * time.Millisecond, fold: []int64{2}},
		}},
		{name: "a late snapshot folds its interval again", workers: 1, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			check{at: 1000 * time.Millisecond, fold: []int64{0}},
			arrival{0, 0, false, 1500 * time.Millisecond},
			arrival{1, 0, true, 2000 * time.Millisecond},
			check{at: 2000 * time.Millisecond, fold: []int64{0, 1}},
		}},
		{name: "parts only (the last interval, cut short): grace after its end", workers: 1, events: []any{
			arrival{0, 0, false, 400 * time.Millisecond},
			check{at: 1500 * time.Millisecond, fold: nil, wait: 500 * time.Millisecond},
			check{at: 2000 * time.Millisecond, fold: []int64{0}},
		}},
		{name: "a lost shard stops counting one interval after its last", workers: 2, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			arrival{0, 1, true, 1000 * time.Millisecond},
			check{at: 1000 * time.Millisecond, fold: []int64{0}},
			arrival{1, 0, true, 2000 * time.Millisecond},
			check{at: 2000 * time.Millisecond, fold: nil}, // shard 1 sent 0: interval 1 waits for it
			check{at: 3000 * time.Millisecond, fold: []int64{1}},
			arrival{2, 0, true, 3000 * time.Millisecond},
			check{at: 3000 * time.Millisecond, fold: []int64{2}}, // shard 1's last was 0 < 1
		}},
		{name: "a shard that joins counts from its first interval", workers: 1, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			check{at: 1000 * time.Millisecond, fold: []int64{0}},
			arrival{1, 1, true, 2000 * time.Millisecond},
			arrival{1, 0, true, 2000 * time.Millisecond},
			check{at: 2000 * time.Millisecond, fold: []int64{1}},
			arrival{2, 1, true, 3000 * time.Millisecond},
			check{at: 3000 * time.Millisecond, fold: nil}, // waits for shard 0 too
			arrival{2, 0, true, 3100 * time.Millisecond},
			check{at: 3100 * time.Millisecond, fold: []int64{2}},
		}},
		{name: "idle for IdleAfter: done", workers: 1, events: []any{
			arrival{0, 0, true, 1000 * time.Millisecond},
			check{at: 1000 * time.Millisecond, fold: []int64{0}},
			check{at: 1000*time.Millisecond + IdleAfter, fold: nil, wait: time.Minute},
			check{at: 1001*time.Millisecond + IdleAfter, fold: nil, done: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule(&store.Run{ID: "r", Epoch: epoch, IntervalMS: 1000, WorkerCount: tc.workers})
			for i, e := range tc.events {
				switch e := e.(type) {
				case arrival:
					s.arrived(e.k, e.shard, e.whole, at(e.at))
				case check:
					fold, wait, done := s.step(at(e.at), grace)
					slices.Sort(fold)
					if !slices.Equal(fold, e.fold) || done != e.done || (e.wait != 0 && wait != e.wait) {
						t.Fatalf("event %d at %v: fold %v wait %v done %v, want %v %v %v", i, e.at, fold, wait, done, e.fold, e.wait, e.done)
					}
				}
			}
		})
	}
}

// TestErrorRateWindow: abort_on looks at the last window of intervals,
// waits for min_requests, trips once, and a re-folded interval replaces
// its figures.
func TestErrorRateWindow(t *testing.T) {
	e := newErrorRate(&scenario.AbortOn{ErrorRate: 0.5, WindowSeconds: 3, MinRequests: 100}, time.Second)
	if why := e.add(0, 40, 40); why != "" {
		t.Fatalf("under min_requests: %q", why)
	}
	if why := e.add(1, 100, 10); why != "" {
		t.Fatalf("50 of 140: %q", why)
	}
	if why := e.add(1, 100, 70); why == "" || !strings.Contains(why, "(110 of 140 requests, all workers)") {
		t.Fatalf("a re-fold to 110 of 140: %q", why)
	}
	if why := e.add(2, 100, 100); why != "" {
		t.Fatalf("tripped twice: %q", why)
	}
	e.tripped = false
	if why := e.add(5, 100, 10); why != "" {
		t.Fatalf("intervals 0-2 are out of the window of 5: %q", why)
	}
	if newErrorRate(nil, time.Second).add(0, 10, 10) != "" {
		t.Fatal("no rule: tripped")
	}
}

// fakeClock is a test's time: it moves when the test says.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

type abortCall struct{ run, by, reason string }

type fakeAborter struct {
	calls chan abortCall
	err   error
}

func (a *fakeAborter) AbortFailed(_ context.Context, r *store.Run, by, reason string) error {
	a.calls <- abortCall{r.ID, by, reason}
	return a.err
}

// TestSchedulerFoldsOnTheClock: the scheduler's loop folds from a real
// store in order, waits on its clock for the grace of a missing shard,
// and tells Folded of each stored interval.
func TestSchedulerFoldsOnTheClock(t *testing.T) {
	f := newFixture(t) // three shards
	clock := &fakeClock{now: at(time.Second)}
	folded := make(chan int64, 16)
	s := &Scheduler{Snapshots: f.st, Intervals: f.st, Clock: clock, Grace: grace,
		Folded: func(r *store.Run, row *store.Interval, sum *Summary, _ time.Duration) { folded <- row.Index }}
	t.Cleanup(s.Close)
	for shard := range 3 {
		f.put(shard, fmt.Sprint("w", shard), 0, 50, 0)
		s.Arrived(f.run, 0, shard, true)
	}
	if k := <-folded; k != 0 {
		t.Fatalf("folded %d first, want 0", k)
	}
	// Interval 1 from two of three shards: folded only when the clock
	// passes its grace.
	for shard := range 2 {
		f.put(shard, fmt.Sprint("w", shard), 1, 50, 0)
		s.Arrived(f.run, 1, shard, true)
	}
	waitFor(t, "the loop to wait on the clock", func() bool {
		clock.mu.Lock()
		defer clock.mu.Unlock()
		return len(clock.waiters) > 0 && len(folded) == 0
	})
	clock.Advance(grace / 2)
	select {
	case k := <-folded:
		t.Fatalf("interval %d folded before its grace", k)
	case <-time.After(50 * time.Millisecond):
	}
	clock.Advance(grace / 2)
	if k := <-folded; k != 1 {
		t.Fatalf("folded %d, want 1", k)
	}
	rows, err := f.st.ListIntervals(t.Context(), f.run.ID, -1, 10)
	if err != nil || len(rows) != 2 || rows[1].Index != 1 {
		t.Fatalf("stored intervals: %d, %v", len(rows), err)
	}
}

// TestSchedulerAbortsOnErrorRate: a run whose folded intervals reach
// abort_on is ended through the Aborter once; a failed abort is retried
// at the next interval.
func TestSchedulerAbortsOnErrorRate(t *testing.T) {
	f := newFixture(t)
	sc, err := scenario.ParseJSON(f.run.Scenario)
	if err != nil {
		t.Fatal(err)
	}
	sc.AbortOn = &scenario.AbortOn{ErrorRate: 0.01, WindowSeconds: 5, MinRequests: 10}
	if f.run.Scenario, err = sc.JSON(); err != nil {
		t.Fatal(err)
	}
	ab := &fakeAborter{calls: make(chan abortCall, 4), err: errors.New("temporal unavailable")}
	s := &Scheduler{Snapshots: f.st, Intervals: f.st, Aborter: ab, Clock: &fakeClock{now: at(time.Second)}, Grace: grace}
	t.Cleanup(s.Close)
	put := func(k int64) {
		for shard := range 3 {
			f.put(shard, fmt.Sprint("w", shard), k, 50, 0) // every 13th request fails
			s.Arrived(f.run, k, shard, true)
		}
	}
	put(0)
	if c := <-ab.calls; c.by != "error_rate" || !strings.Contains(c.reason, "reached abort_on.error_rate 0.01") {
		t.Fatalf("abort: %+v", c)
	}
	put(1) // the first abort failed: asked again
	if c := <-ab.calls; c.run != f.run.ID {
		t.Fatalf("second abort: %+v", c)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
