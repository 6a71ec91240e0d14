package target

import (
	"testing"
	"time"
)

func TestFreezeScheduleFrozen(t *testing.T) {
	origin := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	sched := FreezeSchedule{Origin: origin, For: 200 * ms, Every: 600 * ms}
	tests := []struct {
		name       string
		sched      FreezeSchedule
		at         time.Duration // after origin
		wantFrozen bool
		wantUntil  time.Duration // after origin
	}{
		{name: "start of period runs", sched: sched, at: 0},
		{name: "just before the window", sched: sched, at: 399 * ms},
		{name: "window start", sched: sched, at: 400 * ms, wantFrozen: true, wantUntil: 600 * ms},
		{name: "inside the window", sched: sched, at: 599 * ms, wantFrozen: true, wantUntil: 600 * ms},
		{name: "window end runs", sched: sched, at: 600 * ms},
		{name: "later period", sched: sched, at: 6*600*ms + 450*ms, wantFrozen: true, wantUntil: 7 * 600 * ms},
		{name: "before origin", sched: sched, at: -100 * ms},
		{name: "disabled", sched: FreezeSchedule{Origin: origin, Every: 600 * ms}, at: 500 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			until, frozen := tt.sched.Frozen(origin.Add(tt.at))
			if frozen != tt.wantFrozen {
				t.Fatalf("Frozen(+%v) = %v, want %v", tt.at, frozen, tt.wantFrozen)
			}
			if frozen && !until.Equal(origin.Add(tt.wantUntil)) {
				t.Errorf("Frozen(+%v) until +%v, want +%v", tt.at, until.Sub(origin), tt.wantUntil)
			}
		})
	}
}

func TestFreezeScheduleNext(t *testing.T) {
	origin := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	sched := FreezeSchedule{Origin: origin, For: 200 * ms, Every: 600 * ms}
	tests := []struct {
		name      string
		at        time.Duration
		wantStart time.Duration
		wantEnd   time.Duration
	}{
		{name: "before the first window", at: 10 * ms, wantStart: 400 * ms, wantEnd: 600 * ms},
		{name: "inside a window gives it", at: 500 * ms, wantStart: 400 * ms, wantEnd: 600 * ms},
		{name: "at a window's end gives the next", at: 600 * ms, wantStart: 1000 * ms, wantEnd: 1200 * ms},
		{name: "before origin", at: -ms, wantStart: 400 * ms, wantEnd: 600 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := sched.Next(origin.Add(tt.at))
			if !start.Equal(origin.Add(tt.wantStart)) || !end.Equal(origin.Add(tt.wantEnd)) {
				t.Errorf("Next(+%v) = +%v..+%v, want +%v..+%v", tt.at, start.Sub(origin), end.Sub(origin), tt.wantStart, tt.wantEnd)
			}
		})
	}
}

// aim sleeps until offset after the start of the next freeze window that is at
// least lead away, and returns that window.
func aim(s *Server, lead, offset time.Duration) (start, end time.Time) {
	start, end = s.FreezeSchedule().Next(time.Now().Add(lead))
	time.Sleep(time.Until(start.Add(offset)))
	return start, end
}

// These tests assert lower bounds only ("held at least until the window
// ended"): on a loaded machine a request may come late, never early.
func TestFreezeHoldsArrivingRequest(t *testing.T) {
	s, ts := startTarget(t, Config{FreezeFor: 200 * time.Millisecond, FreezeEvery: 600 * time.Millisecond})
	s.Reset()
	for attempt := range 5 {
		start, end := aim(s, 50*time.Millisecond, 20*time.Millisecond)
		sent := time.Now()
		if sent.After(end) {
			t.Logf("attempt %d: woke after the window; trying the next", attempt)
			continue
		}
		call(t, ts.Client(), "GET", ts.URL+"/", "", nil)
		if got := time.Now(); got.Before(end) {
			t.Fatalf("request sent %v into a freeze came back %v before it ended", sent.Sub(start), end.Sub(got))
		}
		if s.Served() != 1 {
			t.Errorf("Served() = %d, want 1", s.Served())
		}
		return
	}
	t.Fatal("never managed to send a request inside a freeze window")
}

func TestFreezeHoldsResponseDueInWindow(t *testing.T) {
	s, ts := startTarget(t, Config{FreezeFor: 200 * time.Millisecond, FreezeEvery: 600 * time.Millisecond})
	s.Reset()
	// Sent 150ms before the window with 300ms of latency, the response falls
	// due 150ms into the freeze and must wait for its end.
	_, end := aim(s, 200*time.Millisecond, -150*time.Millisecond)
	sent := time.Now()
	call(t, ts.Client(), "GET", ts.URL+"/delay?ms=300", "", nil)
	if got := time.Now(); got.Before(end) {
		t.Fatalf("response due inside a freeze came back %v before it ended", end.Sub(got))
	}
	if waited := time.Since(sent); waited < 300*time.Millisecond {
		t.Errorf("request took %v, want at least its 300ms latency", waited)
	}
}

func TestFreezeOffReleasesHeldRequests(t *testing.T) {
	s, ts := startTarget(t, Config{FreezeFor: 10 * time.Second, FreezeEvery: 10*time.Second + 300*time.Millisecond})
	s.Reset()
	_, end := aim(s, 0, 20*time.Millisecond)
	done := make(chan int)
	go func() {
		code, err := status(ts.Client(), ts.URL+"/")
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	time.Sleep(100 * time.Millisecond)
	cfg := s.Config()
	cfg.FreezeFor = 0
	if err := s.SetConfig(cfg); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	select {
	case code := <-done:
		if code != 200 {
			t.Errorf("released request got %d, want 200", code)
		}
	case <-time.After(time.Until(end) - time.Second):
		t.Fatal("request still held after the freeze was turned off")
	}
}

func TestResetRestartsFreezePhase(t *testing.T) {
	s, err := New(Config{FreezeFor: 200 * time.Millisecond, FreezeEvery: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	s.Reset()
	after := time.Now()
	origin := s.FreezeSchedule().Origin
	if origin.Before(before) || origin.After(after) {
		t.Errorf("origin after Reset = %v, want between %v and %v", origin, before, after)
	}
	if got := s.Stats().CountingSince; !got.Equal(origin) {
		t.Errorf("CountingSince = %v, want the freeze origin %v", got, origin)
	}
}

func TestControlEndpointsAnswerDuringFreeze(t *testing.T) {
	s, ts := startTarget(t, Config{FreezeFor: 10 * time.Second, FreezeEvery: 10*time.Second + 300*time.Millisecond})
	s.Reset()
	_, end := aim(s, 0, 20*time.Millisecond)
	for _, path := range []string{"/_/health", "/_/stats", "/_/config"} {
		if got := call(t, ts.Client(), "GET", ts.URL+path, "", nil); got.code != 200 {
			t.Errorf("GET %s during a freeze: %d", path, got.code)
		}
	}
	if time.Now().After(end) {
		t.Errorf("control endpoints were held until the freeze ended")
	}
	stats := decode[statsJSON](t, call(t, ts.Client(), "GET", ts.URL+"/_/stats", "", nil).body)
	if stats.Freeze == nil || !stats.Freeze.Frozen || !stats.Freeze.NextEnd.Equal(end) {
		t.Errorf("/_/stats freeze = %+v, want frozen until %v", stats.Freeze, end)
	}
}
