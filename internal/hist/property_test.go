package hist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// sample is one request routed to a step and a shard.
type sample struct {
	step, shard int
	res         Result
}

// randomSamples draws n requests from seed. Latencies span every magnitude
// the recorder sees: negative (a clock step), sub-microsecond, 1 µs..100 s
// log-uniformly, and beyond the clamp. rapid draws n and seed, so a failure
// reports (and shrinks) both; rapid's own slices stay too short to fill a
// histogram.
func randomSamples(seed uint64, n int) []sample {
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	statuses := []int{0, 200, 201, 302, 404, 429, 500, 503}
	out := make([]sample, n)
	for i := range out {
		var lat time.Duration
		switch rng.IntN(20) {
		case 0:
			lat = time.Duration(rng.Int64N(2000) - 1000) // -1 µs..1 µs, in ns
		case 1:
			lat = time.Duration(HighestMicros+rng.Int64N(10*HighestMicros)) * time.Microsecond
		default:
			lat = time.Duration(math.Pow(10, 8*rng.Float64())) * time.Microsecond
		}
		out[i] = sample{
			step:  rng.IntN(3),
			shard: rng.IntN(8),
			res: Result{
				Latency:       lat,
				Status:        statuses[rng.IntN(len(statuses))],
				Class:         ErrorClass(rng.IntN(NumClasses)),
				BytesSent:     rng.Int64N(1 << 20),
				BytesReceived: rng.Int64N(1 << 30),
				ChecksPassed:  rng.Uint32N(5),
				ChecksFailed:  rng.Uint32N(5),
			},
		}
	}
	return out
}

// TestFoldIsExact is invariant 4: samples split over k shards, each flushed,
// encoded and decoded, then folded, give exactly the histogram, percentiles
// and counters of one recorder that saw every sample.
func TestFoldIsExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		steps := rapid.IntRange(1, 3).Draw(t, "steps")
		k := rapid.IntRange(1, 8).Draw(t, "shards")
		samples := randomSamples(rapid.Uint64().Draw(t, "seed"), rapid.IntRange(0, 5000).Draw(t, "samples"))

		all := NewRecorder(steps)
		shards := make([]*Recorder, k)
		for i := range shards {
			shards[i] = NewRecorder(steps)
		}
		for _, s := range samples {
			all.Record(s.step%steps, s.res)
			shards[s.shard%k].Record(s.step%steps, s.res)
		}
		want := all.Flush(t0, t0.Add(time.Second))

		decoded := make([]*Snapshot, k)
		for i, rec := range shards {
			s := rec.Flush(t0.Add(time.Duration(i)*time.Millisecond), t0.Add(time.Second))
			s.RunID, s.Shard, s.Seq, s.ActiveVUs = "run", uint32(i), 1, 3
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatalf("shard %d: %v", i, err)
			}
			if decoded[i], err = Decode(b); err != nil {
				t.Fatalf("shard %d: %v", i, err)
			}
		}
		got, err := Fold(decoded)
		if err != nil {
			t.Fatal(err)
		}
		if got.ActiveVUs != uint32(3*k) {
			t.Errorf("ActiveVUs = %d, want %d", got.ActiveVUs, 3*k)
		}
		for i := range want.Steps {
			if d := diffSteps(&got.Steps[i], &want.Steps[i]); d != "" {
				t.Fatalf("step %d: %s", i, d)
			}
			if d := diffQuantiles(&got.Steps[i], &want.Steps[i]); d != "" {
				t.Fatalf("step %d: %s", i, d)
			}
		}
		gotTotal, wantTotal := got.Total(), want.Total()
		if d := diffSteps(&gotTotal, &wantTotal); d != "" {
			t.Fatalf("total: %s", d)
		}
		if d := diffQuantiles(&gotTotal, &wantTotal); d != "" {
			t.Fatalf("total: %s", d)
		}
		if gotTotal.Requests != uint64(len(samples)) {
			t.Fatalf("total requests %d, want %d", gotTotal.Requests, len(samples))
		}
	})
}

// diffQuantiles compares what a report reads, not just the counts array.
func diffQuantiles(a, b *StepStats) string {
	for _, q := range []float64{0, 50, 90, 95, 99, 99.9, 100} {
		if x, y := Percentile(a.Latency, q), Percentile(b.Latency, q); x != y {
			return fmt.Sprintf("p%v: %d vs %d", q, x, y)
		}
	}
	if a.Latency.Min() != b.Latency.Min() || a.Latency.Max() != b.Latency.Max() {
		return fmt.Sprintf("min/max %d/%d vs %d/%d", a.Latency.Min(), a.Latency.Max(), b.Latency.Min(), b.Latency.Max())
	}
	if x, y := a.Latency.Mean(), b.Latency.Mean(); x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
		return fmt.Sprintf("mean %v vs %v", x, y)
	}
	return ""
}

