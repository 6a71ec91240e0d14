package api

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/barrage/barrage/internal/store"
)

// feedFixture is a server on a real store with a started run whose folded
// intervals the test writes itself.
func feedFixture(t *testing.T) (*Server, store.Store, string) {
	t.Helper()
	s, st := runFixture(t, `{"name":"feed","virtual_users":1,"duration_seconds":60,"steps":[{"name":"a","url_template":"/"}]}`, 1)
	ctx := t.Context()
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.StartRun(ctx, "r", epoch, 1000, epoch); err != nil {
		t.Fatal(err)
	}
	return s, st, "r"
}

// putRow stores interval k as folded from snapshots snapshots with
// requests requests.
func putRow(t *testing.T, st store.Store, k int64, snapshots int, requests uint64) {
	t.Helper()
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sum := fmt.Sprintf(`{"requests": %d, "workers": {"w": {"requests": %d, "vus": 1, "shards": [0]}}, "steps": []}`, requests, requests)
	iv := &store.Interval{RunID: "r", Index: k, Start: epoch.Add(time.Duration(k) * time.Second), End: epoch.Add(time.Duration(k+1) * time.Second),
		Workers: 1, Snapshots: snapshots, Data: []byte("x"), Summary: []byte(sum)}
	if err := st.PutInterval(t.Context(), iv); err != nil {
		t.Fatal(err)
	}
}

func feedRequests(t *testing.T, ps []feedPoint) []string {
	t.Helper()
	var out []string
	for _, p := range ps {
		var pt Point
		if err := json.Unmarshal(p.data, &pt); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d:%d", p.index, pt.Requests))
	}
	return out
}

// TestFeedServesEveryStreamFromOneRead: a feed starts where its first
// stream resumes, a stream further back reads the older intervals itself,
// new folds come in when the feed is touched, and an interval folded again
// is served as folded now.
func TestFeedServesEveryStreamFromOneRead(t *testing.T) {
	s, st, run := feedFixture(t)
	ctx := t.Context()
	for k := range int64(5) {
		putRow(t, st, k, 1, uint64(10+k))
	}
	f := s.feeds.acquire(run, 3) // the first stream resumes after interval 2
	defer s.feeds.release(f)
	got, _, err := s.feeds.since(ctx, f, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"3:13", "4:14"}; fmt.Sprint(feedRequests(t, got)) != fmt.Sprint(want) {
		t.Fatalf("resumed stream got %v, want %v", feedRequests(t, got), want)
	}
	if f.last != 4 || len(f.points) != 2 {
		t.Fatalf("the feed read intervals it did not need: last %d, %d points", f.last, len(f.points))
	}
	got, _, err = s.feeds.since(ctx, f, 0, 0) // a new subscriber
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0:10", "1:11", "2:12", "3:13", "4:14"}; fmt.Sprint(feedRequests(t, got)) != fmt.Sprint(want) {
		t.Fatalf("new subscriber got %v, want %v", feedRequests(t, got), want)
	}

	putRow(t, st, 5, 1, 15)
	time.Sleep(2 * time.Millisecond) // folded_at has microseconds
	putRow(t, st, 3, 2, 33)          // a late snapshot folded interval 3 again
	s.published(run)
	got, revs, err := s.feeds.since(ctx, f, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"3:33", "4:14", "5:15"}; fmt.Sprint(feedRequests(t, got)) != fmt.Sprint(want) {
		t.Fatalf("after a new and a re-folded interval: %v, want %v", feedRequests(t, got), want)
	}
	if len(revs) != 0 {
		t.Fatalf("a stream that has not sent interval 3 got its revision: %v", feedRequests(t, revs))
	}
	// A stream that sent interval 3 before it was folded again gets it
	// again, marked revised; once, and never a revision of what it has not sent.
	_, revs, err = s.feeds.since(ctx, f, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"3:33"}; fmt.Sprint(feedRequests(t, revs)) != fmt.Sprint(want) || !pointOf(t, revs[0]).Revised || pointOf(t, revs[0]).Revision != 2 {
		t.Fatalf("revisions %v (%s), want %v marked revised, revision 2", feedRequests(t, revs), revs[0].data, want)
	}
	if pointOf(t, got[0]).Revised {
		t.Fatalf("a subscriber getting interval 3 first got it marked revised: %s", got[0].data)
	}
	_, again, err := s.feeds.since(ctx, f, 6, revs[0].seq)
	if err != nil || len(again) != 0 {
		t.Fatalf("the revision was served twice: %v, %v", feedRequests(t, again), err)
	}
	// An interval folded for the first time after a later one (its
	// snapshots came after the later one's grace) reaches a stream past it.
	putRow(t, st, 7, 1, 17)
	s.published(run)
	if _, _, err := s.feeds.since(ctx, f, 8, revs[0].seq); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	putRow(t, st, 6, 1, 16)
	s.published(run)
	_, late, err := s.feeds.since(ctx, f, 8, revs[0].seq)
	if err != nil || fmt.Sprint(feedRequests(t, late)) != "[6:16]" {
		t.Fatalf("a late first fold of interval 6: %v, %v", feedRequests(t, late), err)
	}
	if got, _, err := s.feeds.since(ctx, f, 5, 0); err != nil || fmt.Sprint(feedRequests(t, got)) != "[5:15 6:16 7:17]" {
		t.Fatalf("a subscriber from interval 5 after the late fold: %v, %v", feedRequests(t, got), err)
	}
	// The same snapshots folded again (another server, the report's
	// refresh) change nothing: nothing is sent again.
	time.Sleep(2 * time.Millisecond)
	putRow(t, st, 3, 2, 33)
	s.published(run)
	if _, again, err := s.feeds.since(ctx, f, 8, late[0].seq); err != nil || len(again) != 0 {
		t.Fatalf("a fold of the same snapshots was sent again: %v, %v", feedRequests(t, again), err)
	}
	// A stream resuming after interval 5 on a new server gets the revision
	// of interval 3 from the store.
	resumed, err := s.feeds.revised(ctx, run, 6)
	if err != nil || fmt.Sprint(feedRequests(t, resumed)) != "[3:33]" {
		t.Fatalf("revisions for a resume at 6: %v, %v", feedRequests(t, resumed), err)
	}
}

