package target

import (
	"context"
	"time"
)

// FreezeSchedule says when the whole server pauses. Time is cut into periods of
// Every starting at Origin; the last For of each period is a freeze window:
//
//	[Origin + k·Every + (Every-For), Origin + (k+1)·Every)   for k = 0, 1, …
//
// The freeze sits at the end of each period rather than the start so that a
// freshly started (or reset) server answers at once. Origin is the server's
// start, moved to the moment of each Reset.
type FreezeSchedule struct {
	Origin time.Time
	For    time.Duration
	Every  time.Duration
}

// Enabled reports whether the schedule has any freeze window.
func (f FreezeSchedule) Enabled() bool {
	return f.For > 0 && f.Every > f.For
}

// Frozen reports whether t falls inside a freeze window and, if so, when that
// window ends.
func (f FreezeSchedule) Frozen(t time.Time) (until time.Time, frozen bool) {
	if !f.Enabled() {
		return time.Time{}, false
	}
	elapsed := t.Sub(f.Origin)
	if elapsed < 0 {
		return time.Time{}, false
	}
	k := elapsed / f.Every
	if elapsed-k*f.Every < f.Every-f.For {
		return time.Time{}, false
	}
	return f.Origin.Add((k + 1) * f.Every), true
}

// Next returns the first freeze window that has not ended at t: the current one
// when t is inside a window. It returns zero times when the schedule is disabled.
func (f FreezeSchedule) Next(t time.Time) (start, end time.Time) {
	if !f.Enabled() {
		return time.Time{}, time.Time{}
	}
	k := time.Duration(0)
	if elapsed := t.Sub(f.Origin); elapsed > 0 {
		k = elapsed / f.Every
	}
	end = f.Origin.Add((k + 1) * f.Every)
	return end.Add(-f.For), end
}

// hold blocks while the server is frozen. It re-reads the schedule after every
// wake-up, and a configuration change wakes it at once, so turning the freeze
// off releases held requests. It returns false when ctx ends first.
func (s *Server) hold(ctx context.Context) bool {
	for {
		st := s.state.Load()
		until, frozen := st.freeze.Frozen(time.Now())
		if !frozen {
			return true
		}
		t := time.NewTimer(time.Until(until))
		select {
		case <-t.C:
		case <-st.changed:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

// sleep waits for d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