// snapshotGen draws arbitrary valid snapshots, not only what a Recorder
// makes: huge counts, every status code and class, extreme times.
func snapshotGen() *rapid.Generator[*Snapshot] {
	return rapid.Custom(func(t *rapid.T) *Snapshot {
		start := rapid.Int64Range(math.MinInt64, math.MaxInt64).Draw(t, "start")
		end := rapid.Int64Range(start, math.MaxInt64).Draw(t, "end")
		s := &Snapshot{
			RunID:     rapid.StringN(0, 40, MaxStringLen).Draw(t, "run"),
			Worker:    rapid.StringN(0, 40, MaxStringLen).Draw(t, "worker"),
			Shard:     rapid.Uint32().Draw(t, "shard"),
			Attempt:   rapid.Uint32().Draw(t, "attempt"),
			Seq:       rapid.Uint64().Draw(t, "seq"),
			Start:     time.Unix(0, start),
			End:       time.Unix(0, end),
			ActiveVUs: rapid.Uint32().Draw(t, "active"),
			TargetVUs: rapid.Uint32().Draw(t, "target"),
			Dropped:   rapid.Uint64().Draw(t, "dropped"),
		}
		n := rapid.IntRange(0, 4).Draw(t, "steps")
		for range n {
			s.Steps = append(s.Steps, stepGen().Draw(t, "step"))
		}
		return s
	})
}

func stepGen() *rapid.Generator[StepStats] {
	return rapid.Custom(func(t *rapid.T) StepStats {
		st := StepStats{Latency: NewHistogram(), Status: map[int]uint64{}, Classes: map[ErrorClass]uint64{}}
		for range rapid.IntRange(0, 50).Draw(t, "values") {
			v := rapid.Int64Range(0, HighestMicros).Draw(t, "value")
			c := rapid.Int64Range(1, 1<<40).Draw(t, "count")
			_ = st.Latency.RecordValues(v, c)
		}
		st.Requests = uint64(st.Latency.TotalCount())
		split(t, st.Requests, "status", func(i int, n uint64) {
			st.Status[rapid.IntRange(0, MaxStatus).Draw(t, "code")] += n
		})
		st.Errors = rapid.Uint64Range(0, st.Requests).Draw(t, "errors")
		split(t, st.Errors, "class", func(i int, n uint64) {
			st.Classes[ErrorClass(rapid.IntRange(1, NumClasses-1).Draw(t, "class"))] += n
		})
		st.Clamped = rapid.Uint64Range(0, st.Requests).Draw(t, "clamped")
		st.BytesSent = rapid.Uint64Range(0, 1<<60).Draw(t, "sent")
		st.BytesReceived = rapid.Uint64Range(0, 1<<60).Draw(t, "received")
		st.ChecksPassed = rapid.Uint64Range(0, 1<<60).Draw(t, "passed")
		st.ChecksFailed = rapid.Uint64Range(0, 1<<60).Draw(t, "failed")
		return st
	})
}

// split hands total out in up to 4 non-zero parts.
func split(t *rapid.T, total uint64, label string, add func(i int, n uint64)) {
	for i := 0; total > 0; i++ {
		n := total
		if i < 3 {
			n = rapid.Uint64Range(1, total).Draw(t, label+" part")
		}
		add(i, n)
		total -= n
	}
}

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := snapshotGen().Draw(t, "snapshot")
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary: %v", err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if d := diffSnapshots(s, got); d != "" {
			t.Fatal(d)
		}
		// Deep equality as well, so that a field added to Snapshot but
		// not to the encoding fails here even if diffSnapshots misses it.
		normalize(s)
		normalize(got)
		if !reflect.DeepEqual(s, got) {
			t.Fatalf("deep equality fails:\n%+v\n%+v", s, got)
		}
	})
}

// normalize removes the differences the encoding does not promise to keep:
// location and monotonic reading of times, nil versus empty Steps.
func normalize(s *Snapshot) {
	s.Start = time.Unix(0, s.Start.UnixNano()).UTC()
	s.End = time.Unix(0, s.End.UnixNano()).UTC()
	if len(s.Steps) == 0 {
		s.Steps = nil
	}
}
