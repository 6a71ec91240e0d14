package hist

import (
	"maps"
	"runtime"
	"sync"
	"testing"
	"time"
)

type recorded struct {
	step int
	res  Result
}

type flushCase struct {
	name        string
	steps       int
	records     []recorded
	dropped     uint64
	want        []StepStats // Latency left nil: compared through wantMax
	wantMax     []int64     // per step, in µs (HDR's highest equivalent value)
	wantDropped uint64
}

// flushCases are recordings and what one Flush must return for them.
func flushCases() []flushCase {
	ok := func(ms int) Result {
		return Result{Latency: time.Duration(ms) * time.Millisecond, Status: 200, BytesSent: 100, BytesReceived: 1000, ChecksPassed: 2}
	}
	return []flushCase{
		{
			name:    "nothing recorded",
			steps:   2,
			want:    []StepStats{{}, {}},
			wantMax: []int64{0, 0},
		},
		{
			name:    "one success",
			steps:   1,
			records: []recorded{{0, ok(12)}},
			want: []StepStats{{Requests: 1, BytesSent: 100, BytesReceived: 1000, ChecksPassed: 2,
				Status: map[int]uint64{200: 1}}},
			wantMax: []int64{12007},
		},
		{
			name:  "errors count by class, every request by status",
			steps: 1,
			records: []recorded{
				{0, ok(5)},
				{0, Result{Latency: 30 * time.Second, Class: ClassTimeout}},
				{0, Result{Latency: time.Millisecond, Status: 503, Class: ClassHTTP5xx}},
				{0, Result{Latency: time.Millisecond, Status: 200, Class: ClassCheckFailed, ChecksPassed: 1, ChecksFailed: 1}},
			},
			want: []StepStats{{Requests: 4, Errors: 3, BytesSent: 100, BytesReceived: 1000, ChecksPassed: 3, ChecksFailed: 1,
				Status:  map[int]uint64{0: 1, 200: 2, 503: 1},
				Classes: map[ErrorClass]uint64{ClassTimeout: 1, ClassHTTP5xx: 1, ClassCheckFailed: 1}}},
			wantMax: []int64{30015487},
		},
		{
			name:    "latency above the highest is clamped and counted",
			steps:   1,
			records: []recorded{{0, Result{Latency: 150 * time.Second, Class: ClassTimeout}}, {0, ok(1)}},
			want: []StepStats{{Requests: 2, Errors: 1, Clamped: 1, BytesSent: 100, BytesReceived: 1000, ChecksPassed: 2,
				Status: map[int]uint64{0: 1, 200: 1}, Classes: map[ErrorClass]uint64{ClassTimeout: 1}}},
			wantMax: []int64{100007935},
		},
		{
			name:  "out-of-range inputs are filed, not lost",
			steps: 1,
			records: []recorded{
				{0, Result{Latency: -time.Second, Status: 1200, Class: ErrorClass(200), BytesSent: -5, BytesReceived: -1}},
				{0, Result{Latency: 500 * time.Nanosecond, Status: -3}},
			},
			want: []StepStats{{Requests: 2, Errors: 1,
				Status: map[int]uint64{0: 2}, Classes: map[ErrorClass]uint64{ClassOther: 1}}},
			wantMax: []int64{0},
		},
		{
			name:    "steps are kept apart",
			steps:   3,
			records: []recorded{{0, ok(1)}, {2, ok(40)}, {2, ok(41)}},
			want: []StepStats{
				{Requests: 1, BytesSent: 100, BytesReceived: 1000, ChecksPassed: 2, Status: map[int]uint64{200: 1}},
				{},
				{Requests: 2, BytesSent: 200, BytesReceived: 2000, ChecksPassed: 4, Status: map[int]uint64{200: 2}},
			},
			wantMax: []int64{1000, 0, 41023},
		},
		{
			name:        "dropped iterations",
			steps:       1,
			dropped:     7,
			want:        []StepStats{{}},
			wantMax:     []int64{0},
			wantDropped: 7,
		},
	}
}

func TestRecorderFlush(t *testing.T) {
	for _, tt := range flushCases() {
		t.Run(tt.name, func(t *testing.T) {
			rec := NewRecorder(tt.steps)
			for _, r := range tt.records {
				rec.Record(r.step, r.res)
			}
			rec.AddDropped(tt.dropped)
			s := rec.Flush(t0, t0.Add(time.Second))
			checkFlushed(t, s, tt.want, tt.wantMax, tt.wantDropped)
		})
	}
}

func checkFlushed(t *testing.T, s *Snapshot, want []StepStats, wantMax []int64, wantDropped uint64) {
	t.Helper()
	if s.Dropped != wantDropped {
		t.Errorf("Dropped = %d, want %d", s.Dropped, wantDropped)
	}
	if !s.Start.Equal(t0) || !s.End.Equal(t0.Add(time.Second)) {
		t.Errorf("interval %v..%v", s.Start, s.End)
	}
	if len(s.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(s.Steps), len(want))
	}
	for i := range want {
		got := s.Steps[i]
		if got.Status == nil || got.Classes == nil {
			t.Errorf("step %d: nil maps", i)
		}
		if max := got.Latency.Max(); max != wantMax[i] {
			t.Errorf("step %d: max %d µs, want %d", i, max, wantMax[i])
		}
		got.Latency, want[i].Latency = nil, nil
		if d := diffSteps(&got, &want[i]); d != "" {
			t.Errorf("step %d: %s", i, d)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("flushed snapshot does not validate: %v", err)
		}
	}
}

