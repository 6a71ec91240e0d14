package hist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is an arbitrary, representable interval start.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// diffSnapshots describes the first difference between a and b, or returns
// "". Times compare by UnixNano (decoding yields UTC without a monotonic
// reading), maps by content (nil equals empty), histograms with Equals.
func diffSnapshots(a, b *Snapshot) string {
	switch {
	case a.RunID != b.RunID, a.Worker != b.Worker, a.Shard != b.Shard, a.Attempt != b.Attempt, a.Seq != b.Seq:
		return fmt.Sprintf("identity %q/%q/%d/%d/%d vs %q/%q/%d/%d/%d",
			a.RunID, a.Worker, a.Shard, a.Attempt, a.Seq, b.RunID, b.Worker, b.Shard, b.Attempt, b.Seq)
	case a.Start.UnixNano() != b.Start.UnixNano(), a.End.UnixNano() != b.End.UnixNano():
		return fmt.Sprintf("interval %v..%v vs %v..%v", a.Start, a.End, b.Start, b.End)
	case a.ActiveVUs != b.ActiveVUs, a.TargetVUs != b.TargetVUs, a.Dropped != b.Dropped:
		return fmt.Sprintf("gauges %d/%d/%d vs %d/%d/%d", a.ActiveVUs, a.TargetVUs, a.Dropped, b.ActiveVUs, b.TargetVUs, b.Dropped)
	case len(a.Steps) != len(b.Steps):
		return fmt.Sprintf("%d steps vs %d", len(a.Steps), len(b.Steps))
	}
	for i := range a.Steps {
		if d := diffSteps(&a.Steps[i], &b.Steps[i]); d != "" {
			return fmt.Sprintf("step %d: %s", i, d)
		}
	}
	return ""
}

func diffSteps(a, b *StepStats) string {
	if ac, bc := counterValues(a), counterValues(b); ac != bc {
		return fmt.Sprintf("counters %v vs %v", ac, bc)
	}
	if !maps.Equal(a.Status, b.Status) {
		return fmt.Sprintf("status %v vs %v", a.Status, b.Status)
	}
	if !maps.Equal(a.Classes, b.Classes) {
		return fmt.Sprintf("classes %v vs %v", a.Classes, b.Classes)
	}
	if (a.Latency == nil) != (b.Latency == nil) || a.Latency != nil && !a.Latency.Equals(b.Latency) {
		return "latency histograms differ"
	}
	return ""
}

func counterValues(s *StepStats) [7]uint64 {
	var v [7]uint64
	for i, f := range s.counterFields() {
		v[i] = *f
	}
	return v
}

// reseal recomputes the checksum of b, so that a test (or the fuzzer) can
// reach the checks behind it.
func reseal(b []byte) []byte {
	if len(b) < crcLen {
		return b
	}
	out := append([]byte(nil), b...)
	body := out[:len(out)-crcLen]
	binary.LittleEndian.PutUint32(out[len(body):], crc32.Checksum(body, castagnoli))
	return out
}

// typicalLatency draws a log-normal latency around 20 ms, the shape of a
// healthy HTTP service.
func typicalLatency(rng *rand.Rand) time.Duration {
	ms := 20 * math.Exp(0.6*rng.NormFloat64())
	return time.Duration(ms * float64(time.Millisecond))
}

// typicalSnapshot records n typical requests over the given steps, with a
// few errors, and returns the flushed, identified snapshot.
func typicalSnapshot(tb testing.TB, seed uint64, steps, n int) *Snapshot {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	rec := NewRecorder(steps)
	for i := range n {
		res := Result{Latency: typicalLatency(rng), Status: 200, BytesSent: 300, BytesReceived: 2048, ChecksPassed: 1}
		switch {
		case i%97 == 0:
			res.Status, res.Class = 503, ClassHTTP5xx
		case i%211 == 0:
			res.Status, res.Class, res.Latency = 0, ClassTimeout, 30*time.Second
		}
		rec.Record(rng.IntN(steps), res)
	}
	rec.AddDropped(3)
	s := rec.Flush(t0, t0.Add(time.Second))
	s.RunID, s.Worker, s.Shard, s.Attempt, s.Seq = "run-42", "worker-a", uint32(seed%8), 1, seed+1
	s.ActiveVUs, s.TargetVUs = 50, 64
	return s
}

func mustMarshal(tb testing.TB, s *Snapshot) []byte {
	tb.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		tb.Fatalf("MarshalBinary: %v", err)
	}
	return b
}