func pointOf(t *testing.T, p feedPoint) Point {
	t.Helper()
	var pt Point
	if err := json.Unmarshal(p.data, &pt); err != nil {
		t.Fatal(err)
	}
	return pt
}

// TestIntervalParts: a snapshot completes its shard's part of an interval
// when it ends at the interval's end (when such an interval is due:
// package fold's TestPendingDue).
func TestIntervalParts(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &store.Run{ID: "r", Epoch: epoch, IntervalMS: 1000}
	for _, tc := range []struct {
		end   time.Duration
		k     int64
		whole bool
	}{{250 * time.Millisecond, 0, false}, {time.Second, 0, true}, {1750 * time.Millisecond, 1, false}, {2 * time.Second, 1, true}, {2*time.Second + 300*time.Microsecond, 1, true}} {
		end := epoch.Add(tc.end)
		if k := intervalIndex(r, end); k != tc.k || endsInterval(r, k, end) != tc.whole {
			t.Errorf("a snapshot ending at %v: interval %d whole %v, want %d %v", tc.end, k, endsInterval(r, k, end), tc.k, tc.whole)
		}
	}
}

// runFixture is a server on a fresh SQLite store holding scenario "sc"
// (doc) and its queued run "r" on workers workers.
func runFixture(t *testing.T, doc string, workers int) (*Server, store.Store) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s := New(Config{Store: st, NoAuth: true})
	t.Cleanup(s.Close)
	if err := st.CreateScenario(ctx, &store.Scenario{ID: "sc", Name: "sc", Document: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRun(ctx, &store.Run{ID: "r", ScenarioID: "sc", Scenario: []byte(doc), WorkerCount: workers, WorkflowID: "r", Token: "t", IntervalMS: 1000}); err != nil {
		t.Fatal(err)
	}
	return s, st
}