func TestFlushStartsAFreshInterval(t *testing.T) {
	rec := NewRecorder(1)
	rec.Record(0, Result{Latency: time.Millisecond, Status: 200})
	rec.Record(0, Result{Latency: time.Millisecond, Status: 200})
	rec.AddDropped(2)
	first := rec.Flush(t0, t0.Add(time.Second))

	rec.Record(0, Result{Latency: 9 * time.Millisecond, Status: 404, Class: ClassHTTP4xx})
	second := rec.Flush(t0.Add(time.Second), t0.Add(2*time.Second))
	third := rec.Flush(t0.Add(2*time.Second), t0.Add(3*time.Second))

	tests := []struct {
		name         string
		snap         *Snapshot
		wantRequests uint64
		wantDropped  uint64
		wantStatus   map[int]uint64
	}{
		{name: "first", snap: first, wantRequests: 2, wantDropped: 2, wantStatus: map[int]uint64{200: 2}},
		{name: "second", snap: second, wantRequests: 1, wantStatus: map[int]uint64{404: 1}},
		{name: "third", snap: third, wantStatus: map[int]uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.snap.Steps[0]
			if st.Requests != tt.wantRequests || st.Latency.TotalCount() != int64(tt.wantRequests) {
				t.Errorf("requests %d, histogram %d; want %d", st.Requests, st.Latency.TotalCount(), tt.wantRequests)
			}
			if tt.snap.Dropped != tt.wantDropped {
				t.Errorf("dropped %d, want %d", tt.snap.Dropped, tt.wantDropped)
			}
			if !maps.Equal(st.Status, tt.wantStatus) {
				t.Errorf("status %v, want %v", st.Status, tt.wantStatus)
			}
		})
	}
	if first.Steps[0].Latency == second.Steps[0].Latency {
		t.Error("two live snapshots share a histogram")
	}
}

// TestRecorderConcurrent records from many goroutines while flushing: no
// request may be lost or counted twice (run with -race).
func TestRecorderConcurrent(t *testing.T) {
	const workers, perWorker, steps = 8, 5000, 3
	rec := NewRecorder(steps)
	var snaps []*Snapshot
	done := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-done:
				snaps = append(snaps, rec.Flush(t0, t0))
				return
			default:
				snaps = append(snaps, rec.Flush(t0, t0))
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				rec.Record((w+i)%steps, Result{Latency: time.Duration(i) * time.Microsecond, Status: 200})
			}
		})
	}
	wg.Wait()
	close(done)
	<-flushed

	folded, err := Fold(snaps)
	if err != nil {
		t.Fatal(err)
	}
	total := folded.Total()
	if total.Requests != workers*perWorker || total.Latency.TotalCount() != workers*perWorker {
		t.Errorf("requests %d, histogram %d; want %d", total.Requests, total.Latency.TotalCount(), workers*perWorker)
	}
	if len(snaps) < 2 {
		t.Logf("only %d flushes overlapped recording", len(snaps))
	}
}

func TestReleaseReusesHistograms(t *testing.T) {
	rec := NewRecorder(2)
	rec.Record(1, Result{Latency: time.Second, Status: 200})
	first := rec.Flush(t0, t0)
	used := first.Steps[1].Latency
	rec.Release(first)
	if first.Steps[1].Latency != nil {
		t.Error("Release left the histogram in the snapshot")
	}
	rec.Flush(t0, t0) // swaps in a pooled histogram; the one recorded into was pooled before
	rec.Record(0, Result{Latency: time.Millisecond})
	rec.Record(1, Result{Latency: time.Millisecond})
	third := rec.Flush(t0, t0)
	reused := third.Steps[0].Latency == used || third.Steps[1].Latency == used
	if !reused {
		t.Error("a released histogram was not reused")
	}
	for i, st := range third.Steps {
		if st.Requests != 1 || st.Latency.TotalCount() != 1 {
			t.Errorf("step %d: %d requests, %d samples; a reused histogram kept old data", i, st.Requests, st.Latency.TotalCount())
		}
	}
	rec.Release(nil) // harmless
}

func TestRecordDoesNotAllocate(t *testing.T) {
	rec := NewRecorder(2)
	res := Result{Latency: 3 * time.Millisecond, Status: 200, Class: ClassHTTP5xx}
	if n := testing.AllocsPerRun(1000, func() { rec.Record(1, res) }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}

// TestFlushSteadyStateIsSmall: with Release, a Flush allocates the snapshot
// and its maps, not a 147 KB histogram per step.
func TestFlushSteadyStateIsSmall(t *testing.T) {
	const steps, rounds = 4, 50
	rec := NewRecorder(steps)
	cycle := func() {
		for i := range steps {
			rec.Record(i, Result{Latency: time.Millisecond, Status: 200})
		}
		rec.Release(rec.Flush(t0, t0))
	}
	for range 3 {
		cycle()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range rounds {
		cycle()
	}
	runtime.ReadMemStats(&after)
	if perFlush := (after.TotalAlloc - before.TotalAlloc) / rounds; perFlush > 16<<10 {
		t.Errorf("a steady-state Flush of %d steps allocates %d bytes", steps, perFlush)
	}
}

func TestNewRecorderPanicsOnBadStepCount(t *testing.T) {
	for _, steps := range []int{-1, MaxSteps + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRecorder(%d) did not panic", steps)
				}
			}()
			NewRecorder(steps)
		}()
	}
}
